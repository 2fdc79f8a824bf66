"""PASCAL VOC2012 segmentation layout (root = the ``VOC2012`` folder; the demo uses it too)."""

from __future__ import annotations

import numpy as np

from langseg.data.labels import IGNORE, apply_label_table, label_table
from langseg.data.samples import Sample, read_split_file, require_root, require_split

NAME = "VOC2012"
SPLITS = ("train", "val", "trainval")
LAYOUT = """
VOC2012/                          <- root
  JPEGImages/{id}.jpg
  SegmentationClass/{id}.png      (palette PNG: values 0..20, 255 = boundary)
  ImageSets/Segmentation/{train,val,trainval}.txt
"""
# 0..20 kept (0 = background), 255 (object boundary / difficult) -> ignore.
_TABLE = label_table({**{v: v for v in range(21)}, 255: IGNORE})


def list_split(root, split: str) -> list[Sample]:
    """Samples of ``split`` in split-file order (files not checked here)."""
    require_split(split, SPLITS, NAME)
    base = require_root(root, NAME, LAYOUT)
    ids = read_split_file(base / "ImageSets" / "Segmentation" / f"{split}.txt", NAME, LAYOUT)
    return [Sample(i, base / "JPEGImages" / f"{i}.jpg", base / "SegmentationClass" / f"{i}.png")
            for i in ids]


def map_labels(raw: np.ndarray) -> np.ndarray:
    """``(H, W)`` raw PNG indices -> ``(H, W) int16``: 0..20 kept, 255 -> -1; others ValueError."""
    return apply_label_table(raw, _TABLE, allowed="0..20 and 255 (boundary)")
