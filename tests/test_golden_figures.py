"""Figure 3 shows the right colours: the rendered PNG holds the overlay colour of each class
(0.8 * palette + 0.2 * image on a black image), in large areas, and no colour of a class that
is in no map. Independent of the layout (panel positions and sizes may change)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from langseg.report.figures import figure_qualitative

PALETTE = np.array([[0, 0, 0], [250, 0, 0], [0, 0, 250], [0, 250, 0]], dtype=np.uint8)
NAMES = ["background", "cat", "dog", "bird"]


def _pixels_near(image: np.ndarray, colour, tolerance: int = 2) -> int:
    return int((np.abs(image.astype(int) - np.asarray(colour)).max(axis=2) <= tolerance).sum())


def test_figure3_pixels_carry_the_overlay_colour_of_each_class(tmp_path):
    black = [np.zeros((32, 32, 3), dtype=np.uint8)]
    gt = [np.ones((32, 32), dtype=int)]  # cat everywhere
    preds = {"gem": [np.full((32, 32), 2)]}  # dog everywhere
    path = figure_qualitative(black, gt, preds, NAMES, PALETTE, tmp_path / "f3.png",
                              distinct=False)  # the given palette, not distinct colours
    with Image.open(path) as png:
        image = np.asarray(png.convert("RGB"))
    cat, dog, bird = (0.8 * PALETTE[c] for c in (1, 2, 3))  # (200, 0, 0), (0, 0, 200), ...
    assert _pixels_near(image, cat) > 5000  # a whole 2-inch panel at 120 dpi is 240 x 240
    assert _pixels_near(image, dog) > 5000
    assert _pixels_near(image, bird) < 50  # not in any map: at most a legend-sized patch
