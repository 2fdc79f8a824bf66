"""langseg.data.demo: the embedded demo is a valid, deterministic VOC2012 dataset."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from langseg.data import (DEMO_SPLITS, list_samples, load_image, prepare_ground_truth,
                          present_classes, write_demo_dataset)
from langseg.data.palettes import voc_palette


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    write_demo_dataset(root)  # its speed is measured by benchmarks, not asserted here
    return root


def _digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_split_constant_and_split_files(demo_root):
    assert {k: len(v) for k, v in DEMO_SPLITS.items()} == {"train": 6, "val": 6}
    assert not set(DEMO_SPLITS["train"]) & set(DEMO_SPLITS["val"])
    for split, ids in DEMO_SPLITS.items():
        listed = (demo_root / "VOC2012" / "ImageSets" / "Segmentation" / f"{split}.txt")
        assert listed.read_text().split() == list(ids)
        samples = list_samples("voc2012", demo_root / "VOC2012", split)
        assert tuple(s.image_id for s in samples) == ids


def test_masks_are_voc_palette_pngs(demo_root):
    palette = voc_palette(256).flatten().tolist()
    for image_id in DEMO_SPLITS["train"] + DEMO_SPLITS["val"]:
        with Image.open(demo_root / "VOC2012" / "SegmentationClass" / f"{image_id}.png") as mask:
            assert mask.mode == "P" and mask.getpalette() == palette
            values = np.asarray(mask)
        assert set(np.unique(values).tolist()) <= set(range(21)) | {255}
        assert (values == 255).any() and (values == 0).any()
        image = load_image(demo_root / "VOC2012" / "JPEGImages" / f"{image_id}.jpg")
        assert image.size == (values.shape[1], values.shape[0])


def test_regions_are_separated_by_boundary_band(demo_root):
    # invariant of VOC-style masks: two 4-adjacent pixels that are both not 255 share a label
    for image_id in DEMO_SPLITS["val"]:
        values = np.asarray(Image.open(demo_root / "VOC2012" / "SegmentationClass" /
                                       f"{image_id}.png"))
        for a, b in ((values[1:], values[:-1]), (values[:, 1:], values[:, :-1])):
            both = (a != 255) & (b != 255)
            assert (a[both] == b[both]).all()


def test_several_classes_per_split_and_objects_per_image(demo_root):
    for split in DEMO_SPLITS:
        shard = prepare_ground_truth(list_samples("voc2012", demo_root / "VOC2012", split),
                                     "voc2012", size=320)
        per_image = [set(present_classes(label)) - {0} for label in shard.labels]
        assert all(2 <= len(c) <= 4 for c in per_image), per_image
        assert len(set().union(*per_image)) >= 3


def test_bytes_are_deterministic(demo_root, tmp_path):
    write_demo_dataset(tmp_path)
    assert _digests(tmp_path) == _digests(demo_root)
    assert len(_digests(tmp_path)) == 12 * 2 + 2


def test_seed_changes_the_pixels(tmp_path, demo_root):
    write_demo_dataset(tmp_path, seed=1)
    other, base = _digests(tmp_path), _digests(demo_root)
    assert other["VOC2012/JPEGImages/demo_000.jpg"] != base["VOC2012/JPEGImages/demo_000.jpg"]
    with pytest.raises(ValueError, match="seed"):
        write_demo_dataset(tmp_path, seed=-1)
