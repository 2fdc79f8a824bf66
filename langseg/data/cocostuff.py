"""COCO-Stuff (stuffthingmaps) layout; 182 raw ids -> 171 fine labels (evaluated on 27 coarse).

Splits:

* ``val2017``: the curated id list ``curated/val2017/Coco164kFull_Stuff_Coarse.txt`` that the
  report's code read (4172 ids in its run).
* ``val2017-full`` / ``train2017-full``: when that list is absent but you have the full annotation
  folder, every ``annotations/{val2017,train2017}/*.png`` in name order ("the file the user actually
  has"). The full val2017 has 5000 images, so numbers differ from the report's 4172-image list.
"""

from __future__ import annotations

import numpy as np

from langseg.data.classes import COCO_STUFF_182_TO_27, COCO_STUFF_UNUSED_IDS
from langseg.data.labels import IGNORE, apply_label_table, label_table
from langseg.data.samples import (Sample, layout_hint, read_split_file, require_root,
                                  require_split)

NAME = "COCO-Stuff"
SPLITS = ("val2017", "val2017-full", "train2017-full")
LAYOUT = """
cocostuff/                        <- root
  images/{val2017,train2017}/{id}.jpg
  annotations/{val2017,train2017}/{id}.png   (stuffthingmaps: 0..181, 255 = unlabeled)
  curated/val2017/Coco164kFull_Stuff_Coarse.txt   (id list of split val2017)
"""
CURATED_LIST = ("curated", "val2017", "Coco164kFull_Stuff_Coarse.txt")


def coco_182_to_171() -> np.ndarray:
    """``(182,) int16``: used raw ids -> 0..170 in increasing order; the 11 unused ids -> -2."""
    used = [v for v in range(len(COCO_STUFF_182_TO_27)) if v not in COCO_STUFF_UNUSED_IDS]
    return np.asarray(label_table({v: i for i, v in enumerate(used)}, length=182))


# raw 0..181 (used ids) -> 0..170, 255 (unlabeled) -> ignore; unused ids and 182..254 invalid.
_TABLE = label_table({**{v: int(i) for v, i in enumerate(coco_182_to_171()) if i >= 0},
                      255: IGNORE})


def _full_split_ids(base, folder: str) -> list[str]:
    annotations = base / "annotations" / folder
    if not annotations.is_dir():
        raise FileNotFoundError(
            f"{NAME} annotation folder not found: {annotations}\n{layout_hint(LAYOUT)}")
    ids = sorted(p.stem for p in annotations.glob("*.png"))
    if not ids:
        raise ValueError(f"{NAME}: no *.png annotations in {annotations}")
    return ids


def _curated_ids(base) -> list[str]:
    path = base.joinpath(*CURATED_LIST)
    if not path.is_file() and (base / "annotations" / "val2017").is_dir():
        raise FileNotFoundError(
            f"{NAME} split file not found: {path}\nThe report read this curated list (4172 ids). "
            f"If you have the full val2017 annotations instead, set split: val2017-full.\n"
            f"{layout_hint(LAYOUT)}")
    return read_split_file(path, NAME, LAYOUT)


def list_split(root, split: str) -> list[Sample]:
    """Samples of ``split`` in list order (curated file order, or sorted names for ``*-full``)."""
    require_split(split, SPLITS, NAME)
    base = require_root(root, NAME, LAYOUT)
    folder = split.removesuffix("-full")
    ids = _full_split_ids(base, folder) if split.endswith("-full") else _curated_ids(base)
    return [Sample(i, base / "images" / folder / f"{i}.jpg",
                   base / "annotations" / folder / f"{i}.png") for i in ids]


def map_labels(raw: np.ndarray) -> np.ndarray:
    """``(H, W)`` raw 0-indexed ids -> ``(H, W) int16`` fine 171-ids, 255 -> -1.

    The 11 ids unused by COCO-Stuff (``COCO_STUFF_UNUSED_IDS``) and 182..254 raise ValueError.
    """
    return apply_label_table(
        raw, _TABLE, allowed=f"0..181 except {list(COCO_STUFF_UNUSED_IDS)}, and 255 (unlabeled)")
