"""Rule plot_figures: Figure 2 (class IoU per method) and Figure 3 (qualitative grid)."""

from langseg.pipeline.logs import job_logging
from langseg.pipeline.report import plot_all_figures

with job_logging(snakemake.log[0], "plot_figures") as log:  # noqa: F821
    plot_all_figures(
        inputs=dict(snakemake.input.items()),  # noqa: F821
        figure2_path=snakemake.output.figure2,  # noqa: F821
        figure3_path=snakemake.output.figure3,  # noqa: F821
        params=snakemake.params.report,  # noqa: F821
        log=log,
    )
