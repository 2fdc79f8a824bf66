"""Rule write_tables: Tables 2, 3, 4, the mIoU summary and class IoUs (CSV, Markdown, LaTeX)."""

from pathlib import Path

from langseg.pipeline.logs import job_logging
from langseg.pipeline.report import write_all_tables

with job_logging(snakemake.log[0], "write_tables") as log:  # noqa: F821
    write_all_tables(
        score_paths=list(snakemake.input.scores),  # noqa: F821
        out_dir=Path(snakemake.output.table2).parent,  # noqa: F821
        params=snakemake.params.report,  # noqa: F821
        log=log,
    )
