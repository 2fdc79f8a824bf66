"""SD refinement under the standard protocol (Method 2 and Method 3 on whole-image scores).

SD's self-attention lives on the ``r x r`` latent grid of the whole image squashed to 512 x 512
(``r = 64`` for SD 1.5), while the standard protocol's class probabilities are at the original
``H x W``. Both methods work on the grid and return to ``H x W``:

* Method 2 (AggGEM): probabilities bilinearly resized to ``r x r`` (the same squash as SD's
  input), aggregated along SA (``langseg.methods.aggregation.aggregate``), bilinearly upsampled
  to ``H x W``. The result is a convex combination of probabilities, so the background thresholds
  apply to it unchanged.
* Method 3 (SpecClust, DiffSegClust): the ``r x r`` cluster map is upsampled to ``H x W`` by
  nearest neighbour; every pixel takes its cluster's mean probability vector (means over the
  cluster's pixels at ``H x W``), then the same thresholds and argmax as Method 1.
"""

from __future__ import annotations

import numpy as np

from langseg.methods.aggregation import aggregate
from langseg.methods.inputs import attention_side
from langseg.protocol.resize import resize_logits


def aggregate_probabilities(self_attention: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Method 2 on whole-image probabilities.

    Args:
        self_attention: ``(N, N) float32`` rows sum to 1, ``N = r*r``.
        probs: ``(K, H, W) float32``.

    Returns:
        ``(K, H, W) float32``.
    """
    side = attention_side(self_attention)
    k, height, width = probs.shape
    grid = resize_logits(probs, side, side)
    agg = aggregate(self_attention, grid.reshape(k, -1).T).T.reshape(k, side, side)
    return resize_logits(agg, height, width)


def upsample_clusters(clusters: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(r, r) int`` cluster ids -> ``(height, width) int64`` (torch ``nearest``)."""
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.asarray(clusters, dtype=np.float32))[None, None]
    out = F.interpolate(x, size=(height, width), mode="nearest")[0, 0].numpy()
    return out.astype(np.int64)


def cluster_mean_probabilities(clusters: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Every pixel's cluster mean of ``probs`` (Method 3's labelling before the argmax).

    Args:
        clusters: ``(H, W) int`` cluster ids.
        probs: ``(K, H, W) float32``.

    Returns:
        ``(K, H, W) float32``; argmax equals ``langseg.methods.labelling.label_clusters``.
    """
    if probs.shape[1:] != clusters.shape:
        raise ValueError(f"clusters {clusters.shape} and probs {probs.shape} differ in size")
    _, inverse = np.unique(clusters.reshape(-1), return_inverse=True)
    counts = np.bincount(inverse).astype(np.float64)
    flat = probs.reshape(probs.shape[0], -1)
    means = np.stack([np.bincount(inverse, weights=c, minlength=counts.size) / counts
                      for c in flat])  # (K, n_clusters)
    return means[:, inverse].reshape(probs.shape).astype(np.float32)
