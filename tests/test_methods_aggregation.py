"""Method 2 AGG formula with ca_norm and the min-max |min| quirk (docs/spec.md §3.2, §7.22)."""

import numpy as np
import pytest

from langseg.methods.aggregation import aggregate, minmax_quirk, normalise_columns

# SA rows = queries (sum to 1); column sums = [1.25, 0.75].
SA = np.array([[0.75, 0.25], [0.5, 0.5]], dtype=np.float32)


def test_agg_is_column_normalised_sa_transposed_times_ca():
    # CA: pixel 0 is class 0, pixel 1 is class 1.
    # AGG[0] = [SA[0,0], SA[1,0]] / 1.25 = [0.75, 0.5] / 1.25 = [0.6, 0.4]
    # AGG[1] = [SA[0,1], SA[1,1]] / 0.75 = [0.25, 0.5] / 0.75 = [1/3, 2/3]
    ca = np.eye(2, dtype=np.float32)
    agg = aggregate(SA, ca)
    assert agg.dtype == np.float32
    np.testing.assert_allclose(agg, [[0.6, 0.4], [1 / 3, 2 / 3]], rtol=1e-6)
    # the report's SA^T @ CA without normalisation would be [[0.75, 0.5], [0.25, 0.5]]
    assert not np.allclose(agg, SA.T @ ca)


def test_ca_norm_divides_columns_by_pixel_sums():
    # CA columns [2, 0] and [0, 4] sum to 2 and 4 -> identity after ca_norm -> as above.
    ca = np.array([[2, 0], [0, 4]], dtype=np.float32)
    np.testing.assert_allclose(aggregate(SA, ca, ca_norm=True), [[0.6, 0.4], [1 / 3, 2 / 3]],
                               rtol=1e-6)
    np.testing.assert_allclose(normalise_columns(ca), np.eye(2), rtol=1e-6)
    # explicit sums (AggSD's ca_colsum): [[2, 0], [0, 4]] / [4, 2] = [[0.5, 0], [0, 2]]
    np.testing.assert_allclose(normalise_columns(ca, np.array([4.0, 2.0])),
                               [[0.5, 0], [0, 2]], rtol=1e-6)


def test_minmax_uses_abs_min_quirk():
    # column [-1, 1, 3]: min -1, max 3 -> (x - |-1|) / (4 + 1e-10) = [-0.5, 0, 0.5]
    # (a true min-max would give [0, 0.5, 1]); column [1, 2, 3] -> (x - 1) / 2 = [0, 0.5, 1]
    x = np.array([[-1, 1], [1, 2], [3, 3]], dtype=np.float32)
    np.testing.assert_allclose(minmax_quirk(x), [[-0.5, 0], [0, 0.5], [0.5, 1]], atol=1e-7)
    np.testing.assert_allclose(aggregate(SA, np.eye(2, dtype=np.float32), minmax=True),
                               [[1, 0], [0, 1]], atol=1e-6)


def test_agg_equals_explicit_normalisation_on_random_attention():
    rng = np.random.default_rng(0)
    sa = rng.random((64, 64), dtype=np.float32)
    sa /= sa.sum(1, keepdims=True)
    ca = rng.random((64, 5), dtype=np.float32)
    explicit = (sa / sa.sum(0, keepdims=True)).T @ ca
    np.testing.assert_allclose(aggregate(sa, ca), explicit, rtol=1e-5)


def test_agg_rejects_mismatched_scores():
    with pytest.raises(ValueError, match="scores must be"):
        aggregate(SA, np.ones((3, 2), np.float32))


def test_column_sums_are_accumulated_in_float64():
    # column [2^24, 1, 1] sums to 2^24 + 2 exactly; a float32 running sum would stop at 2^24
    # (2^24 + 1 rounds back to 2^24). 2^24 / (2^24 + 2) = 1 / (1 + 2^-23) rounds to 1 - 2^-23.
    big = np.array([[2.0**24], [1.0], [1.0]], dtype=np.float32)
    out = normalise_columns(big)
    assert out.dtype == np.float32
    assert out[0, 0] == np.float32(1 - 2.0**-23)
    # the same column as a key column of SA: AGG of pixel 0 for the one-hot score of pixel 0
    sa = np.array([[2.0**24, 1, 1], [1, 1, 1], [1, 1, 1]], dtype=np.float32)
    agg = aggregate(sa, np.array([[1.0], [0.0], [0.0]], dtype=np.float32))
    assert agg[0, 0] == np.float32(1 - 2.0**-23)
    np.testing.assert_allclose(agg[1:, 0], [1 / 3, 1 / 3], rtol=1e-6)


def test_zero_key_column_message_is_exact():
    sa = np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    with pytest.raises(ValueError, match="^self_attention has a key column that sums to 0; "
                                         "AGG is undefined$"):
        aggregate(sa, np.ones((2, 1), dtype=np.float32))
