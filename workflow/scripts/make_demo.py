"""Rule make_demo: write the embedded demo dataset (VOC2012 layout)."""

from pathlib import Path

from langseg.pipeline.logs import job_logging
from langseg.data import write_demo_dataset

with job_logging(snakemake.log[0], "make_demo") as log:  # noqa: F821
    root = Path(snakemake.output.root)  # noqa: F821
    write_demo_dataset(root.parent)
    log.info("wrote the demo dataset to %s", root)
