"""ImageInputs / SDGroundTruthAttention: what is accepted, what is refused and the messages."""

import numpy as np
import pytest

from langseg.methods.inputs import ImageInputs, SDGroundTruthAttention, attention_side


def _sd(agg, colsum, ids):
    return SDGroundTruthAttention(agg=np.asarray(agg, np.float32),
                                  ca_colsum=np.asarray(colsum, np.float32),
                                  class_ids=np.asarray(ids))


def test_sd_gt_accepts_no_class_and_class_id_0():
    assert _sd(np.ones((4, 1)), [1.0], np.zeros(0, np.int64)).class_ids.shape == (0,)
    assert _sd(np.ones((4, 2)), [1.0, 1.0], [0]).class_ids.tolist() == [0]


@pytest.mark.parametrize(("agg", "colsum", "ids", "message"), [
    (np.ones(4), [1.0], [], r"sd_gt.agg must be \(N, 1\+K\), got shape \(4,\)$"),
    (np.ones((4, 0)), [], [], r"sd_gt.agg must be \(N, 1\+K\), got shape \(4, 0\)$"),
    (np.ones((4, 3)), [1.0, 1.0], [4, 9], r"sd_gt.ca_colsum must have shape \(3,\), got \(2,\)$"),
    (np.ones((4, 3)), [1.0] * 3, [4], r"sd_gt.class_ids must be \(2,\) non-negative ints, got"),
    (np.ones((4, 3)), [1.0] * 3, [4.0, 9.0], r"sd_gt.class_ids must be \(2,\) non-negative"),
    (np.ones((4, 3)), [1.0] * 3, [4, -1], r"sd_gt.class_ids must be \(2,\) non-negative"),
])
def test_sd_gt_refusals_name_the_field(agg, colsum, ids, message):
    with pytest.raises(ValueError, match="^" + message):
        _sd(agg, colsum, ids)


def test_from_padded_cuts_the_padding_and_returns_int64_ids():
    agg = np.arange(16, dtype=np.float32).reshape(4, 4)
    sd = SDGroundTruthAttention.from_padded(agg, np.array([1.0, 2.0, 3.0, 4.0]),
                                            np.array([4, 9, -1], dtype=np.int32))
    assert sd.class_ids.dtype == np.int64 and sd.class_ids.tolist() == [4, 9]
    np.testing.assert_array_equal(sd.agg, agg[:, :3])
    assert sd.ca_colsum.tolist() == [1.0, 2.0, 3.0]
    with_0 = SDGroundTruthAttention.from_padded(agg, np.ones(4), np.array([0, 9, -1]))
    assert with_0.class_ids.tolist() == [0, 9] and with_0.agg.shape == (4, 3)
    empty = SDGroundTruthAttention.from_padded(agg, np.ones(4), np.array([-1, -1]))
    assert empty.agg.shape == (4, 1) and empty.class_ids.shape == (0,)
    for bad in ([-1, 4], [4, -1, 9]):
        with pytest.raises(ValueError, match=r"^class_ids padding \(-1\) must come after the "
                                             r"ids, got"):
            SDGroundTruthAttention.from_padded(agg, np.ones(4), np.array(bad))


def test_cosines_and_name_counts_are_checked():
    one = np.zeros((1, 4, 4), np.float32)
    assert ImageInputs(cosines=one).n_classes == 1
    for bad in (np.zeros((0, 4, 4)), np.zeros((4, 4)), np.zeros((2, 4, 5))):
        with pytest.raises(ValueError, match=r"^cosines must be \(C, g, g\), got shape"):
            ImageInputs(cosines=bad)
    three = np.zeros((3, 4, 4), np.float32)
    assert ImageInputs(cosines=three, name_counts=(1, 2)).n_classes == 2
    assert ImageInputs(name_counts=(2, 1, 1)).n_classes == 3  # no cosines: counts not summed
    for counts in ((), (0, 3), (1, 1), (2, 2)):
        with pytest.raises(ValueError, match=r"^name_counts must be >= 1 each and sum to the "
                                             r"cosine channels, got"):
            ImageInputs(cosines=three, name_counts=counts)
    with pytest.raises(ValueError, match=r"got \(1, 1\) for cosines of shape \(3, 4, 4\)$"):
        ImageInputs(cosines=three, name_counts=(1, 1))


def test_gt_is_a_2d_int_map_with_minus_1_as_the_only_negative():
    assert ImageInputs(gt=np.array([[-1, 0], [3, 7]], np.int16)).gt.shape == (2, 2)
    assert ImageInputs(gt=np.zeros((0, 0), np.int64)).gt.size == 0
    for bad in (np.array([[-2, 0]]), np.zeros((2, 2)), np.zeros((1, 2, 2), int),
                np.zeros(3, int)):
        with pytest.raises(ValueError, match=r"^gt must be a 2-D int label map with -1 = "
                                             r"ignore, got shape"):
            ImageInputs(gt=bad)


def test_attention_side_and_its_refusals():
    assert attention_side(np.zeros((9, 9))) == 3
    assert attention_side(np.zeros((1, 1))) == 1
    for shape in ((10, 10), (9, 8), (9,), (9, 9, 1), ()):
        with pytest.raises(ValueError, match=r"^self_attention must be \(N, N\) with N = r\*r, "
                                             r"got shape"):
            attention_side(np.zeros(shape))
    with pytest.raises(ValueError, match="self_attention"):
        ImageInputs(self_attention=np.zeros((8, 8), np.float32))
