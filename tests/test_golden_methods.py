"""Golden values of every method, derived independently (tests/naive_reference.py: float64 loops).

Each test names the mistakes it exists to catch. Inputs are small and sized so that every
resampling step changes the numbers (e.g. GEM's 28 -> 64 -> 320 chain: skipping 64 changes the
result), and tolerances are far below what a wrong constant, axis, interpolation mode,
comparison or vector count produces; each "sensitivity" assertion checks that a plausible
mistake would indeed move the numbers by more than the tolerance.
"""

from __future__ import annotations

import math

import naive_reference as ref
import numpy as np
import pytest

from langseg.methods import ImageInputs, MethodSettings, SDGroundTruthAttention, segment_image
from langseg.methods import segment as segment_module
from langseg.methods.diffseg import LogMaps, diffseg_clusters, merge_anchors, merge_greedy, symmetric_kl
from langseg.methods.labelling import label_clusters
from langseg.methods.probabilities import class_probabilities
from langseg.methods.resize import resize_bicubic_aa, resize_bilinear, resize_labels_nearest
from langseg.methods.settings import DiffSegSettings, SpecClustSettings, SVDSolver
from langseg.methods.spectral import spectral_clusters
from langseg.params import DatasetKind, Method


def _random_sa(side: int, seed: int, peak: float = 4.0) -> np.ndarray:
    """Row-stochastic, strictly positive ``(side^2, side^2) float32`` with local structure."""
    rng = np.random.default_rng(seed)
    n = side * side
    yx = np.stack(np.divmod(np.arange(n), side), axis=1).astype(np.float64)
    distance = ((yx[:, None, :] - yx[None, :, :]) ** 2).sum(axis=2)
    logits = -distance / peak + rng.normal(scale=0.5, size=(n, n))
    sa = np.exp(logits)
    return (sa / sa.sum(axis=1, keepdims=True)).astype(np.float32)


# --- resampling -------------------------------------------------------------------------------

@pytest.mark.parametrize(("n_in", "n_out"), [(3, 7), (9, 4), (8, 20), (64, 320)])
def test_bicubic_antialias_matches_the_kernel_formula(n_in, n_out):
    """Catches bicubic -> bilinear, antialias off (shrinking) and align_corners changes."""
    maps = np.random.default_rng(n_in).normal(size=(2, n_in, n_in)).astype(np.float32)
    want = ref.resize(maps, ref.bicubic_aa_matrix(n_out, n_in))
    np.testing.assert_allclose(resize_bicubic_aa(maps, n_out), want, atol=1e-4)
    wrong = ref.resize(maps, ref.bilinear_matrix(n_out, n_in))
    assert np.abs(wrong - want).max() > 0.05  # bilinear would fail by far more than atol


@pytest.mark.parametrize(("n_in", "n_out"), [(5, 12), (28, 64), (64, 320), (7, 3)])
def test_bilinear_matches_the_formula(n_in, n_out):
    maps = np.random.default_rng(n_out).normal(size=(2, n_in, n_in)).astype(np.float32)
    want = ref.resize(maps, ref.bilinear_matrix(n_out, n_in))
    np.testing.assert_allclose(resize_bilinear(maps, n_out), want, atol=1e-4)


def test_nearest_label_resize_matches_the_formula():
    labels = np.arange(12).reshape(3, 4)[:, :3]  # (3, 3), distinct values
    want = ref.resize(labels[None], ref.nearest_matrix(7, 3))[0]
    np.testing.assert_array_equal(resize_labels_nearest(labels, 7), want)
    assert resize_labels_nearest(labels, 7)[6].tolist() == [8, 8, 8, 9, 9, 10, 10]  # by hand


# --- class probabilities ----------------------------------------------------------------------

