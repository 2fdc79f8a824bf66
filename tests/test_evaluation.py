"""Evaluation accumulator: eval-space confusion (COCO mapping), label-space multilabel sets."""

import json

import numpy as np
import pytest

from langseg.evaluation import Evaluation


def test_coco_like_mapping_by_hand():
    # label space 4 ids -> eval ids [0, 0, 1, 1]
    ev = Evaluation(4, 2, eval_mapping=np.array([0, 0, 1, 1]))
    gt = np.array([[0, 1], [2, -1]])
    pred = np.array([[1, 3], [2, 0]])
    ev.update(gt, pred)
    # eval gt [[0, 0], [1, -1]], eval pred [[0, 1], [1, 0]]:
    # gt 0 -> pred 0 and 1; gt 1 -> pred 1; the -1 pixel is ignored
    result = ev.result()
    assert result["confusion_matrix"] == [[1, 1], [0, 1]]
    # IoU0 = 1 / (2 + 1 - 1) = 1/2; IoU1 = 1 / (1 + 2 - 1) = 1/2
    assert result["miou"] == pytest.approx(0.5) and result["n_images"] == 1
    # label-space sets: gt {0, 1, 2}, pred {0, 1, 2, 3}: precision (1+1+1+0)/4, recall
    # (1+1+1+0)/4 (class 3 never in the GT -> recall 0)
    assert result["multilabel"] == {"precision": 0.75, "recall": 0.75, "n_classes": 4}


def test_result_accumulates_images_and_is_json_with_nan_as_none():
    ev = Evaluation(3)
    ev.update(np.array([[0, 0]]), np.array([[0, 0]]))
    ev.update(np.array([[1, -1]]), np.array([[1, 1]]))
    result = json.loads(json.dumps(ev.result(), allow_nan=False))
    assert result["confusion_matrix"] == [[2, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert result["class_iou"] == [1.0, 1.0, None]  # class 2 absent everywhere -> NaN -> None
    assert result["miou"] == 1.0 and result["n_images"] == 2
    # sets: image 1 gt {0} pred {0}; image 2 gt {1} pred {1}: classes 0, 1 P = R = 1, class 2 0
    assert result["multilabel"]["precision"] == pytest.approx(2 / 3)


def test_update_refuses_out_of_space_ids():
    ev = Evaluation(3)
    with pytest.raises(ValueError, match="pred"):
        ev.update(np.zeros((2, 2), int), np.full((2, 2), 3))
    with pytest.raises(ValueError, match="pred"):
        ev.update(np.zeros((2, 2), int), np.full((2, 2), -1))
    with pytest.raises(ValueError, match="gt"):
        ev.update(np.full((2, 2), 5), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="eval_mapping"):
        Evaluation(4, 2, eval_mapping=np.array([0, 1, 2, 0]))
    assert ev.n_images == 0  # nothing was accumulated by the refused updates
