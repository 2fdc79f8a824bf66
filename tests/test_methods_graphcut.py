"""GrabCut variant: one-vs-rest graph cuts with CA unaries and SA pairwise terms."""

import naive_reference as ref
import numpy as np
import pytest

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


def test_neighbour_weights_match_a_naive_loop_in_every_direction():
    rng = np.random.default_rng(0)
    sa = rng.random((9, 9)).astype(np.float32)  # not symmetric
    edges = neighbour_weights(sa, 3)
    assert len(edges) == 4
    for (structure, weights), (dy, dx) in zip(edges, [(0, 1), (1, 0), (1, 1), (1, -1)]):
        want_structure = np.zeros((3, 3))
        want_structure[1 + dy, 1 + dx] = 1.0
        np.testing.assert_array_equal(structure, want_structure)
        want = np.zeros((3, 3))
        for y in range(3):
            for x in range(3):
                if 0 <= y + dy < 3 and 0 <= x + dx < 3:
                    p, q = 3 * y + x, 3 * (y + dy) + x + dx
                    want[y, x] = 9 * (float(sa[p, q]) + float(sa[q, p])) / 2
        assert weights.dtype == np.float64
        np.testing.assert_allclose(weights, want, rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_graphcut_equals_brute_force_energy_minimisation(seed):
    """Every binary labelling of a 3x3 grid tried per class (tests/naive_reference.py)."""
    rng = np.random.default_rng(seed)
    scores = rng.dirichlet(np.ones(4) * 0.7, size=9).T.reshape(4, 3, 3).astype(np.float32)
    scores[3] = np.minimum(scores[3], 0.25)  # class 3: max exactly 0.25: not a candidate
    scores[3, 0, 0] = 0.25
    sa = rng.random((9, 9)).astype(np.float32)
    sa /= sa.sum(axis=1, keepdims=True)
    weight = (0.05, 0.2, 0.5)[seed % 3]
    settings = GrabCutSettings(pairwise_weight=weight, min_class_prob=0.25)
    want = ref.graphcut_brute_force(scores, sa, weight, 0.25, settings.probability_floor)
    np.testing.assert_array_equal(graphcut_labels(scores, sa, settings, 3), want)
    up = graphcut_labels(scores, sa, settings, 6)  # nearest x2
    np.testing.assert_array_equal(up, np.repeat(np.repeat(want, 2, axis=0), 2, axis=1))
