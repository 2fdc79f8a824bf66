"""segment_image: every method end to end on proxies, W filters, AggSD mapping, validation."""

import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from langseg import synthetic
from langseg.methods import (ImageInputs, MethodSettings, SDGroundTruthAttention,
                             segment_image, segment_image_methods)
from langseg.methods.aggregation import aggregate
from langseg.methods.probabilities import class_probabilities, mask_channels
from langseg.methods.resize import resize_bicubic_aa, resize_bilinear, resize_labels_nearest
from langseg.params import Method

SIDE, SIZE = 32, 64
CLASSES = np.array([3, 7, 1, 12])  # class of each proxy segment (context-like, 20 classes)


@pytest.fixture(scope="module")
def proxy():
    segments = synthetic.segment_map(SIDE, 4, seed=1)
    sa = synthetic.proxy_self_attention(segments, seed=0)
    cos = synthetic.proxy_cosines(segments, CLASSES, 20, noise=0.03, seed=0)
    truth = resize_labels_nearest(CLASSES[segments], SIZE)
    return segments, sa, cos, truth


def _settings(kind="context", **overrides):
    return MethodSettings.for_dataset(kind, {"output_size": SIZE, **overrides})


# pixel accuracy on the proxy: GEM alone is noisy (noise 0.03 vs margin 0.05), the methods
# that use the self-attention recover the segments
@pytest.mark.parametrize(("method", "accuracy"), [
    (Method.GEM, 0.6), (Method.GEMW, 0.8), (Method.AGGGEM, 0.98), (Method.AGGGEMW, 0.98),
    (Method.DIFFSEGCLUST, 0.98), (Method.SPECCLUST, 0.98), (Method.GTCLUST, 1.0),
    (Method.GRABCUT, 0.98)])
def test_every_gem_based_method_gives_a_label_map(proxy, method, accuracy):
    _, sa, cos, truth = proxy
    out = segment_image(method, ImageInputs(cosines=cos, self_attention=sa, gt=truth),
                        _settings())
    assert out.shape == (SIZE, SIZE) and out.dtype == np.int16
    assert out.min() >= 0 and out.max() < 20
    assert (out == truth).mean() >= accuracy


def test_agggem_removes_isolated_noise_that_gem_keeps(proxy):
    _, sa, cos, truth = proxy
    inputs = ImageInputs(cosines=cos, self_attention=sa)
    gem = segment_image(Method.GEM, inputs, _settings())
    agg = segment_image(Method.AGGGEM, inputs, _settings())
    assert (gem != truth).sum() > 2 * (agg != truth).sum()


def test_gem_is_argmax_of_the_two_step_bilinear_chain(proxy):
    _, _, cos, _ = proxy
    probs = class_probabilities(resize_bilinear(resize_bilinear(cos, 64), SIZE), 0.01,
                                voc_background=False)
    out = segment_image(Method.GEM, ImageInputs(cosines=cos), _settings())
    np.testing.assert_array_equal(out, probs.argmax(0))


def test_w_variants_only_predict_gt_classes(proxy):
    _, sa, cos, truth = proxy
    gt = truth.copy()
    gt[truth == 12] = -1  # class 12 ignored -> not allowed
    inputs = ImageInputs(cosines=cos, self_attention=sa, gt=gt)
    for method in (Method.GEMW, Method.AGGGEMW):
        assert set(np.unique(segment_image(method, inputs, _settings()))) <= {1, 3, 7}


def test_voc_agggemw_equals_filter_of_agg_then_upsample_all(proxy):
    # the report: AGG over all 21 channels, non-GT channels of AGG at 64 set to -100,
    # upsample all channels, argmax
    _, sa, cos, truth = proxy
    gt = truth.copy()
    gt[truth == 7] = 0
    settings = _settings("voc2012")
    probs = class_probabilities(resize_bilinear(cos, SIDE), 0.1, voc_background=True)
    agg = aggregate(sa, probs.reshape(21, -1).T).T.reshape(21, SIDE, SIDE)
    filtered = mask_channels(agg, np.array([0, 1, 3, 12]))
    expected = resize_bicubic_aa(filtered, SIZE).argmax(0)
    out = segment_image(Method.AGGGEMW, ImageInputs(cosines=cos, self_attention=sa, gt=gt),
                        settings)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("kind", ["context", "cityscapes"])
