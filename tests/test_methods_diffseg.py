"""DiffSeg clustering as ported (docs/spec.md §3.3): grid, KL, merges, refinement, proxies."""

import numpy as np
import pytest

from langseg import synthetic
from langseg.methods.diffseg import (LogMaps, diffseg_clusters, merge_anchors, merge_greedy,
                                     refine_kmeans, sampling_grid, symmetric_kl)
from langseg.methods.resize import resize_labels_nearest
from langseg.methods.settings import DiffSegSettings


def _ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(np.ravel(a), np.ravel(b))


def test_sampling_grid_16_on_64():
    # step (63 // 15) = 4, start (63 - 60) // 2 = 1 -> 1, 5, ..., 61; first coordinate slowest
    grid = sampling_grid(16, 64)
    axis = list(range(1, 62, 4))
    assert grid.shape == (256, 2)
    assert grid[:3].tolist() == [[1, 1], [1, 5], [1, 9]]
    assert grid[16].tolist() == [5, 1] and grid[-1].tolist() == [61, 61]
    assert sorted(set(grid[:, 0])) == axis and sorted(set(grid[:, 1])) == axis
    with pytest.raises(ValueError, match="grid=16"):
        sampling_grid(16, 8)


def test_symmetric_kl_by_hand_and_nan_for_zeros():
    # KL = 1/2 sum (x - y)(log x - log y); x = [0.5, 0.5], y = [0.25, 0.75]:
    # 1/2 [0.25 ln 2 + (-0.25)(ln(2/3))] = 0.125 (ln 2 + ln 1.5) = 0.125 ln 3 = 0.1373265
    x = LogMaps(np.array([[0.5, 0.5]], np.float32))
    y = LogMaps(np.array([[0.25, 0.75], [0.0, 1.0]], np.float32))
    kl = symmetric_kl(x, y)
    assert kl.dtype == np.float32 and kl.shape == (1, 2)
    assert kl[0, 0] == pytest.approx(0.125 * np.log(3.0), abs=1e-6)
    assert np.isnan(kl[0, 1])  # a zero entry: 0 * log 0 -> NaN in the port -> never matches
    assert symmetric_kl(x, x)[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_matrix_product_kl_equals_the_elementwise_formula():
    rng = np.random.default_rng(0)
    x = rng.random((5, 64), dtype=np.float32) + 0.01
    y = rng.random((7, 64), dtype=np.float32) + 0.01
    x /= x.sum(1, keepdims=True)
    y /= y.sum(1, keepdims=True)
    diff = np.log(x)[:, None] - np.log(y)[None]  # (5, 7, 64) as the port broadcasts
    port = (x[:, None] * diff).sum(-1) / 2 - (y[None] * diff).sum(-1) / 2
    np.testing.assert_allclose(symmetric_kl(LogMaps(x), LogMaps(y)), port, atol=2e-6)


def test_refinement_returns_the_member_means():
    # points near (1, 0) and (0, 1), init at those corners -> clusters {0, 1} and {2, 3}
    maps = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
    refined = refine_kmeans(maps, np.array([[1, 0], [0, 1]], np.float32))
    np.testing.assert_allclose(refined, [[0.95, 0.05], [0.05, 0.95]], rtol=1e-6)


# Three 2-key maps and their pairwise KL (1/2 sum (x - y)(log x - log y)):
# KL(P0, P1) = 0.05 ln(1.25 * 1.2) = 0.0203; KL(P0, P2) = 0.2 ln(5 * 1.8) = 0.4394;
# KL(P1, P2) = 0.15 ln(4 * 1.5) = 0.2688.
MAPS = np.array([[0.5, 0.5], [0.4, 0.6], [0.1, 0.9]], np.float32)


def test_greedy_merge_step_includes_already_matched_maps():
    # threshold 0.3: P0 takes {P0, P1} -> [0.45, 0.55]; P1 is matched, skipped; P2 is
    # unmatched and takes {P1, P2} (P1 again) -> [0.25, 0.75].
    merged = merge_greedy(MAPS, 0.3)
    np.testing.assert_allclose(merged, [[0.45, 0.55], [0.25, 0.75]], rtol=1e-6)
    # threshold 0.5: P0 takes all three -> [1/3, 2/3]; P1 and P2 are matched.
    np.testing.assert_allclose(merge_greedy(MAPS, 0.5), [[1 / 3, 2 / 3]], rtol=1e-6)


def test_anchor_merge_is_the_mean_of_all_matching_maps():
    # anchors P0 and P2, threshold 0.3: P0 -> mean(P0, P1); P2 -> mean(P1, P2)
    merged = merge_anchors(LogMaps(MAPS), np.array([0, 2]), 0.3)
    np.testing.assert_allclose(merged, [[0.45, 0.55], [0.25, 0.75]], rtol=1e-6)


def test_diffseg_recovers_proxy_segments():
    segments = synthetic.segment_map(32, 5, seed=0)
    sa = synthetic.proxy_self_attention(segments, seed=0)
    clusters = diffseg_clusters(sa, DiffSegSettings(), 64)
    assert clusters.shape == (64, 64) and clusters.dtype == np.int64
    assert _ari(clusters, resize_labels_nearest(segments, 64)) >= 0.95
    unrefined = diffseg_clusters(sa, DiffSegSettings(refine=False), 64)
    assert _ari(unrefined, resize_labels_nearest(segments, 64)) >= 0.9


def test_diffseg_with_only_zero_maps_fails_clearly():
    sa = np.zeros((256, 256), np.float32)
    sa[np.arange(256), np.arange(256)] = 1.0
    with pytest.raises(ValueError, match=r"^DiffSeg found no valid attention map: every anchor "
                                         r"map holds a zero entry \(log 0\)\. Store SA without "
                                         r"flushing small values to zero\.$"):
        diffseg_clusters(sa, DiffSegSettings(), 32)


def test_log_maps_are_float32_with_float64_entropy_terms_and_no_warnings():
    import warnings

    maps = np.array([[0.5, 0.5], [0.0, 1.0], [-0.5, 1.5]])  # float64; a zero, a negative
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log 0 and log of a negative stay silent
        logs = LogMaps(maps)
    assert logs.maps.dtype == np.float32 and logs.entropy_terms.dtype == np.float64
    assert logs.valid.tolist() == [True, False, False]
    np.testing.assert_array_equal(logs.logs[1:], 0.0)
    assert logs.entropy_terms[0] == pytest.approx(np.log(0.5), rel=1e-6)


def test_merges_and_refinement_return_float32():
    assert merge_anchors(LogMaps(MAPS), np.array([0, 2]), 0.3).dtype == np.float32
    assert merge_greedy(MAPS, 0.3).dtype == np.float32
    import warnings

    maps = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one KMeans run from the given centres, no warning
        refined = refine_kmeans(maps, np.array([[1, 0], [0, 1]], np.float32))
    assert refined.dtype == np.float32


def test_greedy_merge_skips_an_invalid_proposal_and_goes_on():
    # P1 holds a zero (NaN KL with everything): it matches nothing, not even itself, and is
    # dropped; P2 (far from P0 at threshold 0.3, KL 0.44) still forms its own group.
    maps = np.array([[0.5, 0.5], [0.0, 1.0], [0.1, 0.9]], np.float32)
    merged = merge_greedy(maps, 0.3)
    np.testing.assert_allclose(merged, [[0.5, 0.5], [0.1, 0.9]], rtol=1e-6)
    assert merge_greedy(maps[[1]], 0.3).shape == (0, 2)


@pytest.mark.slow
def test_diffseg_full_size_recovers_proxy_segments():
    segments = synthetic.segment_map(64, 12, seed=0)
    sa = synthetic.proxy_self_attention(segments, seed=0)
    clusters = diffseg_clusters(sa, DiffSegSettings(), 320)
    assert _ari(clusters, resize_labels_nearest(segments, 320)) >= 0.9


def test_refinement_starts_from_the_proposals():
    # a wide rectangle of 4 points: from the proposals (5, 0) and (5, 1) Lloyd stays in the
    # top/bottom split (each point is closest to the centre with its y), a local optimum
    # that k-means++ (which would pick far-apart points, the left/right split) does not reach
    maps = np.zeros((4, 4), np.float32)
    maps[:, :2] = [[0, 0], [0, 1], [10, 0], [10, 1]]
    proposals = np.zeros((2, 4), np.float32)
    proposals[:, :2] = [[5, 0], [5, 1]]
    np.testing.assert_allclose(refine_kmeans(maps, proposals)[:, :2], [[5, 0], [5, 1]])
