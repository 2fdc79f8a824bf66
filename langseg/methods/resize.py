"""Resampling with torch's ``F.interpolate`` (CPU), so values match the report's code exactly.

torch is imported inside the functions: importing :mod:`langseg.methods` stays torch-free.
"""

from __future__ import annotations

import numpy as np


def _interpolate(maps: np.ndarray, size: int, mode: str, antialias: bool) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32))[None]  # (1, C, h, w)
    if mode == "nearest":
        out = F.interpolate(x, size=(size, size), mode="nearest")
    else:
        out = F.interpolate(x, size=(size, size), mode=mode, align_corners=False,
                            antialias=antialias)
    return out[0].numpy()


def resize_bilinear(maps: np.ndarray, size: int) -> np.ndarray:
    """Bilinear, ``align_corners=False``, no antialias.

    Args:
        maps: ``(C, h, w) float32``.
    Returns:
        ``(C, size, size) float32``.
    """
    return _interpolate(maps, size, "bilinear", antialias=False)


def resize_bicubic_aa(maps: np.ndarray, size: int) -> np.ndarray:
    """Bicubic with antialias, ``align_corners=False`` (the report's ``upscale_attn``).

    Args:
        maps: ``(C, h, w) float32``.
    Returns:
        ``(C, size, size) float32``; may overshoot the input range.
    """
    return _interpolate(maps, size, "bicubic", antialias=True)


def resize_labels_nearest(labels: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of a label map (torch ``mode="nearest"`` on float labels).

    Args:
        labels: ``(h, w) int`` with ``|values| < 2**24`` (exact in float32).
    Returns:
        ``(size, size) int64``.
    """
    out = _interpolate(labels[None].astype(np.float32), size, "nearest", antialias=False)
    return out[0].astype(np.int64)
