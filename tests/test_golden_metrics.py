"""Golden values of the metrics and the evaluation accumulator against plain-loop references.

Random label maps with ignore pixels, classes absent from GT, classes predicted but absent, and
a many-to-one eval mapping (as COCO-Stuff's 171 -> 27): a wrong axis (rows = GT), a union that
forgets the intersection, a mean over absent classes, or a mapping applied to one side only
cannot pass.
"""

from __future__ import annotations

import math

import naive_reference as ref
import numpy as np
import pytest

from langseg.evaluation import Evaluation
from langseg.metrics import confusion_matrix, multilabel_precision_recall, segmentation_scores


def _maps(seed: int, n: int, shape=(9, 7)):
    rng = np.random.default_rng(seed)
    gt = rng.integers(-1, n - 1, size=shape)  # class n - 1 never in GT; -1 = ignore
    pred = rng.integers(0, n, size=shape)
    pred[gt == 0] = 0  # some agreement
    return gt, pred


def test_confusion_matrix_rows_are_gt():
    gt = np.array([[0, 0, 1], [2, -1, 5]])
    pred = np.array([[0, 1, 1], [0, 2, 2]])
    cm = confusion_matrix(gt, pred, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]  # -1 and 5 (outside) ignored


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_match_the_loops(seed):
    gt, pred = _maps(seed, 6)
    cm = confusion_matrix(gt, pred, 6)
    np.testing.assert_array_equal(cm, ref.confusion(gt, pred, 6))
    got, want = segmentation_scores(cm), ref.scores(cm)
    np.testing.assert_allclose(got["class_iou"], want["class_iou"], rtol=1e-12)
    for key in ("miou", "pixel_acc", "mean_acc", "fwiou"):
        assert got[key] == pytest.approx(want[key], rel=1e-12), key


def test_scores_by_hand():
    cm = np.array([[3, 1, 0], [2, 4, 0], [0, 0, 0]])  # class 2 absent everywhere
    s = segmentation_scores(cm)
    # IoU 0: 3 / (4 + 5 - 3) = 0.5; IoU 1: 4 / (6 + 5 - 4) = 4/7; class 2 NaN
    assert s["class_iou"][:2].tolist() == pytest.approx([0.5, 4 / 7])
    assert math.isnan(s["class_iou"][2])
    assert s["miou"] == pytest.approx((0.5 + 4 / 7) / 2)
    assert s["pixel_acc"] == pytest.approx(7 / 10)
    assert s["mean_acc"] == pytest.approx((3 / 4 + 4 / 6) / 2)
    assert s["fwiou"] == pytest.approx(0.4 * 0.5 + 0.6 * 4 / 7)


def test_multilabel_precision_recall_match_the_loops():
    rng = np.random.default_rng(4)
    y_true = rng.random((7, 5)) < 0.5
    y_pred = rng.random((7, 5)) < 0.4
    y_true[:, 4] = False  # a class never present: recall 0, averaged
    y_pred[:, 3] = False  # a class never predicted: precision 0, averaged
    precisions, recalls = [], []
    for c in range(5):
        hits = sum(bool(y_true[i, c] and y_pred[i, c]) for i in range(7))
        predicted = sum(bool(y_pred[i, c]) for i in range(7))
        present = sum(bool(y_true[i, c]) for i in range(7))
        precisions.append(hits / predicted if predicted else 0.0)
        recalls.append(hits / present if present else 0.0)
    precision, recall = multilabel_precision_recall(y_true, y_pred)
    assert precision == pytest.approx(sum(precisions) / 5, rel=1e-12)
    assert recall == pytest.approx(sum(recalls) / 5, rel=1e-12)


def test_evaluation_with_a_many_to_one_mapping_matches_the_loops():
    mapping = np.array([0, 0, 1, 2, 2, 1])  # 6 label ids -> 3 eval ids
    evaluation = Evaluation(n_label_classes=6, n_eval_classes=3, eval_mapping=mapping)
    images = [_maps(seed, 6) for seed in range(3)]
    cm = np.zeros((3, 3), dtype=np.int64)
    sets_true, sets_pred = [], []
    for gt, pred in images:
        evaluation.update(gt, pred)
        mapped_gt = np.array([[mapping[v] if v >= 0 else -1 for v in row] for row in gt])
        mapped_pred = np.array([[mapping[v] for v in row] for row in pred])
        cm += ref.confusion(mapped_gt, mapped_pred, 3)
        sets_true.append([c in set(gt.ravel().tolist()) for c in range(6)])  # label space
        sets_pred.append([c in set(pred.ravel().tolist()) for c in range(6)])
    result = evaluation.result()
    assert result["n_images"] == 3
    assert result["confusion_matrix"] == cm.tolist()
    want = ref.scores(cm)
    assert result["miou"] == pytest.approx(want["miou"], rel=1e-12)
    assert result["fwiou"] == pytest.approx(want["fwiou"], rel=1e-12)
    assert result["mean_acc"] == pytest.approx(want["mean_acc"], rel=1e-12)
    precision, recall = multilabel_precision_recall(np.array(sets_true), np.array(sets_pred))
    assert result["multilabel"] == {"precision": pytest.approx(precision),
                                    "recall": pytest.approx(recall), "n_classes": 6}