def test_voc_background_rule_and_temperature_by_hand():
    """Catches a wrong temperature, offset, max-vs-sum or a renormalised background."""
    cos = np.array([[[0.30]], [[0.25]], [[0.10]]], dtype=np.float32)  # (3, 1, 1)
    probs = class_probabilities(cos, 0.1, voc_background=True, background_offset=0.8)
    e = [math.exp(3.0), math.exp(2.5), math.exp(1.0)]
    p = [v / sum(e) for v in e]  # 0.5749, 0.3487, 0.0778
    assert probs[:, 0, 0].tolist() == pytest.approx([0.0, *p], abs=1e-6)  # 1-0.575 < 0.8
    flat = np.array([[[0.0]], [[0.0]], [[0.0]], [[0.0]], [[0.0]], [[0.0]]], dtype=np.float32)
    probs = class_probabilities(flat, 0.1, voc_background=True, background_offset=0.8)
    assert probs[0, 0, 0] == pytest.approx(1 - 1 / 6 - 0.8, abs=1e-6)  # 0.0333...
    assert probs[1:, 0, 0] == pytest.approx([1 / 6] * 6, abs=1e-6)


def test_class_probabilities_match_the_naive_softmax():
    cos = np.random.default_rng(3).uniform(-0.3, 0.4, size=(4, 5, 5)).astype(np.float32)
    for temperature in (0.1, 0.01):
        want = ref.softmax_channels(cos, temperature)
        got = class_probabilities(cos, temperature, voc_background=False)
        np.testing.assert_allclose(got, want, atol=1e-6)
    got = class_probabilities(cos, 0.1, voc_background=True, background_offset=0.8)
    np.testing.assert_allclose(got, ref.voc_background(ref.softmax_channels(cos, 0.1), 0.8),
                               atol=1e-6)


# --- Method 1 (GEM, GEMW): the 28 -> 64 -> 320 chain ----------------------------------------

@pytest.fixture(scope="module")
def gem_case():
    rng = np.random.default_rng(28)
    cosines = rng.uniform(0.1, 0.3, size=(3, 28, 28)).astype(np.float32)
    settings = MethodSettings.for_dataset(DatasetKind.CONTEXT)  # s = 0.01, no background
    chain = ref.resize(ref.resize(cosines, ref.bilinear_matrix(64, 28)),
                       ref.bilinear_matrix(320, 64))
    return cosines, settings, chain


def test_gem_probabilities_follow_the_28_64_320_bilinear_chain(gem_case):
    """Catches a skipped 28 -> 64 step, bicubic instead of bilinear, a wrong temperature."""
    cosines, settings, chain = gem_case
    want = ref.softmax_channels(chain, 0.01)
    state = segment_module._ImageState(ImageInputs(cosines=cosines), settings)
    np.testing.assert_allclose(state.probs_output, want, atol=1e-4)
    direct = ref.softmax_channels(ref.resize(cosines, ref.bilinear_matrix(320, 28)), 0.01)
    assert np.abs(direct - want).max() > 0.01  # skipping 64 moves probabilities by > 100 x atol


def test_gem_labels_are_the_argmax_of_the_chain(gem_case):
    cosines, settings, chain = gem_case
    want, margin = ref.argmax_first(chain)
    got = segment_image(Method.GEM, ImageInputs(cosines=cosines), settings)
    sure = margin > 1e-5
    assert sure.mean() > 0.99
    np.testing.assert_array_equal(got[sure], want[sure])
    direct, _ = ref.argmax_first(ref.resize(cosines, ref.bilinear_matrix(320, 28)))
    assert (direct[sure] != want[sure]).sum() > 50  # the shortcut changes many labels


def test_gemw_restricts_to_gt_classes_and_keeps_voc_background():
    rng = np.random.default_rng(5)
    cosines = rng.uniform(0.1, 0.3, size=(4, 28, 28)).astype(np.float32)
    settings = MethodSettings.for_dataset(DatasetKind.VOC2012, {"output_size": 40})
    gt = np.full((40, 40), -1, dtype=np.int64)
    gt[:20] = 2
    gt[20:, :10] = 4
    chain = ref.resize(ref.resize(cosines, ref.bilinear_matrix(64, 28)),
                       ref.bilinear_matrix(40, 64))
    probs = ref.voc_background(ref.softmax_channels(chain, 0.1), 0.8)
    want, margin = ref.argmax_first(probs, [0, 2, 4])
    got = segment_image(Method.GEMW, ImageInputs(cosines=cosines, gt=gt), settings)
    np.testing.assert_array_equal(got[margin > 1e-5], want[margin > 1e-5])
    assert set(np.unique(got)) <= {0, 2, 4}


