"""COCO-Object masks from COCO-Stuff 164k stuffthingmaps, the way the SCLIP lineage makes them.

The lineage's converter (from GroupViT) reads the raw stuffthingmaps (0-indexed COCO ids 0..181,
255 = unlabeled) and writes ``{id}_instanceTrainIds.png``: the 80 used thing ids (0..90) become
1..80 in increasing order, every stuff id (91..181) **and 255** become 0 (background). So
unlabeled pixels count as background in COCO-Object, unlike COCO-Stuff. The 11 ids COCO never
uses are refused here (the original left them unchanged, which would alias real classes).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from langseg.data.classes import COCO_STUFF_UNUSED_IDS
from langseg.data.labels import INVALID, apply_label_table, label_table

N_THING_IDS = 91  # raw ids 0..90 are things (80 used), 91..181 stuff


def coco_object_table() -> np.ndarray:
    """``(256,) int16``: raw stuffthingmap id -> COCO-Object label (0 = background, 1..80)."""
    things = [v for v in range(N_THING_IDS) if v not in COCO_STUFF_UNUSED_IDS]
    valid = {v: i + 1 for i, v in enumerate(things)}
    valid.update({v: 0 for v in range(N_THING_IDS, 182)})
    valid[255] = 0
    table = label_table(valid, default=INVALID)
    return table


def stuff_to_object(raw: np.ndarray) -> np.ndarray:
    """``(H, W)`` raw stuffthingmap ids -> ``(H, W) uint8`` COCO-Object labels 0..80.

    Raises:
        ValueError: unused COCO ids, 182..254, or a non-2-D / non-integer mask.
    """
    labels = apply_label_table(
        raw, coco_object_table(),
        allowed=f"0..181 except {list(COCO_STUFF_UNUSED_IDS)}, and 255 (unlabeled)")
    return labels.astype(np.uint8)


def convert_split(root: str | os.PathLike, split: str = "val2017") -> int:
    """Write ``annotations/{split}/{id}_instanceTrainIds.png`` next to every raw ``{id}.png``.

    Raw maps are the files without ``TrainIds`` in their names. Returns how many were written.

    Raises:
        FileNotFoundError: no ``annotations/{split}`` folder under ``root``.
        ValueError: a raw map with invalid values (names the file).
    """
    from PIL import Image

    from langseg.data.images import read_mask

    folder = Path(root) / "annotations" / split
    if not folder.is_dir():
        raise FileNotFoundError(f"COCO-Stuff annotation folder not found: {folder}")
    raws = sorted(p for p in folder.glob("*.png") if "TrainIds" not in p.name)
    for path in raws:
        try:
            labels = stuff_to_object(np.asarray(read_mask(path)))
        except ValueError as err:
            raise ValueError(f"COCO-Stuff map {path}: {err}") from err
        Image.fromarray(labels).save(folder / f"{path.stem}_instanceTrainIds.png")
    return len(raws)
