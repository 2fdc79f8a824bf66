"""Metrics: confusion matrix, IoU rules (NaN / absent classes), macro set precision/recall."""

import numpy as np
import pytest

from langseg.metrics import confusion_matrix, multilabel_precision_recall, segmentation_scores


def test_confusion_matrix_by_hand_ignores_gt_outside_range():
    gt = np.array([0, 0, 1, 1, 2, -1, 3])
    pred = np.array([0, 1, 1, 1, 0, 2, 1])
    # rows = GT: gt 0 -> pred {0, 1}; gt 1 -> pred {1, 1}; gt 2 -> pred 0; -1 and 3 ignored
    cm = confusion_matrix(gt, pred, 3)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 2, 0], [1, 0, 0]])


def test_confusion_matrix_refuses_predictions_outside_range():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        confusion_matrix(np.array([0, 1]), np.array([0, -1]), 3)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        confusion_matrix(np.array([0, 1]), np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="same shape"):
        confusion_matrix(np.zeros(3, int), np.zeros(4, int), 3)


def test_scores_by_hand():
    cm = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    s = segmentation_scores(cm)
    # IoU = diag / (row + col - diag): 1/(2+2-1) = 1/3, 2/(2+3-2) = 2/3, 0/(1+0-0) = 0
    np.testing.assert_allclose(s["class_iou"], [1 / 3, 2 / 3, 0])
    assert s["miou"] == pytest.approx(1 / 3)
    assert s["pixel_acc"] == pytest.approx(3 / 5)
    assert s["mean_acc"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    # fwIoU = freq . IoU = [2/5, 2/5, 1/5] . [1/3, 2/3, 0] = 6/15
    assert s["fwiou"] == pytest.approx(0.4)


def test_absent_class_is_nan_and_predicted_absent_class_counts_as_zero():
    # class 2: predicted once, never in GT -> IoU 0, averaged; class 3: absent -> NaN, dropped
    cm = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    s = segmentation_scores(cm)
    assert s["class_iou"][2] == 0 and np.isnan(s["class_iou"][3])
    # IoU0 = 1/(2+1-1) = 1/2, IoU1 = 1 -> mean of [1/2, 1, 0] = 1/2
    assert s["miou"] == pytest.approx(0.5)
    assert np.isnan(segmentation_scores(np.zeros((2, 2)))["miou"])


def test_multilabel_by_hand_with_zero_division():
    y_true = np.array([[1, 0, 0], [1, 1, 0]], bool)
    y_pred = np.array([[1, 0, 1], [0, 1, 0]], bool)
    # class 0: P 1/1, R 1/2; class 1: P 1, R 1; class 2: never true -> P 0/1 = 0, R 0 (0/0)
    precision, recall = multilabel_precision_recall(y_true, y_pred)
    assert precision == pytest.approx(2 / 3) and recall == pytest.approx(0.5)


def test_multilabel_spec_toy_and_sklearn_agreement():
    from sklearn.metrics import precision_score, recall_score

    # 2 images, 21 classes, each image has and predicts exactly its own class:
    # 2 classes P = R = 1, the 19 others 0 -> 2/21 each
    y = np.zeros((2, 21), bool)
    y[0, 0] = y[1, 5] = True
    assert multilabel_precision_recall(y, y) == pytest.approx((2 / 21, 2 / 21))
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.random((30, 12)) < 0.2, rng.random((30, 12)) < 0.3
    y_true[:, 3] = False  # never present
    y_pred[:, 7] = False  # never predicted
    ours = multilabel_precision_recall(y_true, y_pred)
    expected = (precision_score(y_true, y_pred, average="macro", zero_division=0),
                recall_score(y_true, y_pred, average="macro", zero_division=0))
    assert ours == pytest.approx(expected)
