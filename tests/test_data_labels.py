"""langseg.data.labels: value tables and nearest resizing."""

import numpy as np
import pytest
from PIL import Image

from langseg.data.labels import INVALID, apply_label_table, label_table, resize_labels


def test_apply_label_table_exact_and_errors():
    table = label_table({0: -1, 1: 0, 2: 5})
    raw = np.array([[0, 1], [2, 2]], dtype=np.uint8)
    assert apply_label_table(raw, table, allowed="0..2").tolist() == [[-1, 0], [5, 5]]
    assert table[3] == INVALID and not table.flags.writeable
    with pytest.raises(ValueError, match=r"\[3, 300\]; allowed: 0\.\.2"):
        apply_label_table(np.array([[3, 300]]), table, allowed="0..2")
    with pytest.raises(ValueError, match="2-D integer"):
        apply_label_table(np.zeros((2, 2), dtype=np.float32), table, allowed="0..2")


def test_resize_after_mapping_equals_pil_resize_of_the_raw_mask():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 21, (37, 53)).astype(np.uint8)
    raw[rng.random(raw.shape) < 0.1] = 255
    table = label_table({**{v: v for v in range(21)}, 255: -1})
    for size in (7, 64, 320):
        pil = np.asarray(Image.fromarray(raw).resize((size, size), Image.Resampling.NEAREST))
        expected = table[pil]
        got = resize_labels(apply_label_table(raw, table, allowed=""), size)
        assert got.dtype == np.int16 and got.shape == (size, size)
        np.testing.assert_array_equal(got, expected)


def test_resize_rejects_bad_size():
    with pytest.raises(ValueError, match="size"):
        resize_labels(np.zeros((2, 2), dtype=np.int16), 0)
