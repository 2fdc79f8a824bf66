"""Synonyms in the methods: a class scores the max over its names after the softmax over all
names (ImageInputs.name_counts, methods.probabilities.class_probabilities)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from langseg.methods import ImageInputs, MethodSettings, segment_image
from langseg.methods.probabilities import class_probabilities
from langseg.params import DatasetKind, Method


def test_synonym_probabilities_max_after_softmax():
    # one pixel, names: class 0 = (a, b), class 1 = (c,); cosines 0.3, 0.2, 0.25; s = 0.1
    cos = np.array([0.3, 0.2, 0.25], dtype=np.float32).reshape(3, 1, 1)
    e = [math.exp(c / 0.1) for c in (0.3, 0.2, 0.25)]
    expected = [max(e[0], e[1]) / sum(e), e[2] / sum(e)]  # softmax over ALL names, then max
    probs = class_probabilities(cos, 0.1, voc_background=False, name_counts=(2, 1))
    assert probs.shape == (2, 1, 1)
    assert np.allclose(probs.ravel(), expected, rtol=1e-6)
    with_bg = class_probabilities(cos, 0.1, voc_background=True, background_offset=0.2,
                                  name_counts=(2, 1))
    assert np.allclose(with_bg.ravel(), [max(0.0, 1 - max(expected) - 0.2), *expected],
                       rtol=1e-5)


def test_synonyms_change_the_gem_labels():
    rng = np.random.default_rng(0)
    cos = rng.uniform(-0.2, 0.4, size=(3, 4, 4)).astype(np.float32)
    settings = MethodSettings.for_dataset(DatasetKind.CONTEXT, {"output_size": 8})
    grouped = segment_image(Method.GEM, ImageInputs(cosines=cos, name_counts=(2, 1)), settings)
    # argmax of a per-class max of the names equals the argmax over names mapped to classes
    plain = segment_image(Method.GEM, ImageInputs(cosines=cos), settings)
    assert set(np.unique(grouped)) <= {0, 1}
    assert np.array_equal(grouped, np.where(plain == 2, 1, 0))
    with pytest.raises(ValueError, match="name_counts"):
        ImageInputs(cosines=cos, name_counts=(1, 1))
