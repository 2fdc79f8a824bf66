"""Tests of class-name files with synonyms (langseg.classnames) and their scoring in the methods."""

from __future__ import annotations

import math

import numpy as np
import pytest

from langseg.classnames import max_over_synonyms, parse_class_lines, read_class_file
from langseg.methods import ImageInputs, MethodSettings, segment_image
from langseg.methods.probabilities import class_probabilities
from langseg.params import DatasetKind, Method


def test_parse_synonym_lines():
    lines = ["\ufeffperson, person in shirt\n", "\n", "  cat  ", "tv monitor,television , screen"]
    assert parse_class_lines(lines, "x.txt") == (
        ("person", "person in shirt"), ("cat",), ("tv monitor", "television", "screen"))


@pytest.mark.parametrize("lines, message", [
    (["cat", "dog, cat"], "x.txt, line 2: 'cat' is already a name on line 1"),
    (["\ufeffcat", "cat"], "x.txt, line 2: 'cat' is already a name on line 1"),
    (["cat, cat"], "x.txt, line 1: 'cat' is already a name on this line"),
    (["cat,,dog"], "x.txt, line 1: empty class name"),
])
def test_parse_refuses(lines, message):
    with pytest.raises(ValueError, match=message):
        parse_class_lines(lines, "x.txt")


def test_read_class_file_bom_and_errors(tmp_path):
    path = tmp_path / "classes.txt"
    path.write_bytes("\ufeffcat\nperson, person in shirt\nécole\n".encode())
    assert read_class_file(path) == (("cat",), ("person", "person in shirt"), ("école",))
    path.write_bytes("\ufeffcat\ncat\n".encode())  # the BOM must not hide the repeat
    with pytest.raises(ValueError, match="line 2: 'cat'"):
        read_class_file(path)
    path.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=f"{path}: not UTF-8"):
        read_class_file(path)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_class_file(tmp_path / "nope.txt")


def test_max_over_synonyms_hand_example():
    scores = np.array([[0.1, 0.5, 0.2, 0.7, 0.0, 0.3]], dtype=np.float32)
    # classes: names 0..1, name 2, names 3..5 -> max(0.1, 0.5), 0.2, max(0.7, 0.0, 0.3)
    out = max_over_synonyms(scores, [2, 1, 3])
    assert out.dtype == np.float32 and out.tolist() == [[0.5, np.float32(0.2), np.float32(0.7)]]
    along0 = max_over_synonyms(scores.T, [2, 1, 3], axis=0)
    assert np.array_equal(along0, out.T)
    with pytest.raises(ValueError, match="counts sum to 5"):
        max_over_synonyms(scores, [2, 3])
    with pytest.raises(ValueError, match=">= 1"):
        max_over_synonyms(scores, [6, 0])


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
