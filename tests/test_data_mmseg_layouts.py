"""Readers of the eight standard benchmarks on tiny generated copies of their mmseg layouts."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from langseg.data.coco_object import convert_split, stuff_to_object
from langseg.data.mmseg_layouts import (list_benchmark_samples, map_benchmark_labels,
                                        read_benchmark_label)
from langseg.params import Benchmark


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _image(path: Path) -> None:
    _write(path, np.zeros((4, 5, 3), dtype=np.uint8))


def make_layout(root: Path, benchmark: str, masks: dict[str, np.ndarray]) -> tuple[Path, str]:
    """Write images and masks of ``benchmark``'s layout under ``root``; returns (root, split)."""
    ids = list(masks)
    if benchmark in ("voc21", "voc20"):
        base = root / "VOC2012"
        (base / "ImageSets/Segmentation").mkdir(parents=True)
        (base / "ImageSets/Segmentation/val.txt").write_text("\n".join(ids) + "\n")
        for i in ids:
            _image(base / f"JPEGImages/{i}.jpg")
            _write(base / f"SegmentationClass/{i}.png", masks[i])
        return base, "val"
    if benchmark in ("context60", "context59"):
        base = root / "VOC2010"
        (base / "ImageSets/SegmentationContext").mkdir(parents=True)
        (base / "ImageSets/SegmentationContext/val.txt").write_text("\n".join(ids) + "\n")
        for i in ids:
            _image(base / f"JPEGImages/{i}.jpg")
            _write(base / f"SegmentationClassContext/{i}.png", masks[i])
        return base, "val"
    if benchmark in ("coco_object", "coco_stuff171"):
        base = root / "coco_stuff164k"
        suffix = "_instanceTrainIds" if benchmark == "coco_object" else "_labelTrainIds"
        for i in ids:
            _image(base / f"images/val2017/{i}.jpg")
            _write(base / f"annotations/val2017/{i}{suffix}.png", masks[i])
        return base, "val2017"
    if benchmark == "cityscapes19":
        base = root / "cityscapes"
        for n, i in enumerate(ids):
            city = "aachen" if n == 0 else "zurich"
            _write(base / f"leftImg8bit/val/{city}/{i}_leftImg8bit.png",
                   np.zeros((4, 5, 3), dtype=np.uint8))
            _write(base / f"gtFine/val/{city}/{i}_gtFine_labelTrainIds.png", masks[i])
        return base, "val"
    base = root / "ADEChallengeData2016"
    for i in ids:
        _image(base / f"images/validation/{i}.jpg")
        _write(base / f"annotations/validation/{i}.png", masks[i])
    return base, "validation"


# raw mask values -> expected labels (-1 = ignore), per benchmark
CASES = {
    "voc21": ([0, 5, 20, 255], [0, 5, 20, -1]),
    "voc20": ([0, 5, 20, 255], [-1, 4, 19, -1]),
    "context60": ([0, 1, 59, 255], [0, 1, 59, -1]),
    "context59": ([0, 1, 59, 255], [-1, 0, 58, -1]),
    "coco_object": ([0, 1, 80, 255], [0, 1, 80, -1]),
    "coco_stuff171": ([0, 90, 170, 255], [0, 90, 170, -1]),
    "cityscapes19": ([0, 7, 18, 255], [0, 7, 18, -1]),
    "ade20k": ([0, 1, 150, 255], [-1, 0, 149, -1]),
}
BAD = {"voc21": 21, "voc20": 21, "context60": 60, "context59": 60, "coco_object": 81,
       "coco_stuff171": 171, "cityscapes19": 19, "ade20k": 151}


