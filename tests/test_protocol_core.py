"""Standard protocol: rescale, cv2-like resize, windows, scores, thresholds, PAMR, refinement,
metric and settings, each against hand-derived values or a naive float64 loop."""

import math

import numpy as np
import pytest

from langseg.protocol.metric import iou_metric
from langseg.protocol.pamr import pamr
from langseg.protocol.refine import (aggregate_probabilities, cluster_mean_probabilities,
                                     upsample_clusters)
from langseg.protocol.resize import normalise, rescale_size, resize_bilinear_uint8
from langseg.protocol.scoring import class_probabilities, drop_small_classes, predict_labels
from langseg.protocol.settings import benchmark_settings
from langseg.protocol.windows import slide_logits, window_boxes


@pytest.mark.parametrize("h, w, s, expected", [
    (375, 500, 336, (336, 448)),      # factor 336/375 = 0.896
    (1024, 2048, 560, (560, 1120)),   # factor 560/1024
    (100, 10000, 336, (20, 2048)),    # long side bound: factor 2048/10000, 20.48 -> 20
    (333, 500, 336, (336, 505)),      # 500 * 336/333 = 504.5045 -> int(505.0045) = 505
])
def test_rescale_size_mmcv_rule(h, w, s, expected):
    assert rescale_size(h, w, s) == expected


def test_cv2_bilinear_hand_values():
    row = np.array([[0, 100]], dtype=np.uint8)
    # positions -0.25 (clamped), 0.25, 0.75, 1.25 (clamped) -> 0, 25, 75, 100
    assert resize_bilinear_uint8(row, 1, 4).tolist() == [[0, 25, 75, 100]]
    img = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    np.testing.assert_array_equal(resize_bilinear_uint8(img, 3, 4), img)
    # 2x downscale: centres at 0.5 -> mean of each 2x2 block, rounded half up
    block = np.array([[0, 10], [20, 31]], dtype=np.uint8)
    assert resize_bilinear_uint8(block, 1, 1).tolist() == [[15]]  # 61/4 = 15.25


def test_cv2_vertical_pass_rounding_vector_then_scalar_values():
    rng = np.random.default_rng(4)
    img = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)  # 21 values per row: 16 + 5
    out = resize_bilinear_uint8(img, 8, 7)  # width kept: horizontal pass = value * 2048
    scalar_only = resize_bilinear_uint8(img, 8, 7, simd_lanes=0)
    for i in range(8):
        pos = min(max((i + 0.5) * 5 / 8 - 0.5, 0.0), 4.0)
        y0 = int(np.floor(np.float32(pos)))
        frac = np.float32(pos) - y0 if y0 < 4 else np.float32(0)
        b1 = int(np.rint(frac * np.float32(2048)))
        b0 = int(np.rint((np.float32(1) - frac) * np.float32(2048)))
        y1 = min(y0 + 1, 4)
        for k, (a, b) in enumerate(zip(img[y0].reshape(-1), img[y1].reshape(-1))):
            s0, s1 = int(a) * 2048, int(b) * 2048
            vec = (((s0 >> 4) * b0 >> 16) + ((s1 >> 4) * b1 >> 16) + 2) >> 2
            sca = (s0 * b0 + s1 * b1 + (1 << 21)) >> 22
            assert out[i].reshape(-1)[k] == (vec if k < 16 else sca), (i, k)
            assert scalar_only[i].reshape(-1)[k] == sca


def test_cv2_bilinear_within_one_level_of_float_reference():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    out = resize_bilinear_uint8(img, 9, 23).astype(np.float64)

    def taps(src, dst):
        pos = (np.arange(dst) + 0.5) * src / dst - 0.5
        pos = np.clip(pos, 0, src - 1)
        i0 = np.floor(pos).astype(int)
        return i0, np.minimum(i0 + 1, src - 1), pos - i0

    y0, y1, fy = taps(13, 9)
    x0, x1, fx = taps(17, 23)
    ref = np.empty((9, 23, 3))
    for i in range(9):
        for j in range(23):
            top = img[y0[i], x0[j]] * (1 - fx[j]) + img[y0[i], x1[j]] * fx[j]
            bottom = img[y1[i], x0[j]] * (1 - fx[j]) + img[y1[i], x1[j]] * fx[j]
            ref[i, j] = top * (1 - fy[i]) + bottom * fy[i]
    assert np.abs(out - ref).max() <= 1.0