# --- Method 2 (AggGEM, AggGEMW, AggSD) ----------------------------------------------------------

@pytest.fixture(scope="module")
def agg_case():
    rng = np.random.default_rng(8)
    cosines = rng.uniform(0.15, 0.3, size=(4, 7, 7)).astype(np.float32)
    sa = _random_sa(8, seed=8)
    gt = np.full((20, 20), -1, dtype=np.int64)
    gt[:, :8] = 1
    gt[:, 8:] = 3
    return cosines, sa, gt


def _naive_agg_maps(cosines, sa, temperature, *, background=False, mask=None, ca_norm=False):
    """AGG ``(C', r, r)`` at the SA grid: cosines bilinear to r, softmax, AGG along SA."""
    side = math.isqrt(len(sa))
    cos = ref.resize(cosines, ref.bilinear_matrix(side, cosines.shape[1]))
    if mask is not None:
        cos[[c for c in range(len(cos)) if c not in mask]] = -100.0
    probs = ref.softmax_channels(cos, temperature)
    if background:
        probs = ref.voc_background(probs, 0.8)
    scores = probs.reshape(len(probs), -1).T
    if ca_norm:
        scores = scores / (scores.sum(axis=0) + 1e-10)
    return ref.aggregate(sa, scores).T.reshape(probs.shape)


@pytest.mark.parametrize("kind", [DatasetKind.CONTEXT, DatasetKind.VOC2012])
def test_agggem_matches_the_naive_aggregation(agg_case, kind):
    """Catches SA not transposed, rows instead of columns normalised, a wrong resize mode."""
    cosines, sa, _ = agg_case
    settings = MethodSettings.for_dataset(kind, {"output_size": 20})
    voc = kind is DatasetKind.VOC2012
    agg = _naive_agg_maps(cosines, sa, settings.temperature, background=voc)
    want, margin = ref.argmax_first(ref.resize(agg, ref.bicubic_aa_matrix(20, 8)))
    got = segment_image(Method.AGGGEM, ImageInputs(cosines=cosines, self_attention=sa),
                        settings)
    sure = margin > 1e-6
    assert sure.mean() > 0.95
    np.testing.assert_array_equal(got[sure], want[sure])
    transposed = _naive_agg_maps(cosines, sa.T.copy(), settings.temperature, background=voc)
    wrong, _ = ref.argmax_first(ref.resize(transposed, ref.bicubic_aa_matrix(20, 8)))
    assert (wrong[sure] != want[sure]).any()


@pytest.mark.parametrize("kind", [DatasetKind.CONTEXT, DatasetKind.CITYSCAPES,
                                  DatasetKind.VOC2012])
def test_agggemw_matches_the_naive_filter_then_aggregate(agg_case, kind):
    """AggGEMW built without langseg's helpers: VOC filters the AGG of all classes; the other
    datasets set the logits of absent classes to -100 before the softmax (Cityscapes also
    normalises the CA columns) and take the argmax over every channel."""
    cosines, sa, gt = agg_case
    settings = MethodSettings.for_dataset(kind, {"output_size": 20})
    if kind is DatasetKind.VOC2012:
        agg = _naive_agg_maps(cosines, sa, 0.1, background=True)
        channels = [0, 1, 3]
    else:
        agg = _naive_agg_maps(cosines, sa, 0.01, mask={1, 3},
                              ca_norm=kind is DatasetKind.CITYSCAPES)
        channels = None
    want, margin = ref.argmax_first(ref.resize(agg, ref.bicubic_aa_matrix(20, 8)), channels)
    got = segment_image(Method.AGGGEMW,
                        ImageInputs(cosines=cosines, self_attention=sa, gt=gt), settings)
    sure = margin > 1e-6
    assert sure.mean() > 0.95
    np.testing.assert_array_equal(got[sure], want[sure])
    assert set(np.unique(got)) <= {0, 1, 3}


