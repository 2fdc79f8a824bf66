"""GrabCut variant: one-vs-rest graph cuts with CA unaries and SA pairwise terms."""

import numpy as np

from langseg import synthetic
from langseg.methods.graphcut import graphcut_labels, neighbour_weights
from langseg.methods.settings import GrabCutSettings

N = 9
UNIFORM_SA = np.full((N, N), 1 / N, dtype=np.float32)


def _scores():
    # 3x3 grid, 2 classes: class 0 has 0.9 everywhere but the centre (0.4); class 1 = 1 - p0.
    p0 = np.full((3, 3), 0.9, np.float32)
    p0[1, 1] = 0.4
    return np.stack([p0, 1 - p0])


def test_uniform_attention_gives_unit_neighbour_weights():
    # w = N (1/N + 1/N) / 2 = 1 for every in-grid pair; right edges of the last column are 0
    (structure, right), *_ = neighbour_weights(UNIFORM_SA, 3)
    assert structure[1, 2] == 1 and structure.sum() == 1
    np.testing.assert_allclose(right, [[1, 1, 0]] * 3, rtol=1e-6)


def test_without_pairwise_term_each_pixel_takes_its_unary_winner():
    # centre, class 0 cut: fg cost -ln 0.4 = 0.92 > bg cost -ln 0.6 = 0.51 -> not class 0;
    # class 1 cut: fg -ln 0.6 < bg -ln 0.4 -> class 1. Elsewhere class 0.
    labels = graphcut_labels(_scores(), UNIFORM_SA, GrabCutSettings(pairwise_weight=0.0), 3)
    np.testing.assert_array_equal(labels, [[0, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_pairwise_term_removes_an_isolated_pixel():
    # lambda = 1, w = 1: the centre has 8 neighbours labelled class 0. Class 0 cut: centre fg
    # costs 0.92, bg costs 0.51 + 8 cut edges = 8.51 -> fg. Class 1 cut: centre fg costs
    # 0.51 + 8 = 8.51 > bg 0.92 -> not class 1. So every pixel is class 0.
    labels = graphcut_labels(_scores(), UNIFORM_SA, GrabCutSettings(pairwise_weight=1.0), 6)
    assert labels.shape == (6, 6) and not labels.any()


def test_single_candidate_falls_back_to_argmax():
    scores = _scores()
    scores[1] = 0.05  # below min_class_prob = 0.1: only class 0 is a candidate
    assert not graphcut_labels(scores, UNIFORM_SA, GrabCutSettings(), 3).any()


def test_graphcut_on_proxy_follows_segments():
    from sklearn.metrics import adjusted_rand_score

    from langseg.methods.probabilities import class_probabilities

    segments = synthetic.segment_map(24, 4, seed=3)
    sa = synthetic.proxy_self_attention(segments, seed=0)
    cos = synthetic.proxy_cosines(segments, np.array([2, 5, 7, 9]), 12, grid=24, noise=0.03)
    probs = class_probabilities(cos, 0.01, voc_background=False)
    labels = graphcut_labels(probs, sa, GrabCutSettings(), 24)
    truth = np.array([2, 5, 7, 9])[segments]
    assert adjusted_rand_score(truth.ravel(), labels.ravel()) >= 0.9
    assert (labels != truth).sum() < (probs.argmax(0) != truth).sum()
