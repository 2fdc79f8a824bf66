"""Zero-shot class sets for AggSD-ZS: the classes Method 1 predicts present."""

import numpy as np
import pytest

from langseg.methods import MethodSettings
from langseg.methods.zero_shot import (
    ZeroShotClasses,
    classes_from_labels,
    predicted_classes,
)
from langseg.params import DatasetKind


def test_classes_above_the_area_threshold_largest_first_then_sorted():
    labels = np.zeros((10, 10), np.int16)
    labels[:, :3] = 7   # 30 %
    labels[:, 3:4] = 2  # 10 %
    labels[0, 4:9] = 5  # 5 %
    labels[1, 4:6] = 9  # 2 %
    rule = ZeroShotClasses(min_area=0.05, max_classes=8)
    assert classes_from_labels(labels, rule, background=True) == [2, 5, 7]
    assert classes_from_labels(labels, rule, background=False) == [0, 2, 5, 7]
    assert classes_from_labels(labels, ZeroShotClasses(0.05, 2), background=True) == [2, 7]
    assert classes_from_labels(labels, ZeroShotClasses(0.01, 8), background=True) == [2, 5, 7, 9]


def test_ignore_label_is_never_a_class():
    labels = np.full((4, 4), -1, np.int16)
    assert classes_from_labels(labels, ZeroShotClasses(0.01, 3), background=False) == []


def test_rule_is_validated():
    with pytest.raises(ValueError, match="aggsd_zs.min_area"):
        ZeroShotClasses(min_area=0)
    with pytest.raises(ValueError, match="aggsd_zs.max_classes"):
        ZeroShotClasses(max_classes=0)


def test_predicted_classes_follow_method_1():
    # 3 prompt classes (VOC ids 1..3); class 2 wins the left half, class 3 the right half
    cos = np.zeros((3, 4, 4), np.float32)
    cos[1, :, :2] = 0.9
    cos[2, :, 2:] = 0.9
    settings = MethodSettings.for_dataset(DatasetKind.CONTEXT, {"output_size": 16})
    assert predicted_classes(cos, settings, ZeroShotClasses()) == [1, 2]
    voc = MethodSettings.for_dataset(DatasetKind.VOC2012, {"output_size": 16})
    assert predicted_classes(cos, voc, ZeroShotClasses()) == [2, 3]  # channel 0 = background
