"""Method 3a: DiffSeg clustering of self-attention, as ported in the report's code.

See docs/spec.md §3.3.

Every query pixel's attention map (a distribution over the ``N = r*r`` keys) is a point.
Anchors on a ``grid x grid`` lattice collect all maps within symmetric KL < threshold (iteration
0); the proposals are merged greedily (later iterations); KMeans (initialised with the merged
maps) refines them; the maps are upsampled (bicubic, antialias) and the argmax is the cluster.

Speed: the symmetric KL of every pair is computed with matrix products,
``KL(x, y) = (sum x log x + sum y log y - x . log y - log x . y) / 2``, instead of
broadcasting (anchors x N x N). The numbers equal the port's element-wise float32 sums up to
float rounding (about 1e-5), so only pairs within that distance of the threshold can differ.
"""

from __future__ import annotations

import numpy as np

from langseg.methods.inputs import attention_side
from langseg.methods.resize import resize_bicubic_aa
from langseg.methods.settings import DiffSegSettings


def sampling_grid(grid: int, side: int) -> np.ndarray:
    """Anchor coordinates as coded (``generate_sampling_grid``).

    ``step = (side - 1) // (grid - 1)``, ``start = (side - 1 - step * (grid - 1)) // 2``, both
    axes ``linspace(start, start + step * (grid - 1), grid)``, meshgrid ``ij`` (first coordinate
    = query row, varying slowest). ``grid=16, side=64`` gives 1, 5, ..., 61.

    Returns:
        ``(grid * grid, 2) int64`` (row, column) pairs.
    """
    step = (side - 1) // (grid - 1)
    if step < 1:
        raise ValueError(f"diffseg.grid={grid} needs an attention side >= {grid}, got {side}")
    start = (side - 1 - step * (grid - 1)) // 2
    axis = np.linspace(start, start + step * (grid - 1), grid)
    rows, cols = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([rows.reshape(-1), cols.reshape(-1)], axis=1).astype(np.int64)


class LogMaps:
    """Maps with their logs and ``sum x log x``; maps holding a zero are marked invalid."""

    def __init__(self, maps: np.ndarray) -> None:
        self.maps = np.ascontiguousarray(maps, dtype=np.float32)  # (M, N)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.logs = np.log(self.maps)
        self.valid = np.all(self.maps > 0, axis=1) & np.all(np.isfinite(self.maps), axis=1)
        self.logs[~self.valid] = 0.0
        self.entropy_terms = np.einsum("ij,ij->i", self.maps, self.logs, dtype=np.float64)


def symmetric_kl(x: LogMaps, y: LogMaps) -> np.ndarray:
    """``KL[a, b] = 1/2 sum x_a (log x_a - log y_b) - 1/2 sum y_b (log x_a - log y_b)``.

    Returns:
        ``(A, B) float32``; NaN where either map has a zero entry (as the port: no epsilon).
    """
    cross = x.maps @ y.logs.T + x.logs @ y.maps.T  # (A, B) float32
    kl = 0.5 * (x.entropy_terms[:, None] + y.entropy_terms[None, :] - cross)
    kl[~x.valid, :] = np.nan
    kl[:, ~y.valid] = np.nan
    return kl.astype(np.float32)


def merge_anchors(maps: LogMaps, anchors: np.ndarray, threshold: float) -> np.ndarray:
    """Iteration 0: each anchor's proposal = mean of all maps with KL(anchor, map) < threshold.

    Args:
        maps: the ``N`` query maps.
        anchors: ``(A,) int`` row indices of the anchor maps.

    Returns:
        ``(A', N) float32`` proposals; anchors without any match (only possible when the anchor
        map holds a zero, NaN KL) are dropped — the port would carry a NaN map that no later
        iteration can match.
    """
    anchor_maps = LogMaps(maps.maps[anchors])
    match = (symmetric_kl(anchor_maps, maps) < threshold).astype(np.float32)  # (A, N)
    counts = match.sum(axis=1)
    keep = counts > 0
    return (match[keep] @ maps.maps) / counts[keep, None]


def merge_greedy(proposals: np.ndarray, threshold: float) -> np.ndarray:
    """Iterations >= 1: in index order, an unmatched proposal takes the mean of every proposal
    (already matched ones included) with KL < threshold, and marks them matched.

    Args:
        proposals: ``(M, N) float32``.

    Returns:
        ``(M', N) float32``, ``M' <= M``.
    """
    current = LogMaps(proposals)
    close = symmetric_kl(current, current) < threshold  # (M, M), NaN -> False
    matched = np.zeros(len(proposals), dtype=bool)
    merged = []
    for index in range(len(proposals)):
        if matched[index]:
            continue
        matched[index] = True
        if not close[index].any():
            continue
        matched |= close[index]
        merged.append(current.maps[close[index]].mean(axis=0))
    if not merged:
        return np.empty((0, proposals.shape[1]), dtype=np.float32)
    return np.stack(merged).astype(np.float32)


def refine_kmeans(maps: np.ndarray, proposals: np.ndarray) -> np.ndarray:
    """KMeans (lloyd, ``n_init=1``) on the query maps, initialised with the proposals.

    New map = mean of the member query maps of each NON-EMPTY cluster, in ascending cluster id.
    The port recomputes ids ``0 .. n_distinct - 1`` instead, which misaligns (a NaN map, the
    last cluster dropped) when KMeans leaves an empty cluster; without empty clusters both agree.

    Args:
        maps: ``(N, N) float32`` query maps; proposals ``(M, N) float32``.

    Returns:
        ``(M', N) float32``, ``M' <= M``.
    """
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=len(proposals), init=proposals, n_init=1)
    labels = kmeans.fit(maps).labels_
    ids, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    members = np.zeros((ids.size, maps.shape[0]), dtype=np.float32)
    members[inverse, np.arange(maps.shape[0])] = 1.0
    return (members @ maps) / counts[:, None].astype(np.float32)


def diffseg_clusters(self_attention: np.ndarray, settings: DiffSegSettings,
                     output_size: int) -> np.ndarray:
    """DiffSeg cluster map of one image.

    Args:
        self_attention: ``(N, N) float32`` rows (queries) sum to 1, ``N = r*r``, ``r >= grid``.
        settings: grid, threshold (same for every iteration), iterations, refine.
        output_size: side ``S`` of the output.

    Returns:
        ``(S, S) int64`` cluster ids in ``[0, M)``: argmax (first max wins) over the M merged
        maps upsampled bicubic-antialiased from ``r`` to ``S``.
    """
    side = attention_side(self_attention)
    grid = sampling_grid(settings.grid, side)
    maps = LogMaps(self_attention)
    proposals = merge_anchors(maps, grid[:, 0] * side + grid[:, 1], settings.kl_threshold)
    for _ in range(settings.iterations - 1):
        proposals = merge_greedy(proposals, settings.kl_threshold)
    if len(proposals) == 0:
        raise ValueError("DiffSeg found no valid attention map: every anchor map holds a zero "
                         "entry (log 0). Store SA without flushing small values to zero.")
    if settings.refine:
        proposals = refine_kmeans(maps.maps, proposals)
    upsampled = resize_bicubic_aa(proposals.reshape(-1, side, side), output_size)
    return upsampled.argmax(axis=0)
