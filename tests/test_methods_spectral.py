"""SpecClust (docs/spec.md §3.4): bipartite normalisation, solvers agree, proxies recovered."""

import dataclasses

import numpy as np
import pytest

from langseg import synthetic
from langseg.methods.resize import resize_labels_nearest
from langseg.methods.settings import SpecClustSettings, SVDSolver
from langseg.methods.spectral import (bipartite_normalise, left_singular_vectors,
                                      spectral_clusters)


def _ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(np.ravel(a), np.ravel(b))


def test_bipartite_normalisation_by_hand():
    # SA = [[0.75, 0.25], [0.5, 0.5]]: row sums 1, column sums [1.25, 0.75]
    # -> A[i, j] = SA[i, j] / sqrt(col_j): [[0.75/sqrt(1.25), 0.25/sqrt(0.75)], ...]
    sa = np.array([[0.75, 0.25], [0.5, 0.5]], np.float32)
    normalised, row_scale = bipartite_normalise(sa)
    np.testing.assert_allclose(row_scale, [1, 1], rtol=1e-6)
    np.testing.assert_allclose(normalised, [[0.75 / np.sqrt(1.25), 0.25 / np.sqrt(0.75)],
                                            [0.5 / np.sqrt(1.25), 0.5 / np.sqrt(0.75)]],
                               rtol=1e-6)
    # the top singular value of D_r^-1/2 SA D_c^-1/2 is 1 (trivial vector)
    assert np.linalg.svd(normalised, compute_uv=False)[0] == pytest.approx(1.0, abs=1e-6)


def test_spectral_recovers_proxy_segments_and_solvers_agree():
    segments = synthetic.segment_map(24, 4, seed=2)
    sa = synthetic.proxy_self_attention(segments, seed=0)
    settings = SpecClustSettings(n_vectors=4, n_clusters=4)
    truncated = spectral_clusters(sa, settings, 48)
    full = spectral_clusters(sa, dataclasses.replace(settings, solver=SVDSolver.FULL), 48)
    assert truncated.shape == (48, 48) and set(np.unique(truncated)) <= set(range(4))
    assert _ari(truncated, resize_labels_nearest(segments, 48)) >= 0.95
    assert _ari(truncated, full) >= 0.99
    # nearest x2 upsampling: every 2x2 block is constant
    assert (truncated[::2, ::2] == truncated[1::2, 1::2]).all()


def test_spectral_is_deterministic_for_a_seed():
    segments = synthetic.segment_map(16, 3, seed=0)
    sa = synthetic.proxy_self_attention(segments, seed=1)
    settings = SpecClustSettings(n_vectors=6, n_clusters=5)
    np.testing.assert_array_equal(spectral_clusters(sa, settings, 16),
                                  spectral_clusters(sa, settings, 16))


def test_bipartite_normalisation_of_unequal_rows_by_hand():
    # rows sum to [0.8, 0.4], columns to [1.0, 0.2]: A[i, j] = SA[i, j] / sqrt(row_i col_j)
    sa = np.array([[0.6, 0.2], [0.4, 0.0]], np.float32)
    normalised, row_scale = bipartite_normalise(sa)
    assert normalised.dtype == np.float32 and row_scale.dtype == np.float32
    np.testing.assert_allclose(row_scale, [1 / np.sqrt(0.8), 1 / np.sqrt(0.4)], rtol=1e-6)
    np.testing.assert_allclose(normalised, [[0.6 / np.sqrt(0.8), 0.2 / np.sqrt(0.8 * 0.2)],
                                            [0.4 / np.sqrt(0.4), 0.0]], rtol=1e-6)


@pytest.mark.parametrize("sa", [[[0.0, 0.0], [0.5, 0.5]], [[1.0, 0.0], [1.0, 0.0]]])
def test_bipartite_normalisation_refuses_an_empty_row_or_column(sa):
    with pytest.raises(ValueError, match="^self_attention has a row or column that sums to 0; "
                                         "spectral normalisation is undefined$"):
        bipartite_normalise(np.array(sa, np.float32))


