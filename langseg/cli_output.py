"""Output files of the single-image command: the label PNG, the overlay with a legend, the
summary line. numpy and Pillow are imported here, not by ``langseg.cli`` (``--help`` stays fast).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from langseg.params import Method

def resize_nearest(labels, height: int, width: int):
    """Nearest-neighbour resize of a label map, as ``F.interpolate(mode="nearest")``.

    Output pixel ``(y, x)`` takes input pixel ``(floor(y * h / height), floor(x * w / width))``.

    Args:
        labels: ``(h, w)`` int label map.
    Returns:
        ``(height, width) int16``.
    """
    labels = np.asarray(labels)
    h, w = labels.shape
    rows = (np.arange(height) * h) // height
    cols = (np.arange(width) * w) // width
    return labels[np.ix_(rows, cols)].astype(np.int16)


def label_palette(n_classes: int, *, background: bool):
    """``(n_labels, 3) uint8`` colours: black for background (label 0) if ``background``, then
    :func:`langseg.data.palettes.distinct_palette` colours for the classes in order."""
    from langseg.data.palettes import distinct_palette

    colours = distinct_palette(n_classes)
    if background:
        colours = np.concatenate([np.zeros((1, 3), np.uint8), colours])
    return colours


def write_label_png(labels, palette, path: Path) -> None:
    """Palette ("P") PNG: pixel value = label index; ``palette`` ``(n, 3) uint8`` gives colours."""
    from PIL import Image

    labels = np.asarray(labels)
    if labels.min() < 0 or labels.max() >= len(palette):
        raise ValueError(f"labels must be in [0, {len(palette)}), got "
                         f"[{labels.min()}, {labels.max()}]")
    img = Image.fromarray(labels.astype(np.uint8))
    img.putpalette(np.asarray(palette, np.uint8).reshape(-1).tolist())  # "L" -> "P"
    img.save(path)


def class_shares(labels, label_names: Sequence[str]) -> list[tuple[int, str, float]]:
    """``(label, name, pixel share in [0, 1])`` of the labels in ``labels``, largest share first
    (ties by label)."""
    counts = np.bincount(np.asarray(labels).reshape(-1), minlength=len(label_names))
    total = counts.sum()
    present = [(int(k), label_names[k], counts[k] / total) for k in np.flatnonzero(counts)]
    return sorted(present, key=lambda item: (-item[2], item[0]))


def summary_line(method: Method, labels, label_names: Sequence[str], seconds: float) -> str:
    """``"agggem: cat 62.5%, sofa 37.5% (2 of 3 classes) in 4.2s"``."""
    from langseg.progress import format_seconds

    present = class_shares(labels, label_names)
    shares = ", ".join(f"{name} {100 * share:.1f}%" for _, name, share in present)
    return (f"{method.value}: {shares} ({len(present)} of {len(label_names)} classes) "
            f"in {format_seconds(seconds)}")


OVERLAY_ALPHA = 0.5  # weight of the label colours over the image (Figure 3 uses 0.8)


def draw_legend(canvas, entries: Sequence[tuple[str, tuple[int, int, int]]]):
    """Draw a legend (colour swatch + name per entry) in the top-left corner of ``canvas``.

    Args:
        canvas: RGB ``PIL.Image.Image``, changed in place.
        entries: ``(name, (r, g, b))`` in drawing order.
    Returns:
        ``(left, top, right, bottom)`` of the legend panel in pixels (right/bottom exclusive).
    """
    from PIL import ImageDraw, ImageFont

    if not entries:
        return 0, 0, 0, 0
    size = max(10, min(canvas.size) // 25)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(canvas)
    pad = max(2, size // 3)
    width = max(draw.textbbox((0, 0), name, font=font)[2] for name, _ in entries)
    right = min(canvas.width, 3 * pad + size + width + pad)
    bottom = min(canvas.height, pad + len(entries) * (size + pad))
    draw.rectangle((0, 0, right - 1, bottom - 1), fill=(255, 255, 255))
    for row, (name, colour) in enumerate(entries):
        top = pad + row * (size + pad)
        draw.rectangle((pad, top, pad + size - 1, top + size - 1), fill=tuple(colour),
                       outline=(0, 0, 0))
        draw.text((2 * pad + size, top), name, fill=(0, 0, 0), font=font)
    return 0, 0, right, bottom


def write_overlay_png(image, labels, label_names: Sequence[str], palette, path: Path) -> None:
    """The image with the coloured label map blended on top (:func:`report.colours.overlay`,
    ``OVERLAY_ALPHA``) and a legend of the classes present, saved as PNG at the image's size."""
    from PIL import Image

    from langseg.report.colours import legend_entries, overlay

    canvas = Image.fromarray(overlay(np.asarray(image), labels, palette, alpha=OVERLAY_ALPHA))
    draw_legend(canvas, legend_entries(labels, label_names, palette))
    canvas.save(path)
