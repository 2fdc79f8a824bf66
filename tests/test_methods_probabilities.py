"""CA_CLIP probabilities, VOC background rule, GT filter (docs/spec.md §2, §3.1, §3.6)."""

import numpy as np
import pytest

from langseg.methods.probabilities import (allowed_channels, argmax_channels,
                                           class_probabilities, mask_channels)


def test_softmax_with_temperature_and_voc_background_by_hand():
    # 10 classes, 2 pixels. Pixel 0: cos = [0.1 ln 3, 0, ..., 0] / 0.1 -> logits [ln 3, 0 x 9]
    #   -> p = [3/12, 1/12 x 9]; bg = (1 - 0.25) - 0.8 < 0 -> 0.
    # Pixel 1: equal cosines -> p = 0.1 each; bg = (1 - 0.1) - 0.8 = 0.1 (float32 order).
    cos = np.zeros((10, 1, 2), dtype=np.float32)
    cos[0, 0, 0] = 0.1 * np.log(3.0)
    p = class_probabilities(cos, 0.1, voc_background=True, background_offset=0.8)
    assert p.shape == (11, 1, 2) and p.dtype == np.float32
    np.testing.assert_allclose(p[1:, 0, 0], [0.25] + [1 / 12] * 9, rtol=1e-6)
    np.testing.assert_allclose(p[1:, 0, 1], 0.1, rtol=1e-6)
    assert p[0, 0, 0] == 0.0
    expected_bg = (np.float32(1) - p[1:, 0, 1].max()) - np.float32(0.8)
    assert p[0, 0, 1] == expected_bg and abs(p[0, 0, 1] - 0.1) < 1e-6
    # not renormalised: the 21 channels sum to 1 + bg
    assert p[:, 0, 1].sum() == pytest.approx(1.1, abs=1e-6)


def test_temperature_001_matches_the_codes_multiplication_by_100():
    import torch

    rng = np.random.default_rng(0)
    cos = rng.uniform(0.1, 0.35, size=(27, 8, 8)).astype(np.float32)
    ours = class_probabilities(cos, 0.01, voc_background=False)
    coded = torch.softmax(100 * torch.from_numpy(cos), dim=0).numpy()
    np.testing.assert_allclose(ours, coded, atol=1e-6)
    assert np.array_equal(ours.argmax(0), coded.argmax(0))
    # hand example: cos 0.2 and 0.19 -> logits 20 and 19 -> p = [e/(e+1), 1/(e+1)]
    two = class_probabilities(np.array([[[0.2]], [[0.19]]], np.float32), 0.01,
                              voc_background=False)
    np.testing.assert_allclose(two[:, 0, 0], [0.7310586, 0.2689414], rtol=1e-5)


def test_allowed_channels_voc_always_allows_background():
    gt = np.array([[-1, 3], [3, 12]])
    assert allowed_channels(gt, 21, voc_background=True).tolist() == [0, 3, 12]
    assert allowed_channels(gt, 59, voc_background=False).tolist() == [3, 12]
    with pytest.raises(ValueError, match="label 12"):
        allowed_channels(gt, 10, voc_background=False)


def test_restricted_argmax_equals_filter_then_argmax():
    # pixel values (3 channels): [0.2, 0.5, 0.3]; allowed {0, 2} -> channel 2 (0.3 > 0.2);
    # filtering channel 1 to -100 then argmax over all gives the same.
    scores = np.array([0.2, 0.5, 0.3], np.float32).reshape(3, 1, 1)
    allowed = np.array([0, 2])
    assert argmax_channels(scores, allowed)[0, 0] == 2
    assert mask_channels(scores, allowed)[1, 0, 0] == -100.0
    rng = np.random.default_rng(1)
    scores = rng.random((21, 16, 16), dtype=np.float32)
    allowed = np.array([0, 4, 5, 19])
    np.testing.assert_array_equal(argmax_channels(scores, allowed),
                                  mask_channels(scores, allowed).argmax(0))
    # no allowed channel: every channel -100 in the report's code -> argmax 0
    assert not argmax_channels(scores, np.array([], dtype=np.int64)).any()


