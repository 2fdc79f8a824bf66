"""Label maps as colours: colourise, overlay on the image, legend entries (numpy only).

Used by the figures and by the CLI's overlay output. Labels are in a dataset's label space,
``-1`` = ignore, painted :data:`IGNORE_COLOUR`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

IGNORE_COLOUR = (255, 255, 255)  # white
IGNORE_NAME = "ignore"


def _check_palette(palette: np.ndarray) -> np.ndarray:
    palette = np.asarray(palette)
    if palette.ndim != 2 or palette.shape[1] != 3 or palette.dtype != np.uint8:
        raise ValueError(f"palette must be (n_classes, 3) uint8, got {palette.shape} "
                         f"{palette.dtype}")
    return palette


def _check_label(label: np.ndarray, n_classes: int) -> np.ndarray:
    label = np.asarray(label)
    if label.ndim != 2 or not np.issubdtype(label.dtype, np.integer):
        raise ValueError(f"label must be a (H, W) integer array, got {label.shape} {label.dtype}")
    if label.size and (label.min() < -1 or label.max() >= n_classes):
        raise ValueError(f"label values must be -1 (ignore) or class ids 0..{n_classes - 1} of "
                         f"the palette, got {label.min()}..{label.max()}")
    return label


def colourise(label: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Paint a label map: ``(H, W)`` int in ``[-1, n)`` -> ``(H, W, 3)`` uint8.

    ``palette`` is ``(n, 3)`` uint8 (row ``c`` = colour of class ``c``); ``-1`` gets
    :data:`IGNORE_COLOUR`.
    """
    palette = _check_palette(palette)
    label = _check_label(label, len(palette))
    table = np.vstack([palette, np.asarray(IGNORE_COLOUR, dtype=np.uint8)])
    return table[np.where(label < 0, len(palette), label)]


def overlay(image: np.ndarray, label: np.ndarray, palette: np.ndarray,
            alpha: float = 0.8) -> np.ndarray:
    """Blend the colourised label over the image: ``rint(alpha*colour + (1-alpha)*image)``.

    ``image`` ``(H, W, 3)`` uint8 and ``label`` ``(H, W)`` int (same H, W); ``alpha`` in [0, 1]
    (the report's Figure 3 uses 0.8). Ignore pixels are blended with :data:`IGNORE_COLOUR`.
    Returns ``(H, W, 3)`` uint8.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {image.shape} {image.dtype}")
    if image.shape[:2] != np.shape(label):
        raise ValueError(f"image {image.shape[:2]} and label {np.shape(label)} differ in size; "
                         f"resize one of them first")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    colours = colourise(label, palette).astype(np.float64)
    blended = alpha * colours + (1.0 - alpha) * image.astype(np.float64)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def legend_entries(label: np.ndarray, class_names: Sequence[str],
                   palette: np.ndarray) -> list[tuple[str, tuple[int, int, int]]]:
    """``(name, (r, g, b))`` of each class present in ``label``, by class id; ignore last.

    ``label`` is any integer array (e.g. several maps concatenated); ``class_names`` has one name
    per palette row.
    """
    palette = _check_palette(palette)
    if len(class_names) != len(palette):
        raise ValueError(f"{len(class_names)} class names but {len(palette)} palette colours")
    ids = np.unique(np.asarray(label))
    flat = _check_label(ids.reshape(1, -1), len(palette)).ravel()
    entries = [(class_names[i], tuple(int(c) for c in palette[i])) for i in flat if i >= 0]
    if flat.size and flat[0] < 0:
        entries.append((IGNORE_NAME, IGNORE_COLOUR))
    return entries


#: Qualitative colours for figures, most distinct first (matplotlib's tab10, then the light
#: halves of tab20, then tab20b/tab20c's strongest rows); none near black or white.
DISTINCT_COLOURS = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (188, 189, 34), (23, 190, 207), (127, 127, 127),
    (174, 199, 232), (255, 187, 120), (152, 223, 138), (255, 152, 150), (197, 176, 213),
    (196, 156, 148), (247, 182, 210), (219, 219, 141), (158, 218, 229), (57, 59, 121),
    (99, 121, 57), (140, 109, 49), (132, 60, 57), (123, 65, 115), (49, 130, 189),
    (230, 85, 13), (49, 163, 84), (117, 107, 177),
)
#: Colour of a class named "background" in figures: light grey, so the photo stays visible
#: (VOC's own background colour is black, which at alpha 0.8 darkens a whole panel).
BACKGROUND_COLOUR = (220, 220, 220)


def distinct_palette(class_names: Sequence[str], present: np.ndarray,
                     palette: np.ndarray) -> np.ndarray:
    """A copy of ``palette`` with distinguishable colours for the classes in ``present``.

    The classes present (ids ``>= 0`` in the integer array ``present``, in id order) get
    :data:`DISTINCT_COLOURS` in turn (cycling past 28 classes); a class named ``"background"``
    gets :data:`BACKGROUND_COLOUR`; absent classes keep their ``palette`` colour. Returns
    ``(n_classes, 3)`` uint8.
    """
    palette = _check_palette(palette)
    if len(class_names) != len(palette):
        raise ValueError(f"{len(class_names)} class names but {len(palette)} palette colours")
    ids = np.unique(np.asarray(present))
    ids = _check_label(ids.reshape(1, -1), len(palette)).ravel()
    result = palette.copy()
    foreground = [int(i) for i in ids if i >= 0 and class_names[i] != "background"]
    for k, class_id in enumerate(foreground):
        result[class_id] = DISTINCT_COLOURS[k % len(DISTINCT_COLOURS)]
    for class_id, name in enumerate(class_names):
        if name == "background":
            result[class_id] = BACKGROUND_COLOUR
    return result
