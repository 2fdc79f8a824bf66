"""Dataset-independent entry points: list a split's samples and read a sample's label map."""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np

from langseg.data import cityscapes, cocostuff, context, voc
from langseg.data.images import read_mask
from langseg.data.registry import as_dataset_kind
from langseg.data.samples import Sample, limit_samples, require_files
from langseg.params import DatasetKind

_LAYOUTS: dict[DatasetKind, ModuleType] = {
    DatasetKind.VOC2012: voc,
    DatasetKind.CONTEXT: context,
    DatasetKind.COCOSTUFF: cocostuff,
    DatasetKind.CITYSCAPES: cityscapes,
}


def layout_of(kind: DatasetKind | str) -> ModuleType:
    """The reader module of ``kind`` (``NAME``, ``LAYOUT``, ``SPLITS``, ``list_split``,
    ``map_labels``)."""
    return _LAYOUTS[as_dataset_kind(kind)]


def list_samples(kind: DatasetKind | str, root: str | os.PathLike, split: str, *,
                 max_images: int | None = None) -> list[Sample]:
    """The samples of ``split`` under ``root``, in split-file order, first ``max_images`` only.

    Every returned image and mask path is checked to exist (``os.path.exists``), so missing files
    fail here, before any job runs.

    Raises:
        ValueError: unknown kind or split, bad ``max_images``, empty or repeating split list.
        FileNotFoundError: missing root, split file, images or masks; the message names the paths
            (up to 5 plus the count) and shows the expected layout.
    """
    layout = layout_of(kind)
    samples = limit_samples(layout.list_split(root, split), max_images)
    require_files(samples, f"{layout.NAME} {split}", root, layout.LAYOUT)
    return samples


def read_label(mask_path: str | os.PathLike, kind: DatasetKind | str) -> np.ndarray:
    """The label map of one mask file at its stored size.

    Returns:
        ``(H, W) int16`` in the dataset's label space, ``-1`` = ignore.

    Raises:
        FileNotFoundError, CorruptFileError: unreadable file.
        ValueError: values outside the dataset's rule or a multi-channel mask (names the file).
    """
    layout = layout_of(kind)
    raw = np.asarray(read_mask(mask_path))
    try:
        return layout.map_labels(raw)
    except ValueError as err:
        raise ValueError(f"{layout.NAME} mask {mask_path}: {err}") from err
