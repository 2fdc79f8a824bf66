"""Rule standard_evaluate: mmseg IoUMetric per method from the shards' confusion matrices."""

from langseg.pipeline.logs import job_logging
from langseg.pipeline.standard import evaluate_standard

with job_logging(snakemake.log[0], "standard_evaluate") as log:  # noqa: F821
    result = evaluate_standard(list(snakemake.input.counts), snakemake.params.evaluation,  # noqa: F821
                               snakemake.output.scores)  # noqa: F821
    for method, scores in result["scores"].items():
        log.info("%s: mIoU %.2f over %d images", method, scores["miou"], result["n_images"])