@pytest.mark.parametrize("voc", [True, False])
def test_aggsd_matches_ca_norm_minmax_quirk_and_label_mapping(voc):
    """AggSD by hand: ca_norm with the raw CA column sums, min-max with the |min| quirk (VOC),
    bicubic-aa upsampling, argmax over [SOS] + GT classes, channel -> label id."""
    rng = np.random.default_rng(11)
    agg = rng.uniform(-0.2, 1.0, size=(36, 3)).astype(np.float32)  # N = 6 * 6, 1 + K = 3
    colsum = np.array([3.0, 5.0, 2.0], dtype=np.float32)
    ids = np.array([7, 2])
    settings = MethodSettings.for_dataset(DatasetKind.VOC2012 if voc else DatasetKind.CONTEXT,
                                          {"output_size": 15})
    scores = agg.astype(np.float64) / (colsum.astype(np.float64) + 1e-10)
    if voc:
        low, high = scores.min(axis=0), scores.max(axis=0)
        scores = (scores - np.abs(low)) / ((high - low) + 1e-10)
    maps = ref.resize(scores.T.reshape(3, 6, 6), ref.bicubic_aa_matrix(15, 6))
    channel, margin = ref.argmax_first(maps, [0, 1, 2] if voc else [1, 2])
    want = np.array([0, 7, 2])[channel]
    got = segment_image(Method.AGGSD, ImageInputs(sd_gt=SDGroundTruthAttention(
        agg=agg, ca_colsum=colsum, class_ids=ids)), settings)
    sure = margin > 1e-6
    assert sure.mean() > 0.95
    np.testing.assert_array_equal(got[sure], want[sure])


# --- Method 3 labelling -----------------------------------------------------------------------

def test_label_clusters_uses_the_cluster_mean_by_hand():
    clusters = np.array([[5, 5], [9, -1]])
    probs = np.array([[[0.6, 0.1], [0.2, 0.9]],
                      [[0.3, 0.5], [0.7, 0.0]],
                      [[0.1, 0.4], [0.1, 0.1]]], dtype=np.float32)
    # cluster 5: means (0.35, 0.40, 0.25) -> 1 (a per-pixel vote would tie); 9: -> 1; -1: -> 0
    assert label_clusters(clusters, probs).tolist() == [[1, 1], [1, 0]]


# --- Method 3a: DiffSeg -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def diffseg_case():
    sa = _random_sa(6, seed=2, peak=2.0)  # N = 36, grid 3 -> anchors at 0, 2, 4 per axis
    threshold = 0.823  # merges some maps but not all: 5 maps after 3 iterations (2 at 1.646)
    # every KL the merging compares is > 1e-3 away from the threshold and from its double, so
    # float32 rounding cannot flip a comparison, and doubling the threshold changes the result
    anchors = [r * 6 + c for r in (0, 2, 4) for c in (0, 2, 4)]
    for t in (threshold, 2 * threshold):
        kls = [ref.symmetric_kl(sa[a], b) for a in anchors for b in sa]
        for iterations in (1, 2):
            maps = ref.diffseg_proposals(sa, 3, t, iterations)
            kls += [ref.symmetric_kl(a, b) for a in maps for b in maps]
        assert np.abs(np.array(kls) - t).min() > 1e-3
    return sa, threshold


@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_diffseg_matches_the_naive_merging(diffseg_case, iterations):
    """Catches a changed threshold at any iteration (e.g. doubled at iteration 0), a wrong
    anchor lattice, a merge that forgets matched maps, or the mean over the wrong axis."""
    sa, threshold = diffseg_case
    settings = DiffSegSettings(grid=3, kl_threshold=threshold, iterations=iterations,
                               refine=False)
    proposals = ref.diffseg_proposals(sa, 3, threshold, iterations)
    want, margin = ref.argmax_first(proposals.reshape(-1, 6, 6))  # output size 6: identity
    got = diffseg_clusters(sa, settings, output_size=6)
    assert got.max() + 1 <= len(proposals)
    np.testing.assert_array_equal(got[margin > 1e-6], want[margin > 1e-6])
    doubled = ref.diffseg_proposals(sa, 3, 2 * threshold, iterations)
    wrong, _ = ref.argmax_first(doubled.reshape(-1, 6, 6))
    assert len(doubled) != len(proposals) or (wrong != want).any()


