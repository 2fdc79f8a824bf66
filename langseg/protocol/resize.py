"""Input resizing of the standard protocol: mmcv's rescale rule and a cv2-like bilinear resize.

mmcv's ``Resize(scale=(2048, S), keep_ratio=True)`` scales by
``min(2048 / long_side, S / short_side)`` and rounds each side as ``int(side * factor + 0.5)``;
the pixels are resized by cv2's ``INTER_LINEAR`` on uint8. :func:`resize_bilinear_uint8`
follows cv2's fixed-point arithmetic (OpenCV 4.x generic path, read from its source): 11-bit
coefficients, half-pixel centres, clamped borders, no antialiasing; a horizontal pass into
integers, then a vertical pass that cv2 vectorises (128-bit lanes: 16 uint8 values of a row at a
time, rounding as ``((S0 >> 4) * b0 >> 16) + ((S1 >> 4) * b1 >> 16) + 2 >> 2``) and finishes the
row's remaining values in scalar form (``(S0 * b0 + S1 * b1 + 2**21) >> 22``). Not checked
against cv2 itself (not a dependency); cv2's special cases (an exact 2x downscale goes through
INTER_AREA, IPP builds) are not reproduced.
"""

from __future__ import annotations

import numpy as np

COEF_BITS = 11
COEF_SCALE = 1 << COEF_BITS


def rescale_size(height: int, width: int, short_side: int, max_long_side: int = 2048,
                 ) -> tuple[int, int]:
    """``(new_height, new_width)`` of mmcv's keep-ratio rescale to ``(max_long_side, short_side)``.

    Raises:
        ValueError: a side below 1.
    """
    if min(height, width, short_side, max_long_side) < 1:
        raise ValueError(f"sizes must be >= 1, got image {height}x{width}, short side "
                         f"{short_side}, long side {max_long_side}")
    factor = min(max_long_side / max(height, width), short_side / min(height, width))
    return int(height * float(factor) + 0.5), int(width * float(factor) + 0.5)


def _taps(src: int, dst: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First source index, second index and the two fixed-point weights of every output index."""
    scale = src / dst
    pos = ((np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    first = np.floor(pos).astype(np.int64)
    frac = (pos - first.astype(np.float32)).astype(np.float32)
    low = first < 0
    high = first >= src - 1
    frac[low | high] = 0.0
    first = np.clip(first, 0, src - 1)
    second = np.minimum(first + 1, src - 1)
    w1 = np.rint(frac * np.float32(COEF_SCALE)).astype(np.int64)
    w0 = np.rint((np.float32(1) - frac) * np.float32(COEF_SCALE)).astype(np.int64)
    return first, second, np.stack([w0, w1])


def resize_bilinear_uint8(image: np.ndarray, height: int, width: int, *,
                          simd_lanes: int = 16) -> np.ndarray:
    """cv2-like ``INTER_LINEAR`` resize of a uint8 image (fixed-point, see the module docstring).

    Args:
        image: ``(H, W)`` or ``(H, W, C) uint8``.
        height, width: output size, each >= 1.
        simd_lanes: values per vector in cv2's vertical pass (16 for 128-bit SIMD); the first
            ``lanes * floor(width * C / lanes)`` values of each row round the vector way, the
            rest the scalar way. ``0``: scalar rounding everywhere.

    Returns:
        ``(height, width[, C]) uint8``.
    """
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (H, W, C) uint8, got {img.dtype} {img.shape}")
    if height < 1 or width < 1:
        raise ValueError(f"output size must be >= 1, got {height}x{width}")
    x0, x1, wx = _taps(img.shape[1], width)
    y0, y1, wy = _taps(img.shape[0], height)
    src = img.astype(np.int64)
    shape = (1, -1) + (1,) * (img.ndim - 2)
    rows = src[:, x0] * wx[0].reshape(shape) + src[:, x1] * wx[1].reshape(shape)
    col = (-1,) + (1,) * (img.ndim - 1)
    top, bottom = rows[y0], rows[y1]
    b0, b1 = wy[0].reshape(col), wy[1].reshape(col)
    scalar = (top * b0 + bottom * b1 + (1 << (2 * COEF_BITS - 1))) >> (2 * COEF_BITS)
    vector = ((((top >> 4) * b0) >> 16) + (((bottom >> 4) * b1) >> 16) + 2) >> 2
    flat_scalar = scalar.reshape(height, -1)
    n_vector = (flat_scalar.shape[1] // simd_lanes) * simd_lanes if simd_lanes else 0
    out = flat_scalar.copy()
    out[:, :n_vector] = vector.reshape(height, -1)[:, :n_vector]
    return np.clip(out, 0, 255).astype(np.uint8).reshape(scalar.shape)


def normalise(image: np.ndarray, mean, std) -> np.ndarray:
    """``(H, W, 3) uint8`` RGB -> ``(3, H, W) float32`` ``(x - mean) / std`` on 0-255 values."""
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) RGB, got shape {img.shape}")
    mean = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
    std = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
    return ((img.transpose(2, 0, 1).astype(np.float32) - mean) / std).astype(np.float32)


def resize_logits(logits: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear (``align_corners=False``, no antialias, torch float32) resize of ``(C, h, w)``."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32))[None]
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)[0].numpy()
