"""PASCAL Context (59 classes) layout: root = the VOC2010 folder with the Context annotations."""

from __future__ import annotations

import numpy as np

from langseg.data.labels import IGNORE, apply_label_table, label_table
from langseg.data.samples import Sample, read_split_file, require_root, require_split

NAME = "PASCAL Context"
SPLITS = ("train", "val")
LAYOUT = """
VOC2010/                          <- root
  JPEGImages/{id}.jpg
  SegmentationClassContext/{id}.png   (60-label PNG: 0 = background, 1..59 = classes)
  ImageSets/SegmentationContext/{train,val}.txt
"""
# label = value - 1: background (0) -> ignore, 1..59 -> 0..58.
_TABLE = label_table({0: IGNORE, **{v: v - 1 for v in range(1, 60)}})


def list_split(root, split: str) -> list[Sample]:
    """Samples of ``split`` in split-file order (files not checked here)."""
    require_split(split, SPLITS, NAME)
    base = require_root(root, NAME, LAYOUT)
    ids = read_split_file(base / "ImageSets" / "SegmentationContext" / f"{split}.txt", NAME, LAYOUT)
    return [Sample(i, base / "JPEGImages" / f"{i}.jpg",
                   base / "SegmentationClassContext" / f"{i}.png") for i in ids]


def map_labels(raw: np.ndarray) -> np.ndarray:
    """``(H, W)`` raw values -> ``(H, W) int16`` = value - 1 (0 -> -1); values > 59 ValueError."""
    return apply_label_table(raw, _TABLE, allowed="0 (background) .. 59")
