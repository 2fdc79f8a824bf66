"""Segmentation and image-level metrics (docs/spec.md §5): confusion-matrix IoU, macro set P/R.

Pure numpy. Conventions of the report's ``RunningScore``: rows = ground truth, columns =
prediction, GT outside ``[0, n)`` is ignored, IoU of a class absent from both GT and prediction
is NaN and left out of the mean, a predicted-but-absent class has IoU 0 and is averaged. Unlike
the report's code, a prediction outside ``[0, n)`` is refused instead of corrupting the counts.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(gt: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Pixel counts of (GT class, predicted class).

    Args:
        gt: int array, any shape; values outside ``[0, n_classes)`` (e.g. -1) are ignored.
        pred: int array of the same shape, every value in ``[0, n_classes)``.
        n_classes: number of classes ``n >= 1``.

    Returns:
        ``(n, n) int64``, rows = GT, columns = prediction.

    Raises:
        ValueError: shapes differ, or a prediction is outside ``[0, n_classes)``.
    """
    gt, pred = np.asarray(gt), np.asarray(pred)
    if gt.shape != pred.shape:
        raise ValueError(f"gt and pred must have the same shape, got {gt.shape} and "
                         f"{pred.shape}")
    if pred.size and (pred.min() < 0 or pred.max() >= n_classes):
        raise ValueError(f"predictions must be in [0, {n_classes}), got values in "
                         f"[{pred.min()}, {pred.max()}]")
    valid = (gt >= 0) & (gt < n_classes)
    index = n_classes * gt[valid].astype(np.int64) + pred[valid].astype(np.int64)
    return np.bincount(index, minlength=n_classes**2).reshape(n_classes, n_classes)


def segmentation_scores(cm: np.ndarray) -> dict:
    """Scores of a confusion matrix (rows = GT).

    Returns:
        dict with ``miou`` (nanmean of ``class_iou``; NaN if every class is NaN),
        ``class_iou`` ``(n,) float64`` (NaN for classes absent from GT and prediction),
        ``pixel_acc``, ``mean_acc`` (nanmean over GT-present classes of recall) and
        ``fwiou`` (sum over GT-present classes of frequency x IoU).
    """
    cm = np.asarray(cm, dtype=np.float64)
    diag = np.diag(cm)
    gt_count, pred_count = cm.sum(axis=1), cm.sum(axis=0)
    total = cm.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        class_iou = diag / (gt_count + pred_count - diag)
        class_acc = diag / gt_count
        freq = gt_count / total
    present = gt_count > 0
    return {
        "miou": _nanmean(class_iou),
        "class_iou": class_iou,
        "pixel_acc": float(diag.sum() / total) if total else float("nan"),
        "mean_acc": _nanmean(class_acc),
        "fwiou": float((freq[present] * class_iou[present]).sum()) if total else float("nan"),
    }


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


def multilabel_precision_recall(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float]:
    """Macro set precision and recall over classes (the report's Table 3 "AP"/"AR").

    A class never predicted has precision 0, a class never present has recall 0; both are
    still averaged (sklearn's ``precision_score``/``recall_score`` with ``average="macro"``,
    ``zero_division=0``).

    Args:
        y_true, y_pred: ``(I, n) bool`` class presence per image.

    Returns:
        ``(precision, recall)`` in ``[0, 1]``.
    """
    y_true, y_pred = np.asarray(y_true, dtype=bool), np.asarray(y_pred, dtype=bool)
    if y_true.shape != y_pred.shape or y_true.ndim != 2:
        raise ValueError(f"y_true and y_pred must be (images, classes) of the same shape, got "
                         f"{y_true.shape} and {y_pred.shape}")
    if y_true.shape[1] == 0:
        raise ValueError("multilabel_precision_recall needs at least one class")
    hits = (y_true & y_pred).sum(axis=0).astype(np.float64)
    predicted, present = y_pred.sum(axis=0), y_true.sum(axis=0)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, present, out=np.zeros_like(hits), where=present > 0)
    return float(precision.mean()), float(recall.mean())