def test_diffseg_number_of_maps_follows_the_threshold(diffseg_case):
    sa, threshold = diffseg_case
    for iterations in (1, 2, 3):
        settings = DiffSegSettings(grid=3, kl_threshold=threshold, iterations=iterations,
                                   refine=False)
        want = ref.diffseg_proposals(sa, 3, threshold, iterations)
        maps = LogMaps(sa)
        anchors = np.array([r * 6 + c for r in (0, 2, 4) for c in (0, 2, 4)])
        got = merge_anchors(maps, anchors, threshold)
        for _ in range(iterations - 1):
            got = merge_greedy(got, threshold)
        np.testing.assert_allclose(got, want, atol=1e-6)
        assert len(diffseg_clusters(sa, settings, 6).reshape(-1)) == 36


def _two_maps():
    x = np.array([0.4, 0.3, 0.2, 0.1], dtype=np.float32)
    y = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
    return x, y


def test_anchor_merge_is_strict_at_the_threshold():
    """A map whose KL to the anchor equals the threshold exactly is NOT merged (<, not <=)."""
    x, y = _two_maps()
    maps = LogMaps(np.stack([x, y]))
    kl = symmetric_kl(LogMaps(maps.maps[[0]]), maps)[0, 1]  # the exact float32 the code sees
    assert float(kl) == pytest.approx(ref.symmetric_kl(x, y), rel=1e-5)  # 0.6 ln 4 = 0.8318
    proposals = merge_anchors(maps, np.array([0]), float(kl))
    np.testing.assert_array_equal(proposals, x[None])
    proposals = merge_anchors(maps, np.array([0]), float(np.nextafter(kl, np.float32(1))))
    np.testing.assert_allclose(proposals, ((x + y) / 2)[None], atol=1e-7)


def test_greedy_merge_is_strict_at_the_threshold():
    x, y = _two_maps()
    pair = np.stack([x, y])
    kl = symmetric_kl(LogMaps(pair), LogMaps(pair))
    at = float(min(kl[0, 1], kl[1, 0]))
    np.testing.assert_array_equal(merge_greedy(pair, at), pair)
    above = float(np.nextafter(max(kl[0, 1], kl[1, 0]), np.float32(1)))
    np.testing.assert_allclose(merge_greedy(pair, above), ((x + y) / 2)[None], atol=1e-7)


# --- Method 3b: SpecClust ---------------------------------------------------------------------

class _RecordingKMeans:
    """Stands in for sklearn's KMeans: records its arguments and features, returns fixed ids."""

    calls: list = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def fit(self, features):
        _RecordingKMeans.calls.append((self.kwargs, np.array(features)))
        self.labels_ = np.arange(len(features)) % self.kwargs["n_clusters"]
        return self


@pytest.mark.parametrize("solver", [SVDSolver.FULL, SVDSolver.TRUNCATED])
def test_spectral_features_are_the_leading_vectors_trivial_one_included(monkeypatch, solver):
    """Catches dropping the trivial singular vector, n_vectors - 1 vectors, right instead of
    left vectors, a missing D_r^-1/2 and wrong KMeans arguments."""
    import sklearn.cluster

    monkeypatch.setattr(sklearn.cluster, "KMeans", _RecordingKMeans)
    _RecordingKMeans.calls = []
    sa = _random_sa(4, seed=4)  # N = 16, distinct singular values
    settings = SpecClustSettings(n_vectors=3, n_clusters=2, seed=7, n_init=5, solver=solver)
    labels = spectral_clusters(sa, settings, output_size=8)

    a = sa.astype(np.float64)
    rows, cols = a.sum(axis=1), a.sum(axis=0)
    normalised = a / np.sqrt(rows)[:, None] / np.sqrt(cols)[None, :]
    u, singular, _ = np.linalg.svd(normalised)
    assert singular[0] == pytest.approx(1.0) and np.diff(singular[:4]).min() < -1e-3
    want = u[:, :3] / np.sqrt(rows)[:, None]

    (kwargs, features), = _RecordingKMeans.calls
    assert kwargs == {"n_clusters": 2, "init": "k-means++", "n_init": 5, "random_state": 7}
    assert features.shape == (16, 3)
    for j in range(3):  # singular vectors are defined up to sign
        sign = np.sign(features[:, j] @ want[:, j])
        np.testing.assert_allclose(sign * features[:, j], want[:, j], atol=1e-4)
    ids = (np.arange(16) % 2).reshape(4, 4)
    np.testing.assert_array_equal(labels, ref.resize(ids[None], ref.nearest_matrix(8, 4))[0])


