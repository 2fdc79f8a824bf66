"""Rule index_dataset: list the images of a split once and assign them to shards."""

from langseg.pipeline.logs import job_logging
from langseg.pipeline.stages import index_split

with job_logging(snakemake.log[0], "index_dataset") as log:  # noqa: F821
    n = index_split(snakemake.params.dataset, snakemake.output.index)  # noqa: F821
    log.info("indexed %d images into %s", n, snakemake.output.index)  # noqa: F821