def test_agggemw_equals_filter_of_logits_then_agg_over_all_channels(proxy, kind):
    _, sa, cos, truth = proxy
    settings = _settings(kind)
    masked = mask_channels(resize_bilinear(cos, SIDE), np.array([1, 3, 7, 12]))
    probs = class_probabilities(masked, 0.01, voc_background=False)
    agg = aggregate(sa, probs.reshape(20, -1).T, ca_norm=settings.agggemw_ca_norm)
    expected = resize_bicubic_aa(agg.T.reshape(20, SIDE, SIDE), SIZE).argmax(0)
    out = segment_image(Method.AGGGEMW, ImageInputs(cosines=cos, self_attention=sa, gt=truth),
                        settings)
    np.testing.assert_array_equal(out, expected)


def _sd_gt():
    # 2x2 attention grid, columns [SOS, class 4, class 9]; pixel rows:
    agg = np.array([[0.9, 0.4, 0.3],    # SOS wins (VOC -> 0); without SOS: 0.4 > 0.3 -> 4
                    [0.1, 0.4, 0.3],    # class 4
                    [0.1, 0.2, 0.3],    # class 9
                    [0.2, 0.4, 0.35]],  # class 4
                   dtype=np.float32)
    return agg


def test_aggsd_maps_channels_to_label_ids():
    agg = _sd_gt()
    sd = SDGroundTruthAttention(agg=agg, ca_colsum=np.ones(3, np.float32),
                                class_ids=np.array([4, 9]))
    plain = {"aggsd_minmax": False, "output_size": 2}
    voc = replace(MethodSettings.for_dataset("voc2012", plain), aggsd_ca_norm=False)
    out = segment_image(Method.AGGSD, ImageInputs(sd_gt=sd), voc)
    np.testing.assert_array_equal(out, [[0, 4], [9, 4]])
    other = replace(MethodSettings.for_dataset("context", {"output_size": 2}),
                    aggsd_ca_norm=False)
    np.testing.assert_array_equal(segment_image(Method.AGGSD, ImageInputs(sd_gt=sd), other),
                                  [[4, 4], [9, 4]])


def test_aggsd_ca_norm_uses_the_raw_column_sums():
    # ca_colsum [1, 4, 1]: class 4 column divided by 4 -> pixel 1: 0.1 vs 0.3 -> class 9;
    # pixel 3: 0.1 vs 0.35 -> class 9; pixel 0: 0.1 vs 0.3 -> 9; pixel 2 -> 9.
    sd = SDGroundTruthAttention(agg=_sd_gt(), ca_colsum=np.array([1, 4, 1], np.float32),
                                class_ids=np.array([4, 9]))
    settings = MethodSettings.for_dataset("context", {"output_size": 2})
    assert (segment_image(Method.AGGSD, ImageInputs(sd_gt=sd), settings) == 9).all()


def test_sd_gt_from_padded_cache_layout():
    agg = np.zeros((4, 4), np.float32)
    sd = SDGroundTruthAttention.from_padded(agg, np.ones(4), np.array([4, 9, -1]))
    assert sd.agg.shape == (4, 3) and sd.class_ids.tolist() == [4, 9]
    with pytest.raises(ValueError, match="padding"):
        SDGroundTruthAttention.from_padded(agg, np.ones(4), np.array([4, -1, 9]))


def test_gtclust_labels_the_gt_segments(proxy):
    _, _, cos, truth = proxy
    out = segment_image(Method.GTCLUST, ImageInputs(cosines=cos, gt=truth), _settings())
    np.testing.assert_array_equal(out, truth)


def test_shared_run_equals_separate_runs(proxy):
    _, sa, cos, truth = proxy
    inputs = ImageInputs(cosines=cos, self_attention=sa, gt=truth)
    methods = [Method.GEM, Method.AGGGEM, Method.AGGGEMW, Method.GTCLUST]
    together = segment_image_methods(methods, inputs, _settings())
    for method in methods:
        np.testing.assert_array_equal(together[method],
                                      segment_image(method, inputs, _settings()))


