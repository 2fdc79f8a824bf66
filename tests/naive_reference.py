"""Deliberately naive float64 reference implementations for the golden tests.

Written from the formulas (spec and torch's documented resampling rules), with plain loops and
no langseg helper, so a test comparing langseg with these functions can fail when a constant,
an axis, an interpolation mode, a comparison or a count in langseg is wrong. Slow: use small
inputs only. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import math

import numpy as np


# --- 1-D resampling weights, as matrices (out, in); 2-D resizing is W @ X @ W.T ---------------

def bilinear_matrix(n_out: int, n_in: int) -> np.ndarray:
    """torch ``bilinear``, ``align_corners=False``, no antialias: source ``(i + 0.5) * in/out
    - 0.5`` clamped at 0, neighbours ``floor`` and ``floor + 1`` (the last one repeated)."""
    weights = np.zeros((n_out, n_in))
    scale = n_in / n_out
    for i in range(n_out):
        source = max((i + 0.5) * scale - 0.5, 0.0)
        low = int(source)
        frac = source - low
        high = low + 1 if low < n_in - 1 else low
        weights[i, low] += 1.0 - frac
        weights[i, high] += frac
    return weights


def _cubic_aa(x: float, a: float = -0.5) -> float:
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


def bicubic_aa_matrix(n_out: int, n_in: int) -> np.ndarray:
    """torch ``bicubic`` with ``antialias=True`` (Keys cubic, a = -0.5, PIL-style): the kernel
    is stretched by ``in/out`` when shrinking, taps outside the input are dropped and the
    remaining weights renormalised."""
    weights = np.zeros((n_out, n_in))
    scale = n_in / n_out
    support = 2.0 * scale if scale >= 1.0 else 2.0
    inverse = 1.0 / scale if scale >= 1.0 else 1.0
    for i in range(n_out):
        center = scale * (i + 0.5)
        low = max(int(center - support + 0.5), 0)
        high = min(int(center + support + 0.5), n_in)
        taps = [_cubic_aa((j - center + 0.5) * inverse) for j in range(low, high)]
        total = sum(taps)
        for j, tap in zip(range(low, high), taps, strict=True):
            weights[i, j] = tap / total
    return weights


def nearest_matrix(n_out: int, n_in: int) -> np.ndarray:
    """torch ``nearest``: source ``floor(i * in/out)``."""
    weights = np.zeros((n_out, n_in))
    for i in range(n_out):
        weights[i, min(int(math.floor(i * n_in / n_out)), n_in - 1)] = 1.0
    return weights


def resize(maps: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``(C, h, h) -> (C, H, H)`` with the same 1-D weights on both axes, float64."""
    maps = np.asarray(maps, dtype=np.float64)
    return np.stack([matrix @ m @ matrix.T for m in maps])


# --- class scores -----------------------------------------------------------------------------

