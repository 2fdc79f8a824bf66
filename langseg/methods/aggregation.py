"""Method 2: aggregate class scores along self-attention (docs/spec.md §3.2, ``get_agg_map``).

``AGG[i, k] = sum_j SA[j, i] * CA[j, k] / sum_j SA[j, i]`` — SA transposed and
column-normalised, then optionally per-class min-max with the report's ``|min|`` quirk.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-10  # the report's epsilon in ca_norm and min-max


def normalise_columns(scores: np.ndarray, column_sums: np.ndarray | None = None) -> np.ndarray:
    """``ca_norm``: divide every class column by (its pixel sum + 1e-10).

    Args:
        scores: ``(N, K) float32`` class scores (or an AGG map, which is linear in them).
        column_sums: ``(K,)`` sums to divide by; default the columns' own sums.

    Returns:
        ``(N, K) float32``; columns of non-negative input sum to about 1.
    """
    sums = scores.sum(axis=0, dtype=np.float64) if column_sums is None else column_sums
    return (scores / (np.asarray(sums, dtype=np.float32) + np.float32(EPS))).astype(np.float32)


def minmax_quirk(scores: np.ndarray) -> np.ndarray:
    """Per-class min-max over pixels as coded: ``(x - |min|) / ((max - min) + 1e-10)``.

    Args:
        scores: ``(N, K) float32``.

    Returns:
        ``(N, K) float32``; in ``[0, 1]`` when every column's minimum is >= 0.
    """
    low = scores.min(axis=0)
    high = scores.max(axis=0)
    return ((scores - np.abs(low)) / ((high - low) + np.float32(EPS))).astype(np.float32)


def aggregate(self_attention: np.ndarray, scores: np.ndarray, *, ca_norm: bool = False,
              minmax: bool = False) -> np.ndarray:
    """AGG of Method 2 without materialising a normalised copy of SA.

    Computes ``(SA^T @ CA) / colsum(SA)[:, None]`` (the same numbers as normalising SA's
    columns first, up to float rounding).

    Args:
        self_attention: ``(N, N) float32``, rows = queries, columns = keys.
        scores: ``(N, K) float32`` class scores per pixel (row-major pixels).
        ca_norm: normalise each score column by its pixel sum first.
        minmax: apply :func:`minmax_quirk` to the result.

    Returns:
        ``(N, K) float32``.
    """
    if scores.ndim != 2 or scores.shape[0] != self_attention.shape[0]:
        raise ValueError(f"scores must be (N, K) with N = {self_attention.shape[0]}, "
                         f"got {scores.shape}")
    if ca_norm:
        scores = normalise_columns(scores)
    column_sums = self_attention.sum(axis=0, dtype=np.float64)
    if np.any(column_sums <= 0):
        raise ValueError("self_attention has a key column that sums to 0; AGG is undefined")
    agg = self_attention.T @ np.ascontiguousarray(scores, dtype=np.float32)
    agg = (agg / column_sums[:, None]).astype(np.float32)
    return minmax_quirk(agg) if minmax else agg
