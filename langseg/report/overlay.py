"""A label map over a photo with a legend beside it, as one RGB array (the CLI's overlay PNG).

The legend is drawn in a white panel to the right of the photo, never on it, with text and
swatches scaled to the photo's height (at least 14 px), so it stays readable on small and large
photos alike. Pure function of arrays; the caller writes the file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from langseg.report.colours import legend_entries, overlay

MIN_TEXT_PX = 14          # smallest legend text height
TEXT_FRACTION = 1 / 20    # legend text height relative to the photo height


def overlay_with_legend(image: np.ndarray, label: np.ndarray, class_names: Sequence[str],
                        palette: np.ndarray, *, alpha: float = 0.5) -> np.ndarray:
    """The overlay (:func:`~langseg.report.colours.overlay`) with a legend panel on its right.

    Args:
        image: ``(H, W, 3)`` uint8 photo.
        label: ``(H, W)`` int labels in ``[-1, n_classes)``, -1 = ignore.
        class_names: one name per palette row.
        palette: ``(n_classes, 3)`` uint8 colours.
        alpha: weight of the label colours in ``[0, 1]``.

    Returns:
        ``(max(H, legend height), W + legend width, 3)`` uint8: the overlay at the top left,
        unchanged in size, the legend (a swatch and the name of each class present, in id
        order, "ignore" last) to its right, white elsewhere.
    """
    from PIL import Image, ImageDraw, ImageFont

    blended = overlay(image, label, palette, alpha)
    entries = legend_entries(label, class_names, palette)
    height, width = blended.shape[:2]
    size = max(MIN_TEXT_PX, round(height * TEXT_FRACTION))
    font = ImageFont.load_default(size=size)
    pad = max(4, size // 2)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_width = max((measure.textbbox((0, 0), name, font=font)[2] for name, _ in entries),
                     default=0)
    panel_width = 3 * pad + size + text_width + pad if entries else 0
    panel_height = pad + len(entries) * (size + pad)
    canvas = Image.new("RGB", (width + panel_width, max(height, panel_height)), (255, 255, 255))
    canvas.paste(Image.fromarray(blended), (0, 0))
    draw = ImageDraw.Draw(canvas)
    left = width + pad
    for row, (name, colour) in enumerate(entries):
        top = pad + row * (size + pad)
        draw.rectangle((left, top, left + size - 1, top + size - 1), fill=tuple(colour),
                       outline=(0, 0, 0))
        draw.text((left + size + pad, top), name, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)