def test_first_maximum_wins_on_ties():
    scores = np.full((4, 2, 2), 0.25, dtype=np.float32)
    assert not argmax_channels(scores).any()
    assert (argmax_channels(scores, np.array([2, 3])) == 2).all()


def test_float64_cosines_give_float32_probabilities():
    # logits [ln 3, 0] (temperature 0.5) -> p = [3/4, 1/4]
    cos = np.array([[[0.5 * np.log(3.0)]], [[0.0]]])  # float64
    p = class_probabilities(cos, 0.5, voc_background=False)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p[:, 0, 0], [0.75, 0.25], rtol=1e-6)


def test_background_is_zero_exactly_at_the_offset_and_default_offset_is_08():
    # two equal classes: max p = 0.5 -> bg = (1 - 0.5) - 0.5 = 0 with offset 0.5
    cos = np.zeros((2, 1, 1), np.float32)
    p = class_probabilities(cos, 0.1, voc_background=True, background_offset=0.5)
    assert p[:, 0, 0].tolist() == [0.0, 0.5, 0.5]
    # ten equal classes: max p = 0.1 -> the default offset 0.8 gives bg = 0.9 - 0.8 = 0.1
    p = class_probabilities(np.zeros((10, 1, 1), np.float32), 0.1, voc_background=True)
    assert p[0, 0, 0] == pytest.approx(0.1, abs=1e-6)


def test_allowed_channels_keeps_label_0_and_the_last_channel():
    gt = np.array([[0, 2], [-1, 1]], dtype=np.int32)
    ids = allowed_channels(gt, 3, voc_background=False)  # label 2 == last channel: allowed
    assert ids.dtype == np.int64 and ids.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="^gt holds label 3 but the methods have only 3 "
                                         "channels; check the dataset's class list$"):
        allowed_channels(gt + (gt == 2), 3, voc_background=False)  # labels 0, 1, 3
    assert allowed_channels(np.full((2, 2), -1), 3, voc_background=False).tolist() == []
    assert allowed_channels(np.full((2, 2), -1), 3, voc_background=True).tolist() == [0]


def test_mask_channels_copies_and_uses_the_report_value():
    scores = np.array([0.2, 0.5, 0.3], np.float32).reshape(3, 1, 1)
    masked = mask_channels(scores, np.array([1]))
    assert masked.dtype == np.float32 and masked[:, 0, 0].tolist() == [-100.0, 0.5, -100.0]
    assert scores[:, 0, 0].tolist() == [np.float32(0.2), 0.5, np.float32(0.3)]  # input kept
    assert mask_channels(scores, np.array([0, 2]), value=-1.0)[1, 0, 0] == -1.0
    assert mask_channels(scores.astype(np.float64), np.array([1])).dtype == np.float32


def test_argmax_over_one_allowed_channel_and_none_is_int64():
    scores = np.array([0.2, 0.5, 0.3], np.float32).reshape(3, 1, 1)
    assert argmax_channels(scores, np.array([2]))[0, 0] == 2
    empty = argmax_channels(scores, np.array([], dtype=np.int64))
    assert empty.dtype == np.int64 and empty.shape == (1, 1)
    assert argmax_channels(scores, np.array([0, 2], dtype=np.int32)).dtype == np.int64


def test_synonyms_take_the_max_over_their_names_after_the_softmax():
    # 3 names, classes (2 names, 1 name); logits [ln 2, 0, 0] -> p over names [1/2, 1/4, 1/4]
    # -> class 0 = max(1/2, 1/4) = 1/2, class 1 = 1/4; VOC background (1 - 1/2) - 0.25 = 0.25
    cos = np.array([[[np.log(2.0)]], [[0.0]], [[0.0]]], np.float32)
    p = class_probabilities(cos, 1.0, voc_background=False, name_counts=(2, 1))
    np.testing.assert_allclose(p[:, 0, 0], [0.5, 0.25], rtol=1e-6)
    p = class_probabilities(cos, 1.0, voc_background=True, background_offset=0.25,
                            name_counts=(2, 1))
    assert p.dtype == np.float32
    np.testing.assert_allclose(p[:, 0, 0], [0.25, 0.5, 0.25], rtol=1e-6)
