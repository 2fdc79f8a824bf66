"""The report's failed GrabCut variant, done properly: one-vs-rest graph cuts (docs/spec.md §3.7).

For every candidate class ``k`` a binary labelling ``L`` (1 = class k) of the ``r x r``
attention grid minimises, with PyMaxflow's grid graph,

    E_k(L) = sum_p [L_p = 1] (-log f_k(p)) + [L_p = 0] (-log b_k(p))
             + lambda * sum_{(p, q) in N8} w_pq [L_p != L_q],

    f_k(p) = max(q_k(p), floor),  b_k(p) = max(mean_{j in candidates, j != k} q_j(p), floor),
    w_pq   = N * (SA[p, q] + SA[q, p]) / 2   (a uniform SA gives w = 1),

where ``q`` are the unary scores (CA_CLIP probabilities at ``r``, or Method 2's AGG),
``lambda`` is ``pairwise_weight`` and N8 the 8-neighbourhood. Candidates are the channels
whose maximum score exceeds ``min_class_prob``. Pixels claimed by several classes take the
claimant with the highest score; pixels claimed by none take the argmax over all channels.
With fewer than two candidates there is nothing to cut and the result is that argmax. The
``r x r`` labels are upsampled to the output size by nearest neighbour.
"""

from __future__ import annotations

import numpy as np

from langseg.methods.resize import resize_labels_nearest
from langseg.methods.settings import GrabCutSettings

_DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))  # each undirected 8-neighbour pair once


def neighbour_weights(self_attention: np.ndarray, side: int) -> list[tuple[np.ndarray,
                                                                             np.ndarray]]:
    """Pairwise weights ``N * (SA + SA^T) / 2`` per direction of the 8-neighbourhood.

    Returns:
        For each direction ``(dy, dx)`` of ``_DIRECTIONS``: the 3x3 PyMaxflow structure and
        ``(side, side) float64`` weights of the edge from ``(y, x)`` to ``(y+dy, x+dx)``
        (0 where the neighbour falls outside the grid).
    """
    n = side * side
    yy, xx = np.mgrid[0:side, 0:side]
    out = []
    for dy, dx in _DIRECTIONS:
        ny, nx = yy + dy, xx + dx
        inside = (ny < side) & (nx >= 0) & (nx < side)
        p = (yy * side + xx)[inside]
        q = (ny * side + nx)[inside]
        weights = np.zeros((side, side), dtype=np.float64)
        weights[inside] = n * 0.5 * (self_attention[p, q].astype(np.float64)
                                     + self_attention[q, p])
        structure = np.zeros((3, 3))
        structure[1 + dy, 1 + dx] = 1.0
        out.append((structure, weights))
    return out


def _cut_one_class(fg_cost: np.ndarray, bg_cost: np.ndarray,
                   edges: list[tuple[np.ndarray, np.ndarray]], weight: float) -> np.ndarray:
    """Minimum cut of one binary problem; returns ``(side, side) bool`` (True = foreground)."""
    import maxflow

    graph = maxflow.Graph[float]()
    nodes = graph.add_grid_nodes(fg_cost.shape)
    for structure, weights in edges:
        graph.add_grid_edges(nodes, weights=weight * weights, structure=structure,
                             symmetric=True)
    # source side = foreground: the source t-link is cut (paid) when p ends on the sink side.
    graph.add_grid_tedges(nodes, bg_cost, fg_cost)
    graph.maxflow()
    return ~graph.get_grid_segments(nodes)


def graphcut_labels(scores: np.ndarray, self_attention: np.ndarray, settings: GrabCutSettings,
                    output_size: int) -> np.ndarray:
    """One-vs-rest graph-cut segmentation (energy in the module docstring).

    Args:
        scores: ``(C, r, r) float32`` non-negative class scores (probabilities or AGG).
        self_attention: ``(N, N) float32``, ``N = r*r``.
        settings: pairwise weight, candidate threshold, probability floor.
        output_size: side ``S`` of the output.

    Returns:
        ``(S, S) int64`` channel ids.
    """
    side = scores.shape[1]
    candidates = np.flatnonzero(scores.reshape(len(scores), -1).max(axis=1)
                                > settings.min_class_prob)
    fallback = scores.argmax(axis=0)
    if len(candidates) < 2:
        return resize_labels_nearest(fallback, output_size)
    edges = neighbour_weights(self_attention, side)
    clipped = np.maximum(scores[candidates].astype(np.float64), settings.probability_floor)
    total = clipped.sum(axis=0)
    claims = np.zeros(clipped.shape, dtype=bool)
    for index in range(len(candidates)):
        others = (total - clipped[index]) / (len(candidates) - 1)
        claims[index] = _cut_one_class(-np.log(clipped[index]),
                                       -np.log(np.maximum(others, settings.probability_floor)),
                                       edges, settings.pairwise_weight)
    claimed = np.where(claims, clipped, -np.inf).argmax(axis=0)
    labels = np.where(claims.any(axis=0), candidates[claimed], fallback)
    return resize_labels_nearest(labels, output_size)
