"""Rule segment: one method on one shard, from the caches to label maps."""

from langseg.pipeline.logs import job_logging
from langseg.pipeline.segment import segment_shard

with job_logging(snakemake.log[0], "segment") as log:  # noqa: F821
    caches = {k: v for k, v in snakemake.input.items() if k != "gt"}  # noqa: F821
    segment_shard(
        params=snakemake.params.segment,  # noqa: F821
        caches=caches,
        gt_path=snakemake.input.gt,  # noqa: F821
        out_path=snakemake.output.pred,  # noqa: F821
        log=log,
        threads=snakemake.threads,  # noqa: F821
    )