def test_normalise_mmseg_constants():
    img = np.zeros((1, 2, 3), dtype=np.uint8)
    img[0, 1] = (255, 128, 0)
    s = benchmark_settings("sclip", "voc21")
    out = normalise(img, s.mean, s.std)
    assert out.shape == (3, 1, 2)
    np.testing.assert_allclose(out[:, 0, 1], [(255 - 122.771) / 68.501, (128 - 116.746) / 66.632,
                                              (0 - 104.094) / 70.323], rtol=1e-6)


def test_window_boxes_shift_border_windows_inside():
    boxes = window_boxes(300, 500, 224, 112)
    ys = sorted({(b[0], b[1]) for b in boxes})
    xs = sorted({(b[2], b[3]) for b in boxes})
    assert ys == [(0, 224), (76, 300)]
    assert xs == [(0, 224), (112, 336), (224, 448), (276, 500)]
    assert len(boxes) == 8
    assert window_boxes(100, 150, 224, 112) == [(0, 100, 0, 150)]  # smaller than the crop


def test_slide_logits_average_over_covering_windows():
    rng = np.random.default_rng(2)
    pixels = rng.random((3, 7, 9)).astype(np.float32)

    def per_window_mean(window):  # constant logits per window: its mean value, 1x1 grid
        return np.full((2, 1, 1), window.mean(), dtype=np.float32)

    out = slide_logits(pixels, per_window_mean, crop=4, stride=3)
    expected = np.zeros((7, 9))
    count = np.zeros((7, 9))
    for y1, y2, x1, x2 in window_boxes(7, 9, 4, 3):
        expected[y1:y2, x1:x2] += float(pixels[:, y1:y2, x1:x2].astype(np.float64).mean())
        count[y1:y2, x1:x2] += 1
    np.testing.assert_allclose(out[0], expected / count, rtol=1e-5)
    np.testing.assert_array_equal(out[0], out[1])
    identity = slide_logits(pixels, lambda w: w[:1], crop=4, stride=3)
    np.testing.assert_allclose(identity[0], pixels[0], rtol=1e-6)


def test_class_probabilities_softmax_then_max_over_names():
    logits = np.array([0.1, 0.2, 0.0], dtype=np.float32).reshape(3, 1, 1)
    out = class_probabilities(logits, 10.0, [2, 1])
    denom = math.e + math.e ** 2 + 1
    np.testing.assert_allclose(out[:, 0, 0], [math.e ** 2 / denom, 1 / denom], rtol=1e-6)


def test_prob_threshold_sends_low_confidence_to_class_zero():
    probs = np.array([[0.2, 0.05], [0.5, 0.09], [0.3, 0.08]], dtype=np.float32)[:, None, :]
    assert predict_labels(probs).tolist() == [[1, 1]]
    assert predict_labels(probs, prob_thd=0.1).tolist() == [[1, 0]]


def test_area_threshold_drops_small_foreground_classes():
    # 10 pixels: class 2 wins 8, class 1 wins 1, background wins 1 -> foreground area 9.
    probs = np.zeros((3, 1, 10), dtype=np.float32)
    probs[2, 0, :8] = 0.9
    probs[1, 0, 8] = 0.7
    probs[2, 0, 8] = 0.2
    probs[0, 0, 9] = 0.6
    dropped = drop_small_classes(probs, 0.2)  # class 1: 1 <= 0.2 * 9 -> dropped
    assert not dropped[1].any() and np.array_equal(dropped[2], probs[2])
    assert predict_labels(probs, area_thd=0.2).tolist() == [[2] * 9 + [0]]
    assert predict_labels(probs, area_thd=0.1).tolist() == [[2] * 8 + [1, 0]]  # 1 > 0.9
    # max probability after dropping (0.2 at pixel 8) is below prob_thd 0.5 -> 0
    assert predict_labels(probs, prob_thd=0.5, area_thd=0.2).tolist() == [[2] * 8 + [0, 0]]


