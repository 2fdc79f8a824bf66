"""Method 3b: spectral clustering of self-attention as a bipartite graph (docs/spec.md §3.4).

``A = D_r^-1/2 SA D_c^-1/2`` (Dhillon), features ``F = D_r^-1/2 U[:, :n_vectors]`` (left
singular vectors in descending order, the trivial one included), KMeans (k-means++, best of
``n_init`` by inertia, seeded), nearest upsampling of the r x r cluster map.

The report used ``torch_kmeans`` (not a dependency here); sklearn's KMeans with
``random_state=seed`` plays its role, so cluster ids differ but the partition is the same
kind (k-means++ and Lloyd, best inertia).
"""

from __future__ import annotations

import numpy as np

from langseg.methods.inputs import attention_side
from langseg.methods.resize import resize_labels_nearest
from langseg.methods.settings import SpecClustSettings, SVDSolver

OVERSAMPLES = 20  # truncated solver: subspace size q = n_vectors + OVERSAMPLES
POWER_ITERATIONS = 4  # truncated solver: subspace (power) iterations


def bipartite_normalise(self_attention: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``D_r^-1/2 SA D_c^-1/2`` and ``D_r^-1/2``.

    Returns:
        ``(N, N) float32`` normalised matrix and ``(N,) float32`` row scales.
    """
    rows = self_attention.sum(axis=1, dtype=np.float64)
    cols = self_attention.sum(axis=0, dtype=np.float64)
    if np.any(rows <= 0) or np.any(cols <= 0):
        raise ValueError("self_attention has a row or column that sums to 0; spectral "
                         "normalisation is undefined")
    row_scale = (1.0 / np.sqrt(rows)).astype(np.float32)
    col_scale = (1.0 / np.sqrt(cols)).astype(np.float32)
    normalised = np.multiply(self_attention, row_scale[:, None], dtype=np.float32)
    normalised *= col_scale[None, :]
    return normalised, row_scale


def left_singular_vectors(matrix: np.ndarray, k: int, solver: SVDSolver,
                          seed: int) -> np.ndarray:
    """Leading ``k`` left singular vectors, descending singular values.

    ``FULL``: ``torch.linalg.svd`` (as coded; ~50 s at N = 4096 on one core).
    ``TRUNCATED``: ``torch.svd_lowrank(q=k+20, niter=4)`` with its random start seeded by
    ``seed`` (torch's global RNG is forked, not disturbed).

    Returns:
        ``(N, k) float32``; signs are arbitrary (irrelevant for KMeans distances).
    """
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(matrix, dtype=np.float32))
    if solver is SVDSolver.FULL:
        u, _, _ = torch.linalg.svd(tensor, full_matrices=False)
    else:
        q = min(k + OVERSAMPLES, min(matrix.shape))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            u, _, _ = torch.svd_lowrank(tensor, q=q, niter=POWER_ITERATIONS)
    return u[:, :k].numpy()


def spectral_clusters(self_attention: np.ndarray, settings: SpecClustSettings,
                      output_size: int) -> np.ndarray:
    """SpecClust cluster map of one image.

    Args:
        self_attention: ``(N, N) float32`` rows sum to 1, ``N = r*r``.
        settings: vectors, clusters, KMeans seed and restarts, SVD solver.
        output_size: side ``S``; the ``r x r`` map is upsampled by nearest neighbour.

    Returns:
        ``(S, S) int64`` cluster ids in ``[0, n_clusters)``.
    """
    from sklearn.cluster import KMeans

    side = attention_side(self_attention)
    n = side * side
    if settings.n_vectors > n or settings.n_clusters > n:
        raise ValueError(f"specclust.n_vectors and n_clusters must be <= N = {n}")
    normalised, row_scale = bipartite_normalise(self_attention)
    vectors = left_singular_vectors(normalised, settings.n_vectors, settings.solver,
                                    settings.seed)
    features = vectors * row_scale[:, None]
    kmeans = KMeans(n_clusters=settings.n_clusters, init="k-means++", n_init=settings.n_init,
                    random_state=settings.seed)
    labels = kmeans.fit(features).labels_.reshape(side, side)
    return resize_labels_nearest(labels, output_size)
