"""What langseg knows about each dataset: label space, prompts, evaluation classes, palette."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from langseg.data import cityscapes, classes, cocostuff, context, voc
from langseg.data.palettes import distinct_palette, voc_palette
from langseg.params import DatasetKind, parse_choice


@dataclass(frozen=True, eq=False)
class DatasetInfo:
    """Fixed facts about one dataset (returned shared and read-only by :func:`get_dataset_info`).

    Attributes:
        kind: the dataset.
        class_names: label-space names, index = label id (VOC: 21 incl. "background" at 0; Context
            59; COCO-Stuff 171 fine; Cityscapes 27). SD prompts use these strings verbatim.
        prompt_class_names: what GEM is prompted with (VOC: ``class_names[1:]``; others all).
        background_channel: VOC only: the background rule adds channel 0 in front of the prompts.
        eval_class_names: scored classes (COCO-Stuff: the 27 coarse names; others = class_names).
        eval_mapping: COCO-Stuff: ``(171,) int64`` fine id -> coarse 27-id; ``None`` otherwise.
        palette: ``(len(class_names), 3) uint8`` colours (VOC colour map for VOC, fixed distinct
            colours for the others).
        splits: split names the reader accepts.
    """

    kind: DatasetKind
    class_names: tuple[str, ...]
    prompt_class_names: tuple[str, ...]
    background_channel: bool
    eval_class_names: tuple[str, ...]
    eval_mapping: np.ndarray | None
    palette: np.ndarray
    splits: tuple[str, ...]

    @property
    def n_eval_classes(self) -> int:
        """Size of the confusion matrix: ``len(eval_class_names)``."""
        return len(self.eval_class_names)


def as_dataset_kind(kind: DatasetKind | str) -> DatasetKind:
    """``kind`` as a :class:`DatasetKind`; ValueError listing the allowed values otherwise."""
    return parse_choice(DatasetKind, kind, "dataset kind")


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@functools.cache
def _info(kind: DatasetKind) -> DatasetInfo:
    if kind is DatasetKind.VOC2012:
        names, module = classes.VOC2012_CLASSES, voc
        palette = voc_palette(len(names))
    else:
        names, module = {
            DatasetKind.CONTEXT: (classes.CONTEXT_CLASSES, context),
            DatasetKind.COCOSTUFF: (classes.COCO_STUFF_FINE_CLASSES, cocostuff),
            DatasetKind.CITYSCAPES: (classes.CITYSCAPES_CLASSES, cityscapes),
        }[kind]
        palette = distinct_palette(len(names))
    is_voc, is_coco = kind is DatasetKind.VOC2012, kind is DatasetKind.COCOSTUFF
    mapping = np.asarray(classes.COCO_STUFF_171_TO_27, dtype=np.int64) if is_coco else None
    return DatasetInfo(
        kind=kind,
        class_names=names,
        prompt_class_names=names[1:] if is_voc else names,
        background_channel=is_voc,
        eval_class_names=classes.COCO_STUFF_COARSE_CLASSES if is_coco else names,
        eval_mapping=None if mapping is None else _read_only(mapping),
        palette=_read_only(palette),
        splits=module.SPLITS,
    )


def get_dataset_info(kind: DatasetKind | str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``kind`` (an enum or its value, e.g. ``"voc2012"``)."""
    return _info(as_dataset_kind(kind))
