"""Rule prepare_gt: ground-truth label maps of one shard at the evaluation size."""

from langseg.pipeline.logs import job_logging
from langseg.pipeline.stages import prepare_gt_shard

with job_logging(snakemake.log[0], "prepare_gt") as log:  # noqa: F821
    prepare_gt_shard(
        snakemake.input.index,  # noqa: F821
        snakemake.wildcards.shard,  # noqa: F821
        snakemake.params.gt,  # noqa: F821
        snakemake.output.gt,  # noqa: F821
        log=log,
    )