@pytest.mark.parametrize("benchmark", [b.value for b in Benchmark])
def test_tiny_layout_is_listed_and_read(tmp_path, benchmark):
    raw, expected = CASES[benchmark]
    mask_a = np.array([raw, raw[::-1], raw, raw], dtype=np.uint8)
    mask_b = np.full((4, 4), raw[1], dtype=np.uint8)
    root, split = make_layout(tmp_path, benchmark, {"b_2": mask_b, "a_1": mask_a})
    samples = list_benchmark_samples(benchmark, root, split)
    ids = [s.image_id for s in samples]
    if benchmark in ("voc21", "voc20", "context60", "context59"):
        assert ids == ["b_2", "a_1"]  # split-file order
    elif benchmark == "cityscapes19":
        assert ids == ["b_2", "a_1"]  # sorted by path: aachen/b_2 before zurich/a_1
    else:
        assert ids == ["a_1", "b_2"]  # folder scan, sorted by path
    by_id = {s.image_id: s for s in samples}
    labels = read_benchmark_label(by_id["a_1"].mask_path, benchmark)
    assert labels.dtype == np.int16
    assert labels[0].tolist() == expected and labels[1].tolist() == expected[::-1]
    assert len(list_benchmark_samples(benchmark, root, split, max_images=1)) == 1


@pytest.mark.parametrize("benchmark", [b.value for b in Benchmark])
def test_out_of_range_values_name_the_file(tmp_path, benchmark):
    root, split = make_layout(tmp_path, benchmark,
                              {"x": np.full((2, 2), BAD[benchmark], dtype=np.uint8)})
    mask = list_benchmark_samples(benchmark, root, split)[0].mask_path
    message = rf"{mask.name}.*unexpected label values \[{BAD[benchmark]}\]"
    with pytest.raises(ValueError, match=message):
        read_benchmark_label(mask, benchmark)


def test_missing_files_and_bad_splits_are_named(tmp_path):
    root, split = make_layout(tmp_path, "voc21", {"a": np.zeros((2, 2), np.uint8)})
    (root / "JPEGImages/a.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"JPEGImages/a\.jpg[\s\S]*expected layout"):
        list_benchmark_samples("voc21", root, split)
    with pytest.raises(ValueError, match="unknown VOC21 split 'test'"):
        list_benchmark_samples("voc21", root, "test")
    with pytest.raises(FileNotFoundError, match="root folder not found"):
        list_benchmark_samples("ade20k", tmp_path / "nowhere", "validation")
    with pytest.raises(ValueError, match="unknown benchmark 'voc'"):
        list_benchmark_samples("voc", root, split)
    (tmp_path / "ADE/images/validation").mkdir(parents=True)
    with pytest.raises(ValueError, match="no \\*.jpg images"):
        list_benchmark_samples("ade20k", tmp_path / "ADE", "validation")


def test_cityscapes_mask_missing_names_the_label_file(tmp_path):
    root, split = make_layout(tmp_path, "cityscapes19", {"c_1": np.zeros((2, 2), np.uint8)})
    next((root / "gtFine").rglob("*.png")).unlink()
    with pytest.raises(FileNotFoundError, match="c_1_gtFine_labelTrainIds.png"):
        list_benchmark_samples("cityscapes19", root, split)


def test_multichannel_mask_refused(tmp_path):
    root, split = make_layout(tmp_path, "ade20k", {"a": np.zeros((2, 2), np.uint8)})
    mask = list_benchmark_samples("ade20k", root, split)[0].mask_path
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(mask)
    with pytest.raises(ValueError, match="single-channel"):
        read_benchmark_label(mask, "ade20k")


def test_coco_object_from_stuff_maps_as_the_lineage_converts():
    # things 0..10 -> 1..11, 12 -> 12 (11 is unused), 90-unused; stuff 91, 181 -> 0; 255 -> 0
    raw = np.array([[0, 10, 12, 89], [91, 181, 255, 13]], dtype=np.uint8)
    assert stuff_to_object(raw).tolist() == [[1, 11, 12, 80], [0, 0, 0, 13]]
    with pytest.raises(ValueError, match=r"\[11\]"):
        stuff_to_object(np.array([[11]], dtype=np.uint8))
    assert map_benchmark_labels(stuff_to_object(raw), "coco_object").max() == 80


def test_coco_object_conversion_writes_readable_masks(tmp_path):
    folder = tmp_path / "annotations/val2017"
    _write(folder / "000001.png", np.array([[0, 91], [255, 89]], dtype=np.uint8))
    _write(folder / "000001_labelTrainIds.png", np.zeros((2, 2), np.uint8))  # not a raw map
    assert convert_split(tmp_path, "val2017") == 1
    labels = read_benchmark_label(folder / "000001_instanceTrainIds.png", "coco_object")
    assert labels.tolist() == [[1, 0], [0, 80]]
