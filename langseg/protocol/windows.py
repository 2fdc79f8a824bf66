"""Sliding-window inference of the standard protocol (mmseg's ``slide`` mode as SCLIP codes it).

Windows of ``crop x crop`` start every ``stride`` pixels; a window that would cross the image's
bottom or right border is shifted back inside (never clipped or padded), so every window has the
full crop size unless the image itself is smaller. Each window's patch logits are upsampled
bilinearly to the window size, summed into the image and divided by the per-pixel window count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from langseg.protocol.resize import resize_logits

#: ``(3, h, w) float32 window -> (C, gh, gw) float32`` patch-grid logits (e.g. cosines).
PatchLogits = Callable[[np.ndarray], np.ndarray]


def window_boxes(height: int, width: int, crop: int, stride: int,
                 ) -> list[tuple[int, int, int, int]]:
    """``(y1, y2, x1, x2)`` of every window, row-major.

    The number of windows per axis is ``max(size - crop + stride - 1, 0) // stride + 1``; window
    ``i`` ends at ``min(i * stride + crop, size)`` and starts at ``max(end - crop, 0)``.
    """
    if crop < 1 or stride < 1:
        raise ValueError(f"crop and stride must be >= 1, got {crop} and {stride}")

    def spans(size: int) -> list[tuple[int, int]]:
        count = max(size - crop + stride - 1, 0) // stride + 1
        out = []
        for i in range(count):
            end = min(i * stride + crop, size)
            out.append((max(end - crop, 0), end))
        return out

    return [(y1, y2, x1, x2) for y1, y2 in spans(height) for x1, x2 in spans(width)]


def slide_logits(pixels: np.ndarray, patch_logits: PatchLogits, crop: int, stride: int,
                 ) -> np.ndarray:
    """Window-averaged logits of a whole (resized, normalised) image.

    Args:
        pixels: ``(3, H, W) float32``.
        patch_logits: the backend; called once per window.
        crop, stride: window side and step; ``crop == 0`` runs the whole image as one window.

    Returns:
        ``(C, H, W) float32``: sum of the upsampled window logits / window count per pixel.
    """
    _, height, width = pixels.shape
    if crop == 0:
        return resize_logits(patch_logits(pixels), height, width)
    total = None
    count = np.zeros((height, width), dtype=np.float32)
    for y1, y2, x1, x2 in window_boxes(height, width, crop, stride):
        logits = resize_logits(patch_logits(pixels[:, y1:y2, x1:x2]), y2 - y1, x2 - x1)
        if total is None:
            total = np.zeros((logits.shape[0], height, width), dtype=np.float32)
        total[:, y1:y2, x1:x2] += logits
        count[y1:y2, x1:x2] += 1
    return total / count
