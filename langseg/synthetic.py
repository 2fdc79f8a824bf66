"""Synthetic attention with known structure, for tests and benchmarks.

Random-weight networks give near-uniform attention maps, which exercise the plumbing but not the
statistics. These generators build maps from known segments instead: a self-attention (SA) map
whose rows are peaked on the query's own segment with a spatial locality bias, and patch-text
cosines that favour one class per segment. Pure numpy, seeded, no I/O.
"""

from __future__ import annotations

import numpy as np


def segment_map(size: int = 64, n_segments: int = 4, *, seed: int = 0) -> np.ndarray:
    """Voronoi segments on a ``size`` x ``size`` grid.

    Returns:
        ``(size, size) int64`` with values in ``[0, n_segments)``; every id occurs.
    """
    if n_segments < 1 or n_segments > size * size:
        raise ValueError(f"n_segments must be in [1, {size * size}], got {n_segments}")
    rng = np.random.default_rng(seed)
    for _ in range(100):
        centres = rng.uniform(0, size, size=(n_segments, 2))
        yy, xx = np.mgrid[0:size, 0:size]
        d2 = (yy[..., None] + 0.5 - centres[:, 0]) ** 2 + (xx[..., None] + 0.5 - centres[:, 1]) ** 2
        seg = d2.argmin(-1)
        if len(np.unique(seg)) == n_segments:
            return seg.astype(np.int64)
    raise RuntimeError("could not draw segments in which every id occurs")


def proxy_self_attention(
    segments: np.ndarray,
    *,
    peak: float = 6.0,
    locality: float = 8.0,
    noise: float = 0.5,
    seed: int = 0,
) -> np.ndarray:
    """Row-stochastic self-attention built from known segments.

    ``logit[i, j] = peak * [seg_i == seg_j] - |p_i - p_j|^2 / (2 locality^2) + noise * N(0, 1)``,
    then a softmax over ``j`` (keys).

    Args:
        segments: ``(h, w)`` int segment ids; ``N = h * w`` pixels, row-major.
        peak: logit bonus for keys in the query's segment (sharpness of the segment structure).
        locality: spatial scale of the distance penalty, in pixels.
        noise: standard deviation of the Gaussian logit noise.
        seed: seed of the noise.

    Returns:
        ``(N, N) float32``; rows (queries) sum to 1, columns are keys.
    """
    h, w = segments.shape
    n = h * w
    rng = np.random.default_rng(seed)
    seg = segments.reshape(-1)
    yy, xx = np.divmod(np.arange(n), w)
    out = np.empty((n, n), dtype=np.float32)
    chunk = 512
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        d2 = (yy[start:stop, None] - yy[None, :]) ** 2 + (xx[start:stop, None] - xx[None, :]) ** 2
        logits = peak * (seg[start:stop, None] == seg[None, :]) - d2 / (2.0 * locality**2)
        logits = logits + noise * rng.standard_normal(logits.shape)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        out[start:stop] = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


def proxy_cosines(
    segments: np.ndarray,
    segment_classes: np.ndarray,
    n_classes: int,
    *,
    grid: int = 28,
    margin: float = 0.05,
    noise: float = 0.02,
    seed: int = 0,
) -> np.ndarray:
    """Patch-text cosines that favour ``segment_classes[s]`` inside segment ``s``.

    The segment map is resampled (nearest) to a ``grid`` x ``grid`` patch grid; every patch gets a
    base cosine of 0.2 for all classes, ``+margin`` for its segment's class, plus Gaussian noise.

    Returns:
        ``(n_classes, grid, grid) float32`` raw cosines in about ``[0, 0.4]``.
    """
    h, w = segments.shape
    rows = (np.arange(grid) * h) // grid
    cols = (np.arange(grid) * w) // grid
    patch_seg = segments[np.ix_(rows, cols)]
    rng = np.random.default_rng(seed)
    cos = 0.2 + noise * rng.standard_normal((n_classes, grid, grid))
    cls = np.asarray(segment_classes)[patch_seg]
    np.put_along_axis(cos, cls[None], np.take_along_axis(cos, cls[None], 0) + margin, axis=0)
    return cos.astype(np.float32)


# Harder SA scenes for choosing the SA codec (benchmarks/bench_cache.py --set hard): a dense
# noisy floor (large logit noise: every entry's low bits are random, which compresses badly),
# many small segments, and both ends of peakedness (near-uniform rows as in random-weight
# networks; very peaked rows). name -> proxy_self_attention arguments. Every entry stays > 0 in
# float32 at size 64 (locality >= 8), as in real attention, whose softmax never gives exact 0.
HARD_SCENES: dict[str, dict] = {
    "flat-noisy": {"n_segments": 8, "peak": 2.0, "locality": 16.0, "noise": 1.0},
    "peaked-noisy": {"n_segments": 8, "peak": 12.0, "locality": 8.0, "noise": 1.0},
    "small-segments": {"n_segments": 60, "peak": 6.0, "locality": 8.0, "noise": 1.0},
    "dense-floor": {"n_segments": 20, "peak": 6.0, "locality": 8.0, "noise": 1.5},
    "near-uniform": {"n_segments": 12, "peak": 1.0, "locality": 32.0, "noise": 0.3},
    "sharp-small": {"n_segments": 80, "peak": 14.0, "locality": 8.0, "noise": 1.2},
}


def hard_scene(name: str, size: int = 64, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One scene of :data:`HARD_SCENES`: ``(segments (size, size) int64, sa (N, N) float32)``.

    Raises:
        ValueError: ``name`` is not a scene (the message lists them).
    """
    if name not in HARD_SCENES:
        raise ValueError(f"unknown hard scene {name!r}; scenes: {', '.join(HARD_SCENES)}")
    args = dict(HARD_SCENES[name])
    segments = segment_map(size, args.pop("n_segments"), seed=seed)
    return segments, proxy_self_attention(segments, seed=seed, **args)
