"""Pure label-map helpers: value tables (raw mask value -> label id) and nearest resizing."""

from __future__ import annotations

import numpy as np

IGNORE = -1
INVALID = -2  # table entry for a raw value that must not occur


def apply_label_table(raw: np.ndarray, table: np.ndarray, *, allowed: str) -> np.ndarray:
    """Map raw mask values through ``table`` (``labels = table[raw]``), rejecting invalid values.

    Args:
        raw: ``(H, W)`` non-negative integer mask values as stored.
        table: ``(V,) int16``; entry = label id, ``-1`` (ignore) or ``INVALID`` (must not occur).
            Values ``>= V`` are invalid too.
        allowed: human description of the valid raw values, used in the error message.

    Returns:
        ``(H, W) int16`` label ids (``-1`` = ignore).

    Raises:
        ValueError: some raw values are invalid; the message lists them (up to 10) and ``allowed``.
    """
    values = np.asarray(raw)
    if values.ndim != 2 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            f"label mask must be a 2-D integer array, got {values.dtype} {values.shape}")
    if values.size and values.min() < 0:
        raise ValueError(f"label mask has negative values {np.unique(values[values < 0])[:10]}")
    out_of_table = values >= len(table)
    labels = table[np.where(out_of_table, 0, values)]
    bad = out_of_table | (labels == INVALID)
    if bad.any():
        found = np.unique(values[bad])
        raise ValueError(
            f"unexpected label values {found[:10].tolist()}{' ...' if len(found) > 10 else ''}; "
            f"allowed: {allowed}")
    return labels.astype(np.int16)


def resize_labels(labels: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of a label map to ``(size, size)`` with PIL's NEAREST filter.

    PIL is used (not numpy indexing) so that the result equals the original pipeline's torchvision
    ``Resize((size, size), NEAREST)`` of the PIL mask; NEAREST only selects pixels, so resizing
    after the value mapping gives the same result as mapping after resizing.

    Args:
        labels: ``(H, W)`` integer label ids, ``-1`` = ignore, values fit in int32.
        size: output side length, ``>= 1``.

    Returns:
        ``(size, size) int16``.
    """
    from PIL import Image

    check_size(size)
    img = Image.fromarray(np.ascontiguousarray(labels, dtype=np.int32), mode="I")
    return np.asarray(img.resize((size, size), Image.Resampling.NEAREST)).astype(np.int16)


def check_size(size: int) -> None:
    """ValueError unless ``size`` is a positive integer (an output side length in pixels)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")


def label_table(valid: dict[int, int], *, length: int = 256, default: int = INVALID) -> np.ndarray:
    """A ``(length,) int16`` table with ``table[v] = valid[v]`` and ``default`` elsewhere."""
    table = np.full(length, default, dtype=np.int16)
    for value, label in valid.items():
        table[value] = label
    table.flags.writeable = False
    return table
