"""Rules extract_sd_attention, extract_sd_gt, extract_gem, extract_backend, extract_sd_zs:
one shard into one Zarr store."""

from langseg.pipeline.logs import job_logging
from langseg.pipeline.extract import RuntimeOptions, extract_shard

with job_logging(snakemake.log[0], snakemake.rule) as log:  # noqa: F821
    extract_shard(
        params=snakemake.params.extraction,  # noqa: F821
        index_path=snakemake.input.index,  # noqa: F821
        shard=snakemake.wildcards.shard,  # noqa: F821
        gt_path=snakemake.input.get("gt"),  # noqa: F821  (only extract_sd_gt reads the GT)
        store_path=snakemake.output.store,  # noqa: F821
        clip_store=getattr(snakemake.input, "clip", None),  # noqa: F821  (extract_sd_zs)
        runtime=RuntimeOptions.from_config(snakemake.config, threads=snakemake.threads),  # noqa: F821
        log=log,
    )
