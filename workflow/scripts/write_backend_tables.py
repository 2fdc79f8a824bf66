"""Rule write_backend_tables: backend x method tables per dataset split (CSV, Markdown, LaTeX)."""

from pathlib import Path

from langseg.pipeline.logs import job_logging
from langseg.pipeline.report import write_backend_tables

with job_logging(snakemake.log[0], "write_backend_tables") as log:  # noqa: F821
    write_backend_tables(
        score_paths=list(snakemake.input.scores),  # noqa: F821
        out_dir=Path(snakemake.output.csv[0]).parent,  # noqa: F821
        params=snakemake.params.report,  # noqa: F821
        log=log,
    )
