"""Zero-shot class sets for AggSD-ZS: the classes a CLIP backend's Method 1 predicts present.

AggSD needs the image's classes to build its SD prompt; AggSD-ZS prompts SD with the classes
that Method 1 (argmax of the backend's class probabilities at the output size) assigns to at
least ``min_area`` of the pixels, the ``max_classes`` largest of them (the SD text encoder
holds 77 tokens). Background (label 0 where the background rule is on) is never prompted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from langseg.methods.inputs import ImageInputs
from langseg.methods.settings import MethodSettings, _check_float, _check_int
from langseg.params import Method


@dataclass(frozen=True)
class ZeroShotClasses:
    """Rule turning a Method 1 label map into a prompt class set.

    Attributes:
        min_area: smallest fraction of the pixels, in (0, 1], a class must cover.
        max_classes: at most this many classes (the largest) are kept.
    """

    min_area: float = 0.05
    max_classes: int = 8

    def __post_init__(self) -> None:
        _check_float("aggsd_zs.min_area", self.min_area, 0.0, 1.0)
        _check_int("aggsd_zs.max_classes", self.max_classes, 1)


def classes_from_labels(labels: np.ndarray, rule: ZeroShotClasses, *,
                        background: bool) -> list[int]:
    """Label ids of ``labels (S, S) int`` passing ``rule``, sorted ascending.

    Ties in area are broken by the smaller label id; label 0 is skipped when ``background``.
    """
    ids, counts = np.unique(np.asarray(labels), return_counts=True)
    keep = [(int(c), int(i)) for i, c in zip(ids, counts, strict=True)
            if i >= 0 and not (background and i == 0) and c >= rule.min_area * labels.size]
    keep.sort(key=lambda pair: (-pair[0], pair[1]))
    return sorted(i for _, i in keep[: rule.max_classes])


def predicted_classes(cosines: np.ndarray, settings: MethodSettings,
                      rule: ZeroShotClasses) -> list[int]:
    """Classes a backend predicts present in one image.

    Args:
        cosines: ``(C, g, g) float32`` raw patch-text cosines of the backend.
        settings: the dataset's method settings (temperature, background rule, output size).

    Returns:
        sorted label ids (never the background), at most ``rule.max_classes``.
    """
    from langseg.methods.segment import segment_image

    labels = segment_image(Method.GEM, ImageInputs(cosines=cosines), settings)
    return classes_from_labels(labels, rule, background=settings.voc_background)
