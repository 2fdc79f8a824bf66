"""langseg.data.ground_truth: shard labels, size checks, corrupt files, present classes."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langseg.data import CorruptFileError, Sample, prepare_ground_truth, present_classes
from langseg.data.palettes import voc_palette


def _sample(tmp_path: Path, image_id: str, mask, *, image_size=None) -> Sample:
    mask = np.asarray(mask, dtype=np.uint8)
    width, height = image_size or (mask.shape[1], mask.shape[0])
    image_path, mask_path = tmp_path / f"{image_id}.jpg", tmp_path / f"{image_id}.png"
    Image.new("RGB", (width, height), (1, 2, 3)).save(image_path)
    png = Image.frombytes("P", (mask.shape[1], mask.shape[0]), mask.tobytes())
    png.putpalette(voc_palette(256).tobytes())  # Pillow drops unpaletted indices on save
    png.save(mask_path)
    return Sample(image_id, image_path, mask_path)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _noisy_mask(n: int = 64):
    rng = np.random.default_rng(0)  # incompressible, so truncation cuts pixel data
    return rng.integers(0, 21, (n, n))


def test_shard_labels_and_ids(tmp_path):
    samples = [_sample(tmp_path, "a", [[0, 255], [3, 3]]), _sample(tmp_path, "b", [[1, 1], [1, 1]])]
    shard = prepare_ground_truth(samples, "voc2012", size=2)
    assert shard.image_ids == ["a", "b"] and shard.skipped == []
    assert shard.labels.dtype == np.int16 and shard.labels.shape == (2, 2, 2)
    assert shard.labels.tolist() == [[[0, -1], [3, 3]], [[1, 1], [1, 1]]]
    assert prepare_ground_truth(samples, "voc2012").labels.shape == (2, 320, 320)


def test_truncated_mask_fails_by_default_and_is_skipped_on_request(tmp_path):
    good = _sample(tmp_path, "good", [[2, 2], [2, 2]])
    bad = _sample(tmp_path, "bad", _noisy_mask())
    _truncate(bad.mask_path)
    with pytest.raises(CorruptFileError, match=r"bad\.png"):
        prepare_ground_truth([good, bad], "voc2012", size=2)
    shard = prepare_ground_truth([bad, good], "voc2012", size=2, on_error="skip")
    assert shard.image_ids == ["good"] and shard.labels.tolist() == [[[2, 2], [2, 2]]]
    assert [i for i, _ in shard.skipped] == ["bad"] and "bad.png" in shard.skipped[0][1]


def test_truncated_image_fails_by_default_and_is_skipped_on_request(tmp_path):
    bad = _sample(tmp_path, "bad", np.zeros((64, 64)))
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(bad.image_path)
    _truncate(bad.image_path)
    with pytest.raises(CorruptFileError, match=r"bad\.jpg"):
        prepare_ground_truth([bad], "voc2012", size=2)
    shard = prepare_ground_truth([bad], "voc2012", size=2, on_error="skip")
    assert shard.image_ids == [] and shard.labels.shape == (0, 2, 2)
    assert shard.skipped[0][0] == "bad"
    # header-only mode does not decode the image, so the truncation goes unnoticed there
    assert prepare_ground_truth([bad], "voc2012", size=2, decode_images=False).image_ids == ["bad"]


def test_mask_size_differs_from_image_size(tmp_path):
    sample = _sample(tmp_path, "m", [[0, 0, 0], [0, 0, 0]], image_size=(4, 2))
    with pytest.raises(ValueError, match=r"m\.png is 3x2.*m\.jpg is 4x2"):
        prepare_ground_truth([sample], "voc2012", on_error="skip")


def test_labels_outside_range_fail_even_when_skipping(tmp_path):
    sample = _sample(tmp_path, "r", [[0, 60]])
    with pytest.raises(ValueError, match=r"r\.png.*\[60\]"):
        prepare_ground_truth([sample], "context", size=2, on_error="skip")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="on_error must be one of fail, skip"):
        prepare_ground_truth([], "voc2012", on_error="ignore")
    with pytest.raises(ValueError, match="size must be a positive integer"):
        prepare_ground_truth([], "voc2012", size=0)


def test_present_classes():
    # unique of {0, 3, -1, 3, 7} without -1 -> (0, 3, 7)
    assert present_classes(np.array([[0, 3], [-1, 3], [7, 7]], dtype=np.int16)) == (0, 3, 7)
    assert present_classes(np.full((2, 2), -1)) == ()
    with pytest.raises(ValueError, match="below -1"):
        present_classes(np.array([-2, 1]))
    with pytest.raises(ValueError, match="integers"):
        present_classes(np.array([0.5]))
