"""Rule standard_table: the eight-benchmark table (CSV, Markdown, LaTeX)."""

from pathlib import Path

from langseg.pipeline.logs import job_logging
from langseg.pipeline.standard import write_standard_tables

with job_logging(snakemake.log[0], "standard_table") as log:  # noqa: F821
    csv = Path(snakemake.output.csv)  # noqa: F821
    write_standard_tables(eval_paths=list(snakemake.input.scores),  # noqa: F821
                          params=snakemake.params.table,  # noqa: F821
                          stem=csv.with_suffix(""), log=log)