@pytest.mark.parametrize(("method", "inputs", "missing"), [
    (Method.AGGGEM, ImageInputs(cosines=np.zeros((3, 4, 4), np.float32)), "self_attention"),
    (Method.GEM, ImageInputs(), "cosines"),
    (Method.GEMW, ImageInputs(cosines=np.zeros((3, 4, 4), np.float32)), "gt"),
    (Method.AGGSD, ImageInputs(), "sd_gt"),
])
def test_missing_inputs_are_named(method, inputs, missing):
    with pytest.raises(ValueError, match=missing):
        segment_image(method, inputs, _settings())


def test_bad_input_shapes_are_refused():
    with pytest.raises(ValueError, match="N = r\\*r"):
        ImageInputs(self_attention=np.zeros((10, 10), np.float32))
    with pytest.raises(ValueError, match="cosines"):
        ImageInputs(cosines=np.zeros((3, 4, 5), np.float32))
    cos = np.zeros((3, 4, 4), np.float32)
    with pytest.raises(ValueError, match="gt must be"):
        segment_image(Method.GEMW, ImageInputs(cosines=cos, gt=np.zeros((5, 5), int)),
                      _settings())


def test_importing_methods_and_metrics_does_not_import_torch():
    code = ("import sys, langseg.methods, langseg.metrics, langseg.evaluation; "
            "bad = [m for m in ('torch', 'diffusers', 'open_clip', 'maxflow') "
            "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


_COS = np.zeros((3, 4, 4), np.float32)
_SA = np.full((16, 16), 1 / 16, np.float32)


@pytest.mark.parametrize(("method", "present", "field", "source"), [
    (Method.GEM, {}, "cosines", "the gem cache"),
    (Method.AGGGEM, {"cosines": _COS}, "self_attention", "the sd_sa cache"),
    (Method.DIFFSEGCLUST, {"cosines": _COS}, "self_attention", "the sd_sa cache"),
    (Method.SPECCLUST, {"cosines": _COS}, "self_attention", "the sd_sa cache"),
    (Method.GRABCUT, {"cosines": _COS}, "self_attention", "the sd_sa cache"),
    (Method.GEMW, {"cosines": _COS}, "gt", "the prepared ground truth"),
    (Method.GTCLUST, {"cosines": _COS}, "gt", "the prepared ground truth"),
    (Method.AGGGEMW, {"cosines": _COS, "self_attention": _SA}, "gt", "the prepared ground truth"),
    (Method.AGGSD, {}, "sd_gt", "the sd_gt cache"),
    (Method.AGGSD_ZS, {}, "sd_gt", "the sd_zs cache (SD prompted with the predicted classes)"),
])
def test_missing_input_message_names_field_and_source(method, present, field, source):
    message = (f"method {method.value!r} needs ImageInputs.{field} (from {source}), but it is "
               f"None")
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        segment_image(method, ImageInputs(**present), _settings())


@pytest.mark.parametrize("method", [Method.GEMW, Method.AGGGEMW, Method.GTCLUST])
def test_gt_of_the_wrong_size_is_refused_by_the_w_methods(method):
    inputs = ImageInputs(cosines=_COS, self_attention=_SA, gt=np.zeros((5, 5), int))
    with pytest.raises(ValueError, match=r"^gt must be \(64, 64\) \(output_size\), got \(5, 5\)$"):
        segment_image(method, inputs, _settings())


def test_gem_ignores_a_gt_of_another_size():
    out = segment_image(Method.GEM, ImageInputs(cosines=_COS, gt=np.zeros((5, 5), int)),
                        _settings())
    assert out.shape == (SIZE, SIZE) and not out.any()  # equal cosines: first class wins


def test_aggsd_refuses_a_non_square_row_count():
    sd = SDGroundTruthAttention(agg=np.ones((3, 2), np.float32),
                                ca_colsum=np.ones(2, np.float32), class_ids=np.array([4]))
    with pytest.raises(ValueError, match=r"^sd_gt.agg must have N = r\*r rows, got 3$"):
        segment_image(Method.AGGSD, ImageInputs(sd_gt=sd), _settings())


def test_agggemw_without_background_refuses_synonyms():
    inputs = ImageInputs(cosines=np.zeros((4, 4, 4), np.float32), self_attention=_SA,
                         gt=np.zeros((SIZE, SIZE), int), name_counts=(2, 1, 1))
    with pytest.raises(ValueError, match="^agggemw without the background rule masks cosine "
                                         r"channels by class id; it takes one name per class "
                                         r"\(name_counts=None\)$"):
        segment_image(Method.AGGGEMW, inputs, _settings())


def test_aggsd_without_background_one_class_and_no_class():
    # one prompted class (id 4): its column is the only channel -> every pixel is 4
    sd = SDGroundTruthAttention(agg=_sd_gt()[:, :2], ca_colsum=np.ones(2, np.float32),
                                class_ids=np.array([4]))
    settings = MethodSettings.for_dataset("context", {"output_size": 2})
    out = segment_image(Method.AGGSD, ImageInputs(sd_gt=sd), settings)
    assert out.dtype == np.int16 and out.tolist() == [[4, 4], [4, 4]]
    # no class: no channel, every pixel 0 (as coded)
    none = SDGroundTruthAttention(agg=_sd_gt()[:, :1], ca_colsum=np.ones(1, np.float32),
                                  class_ids=np.zeros(0, np.int64))
    assert not segment_image(Method.AGGSD, ImageInputs(sd_gt=none), settings).any()


_UNIFORM_SA = np.full((4, 4), 0.25, np.float32)  # 2x2 grid: AGG = the mean over the pixels


@pytest.mark.parametrize(("gt_classes", "want"), [
    ((0, 1, 2), 1),  # every channel live: class 1 has the highest cosine
    ((1, 2), 1),     # channel 0 dead (exactly 0 after the -100 filter): one zero channel
    ((0, 2), 2),     # channel 1 dead: 2 beats 0
])
def test_agggemw_outside_voc_with_dead_channels_by_hand(gt_classes, want):
    # cosines 0.20, 0.22, 0.21 everywhere (s = 0.01): among the allowed classes the highest
    # cosine has the highest probability at every pixel, so its AGG (uniform SA) wins
    cos = np.array([0.20, 0.22, 0.21], np.float32)[:, None, None] * np.ones((3, 2, 2), np.float32)
    gt = np.array(gt_classes * 4)[:4].reshape(2, 2)
    out = segment_image(Method.AGGGEMW, ImageInputs(cosines=cos, self_attention=_UNIFORM_SA,
                                                    gt=gt), _settings(output_size=2))
    assert out.tolist() == [[want, want], [want, want]]


@pytest.mark.parametrize(("unary", "want"), [("probabilities", [[0, 0], [0, 1]]),
                                             ("agg", [[0, 0], [0, 0]])])
def test_grabcut_unary_choice_by_hand(unary, want):
    # 2x2 grid, no pairwise term. Probabilities: pixel (1, 1) is class 1 (cos 0.30 vs 0.20),
    # the rest class 0. AGG with a uniform SA is the pixel mean: class 0 (3/4) everywhere.
    cos = np.zeros((2, 2, 2), np.float32)
    cos[0] = 0.30
    cos[1] = 0.20
    cos[:, 1, 1] = [0.20, 0.30]
    settings = _settings(output_size=2, grabcut={"unary": unary, "pairwise_weight": 0.0})
    out = segment_image(Method.GRABCUT, ImageInputs(cosines=cos, self_attention=_UNIFORM_SA),
                        settings)
    assert out.tolist() == want


def test_gem_with_synonyms_takes_the_max_over_each_class_names():
    # names (class 0: two names, class 1: one); cosines 0.20, 0.25, 0.22 at every pixel:
    # the softmax over names peaks at name 1, a name of class 0 -> class 0 (per name: 1)
    cos = np.array([0.20, 0.25, 0.22], np.float32)[:, None, None] * np.ones((3, 2, 2), np.float32)
    out = segment_image(Method.GEM, ImageInputs(cosines=cos, name_counts=(2, 1)),
                        _settings(output_size=2))
    assert out.tolist() == [[0, 0], [0, 0]]


def test_voc_background_offset_setting_reaches_the_probabilities():
    # two equal classes: p = 1/2 each; offset 0 -> background 1/2 ties and wins (channel 0);
    # the default offset 0.8 would give background 0 and class 1
    cos = np.full((2, 2, 2), 0.2, np.float32)
    settings = MethodSettings.for_dataset("voc2012", {"output_size": 2, "background_offset": 0.0})
    assert not segment_image(Method.GEM, ImageInputs(cosines=cos), settings).any()
    default = MethodSettings.for_dataset("voc2012", {"output_size": 2})
    assert (segment_image(Method.GEM, ImageInputs(cosines=cos), default) == 1).all()
