"""Cityscapes (27 classes = labelIds 7..33) fine-annotation layout; no split file (folder scan).

Label rule: ``labelId - 7`` for labelIds 7..33; 0..6 (unlabeled, ego vehicle, rectification
border, out of roi, static, dynamic, ground) -> -1 (ignore). Real ``*_gtFine_labelIds.png`` files
hold only 0..33 (the license plate, id -1, is not drawn), so any other value is refused naming the
file: it means another file saved under that name (``instanceIds`` with values 24000+, 16-bit
masks with values x257, trainIds with 255), which would otherwise silently become ignore.
"""

from __future__ import annotations

import numpy as np

from langseg.data.labels import IGNORE, apply_label_table, label_table
from langseg.data.samples import Sample, layout_hint, require_root, require_split

NAME = "Cityscapes"
SPLITS = ("train", "val")
LAYOUT = """
cityscapes/                       <- root
  leftImg8bit/{train,val}/{city}/{id}_leftImg8bit.png
  gtFine/{train,val}/{city}/{id}_gtFine_labelIds.png   (labelIds 0..33)
"""
_IMAGE_SUFFIX = "_leftImg8bit.png"
_MASK_SUFFIX = "_gtFine_labelIds.png"
_TABLE = label_table({v: v - 7 for v in range(7, 34)}, length=34, default=IGNORE)


def list_split(root, split: str) -> list[Sample]:
    """Samples of ``split`` sorted by city then file name; id = file name without the suffix."""
    require_split(split, SPLITS, NAME)
    base = require_root(root, NAME, LAYOUT)
    images = base / "leftImg8bit" / split
    if not images.is_dir():
        raise FileNotFoundError(f"{NAME} image folder not found: {images}\n{layout_hint(LAYOUT)}")
    paths = sorted(images.glob(f"*/*{_IMAGE_SUFFIX}"), key=lambda p: (p.parent.name, p.name))
    if not paths:
        raise ValueError(f"{NAME}: no */*{_IMAGE_SUFFIX} images in {images}")
    samples = []
    for path in paths:
        image_id = path.name.removesuffix(_IMAGE_SUFFIX)
        mask = base / "gtFine" / split / path.parent.name / f"{image_id}{_MASK_SUFFIX}"
        samples.append(Sample(image_id, path, mask))
    return samples


def map_labels(raw: np.ndarray) -> np.ndarray:
    """``(H, W)`` labelIds -> ``(H, W) int16``: 7..33 -> 0..26, 0..6 -> -1, others refused."""
    return apply_label_table(raw, _TABLE, allowed="Cityscapes labelIds 0..33 (is this an "
                             "instanceIds, trainIds or 16-bit file?)")
