"""Method 3 labelling: argmax of the cluster-mean probabilities (docs/spec.md §3.3)."""

import numpy as np
import pytest

from langseg.methods.labelling import label_clusters


def test_label_clusters_by_hand_including_the_ignore_region():
    clusters = np.array([[5, 5, -1], [7, 7, -1]])
    p0 = np.array([[0.9, 0.3, 0.2], [0.1, 0.4, 0.6]], dtype=np.float32)
    probs = np.stack([p0, 1 - p0])
    # cluster 5: mean p0 = (0.9 + 0.3) / 2 = 0.6 > 0.4 -> class 0
    # cluster 7: mean p0 = (0.1 + 0.4) / 2 = 0.25 < 0.75 -> class 1
    # cluster -1 (GT ignore, its own cluster): mean p0 = (0.2 + 0.6) / 2 = 0.4 < 0.6 -> class 1
    labels = label_clusters(clusters, probs)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, [[0, 0, 1], [1, 1, 1]])


def test_label_clusters_ties_pick_the_first_class():
    # one cluster, means [0.5, 0.5] -> class 0
    probs = np.full((2, 2, 2), 0.5, dtype=np.float32)
    assert not label_clusters(np.zeros((2, 2), int), probs).any()


def test_label_clusters_is_constant_on_each_cluster():
    rng = np.random.default_rng(0)
    clusters = rng.integers(0, 7, size=(20, 20))
    probs = rng.random((5, 20, 20), dtype=np.float32)
    labels = label_clusters(clusters, probs)
    for cid in range(7):
        assert len(np.unique(labels[clusters == cid])) == 1


def test_label_clusters_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="probs must be"):
        label_clusters(np.zeros((4, 4), int), np.zeros((3, 5, 5), np.float32))