def _naive_pamr(image, masks, iterations, dilations):
    img, m = image.astype(np.float64), masks.astype(np.float64)
    c, h, w = img.shape
    offs = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]

    def at(a, y, x):
        return a[:, min(max(y, 0), h - 1), min(max(x, 0), w - 1)]

    weights = np.zeros((h, w, len(offs) * len(dilations)))
    for y in range(h):
        for x in range(w):
            nine = [at(img, y + dy * d, x + dx * d) for d in dilations
                    for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
            std = np.std(np.stack(nine), axis=0, ddof=1)
            aff = [(-np.abs(img[:, y, x] - at(img, y + dy * d, x + dx * d))
                    / (1e-8 + 0.1 * std)).mean() for d in dilations for dy, dx in offs]
            e = np.exp(np.array(aff) - max(aff))
            weights[y, x] = e / e.sum()
    for _ in range(iterations):
        new = np.zeros_like(m)
        for y in range(h):
            for x in range(w):
                vals = [at(m, y + dy * d, x + dx * d) for d in dilations for dy, dx in offs]
                new[:, y, x] = sum(wt * v for wt, v in zip(weights[y, x], vals))
        m = new
    return m


def test_pamr_matches_naive_loop_and_keeps_constants():
    rng = np.random.default_rng(3)
    image = rng.random((3, 6, 7)).astype(np.float32)
    masks = rng.random((2, 6, 7)).astype(np.float32)
    out = pamr(image, masks, iterations=2, dilations=(1, 2))
    np.testing.assert_allclose(out, _naive_pamr(image, masks, 2, (1, 2)), rtol=1e-4, atol=1e-6)
    flat = np.full((2, 6, 7), 0.25, dtype=np.float32)
    np.testing.assert_allclose(pamr(image, flat, iterations=3, dilations=(1,)), flat, rtol=1e-6)


def test_aggregate_probabilities_identity_attention_is_a_resize_round_trip():
    probs = np.zeros((2, 4, 4), dtype=np.float32)
    probs[0, :, :2] = 1.0
    probs[1, :, 2:] = 1.0
    out = aggregate_probabilities(np.eye(16, dtype=np.float32), probs)
    np.testing.assert_allclose(out, probs, atol=1e-6)
    uniform = np.full((16, 16), 1 / 16, dtype=np.float32)  # every pixel attends everywhere
    np.testing.assert_allclose(aggregate_probabilities(uniform, probs), 0.5, atol=1e-6)


def test_cluster_means_and_nearest_upsampling():
    clusters = np.array([[0, 0, 5], [0, 5, 5]])
    probs = np.stack([np.array([[0.9, 0.6, 0.1], [0.3, 0.2, 0.3]]),
                      np.array([[0.1, 0.4, 0.9], [0.7, 0.8, 0.7]])]).astype(np.float32)
    out = cluster_mean_probabilities(clusters, probs)
    np.testing.assert_allclose(out[0], [[0.6, 0.6, 0.2], [0.6, 0.2, 0.2]], rtol=1e-6)
    assert upsample_clusters(np.array([[1, 2], [3, 4]]), 2, 4).tolist() == \
        [[1, 1, 2, 2], [3, 3, 4, 4]]


def test_iou_metric_accumulated_with_ignore_and_nan():
    from langseg.metrics import confusion_matrix

    gt1, pred1 = np.array([0, 0, 1, -1]), np.array([0, 1, 1, 2])
    gt2, pred2 = np.array([1, 1, 0]), np.array([1, 0, 0])
    cm = confusion_matrix(gt1, pred1, 3) + confusion_matrix(gt2, pred2, 3)
    out = iou_metric(cm)
    # class 0: I = 2, U = gt 3 + pred 3 - 2 = 4; class 1: I = 2, U = 3 + 3 - 2 = 4;
    # class 2: never labelled, its one prediction is on an ignored pixel -> NaN, left out
    assert out["class_iou"][:2] == [50.0, 50.0] and math.isnan(out["class_iou"][2])
    assert out["miou"] == 50.0 and out["aacc"] == pytest.approx(400 / 6)


def test_settings_presets_hold_the_sources_values():
    s = benchmark_settings("sclip", "voc21")
    assert (s.short_side, s.crop, s.stride, s.logit_scale, s.prob_thd, s.area_thd) == \
        (336, 224, 112, 65.0, 0.1, 0.1)
    assert benchmark_settings("sclip", "cityscapes19").short_side == 560
    assert benchmark_settings("sclip", "coco_stuff171").short_side == 448
    assert benchmark_settings("clearclip", "voc21").prob_thd == 0.5
    assert benchmark_settings("proxyclip", "coco_object").prob_thd == 0.25
    for preset in ("sclip", "proxyclip", "clearclip"):
        for bench in ("voc20", "context59", "coco_stuff171", "cityscapes19", "ade20k"):
            assert benchmark_settings(preset, bench).prob_thd == 0.0  # no background
    with pytest.raises(ValueError, match="allowed: sclip, proxyclip, clearclip"):
        benchmark_settings("naclip", "voc21")