def test_evaluation_result_turns_nan_into_none():
    evaluation = Evaluation(n_label_classes=3)
    evaluation.update(np.array([[0, 0]]), np.array([[0, 1]]))
    result = evaluation.result()
    assert result["class_iou"] == [0.5, 0.0, None]  # class 1 predicted only; class 2 absent
    assert result["miou"] == pytest.approx(0.25)
    assert result["multilabel"]["precision"] == pytest.approx((1 + 0 + 0) / 3)
    assert result["multilabel"]["recall"] == pytest.approx((1 + 0 + 0) / 3)


def test_empty_and_single_pixel_cases():
    empty = segmentation_scores(np.zeros((2, 2), dtype=np.int64))
    assert all(math.isnan(empty[k]) for k in ("miou", "pixel_acc", "mean_acc", "fwiou"))
    one = segmentation_scores(np.array([[1, 0, 0], [1, 2, 0], [0, 0, 0]]))  # class 0: 1 GT pixel
    # IoU 0 = 1/2, IoU 1 = 2/3 (class 2 absent: NaN, not in fwiou); freq 1/4, 3/4
    assert one["fwiou"] == pytest.approx(0.25 * 0.5 + 0.75 * 2 / 3)
    assert one["mean_acc"] == pytest.approx((1 + 2 / 3) / 2)


def test_multilabel_reads_any_nonzero_as_present_and_refuses_bad_shapes():
    precision, recall = multilabel_precision_recall(np.array([[2, 0], [0, 1]]),
                                                    np.array([[1, 0], [0, 4]]))
    assert (precision, recall) == (1.0, 1.0)
    precision, recall = multilabel_precision_recall(np.array([[1], [1]]), np.array([[1], [0]]))
    assert (precision, recall) == (1.0, 0.5)  # one class is enough
    with pytest.raises(ValueError, match="same shape"):
        multilabel_precision_recall(np.ones(3, bool), np.ones(3, bool))
    with pytest.raises(ValueError, match="same shape"):
        multilabel_precision_recall(np.ones((2, 3), bool), np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="at least one class"):
        multilabel_precision_recall(np.ones((2, 0), bool), np.ones((2, 0), bool))


def test_evaluation_refusals_name_the_problem():
    Evaluation(n_label_classes=1).update(np.zeros((2, 2), int), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="n_label_classes must be >= 1"):
        Evaluation(n_label_classes=0)
    with pytest.raises(ValueError, match="give eval_mapping"):
        Evaluation(n_label_classes=3, n_eval_classes=2)
    with pytest.raises(ValueError, match=r"eval_mapping must be \(3,\)"):
        Evaluation(n_label_classes=3, n_eval_classes=2, eval_mapping=[0, 1])
    with pytest.raises(ValueError, match="eval_mapping"):
        Evaluation(n_label_classes=2, n_eval_classes=2, eval_mapping=[0, 2])
    evaluation = Evaluation(n_label_classes=3)
    with pytest.raises(ValueError, match="same shape"):
        evaluation.update(np.zeros((2, 2), int), np.zeros((2, 3), int))
    with pytest.raises(ValueError, match="gt holds label 3"):
        evaluation.update(np.full((1, 1), 3), np.zeros((1, 1), int))
    with pytest.raises(ValueError, match="pred holds label 5"):
        evaluation.update(np.zeros((1, 1), int), np.full((1, 1), 5))
    with pytest.raises(ValueError, match="pred holds -1"):
        evaluation.update(np.zeros((1, 1), int), np.full((1, 1), -1))
    assert evaluation.n_images == 0


def test_evaluation_without_images():
    result = Evaluation(n_label_classes=2).result()
    assert result["n_images"] == 0 and result["confusion_matrix"] == [[0, 0], [0, 0]]
    assert result["miou"] is None and result["pixel_acc"] is None and result["fwiou"] is None
    assert result["multilabel"] == {"precision": 0.0, "recall": 0.0, "n_classes": 2}


def test_evaluation_counts_accumulate_as_integers():
    evaluation = Evaluation(n_label_classes=2)
    for _ in range(3):
        evaluation.update(np.array([[0, 1]]), np.array([[0, 0]]))
    assert evaluation.confusion.dtype == np.int64
    assert evaluation.result()["confusion_matrix"] == [[3, 0], [3, 0]]
    assert evaluation.result()["mean_acc"] == pytest.approx(0.5)
