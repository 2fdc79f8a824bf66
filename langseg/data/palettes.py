"""Colour palettes for label maps: the PASCAL VOC colour map and a fixed distinct palette."""

from __future__ import annotations

import colorsys

import numpy as np


def voc_palette(n: int = 256) -> np.ndarray:
    """The standard PASCAL VOC colour map (bit-interleaving of the label id).

    The id's bits are read three at a time from the least significant end; the ``j``-th group's
    bits 0, 1, 2 become bit ``7 - j`` of R, G, B:
    0 -> (0, 0, 0), 1 -> (128, 0, 0), 2 -> (0, 128, 0), 15 -> (192, 128, 128),
    255 -> (224, 224, 192).

    Returns:
        ``(n, 3) uint8``, ``1 <= n <= 256``.
    """
    if not 1 <= n <= 256:
        raise ValueError(f"voc_palette: n must be in [1, 256], got {n}")
    palette = np.zeros((n, 3), dtype=np.uint8)
    for label in range(n):
        value, r, g, b = label, 0, 0, 0
        for j in range(8):
            r |= ((value >> 0) & 1) << (7 - j)
            g |= ((value >> 1) & 1) << (7 - j)
            b |= ((value >> 2) & 1) << (7 - j)
            value >>= 3
        palette[label] = (r, g, b)
    return palette


def distinct_palette(n: int) -> np.ndarray:
    """A fixed palette of ``n`` distinct, non-black colours (golden-ratio hues, 9 shade tiers).

    Returns:
        ``(n, 3) uint8``, rows pairwise distinct for ``n <= 256``; same output on every call.
    """
    if not 1 <= n <= 256:
        raise ValueError(f"distinct_palette: n must be in [1, 256], got {n}")
    golden = 0.618033988749895
    rows = []
    for i in range(n):
        hue = (i * golden) % 1.0
        saturation = (0.85, 0.55, 0.7)[i % 3]
        value = (0.95, 0.7, 0.5)[(i // 3) % 3]
        rows.append([round(255 * c) for c in colorsys.hsv_to_rgb(hue, saturation, value)])
    return np.asarray(rows, dtype=np.uint8)
