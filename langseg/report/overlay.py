"""An image with its label map blended on top and a legend BESIDE it (never on the data).

Shared by the single-image command and the figures. The legend uses DejaVu Sans (shipped with
matplotlib, a dependency), whose glyphs cover Latin, Greek and Cyrillic names; without it Pillow's
default font is used. Pure Pillow/numpy: arrays and images in, an image out, no file I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from langseg.report.colours import legend_entries, overlay

OVERLAY_ALPHA = 0.5  # weight of the label colours over the photo (Figure 3 uses 0.8)
LEGEND_BACKGROUND = (255, 255, 255)
MIN_FONT_PX = 14  # readable on screen and in print at the image's own size


def legend_font_size(image_height: int) -> int:
    """Font size in pixels for a legend next to an image ``image_height`` pixels high:
    ``max(MIN_FONT_PX, image_height // 24)`` (15 px at 360 px, 20 px at 480 px)."""
    return max(MIN_FONT_PX, image_height // 24)


@functools.lru_cache(maxsize=8)
def legend_font(size: int):
    """DejaVu Sans at ``size`` px from matplotlib's data folder, else Pillow's default font."""
    from PIL import ImageFont

    try:
        import matplotlib

        path = f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans.ttf"
        return ImageFont.truetype(path, size)
    except (ImportError, OSError):
        return ImageFont.load_default(size=size)


def legend_panel(entries: Sequence[tuple[str, tuple[int, int, int]]], font_size: int):
    """A white panel listing ``entries`` top to bottom: a colour swatch and the name.

    Args:
        entries: ``(name, (r, g, b))`` in drawing order (may be empty: a 1-pixel-wide panel).
        font_size: text height in pixels (swatches are as high).

    Returns:
        RGB ``PIL.Image.Image`` exactly as large as its content (every entry fully visible).
    """
    from PIL import Image, ImageDraw

    font = legend_font(font_size)
    pad = max(3, font_size // 3)
    row = font_size + pad
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_width = max((measure.textbbox((0, 0), name, font=font)[2] for name, _ in entries),
                     default=0)
    width = 1 if not entries else 3 * pad + font_size + text_width + pad
    height = 1 if not entries else pad + len(entries) * row
    panel = Image.new("RGB", (width, height), LEGEND_BACKGROUND)
    draw = ImageDraw.Draw(panel)
    for k, (name, colour) in enumerate(entries):
        top = pad + k * row
        draw.rectangle((pad, top, pad + font_size - 1, top + font_size - 1),
                       fill=tuple(int(c) for c in colour), outline=(0, 0, 0))
        draw.text((2 * pad + font_size, top), name, fill=(0, 0, 0), font=font)
    return panel


def overlay_with_legend(image: np.ndarray, labels: np.ndarray, label_names: Sequence[str],
                        palette: np.ndarray, *, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """The overlay of ``labels`` on ``image`` with a legend of the classes present to its right.

    Args:
        image: ``(H, W, 3) uint8`` photo.
        labels: ``(H, W) int`` in ``[-1, n)`` (``-1`` = ignore), same size as ``image``.
        label_names: ``n`` names, one per palette row.
        palette: ``(n, 3) uint8`` colours.
        alpha: weight of the label colours, in ``[0, 1]``.

    Returns:
        ``(max(H, h_legend), W + w_legend, 3) uint8``: columns ``[0, W)`` rows ``[0, H)`` are
        exactly :func:`langseg.report.colours.overlay`; the rest is white or legend.
    """
    blended = overlay(np.asarray(image), labels, palette, alpha=alpha)
    height, width = blended.shape[:2]
    panel = np.asarray(legend_panel(legend_entries(labels, label_names, palette),
                                    legend_font_size(height)))
    canvas = np.full((max(height, panel.shape[0]), width + panel.shape[1], 3),
                     LEGEND_BACKGROUND, dtype=np.uint8)
    canvas[:height, :width] = blended
    canvas[: panel.shape[0], width:] = panel
    return canvas