def softmax_channels(cosines: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax over axis 0 of ``cosines / temperature``, pixel by pixel, float64."""
    x = np.asarray(cosines, dtype=np.float64) / temperature
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape[1:]):
        column = x[(slice(None),) + index]
        e = [math.exp(v - column.max()) for v in column]
        out[(slice(None),) + index] = np.array(e) / sum(e)
    return out


def voc_background(probs: np.ndarray, offset: float) -> np.ndarray:
    """Prepend ``max(0, 1 - max_c p - offset)`` as channel 0."""
    bg = np.maximum(0.0, 1.0 - probs.max(axis=0) - offset)
    return np.concatenate([bg[None], probs])


def aggregate(sa: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``AGG[i, k] = sum_j SA[j, i] * scores[j, k] / sum_j SA[j, i]`` with loops, float64."""
    sa = np.asarray(sa, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    n, k = scores.shape
    out = np.zeros((n, k))
    for i in range(n):
        column = sum(sa[j, i] for j in range(n))
        for c in range(k):
            out[i, c] = sum(sa[j, i] * scores[j, c] for j in range(n)) / column
    return out


def argmax_first(scores: np.ndarray, channels=None) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel first argmax over ``channels`` of ``(C, H, W)`` and the top-2 margin."""
    channels = list(range(len(scores))) if channels is None else list(channels)
    h, w = scores.shape[1:]
    labels = np.zeros((h, w), dtype=np.int64)
    margin = np.full((h, w), np.inf)
    for y in range(h):
        for x in range(w):
            values = [scores[c, y, x] for c in channels]
            best = max(range(len(values)), key=lambda i: (values[i], -i))
            labels[y, x] = channels[best]
            others = [v for i, v in enumerate(values) if i != best]
            if others:
                margin[y, x] = values[best] - max(others)
    return labels, margin


# --- DiffSeg (iterations without the KMeans refinement) -------------------------------------

def symmetric_kl(x: np.ndarray, y: np.ndarray) -> float:
    """``1/2 sum x (log x - log y) + 1/2 sum y (log y - log x)``, float64."""
    return 0.5 * sum(float(a) * (math.log(a) - math.log(b)) + float(b) * (math.log(b) -
                     math.log(a)) for a, b in zip(x, y, strict=True))


def diffseg_proposals(sa: np.ndarray, grid: int, threshold: float,
                      iterations: int) -> np.ndarray:
    """DiffSeg's merged maps: anchors on the lattice take the mean of all maps within the
    threshold (strict), then ``iterations - 1`` greedy merges in index order."""
    sa = np.asarray(sa, dtype=np.float64)
    side = math.isqrt(len(sa))
    step = (side - 1) // (grid - 1)
    start = (side - 1 - step * (grid - 1)) // 2
    coords = [start + step * i for i in range(grid)]
    proposals = []
    for row in coords:
        for col in coords:
            anchor = sa[row * side + col]
            members = [sa[j] for j in range(len(sa)) if symmetric_kl(anchor, sa[j]) < threshold]
            proposals.append(np.mean(members, axis=0))
    for _ in range(iterations - 1):
        matched = [False] * len(proposals)
        merged = []
        for i in range(len(proposals)):
            if matched[i]:
                continue
            matched[i] = True
            group = [j for j in range(len(proposals))
                     if symmetric_kl(proposals[i], proposals[j]) < threshold]
            for j in group:
                matched[j] = True
            merged.append(np.mean([proposals[j] for j in group], axis=0))
        proposals = merged
    return np.array(proposals)


# --- metrics ----------------------------------------------------------------------------------

def confusion(gt, pred, n: int) -> np.ndarray:
    cm = np.zeros((n, n), dtype=np.int64)
    for g, p in zip(np.ravel(gt), np.ravel(pred), strict=True):
        if 0 <= g < n:
            cm[g, p] += 1
    return cm


def scores(cm: np.ndarray) -> dict:
    """IoU per class (NaN when absent from GT and prediction), mIoU over the rest, pixel
    accuracy, mean recall over GT-present classes, frequency-weighted IoU."""
    n = len(cm)
    total = sum(int(cm[i, j]) for i in range(n) for j in range(n))
    ious, recalls, fw = [], [], 0.0
    for c in range(n):
        tp = int(cm[c, c])
        gt = sum(int(cm[c, j]) for j in range(n))
        pred = sum(int(cm[i, c]) for i in range(n))
        union = gt + pred - tp
        ious.append(tp / union if union else float("nan"))
        if gt:
            recalls.append(tp / gt)
            fw += gt / total * ious[-1]
    valid = [v for v in ious if not math.isnan(v)]
    return {"class_iou": ious, "miou": sum(valid) / len(valid),
            "pixel_acc": sum(int(cm[c, c]) for c in range(n)) / total,
            "mean_acc": sum(recalls) / len(recalls), "fwiou": fw}


def graphcut_brute_force(scores: np.ndarray, sa: np.ndarray, weight: float, min_prob: float,
                         floor: float) -> np.ndarray:
    """One-vs-rest cuts by trying every binary labelling of a tiny ``(C, r, r)`` grid.

    Per candidate class k (max score > min_prob): the labelling minimising
    ``sum_p [L_p] -log f + [not L_p] -log b + weight * sum_{8-neighbour pairs} w [L_p != L_q]``
    with ``f = max(q_k, floor)``, ``b = max(mean_{j != k} max(q_j, floor), floor)`` and
    ``w = N (SA[p, q] + SA[q, p]) / 2``. Several claims: highest score wins; none: argmax.
    Returns ``(r, r) int64``. ``2^(r*r)`` labellings per class: r <= 3 only.
    """
    n_channels, side, _ = scores.shape
    n = side * side
    flat = scores.reshape(n_channels, n).astype(np.float64)
    candidates = [k for k in range(n_channels) if flat[k].max() > min_prob]
    pairs = []
    for p in range(n):
        for q in range(p + 1, n):
            (py, px), (qy, qx) = divmod(p, side), divmod(q, side)
            if max(abs(py - qy), abs(px - qx)) == 1:
                pairs.append((p, q, n * (float(sa[p, q]) + float(sa[q, p])) / 2))
    claims = {}
    if len(candidates) >= 2:
        for k in candidates:
            best, best_energy = None, math.inf
            for code in range(2 ** n):
                labels = [(code >> p) & 1 for p in range(n)]
                energy = 0.0
                for p in range(n):
                    if labels[p]:
                        energy -= math.log(max(flat[k, p], floor))
                    else:
                        others = [max(flat[j, p], floor) for j in candidates if j != k]
                        energy -= math.log(max(sum(others) / len(others), floor))
                energy += weight * sum(w for p, q, w in pairs if labels[p] != labels[q])
                if energy < best_energy:
                    best, best_energy = labels, energy
            claims[k] = best
    out = np.zeros(n, dtype=np.int64)
    for p in range(n):
        claimants = [k for k in candidates if len(candidates) >= 2 and claims[k][p]]
        if claimants:
            out[p] = max(claimants, key=lambda k: (max(flat[k, p], floor), -k))
        else:
            out[p] = int(np.argmax(flat[:, p]))
    return out.reshape(side, side)
