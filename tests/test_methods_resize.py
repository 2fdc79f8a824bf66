"""Resampling wrappers: output dtypes whatever the input dtype, values by hand."""

import numpy as np

from langseg.methods.resize import resize_bilinear, resize_labels_nearest


def test_bilinear_converts_float64_input_to_float32_by_hand():
    # align_corners=False, 2 -> 4: output centres sit at (i + 0.5) / 2 - 0.5 = -0.25, 0.25,
    # 0.75, 1.25 in input pixels, clamped to [0, 1] -> weights r = 0, 0.25, 0.75, 1 along
    # each axis, so out[y, x] = 2 * r[y] + r[x] for the input [[0, 1], [2, 3]].
    maps = np.array([[[0.0, 1.0], [2.0, 3.0]]])  # float64
    out = resize_bilinear(maps, 4)
    r = np.array([0.0, 0.25, 0.75, 1.0])
    assert out.dtype == np.float32 and out.shape == (1, 4, 4)
    np.testing.assert_array_equal(out[0], 2 * r[:, None] + r[None, :])


def test_nearest_labels_are_int64_by_hand():
    # 2 -> 4: output pixel i takes input floor(i * 2 / 4) = 0, 0, 1, 1
    out = resize_labels_nearest(np.array([[1, 2], [-1, 4]], dtype=np.int32), 4)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[1, 1, 2, 2], [1, 1, 2, 2], [-1, -1, 4, 4],
                                        [-1, -1, 4, 4]])