def test_sampling_grid_centres_the_lattice_by_hand():
    from langseg.methods.diffseg import sampling_grid

    # side 9, grid 4: step = 8 // 3 = 2, start = (8 - 6) // 2 = 1 -> 1, 3, 5, 7 on both axes
    grid = sampling_grid(4, 9)
    assert grid[:4].tolist() == [[1, 1], [1, 3], [1, 5], [1, 7]]  # row varies slowest
    assert sorted({int(r) for r, _ in grid}) == [1, 3, 5, 7] and grid.dtype == np.int64


def test_greedy_merge_continues_after_a_matched_proposal():
    x = np.array([0.4, 0.3, 0.2, 0.1], dtype=np.float32)
    near = np.array([0.38, 0.32, 0.2, 0.1], dtype=np.float32)
    far = np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32)
    threshold = 0.1  # KL(x, near) = 0.0024 < 0.1 < KL(x, far) = 0.83
    merged = merge_greedy(np.stack([x, near, far]), threshold)
    assert merged.dtype == np.float32
    np.testing.assert_allclose(merged, [(x + near) / 2, far], atol=1e-7)
    empty = merge_greedy(np.array([[0.5, 0.5, 0.0, 0.0]], dtype=np.float32), threshold)
    assert empty.shape == (0, 4) and empty.dtype == np.float32  # a map with a zero: NaN KL


def test_log_maps_validity_and_anchor_without_match_is_dropped():
    maps = np.array([[0.5, 0.5, 0.0, 0.0],  # a zero entry: log 0, invalid
                     [0.4, 0.3, 0.2, 0.1],
                     [0.1, 0.2, np.inf, 0.3],  # not finite: invalid
                     [0.1, 0.2, 0.3, 0.4]], dtype=np.float32)
    logs = LogMaps(maps)
    assert logs.valid.tolist() == [False, True, False, True]
    assert np.all(logs.logs[[0, 2]] == 0.0)  # no -inf / NaN left behind
    np.testing.assert_allclose(logs.entropy_terms[1], sum(p * math.log(p) for p in maps[1]),
                               rtol=1e-6)
    finite = LogMaps(maps[[0, 1, 3]])  # KL(row 1, row 3) = 0.456
    proposals = merge_anchors(finite, np.array([0, 1]), 0.3)  # anchor 0 matches nothing
    np.testing.assert_array_equal(proposals, maps[[1]])


def test_aggregation_epsilons_by_hand():
    from langseg.methods.aggregation import minmax_quirk, normalise_columns

    # a constant negative column: (x - |min|) / (0 + 1e-10) = (-1 - 1) / 1e-10 = -2e10
    out = minmax_quirk(np.array([[-1.0, 0.0], [-1.0, 2.0]], dtype=np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[-2e10, 0.0], [-2e10, 1.0]], rtol=1e-6)
    # a column summing to 0: 1 / (0 + 1e-10) = 1e10
    out = normalise_columns(np.array([[1.0, 1.0], [-1.0, 3.0]], dtype=np.float32))
    np.testing.assert_allclose(out, [[1e10, 0.25], [-1e10, 0.75]], rtol=1e-6)


def test_aggregate_refuses_a_key_column_summing_to_zero():
    from langseg.methods.aggregation import aggregate

    sa = np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32)  # no query attends to key 1
    with pytest.raises(ValueError, match="key column that sums to 0; AGG is undefined"):
        aggregate(sa, np.ones((2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"scores must be \(N, K\) with N = 2"):
        aggregate(np.eye(2, dtype=np.float32), np.ones((3, 1), dtype=np.float32))
