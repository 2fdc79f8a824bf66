"""Rule standard_index: list a benchmark split once (mmseg layout) and assign shards."""

from langseg.pipeline.logs import job_logging
from langseg.pipeline.standard import index_standard_split

with job_logging(snakemake.log[0], "standard_index") as log:  # noqa: F821
    n = index_standard_split(snakemake.params.dataset, snakemake.output.index)  # noqa: F821
    log.info("indexed %d images into %s", n, snakemake.output.index)  # noqa: F821
