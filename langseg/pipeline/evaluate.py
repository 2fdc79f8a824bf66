"""Evaluation stage: accumulate one dataset-level confusion matrix over every shard."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

import numpy as np

from langseg.params import DatasetKind
from langseg.pipeline.stages import load_gt


def evaluate_method(*, params: Mapping, gt_paths: Sequence[str], pred_paths: Sequence[str],
                    out_path, log: logging.Logger) -> dict:
    """Score the predictions of one method on one split and write the result JSON.

    The JSON holds the evaluation (confusion matrix, mIoU, class IoU, pixel accuracy, multilabel
    precision/recall) plus ``dataset``, ``kind``, ``split``, ``method``, ``eval_class_names``,
    ``n_skipped`` and ``provenance`` from ``params`` (and ``backend`` when it holds one).
    """
    from langseg.data import get_dataset_info
    from langseg.evaluation import Evaluation

    info = get_dataset_info(DatasetKind(params["kind"]))
    evaluation = Evaluation(n_label_classes=len(info.class_names),
                            n_eval_classes=len(info.eval_class_names),
                            eval_mapping=info.eval_mapping)
    n_skipped = 0
    for gt_path, pred_path in zip(gt_paths, pred_paths, strict=True):
        image_ids, labels, skipped = load_gt(gt_path)
        n_skipped += len(skipped)
        with np.load(pred_path) as pred:
            if [str(i) for i in pred["image_ids"]] != image_ids:
                raise ValueError(f"{pred_path} and {gt_path} list different images; "
                                 "rerun the segment rule")
            for gt, label in zip(labels, pred["labels"], strict=True):
                evaluation.update(gt, label)
    # "backend" only for CLIP backends other than gem (the report's results carry none)
    keys = ("dataset", "kind", "split", "method", "backend")
    result = {**{k: params[k] for k in keys if k in params},
              "eval_class_names": list(info.eval_class_names), "n_skipped": n_skipped,
              **evaluation.result(), "provenance": dict(params["provenance"])}
    with open(out_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    log.info("%s %s/%s: mIoU %.4f over %d images (%d skipped)", params["method"],
             params["dataset"], params["split"], result["miou"], result["n_images"], n_skipped)
    return result
