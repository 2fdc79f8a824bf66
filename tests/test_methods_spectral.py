"""SpecClust (docs/spec.md §3.4): bipartite normalisation, solvers agree, proxies recovered."""

import dataclasses

import numpy as np
import pytest

from langseg import synthetic
from langseg.methods.resize import resize_labels_nearest
from langseg.methods.settings import SpecClustSettings, SVDSolver
from langseg.methods.spectral import bipartite_normalise, spectral_clusters


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


@pytest.mark.slow
def test_truncated_svd_gives_the_full_svd_clusters_at_full_size():
    segments = synthetic.segment_map(64, 20, seed=0)
    sa = synthetic.proxy_self_attention(segments, seed=0)
    settings = SpecClustSettings()
    truncated = spectral_clusters(sa, settings, 320)
    full = spectral_clusters(sa, dataclasses.replace(settings, solver=SVDSolver.FULL), 320)
    assert _ari(truncated, full) >= 0.99
    assert _ari(truncated, resize_labels_nearest(segments, 320)) >= 0.9
