"""mmsegmentation's ``IoUMetric`` (mIoU) semantics on langseg's confusion matrices.

``IoUMetric`` sums per-image intersections and unions over the split, counting only pixels whose
label is not ignored (255 there, ``-1`` here; a prediction on an ignored pixel never counts).
A class with zero union (never in the labels nor predicted on labelled pixels) gets NaN IoU and
is left out of the mean. ``aAcc`` is the share of labelled pixels predicted correctly. The
accumulated confusion matrix of :func:`langseg.metrics.confusion_matrix` carries exactly these
sums: intersection = diagonal, union = row sum + column sum - diagonal.
"""

from __future__ import annotations

import numpy as np

from langseg.metrics import segmentation_scores


def iou_metric(cm: np.ndarray) -> dict:
    """``IoUMetric`` numbers of an accumulated confusion matrix (rows = labels).

    Returns:
        dict with ``miou`` and ``aacc`` in percent (floats, NaN when undefined) and
        ``class_iou`` (list of floats in percent, NaN for classes with zero union).
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    scores = segmentation_scores(cm)
    return {"miou": 100 * scores["miou"], "aacc": 100 * scores["pixel_acc"],
            "class_iou": [100 * float(v) for v in scores["class_iou"]]}
