"""Colours, overlays and the two figures (PNG files, sizes, determinism)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from langseg.report.colours import (BACKGROUND_COLOUR, DISTINCT_COLOURS, IGNORE_COLOUR, colourise,
                                    distinct_palette, legend_entries, overlay)
from langseg.report.figures import class_iou_figure, figure_class_iou, figure_qualitative
from langseg.report.overlay import overlay_with_legend

PALETTE = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], dtype=np.uint8)
NAMES = ["background", "cat", "dog"]
LABEL = np.array([[0, 1], [-1, 2]], dtype=np.int16)


def test_colourise_2x2():
    expected = np.array([[[0, 0, 0], [255, 0, 0]], [list(IGNORE_COLOUR), [0, 0, 255]]])
    out = colourise(LABEL, PALETTE)
    assert out.dtype == np.uint8 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out, expected)


def test_overlay_2x2_by_hand():
    image = np.full((2, 2, 3), 100, dtype=np.uint8)
    image[1, 1] = 50
    # 0.8 * colour + 0.2 * image:  (0,0): 0+20;  (0,1): 204+20 / 0+20;  ignore: 204+20;
    # (1,1): 0+10 / 204+10 (image 50)
    expected = np.array([[[20, 20, 20], [224, 20, 20]], [[224, 224, 224], [10, 10, 214]]])
    out = overlay(image, LABEL, PALETTE, alpha=0.8)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(overlay(image, LABEL, PALETTE, alpha=0.0), image)
    np.testing.assert_array_equal(overlay(image, LABEL, PALETTE, alpha=1.0),
                                  colourise(LABEL, PALETTE))


def test_legend_entries_by_class_id_ignore_last():
    assert legend_entries(LABEL, NAMES, PALETTE) == [
        ("background", (0, 0, 0)), ("cat", (255, 0, 0)), ("dog", (0, 0, 255)),
        ("ignore", IGNORE_COLOUR)]
    assert legend_entries(np.array([[2, 2]]), NAMES, PALETTE) == [("dog", (0, 0, 255))]


@pytest.mark.parametrize("label, message", [
    (np.array([[0, 3]]), "class ids 0..2"),
    (np.array([[0, -2]]), "class ids 0..2"),
    (np.array([[0.0, 1.0]]), "integer array"),
    (np.array([0, 1]), "integer array"),
])
def test_colourise_rejects_bad_labels(label, message):
    with pytest.raises(ValueError, match=message):
        colourise(label, PALETTE)


def test_overlay_rejects_size_mismatch():
    with pytest.raises(ValueError, match="differ in size"):
        overlay(np.zeros((3, 2, 3), np.uint8), LABEL, PALETTE)


def _result(method, class_iou, *, dataset="voc", kind="voc2012", split="train"):
    return {"dataset": dataset, "kind": kind, "split": split, "method": method, "n_images": 4,
            "n_skipped": 0, "eval_class_names": NAMES, "miou": 0.5, "class_iou": class_iou,
            "provenance": {"preset": "tiny", "fidelity": "report", "sd_model": "tiny-sd",
                           "clip_model": "tiny-clip", "demo": True}}


def test_figure_class_iou_png(tmp_path):
    results = [_result("gem", [0.9, 0.5, None]), _result("agggem", [0.8, 0.6, 0.4]),
               _result("grabcut", [0.1, 0.1, 0.1]),  # not a Figure 2 method: ignored
               _result("gem", [0.1, 0.1, 0.1], dataset="ctx", kind="context")]
    first = figure_class_iou(results, tmp_path / "figs" / "figure2.png")
    second = figure_class_iou(results, tmp_path / "again.png")
    with Image.open(first) as image:
        assert image.format == "PNG" and image.size == (1440, 600)
    assert first.read_bytes() == second.read_bytes()  # deterministic


def test_figure_class_iou_needs_voc_results(tmp_path):
    with pytest.raises(ValueError, match="no results"):
        figure_class_iou([_result("gem", [0.1] * 3, dataset="ctx", kind="context")],
                         tmp_path / "f.png")


def test_figure_qualitative_png_size(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (24, 30, 3), dtype=np.uint8) for _ in range(2)]
    gts = [rng.integers(-1, 3, (16, 16)) for _ in range(2)]
    preds = {"agggem": [np.zeros((16, 16), int)] * 2, "gem": [np.ones((16, 16), int)] * 2}
    path = figure_qualitative(images, gts, preds, NAMES, PALETTE, tmp_path / "figure3.png",
                              title="demo train | tiny weights")
    with Image.open(path) as image:
        # 4 panels (image, GT, GEM, AggGEM) * 2 in + 2.5 in legend = 10.5 in * 120 dpi = 1260;
        # 2 rows * 2 in + 0.5 in title = 4.5 in * 120 = 540
        assert image.size == (1260, 540)


def test_figure_qualitative_validates(tmp_path):
    image = [np.zeros((4, 4, 3), np.uint8)]
    gt = [np.zeros((4, 4), int)]
    with pytest.raises(ValueError, match="not a method"):
        figure_qualitative(image, gt, {"sam": gt}, NAMES, PALETTE, tmp_path / "f.png")
    with pytest.raises(ValueError, match="one GT and one prediction"):
        figure_qualitative(image, gt, {"gem": gt * 2}, NAMES, PALETTE, tmp_path / "f.png")


# --- figures for a paper: legends off the data, no lines across classes, readable panels --------

def test_figure_class_iou_markers_only_and_legend_outside_the_axes(tmp_path):
    results = [_result("gem", [0.9, 0.5, None]), _result("agggem", [0.8, 0.6, 0.4])]
    figure = class_iou_figure(results)
    axes = figure.axes[0]
    lines = axes.get_lines()
    data_lines = [line for line in lines if line.get_label() in ("GEM", "AggGEM")]
    assert len(data_lines) == 2
    assert all(line.get_linestyle() == "None" for line in data_lines)   # points, not lines
    # 3 classes + avg. -> 4 points per method; each within its class's column (|dx| < 0.5)
    for line in data_lines:
        assert np.all(np.abs(line.get_xdata() - np.arange(4)) < 0.5)
    figure.canvas.draw()   # with constrained layout the legend is placed at draw time
    legend_box = figure.legends[0].get_window_extent()
    axes_box = axes.get_window_extent()
    assert legend_box.x0 >= axes_box.x1          # right of the axes: never on the data
    path = figure_class_iou(results, tmp_path / "figure2.png")
    pdf = path.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    figure_class_iou(results, tmp_path / "again.png")
    assert pdf.read_bytes() == (tmp_path / "again.pdf").read_bytes()   # deterministic


def test_distinct_palette_background_light_and_present_classes_apart():
    names = ["background", "aeroplane", "bicycle", "bird", "boat"]
    voc = np.array([[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128]], np.uint8)
    result = distinct_palette(names, np.array([-1, 0, 1, 3, 4, 1]), voc)
    assert tuple(result[0]) == BACKGROUND_COLOUR and min(BACKGROUND_COLOUR) >= 200
    assert [tuple(result[i]) for i in (1, 3, 4)] == list(DISTINCT_COLOURS[:3])
    assert tuple(result[2]) == (0, 128, 0)                   # absent: palette colour kept
    shown = result[[0, 1, 3, 4]].astype(int)
    gaps = [np.abs(a - b).sum() for i, a in enumerate(shown) for b in shown[i + 1:]]
    assert min(gaps) > 100                                   # far apart in RGB (L1)
    assert voc[0].tolist() == [0, 0, 0]                      # input untouched


def test_figure_qualitative_ground_truth_panel_is_not_dark(tmp_path):
    # A VOC ground truth that is all background over a mid-grey photo: with VOC's black at
    # alpha 0.8 the panel would be 0.2 * 128 ~ 26 grey; with the figure palette it is light.
    image = np.full((40, 40, 3), 128, np.uint8)
    gt = np.zeros((40, 40), int)
    names = ["background", "cat"]
    palette = np.array([[0, 0, 0], [64, 0, 128]], np.uint8)
    path = figure_qualitative([image], [gt], {"gem": [gt]}, names, palette,
                              tmp_path / "f3.png")
    with Image.open(path) as png:
        pixels = np.asarray(png.convert("RGB"))
    # the GT panel is the second of 3 + legend columns: sample its centre
    height, width = pixels.shape[:2]
    panel = pixels[height // 2, int(width * 3 / 8.5)]
    expected = round(0.8 * BACKGROUND_COLOUR[0] + 0.2 * 128)  # 202
    assert np.all(np.abs(panel.astype(int) - expected) <= 2), panel
    assert path.with_suffix(".pdf").is_file()


def test_overlay_with_legend_keeps_the_photo_whole_and_the_text_large():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (300, 451, 3), dtype=np.uint8)
    label = np.zeros((300, 451), int)
    label[100:200, 150:300] = 2
    names = ["cat", "dog", "sofa"]
    palette = np.array([[200, 0, 0], [0, 200, 0], [0, 0, 200]], np.uint8)
    result = overlay_with_legend(image, label, names, palette, alpha=0.5)
    assert result.dtype == np.uint8 and result.shape[0] == 300 and result.shape[1] > 451
    # the photo part is exactly the overlay: the legend hides nothing
    np.testing.assert_array_equal(result[:, :451], overlay(image, label, palette, 0.5))
    panel = result[:, 451:]
    # swatches of the two present classes: at least 14 px tall (MIN_FONT_PX), 12 inside the outline
    for colour in (palette[0], palette[2]):
        rows = np.flatnonzero(np.all(panel == colour, axis=-1).any(axis=1))
        assert rows.size >= 12, colour
    assert not np.all(panel == palette[1], axis=-1).any()     # absent class: no swatch
