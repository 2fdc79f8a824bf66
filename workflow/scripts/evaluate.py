"""Rule evaluate: dataset-level scores of one method on one split."""

from langseg.pipeline.logs import job_logging
from langseg.pipeline.evaluate import evaluate_method

with job_logging(snakemake.log[0], "evaluate") as log:  # noqa: F821
    evaluate_method(
        params=snakemake.params.evaluation,  # noqa: F821
        gt_paths=list(snakemake.input.gt),  # noqa: F821
        pred_paths=list(snakemake.input.pred),  # noqa: F821
        out_path=snakemake.output.scores,  # noqa: F821
        log=log,
    )