@pytest.mark.parametrize("solver", [SVDSolver.FULL, SVDSolver.TRUNCATED])
def test_left_singular_vectors_by_solver(monkeypatch, solver):
    import torch

    calls = []
    lowrank = torch.svd_lowrank

    def recording_lowrank(tensor, q, niter):
        calls.append((tuple(tensor.shape), q, niter))
        return lowrank(tensor, q=q, niter=niter)

    monkeypatch.setattr(torch, "svd_lowrank", recording_lowrank)
    # 30 x 30 diagonal with values 30, 29, ..., 1 on permuted rows: the leading left singular
    # vectors are e_r for the rows r holding 30 and 29
    order = np.random.default_rng(0).permutation(30)
    matrix = np.zeros((30, 30))  # float64 in, float32 out
    matrix[order, np.arange(30)] = np.arange(30, 0, -1)
    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    u = left_singular_vectors(matrix, 2, solver, seed=5)
    np.testing.assert_array_equal(torch.rand(3), before)  # global RNG not disturbed
    assert u.shape == (30, 2) and u.dtype == np.float32
    want = np.zeros((30, 2))
    want[order[0], 0] = want[order[1], 1] = 1.0
    np.testing.assert_allclose(np.abs(u), want, atol=1e-4)
    # truncated: subspace q = k + 20 = 22, 4 power iterations; full: no low-rank call
    assert calls == ([] if solver is SVDSolver.FULL else [((30, 30), 22, 4)])


def test_vector_and_cluster_counts_up_to_n_are_accepted():
    sa = np.full((4, 4), 0.25, np.float32) + np.eye(4, dtype=np.float32)
    sa /= sa.sum(axis=1, keepdims=True)
    labels = spectral_clusters(sa, SpecClustSettings(n_vectors=4, n_clusters=4), 2)
    assert sorted(labels.ravel().tolist()) == [0, 1, 2, 3]
    for settings in (SpecClustSettings(n_vectors=5, n_clusters=2),
                     SpecClustSettings(n_vectors=2, n_clusters=5)):
        with pytest.raises(ValueError, match=r"^specclust.n_vectors and n_clusters must be <= "
                                             r"N = 4$"):
            spectral_clusters(sa, settings, 2)


def test_degrees_are_accumulated_in_float64():
    # row and column 0 sum to 2^24 + 2 exactly (a float32 running sum stops at 2^24):
    # scale 1 / sqrt(2^24 + 2) rounds to 2^-12 (1 - 2^-24); A[0, 0] = 2^24 / (2^24 + 2)
    sa = np.array([[2.0**24, 1, 1], [1, 1, 1], [1, 1, 1]], np.float32)
    normalised, row_scale = bipartite_normalise(sa)
    assert row_scale[0] == np.float32(2.0**-12 * (1 - 2.0**-24))
    assert normalised[0, 0] == np.float32(1 - 2.0**-23)


def test_features_are_scaled_by_the_row_degrees_and_full_solver_is_used(monkeypatch):
    # rows of SA sum to 1, 2, 3, 4 (not a row-stochastic SA): features = D_r^-1/2 U[:, :k]
    import sklearn.cluster
    import torch

    recorded = []

    class RecordingKMeans:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

        def fit(self, features):
            recorded.append(np.array(features))
            self.labels_ = np.arange(len(features)) % self.kwargs["n_clusters"]
            return self

    monkeypatch.setattr(sklearn.cluster, "KMeans", RecordingKMeans)
    monkeypatch.setattr(torch, "svd_lowrank", None)  # the full solver must not need it
    rng = np.random.default_rng(3)
    sa = rng.random((4, 4)) + 0.1
    sa = (sa / sa.sum(axis=1, keepdims=True) * np.array([[1], [2], [3], [4]])).astype(np.float32)
    spectral_clusters(sa, SpecClustSettings(n_vectors=2, n_clusters=2, solver=SVDSolver.FULL), 2)
    a = sa.astype(np.float64)
    rows, cols = a.sum(axis=1), a.sum(axis=0)
    u = np.linalg.svd(a / np.sqrt(rows)[:, None] / np.sqrt(cols)[None, :])[0]
    want = u[:, :2] / np.sqrt(rows)[:, None]
    (features,) = recorded
    for j in range(2):  # up to sign
        np.testing.assert_allclose(np.sign(features[:, j] @ want[:, j]) * features[:, j],
                                   want[:, j], atol=1e-5)


@pytest.mark.slow
def test_truncated_svd_gives_the_full_svd_clusters_at_full_size():
    segments = synthetic.segment_map(64, 20, seed=0)
    sa = synthetic.proxy_self_attention(segments, seed=0)
    settings = SpecClustSettings()
    truncated = spectral_clusters(sa, settings, 320)
    full = spectral_clusters(sa, dataclasses.replace(settings, solver=SVDSolver.FULL), 320)
    assert _ari(truncated, full) >= 0.99
    assert _ari(truncated, resize_labels_nearest(segments, 320)) >= 0.9
