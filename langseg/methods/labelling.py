"""Method 3 labelling: name each cluster by the class with the highest mean probability."""

from __future__ import annotations

import numpy as np


def label_clusters(clusters: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """For every cluster id, ``argmax_k mean_{pixels of the cluster} probs[k]`` (first max wins).

    Args:
        clusters: ``(H, W) int`` cluster ids (any values, e.g. a GT map with its -1 region).
        probs: ``(C, H, W) float32`` class scores (VOC: background channel 0 included).

    Returns:
        ``(H, W) int64`` channel id of each pixel's cluster. Means are accumulated in float64.
    """
    if probs.ndim != 3 or probs.shape[1:] != clusters.shape:
        raise ValueError(f"probs must be (C, H, W) with (H, W) = {clusters.shape}, "
                         f"got {probs.shape}")
    _, inverse = np.unique(clusters.reshape(-1), return_inverse=True)
    counts = np.bincount(inverse).astype(np.float64)
    flat = probs.reshape(probs.shape[0], -1)
    sums = np.stack([np.bincount(inverse, weights=channel, minlength=counts.size)
                     for channel in flat], axis=1)  # (n_clusters, C)
    cluster_class = (sums / counts[:, None]).argmax(axis=1)
    return cluster_class[inverse].reshape(clusters.shape).astype(np.int64)
