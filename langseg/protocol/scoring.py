"""From window-averaged cosines to labels: softmax, max over synonyms, background thresholds."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from langseg.classnames import max_over_synonyms


def class_probabilities(logits: np.ndarray, logit_scale: float, counts: Sequence[int],
                        ) -> np.ndarray:
    """``softmax(logit_scale * logits)`` over the ``Q`` names, then each class's max over its names.

    Args:
        logits: ``(Q, H, W) float32`` cosines, one channel per name (classes' names in order).
        logit_scale: the softmax's scale (> 0).
        counts: names per class (summing to ``Q``).

    Returns:
        ``(K, H, W) float32`` in ``[0, 1]``, ``K = len(counts)`` (no longer summing to 1 when a
        class has several names).
    """
    import torch

    if logit_scale <= 0:
        raise ValueError(f"logit_scale must be > 0, got {logit_scale}")
    x = torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32))
    probs = torch.softmax(x * float(logit_scale), dim=0).numpy()
    return max_over_synonyms(probs, counts, axis=0)


def drop_small_classes(probs: np.ndarray, area_thd: float) -> np.ndarray:
    """SCLIP's area threshold: zero classes ``1..`` whose argmax area is at most ``area_thd``
    times the area of all non-background argmax pixels.

    Args:
        probs: ``(K, H, W) float32``; class 0 is background and never dropped.
        area_thd: share in ``[0, 1]``.

    Returns:
        a ``(K, H, W) float32`` copy with the dropped classes' channels set to 0.
    """
    winners = probs.argmax(axis=0)
    area = np.bincount(winners.reshape(-1), minlength=probs.shape[0])[1:].astype(np.float64)
    keep = area > area_thd * area.sum()
    out = np.array(probs, dtype=np.float32, copy=True)
    out[1:][~keep] = 0.0
    return out


def predict_labels(probs: np.ndarray, *, prob_thd: float = 0.0,
                   area_thd: float | None = None) -> np.ndarray:
    """Labels of one image: optional area threshold, argmax, then the probability threshold.

    Args:
        probs: ``(K, H, W) float32`` class probabilities (class 0 = background on the benchmarks
            with background).
        prob_thd: pixels whose top probability (after the area step) is below it become 0;
            ``0`` disables it (use it only on benchmarks with a background class).
        area_thd: see :func:`drop_small_classes`; ``None`` disables it.

    Returns:
        ``(H, W) int64`` class ids (first maximum wins).
    """
    if area_thd is not None:
        probs = drop_small_classes(probs, area_thd)
    labels = probs.argmax(axis=0)
    if prob_thd > 0:
        labels[probs.max(axis=0) < prob_thd] = 0
    return labels
