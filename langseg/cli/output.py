"""Output files and lines of ``segment``: the label PNG, the overlay PNG, the summary line.

The overlay drawing itself is :func:`langseg.report.overlay.overlay_with_legend` (shared with
the figures). numpy and Pillow are imported here, not by ``langseg.cli`` at start-up.
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
    img.save(path, format="PNG")


def write_overlay_png(image, labels, label_names: Sequence[str], palette, path: Path) -> None:
    """The image with its labels blended on top and the legend beside it, as PNG
    (:func:`langseg.report.overlay.overlay_with_legend`)."""
    from PIL import Image

    from langseg.report.overlay import overlay_with_legend

    canvas = overlay_with_legend(np.asarray(image), labels, label_names, palette)
    Image.fromarray(canvas).save(path, format="PNG")


def class_shares(labels, label_names: Sequence[str]) -> list[tuple[int, str, float]]:
    """``(label, name, pixel share in [0, 1])`` of the labels in ``labels``, largest share first
    (ties by label)."""
    counts = np.bincount(np.asarray(labels).reshape(-1), minlength=len(label_names))
    total = counts.sum()
    present = [(int(k), label_names[k], counts[k] / total) for k in np.flatnonzero(counts)]
    return sorted(present, key=lambda item: (-item[2], item[0]))


def summary_line(method: Method, labels, label_names: Sequence[str]) -> str:
    """``"agggem: cat 62.5%, sofa 37.5% (2 of 3 classes)"``: the classes found, largest first."""
    present = class_shares(labels, label_names)
    shares = ", ".join(f"{name} {100 * share:.1f}%" for _, name, share in present)
    return f"{method.value}: {shares} ({len(present)} of {len(label_names)} classes)"
