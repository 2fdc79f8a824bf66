"""Rule standard_segment: one backend over one shard, every method, confusion matrices."""

from langseg.pipeline.logs import job_logging
from langseg.pipeline.standard import segment_standard_shard

with job_logging(snakemake.log[0], "standard_segment") as log:  # noqa: F821
    segment_standard_shard(
        params=snakemake.params.segment,  # noqa: F821
        index_path=snakemake.input.index,  # noqa: F821
        shard=snakemake.wildcards.shard,  # noqa: F821
        out_path=snakemake.output.counts,  # noqa: F821
        device=snakemake.config["models"]["device"],  # noqa: F821
        threads=snakemake.threads,  # noqa: F821
        log=log,
    )
