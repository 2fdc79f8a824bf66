"""Hard SA scenes for the codec benchmark: row-stochastic, strictly positive, as configured."""

from __future__ import annotations

import numpy as np
import pytest

from langseg.synthetic import HARD_SCENES, hard_scene


@pytest.mark.parametrize("name", list(HARD_SCENES))
def test_hard_scenes_are_positive_row_stochastic_maps(name):
    segments, sa = hard_scene(name, 16, seed=1)
    assert segments.shape == (16, 16) and sa.shape == (256, 256) and sa.dtype == np.float32
    assert len(np.unique(segments)) == min(HARD_SCENES[name]["n_segments"], 256)
    np.testing.assert_allclose(sa.sum(axis=1), 1.0, atol=1e-5)
    assert sa.min() > 0  # DiffSeg's KL takes log without an epsilon


def test_peakedness_spans_both_ends():
    peaks = {name: float(hard_scene(name, 16, seed=0)[1].max(axis=1).mean())
             for name in ("near-uniform", "sharp-small")}
    # mean row maximum: about 4x uniform (1/256) for near-uniform rows, 0.6 for sharp ones
    assert peaks["near-uniform"] < 5 / 256 and peaks["sharp-small"] > 0.5


def test_unknown_scene_names_the_scenes():
    with pytest.raises(ValueError, match="scenes: flat-noisy"):
        hard_scene("easy")
