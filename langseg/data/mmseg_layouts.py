"""The eight benchmarks of the standard protocol in their mmsegmentation layouts.

Each :class:`BenchmarkLayout` says where a benchmark's images and masks live under its root and
how raw mask values become labels, as mmsegmentation 1.x's dataset classes read them (label 255 =
ignore there, ``-1`` here). ``reduce_zero_label`` (VOC20, Context59, ADE20K) sends raw 0 to
ignore and every other value ``v`` to ``v - 1`` (255 stays ignore). Readers share the checks and
error messages of the report-protocol readers (:mod:`langseg.data.samples`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from langseg.data.images import read_mask
from langseg.data.labels import IGNORE, apply_label_table, label_table
from langseg.data.samples import (Sample, layout_hint, limit_samples, read_split_file,
                                  require_files, require_root, require_split)
from langseg.params import Benchmark, parse_choice


@dataclass(frozen=True)
class BenchmarkLayout:
    """Where one benchmark's files are and how its mask values map to labels.

    Attributes:
        name: human name used in messages.
        n_classes: size of the label space (0..n_classes-1).
        image_dir, mask_dir: folders under the root, ``{split}`` filled in.
        image_suffix, mask_suffix: file name = id + suffix.
        split_file: id list under the root (``{split}`` filled in), or ``None`` = scan ``image_dir``
            recursively (sorted by path, as mmseg does).
        splits: allowed split names.
        n_raw: raw mask values ``0..n_raw-1`` are valid (plus 255); others are refused.
        reduce_zero_label: raw 0 -> ignore, ``v`` -> ``v - 1``.
        layout: the expected layout shown in file-not-found errors.
    """

    name: str
    n_classes: int
    image_dir: str
    mask_dir: str
    image_suffix: str
    mask_suffix: str
    split_file: str | None
    splits: tuple[str, ...]
    n_raw: int
    reduce_zero_label: bool
    layout: str

    def label_table(self) -> np.ndarray:
        """``(256,) int16``: raw value -> label id, ``-1`` ignore, ``INVALID`` refused."""
        if self.reduce_zero_label:
            valid = {0: IGNORE, **{v: v - 1 for v in range(1, self.n_raw)}}
        else:
            valid = {v: v for v in range(self.n_raw)}
        return label_table({**valid, 255: IGNORE})

    def allowed(self) -> str:
        return f"0..{self.n_raw - 1} and 255 (ignore)"


_VOC_LAYOUT = """
VOC2012/                          <- root
  JPEGImages/{id}.jpg
  SegmentationClass/{id}.png      (palette PNG: 0 = background, 1..20, 255 = boundary)
  ImageSets/Segmentation/{split}.txt
"""
_CONTEXT_LAYOUT = """
VOC2010/                          <- root
  JPEGImages/{id}.jpg
  SegmentationClassContext/{id}.png   (mmseg pascal_context.py output: 0 = background, 1..59)
  ImageSets/SegmentationContext/{split}.txt
"""
_COCO_OBJECT_LAYOUT = """
coco_stuff164k/                   <- root
  images/{split}/{id}.jpg
  annotations/{split}/{id}_instanceTrainIds.png   (0 = background, 1..80 things; made from the
                                                   stuffthingmaps by langseg.data.coco_object)
"""
_COCO_STUFF_LAYOUT = """
coco_stuff164k/                   <- root
  images/{split}/{id}.jpg
  annotations/{split}/{id}_labelTrainIds.png      (mmseg coco_stuff.py output: 0..170, 255)
"""
_CITYSCAPES_LAYOUT = """
cityscapes/                       <- root
  leftImg8bit/{split}/{city}/{id}_leftImg8bit.png
  gtFine/{split}/{city}/{id}_gtFine_labelTrainIds.png   (trainIds 0..18, 255 = ignore)
"""
_ADE_LAYOUT = """
ADEChallengeData2016/             <- root
  images/{split}/{id}.jpg         (split: validation or training)
  annotations/{split}/{id}.png    (0 = other, 1..150)
"""


def _voc(n_classes: int, reduce: bool) -> BenchmarkLayout:
    return BenchmarkLayout(
        name=f"VOC{n_classes}", n_classes=n_classes, image_dir="JPEGImages",
        mask_dir="SegmentationClass", image_suffix=".jpg", mask_suffix=".png",
        split_file="ImageSets/Segmentation/{split}.txt", splits=("val", "train", "trainval"),
        n_raw=21, reduce_zero_label=reduce, layout=_VOC_LAYOUT)


def _context(n_classes: int, reduce: bool) -> BenchmarkLayout:
    return BenchmarkLayout(
        name=f"PASCAL Context {n_classes}", n_classes=n_classes, image_dir="JPEGImages",
        mask_dir="SegmentationClassContext", image_suffix=".jpg", mask_suffix=".png",
        split_file="ImageSets/SegmentationContext/{split}.txt", splits=("val", "train"),
        n_raw=60, reduce_zero_label=reduce, layout=_CONTEXT_LAYOUT)


LAYOUTS: dict[Benchmark, BenchmarkLayout] = {
    Benchmark.VOC21: _voc(21, False),
    Benchmark.VOC20: _voc(20, True),
    Benchmark.CONTEXT60: _context(60, False),
    Benchmark.CONTEXT59: _context(59, True),
    Benchmark.COCO_OBJECT: BenchmarkLayout(
        name="COCO-Object", n_classes=81, image_dir="images/{split}",
        mask_dir="annotations/{split}", image_suffix=".jpg", mask_suffix="_instanceTrainIds.png",
        split_file=None, splits=("val2017", "train2017"), n_raw=81, reduce_zero_label=False,
        layout=_COCO_OBJECT_LAYOUT),
    Benchmark.COCO_STUFF171: BenchmarkLayout(
        name="COCO-Stuff 171", n_classes=171, image_dir="images/{split}",
        mask_dir="annotations/{split}", image_suffix=".jpg", mask_suffix="_labelTrainIds.png",
        split_file=None, splits=("val2017", "train2017"), n_raw=171, reduce_zero_label=False,
        layout=_COCO_STUFF_LAYOUT),
    Benchmark.CITYSCAPES19: BenchmarkLayout(
        name="Cityscapes 19", n_classes=19, image_dir="leftImg8bit/{split}",
        mask_dir="gtFine/{split}", image_suffix="_leftImg8bit.png",
        mask_suffix="_gtFine_labelTrainIds.png", split_file=None, splits=("val", "train"),
        n_raw=19, reduce_zero_label=False, layout=_CITYSCAPES_LAYOUT),
    Benchmark.ADE20K: BenchmarkLayout(
        name="ADE20K", n_classes=150, image_dir="images/{split}", mask_dir="annotations/{split}",
        image_suffix=".jpg", mask_suffix=".png", split_file=None,
        splits=("validation", "training"), n_raw=151, reduce_zero_label=True,
        layout=_ADE_LAYOUT),
}


def as_benchmark(benchmark: Benchmark | str) -> Benchmark:
    """``benchmark`` as a :class:`Benchmark`; ValueError listing the allowed values otherwise."""
    return parse_choice(Benchmark, benchmark, "benchmark")


def benchmark_layout(benchmark: Benchmark | str) -> BenchmarkLayout:
    """The :class:`BenchmarkLayout` of ``benchmark``."""
    return LAYOUTS[as_benchmark(benchmark)]


def _scan_ids(layout: BenchmarkLayout, base, split: str) -> list[tuple[str, str]]:
    """``(relative folder, id)`` of every image under the image folder, sorted by path."""
    folder = base / layout.image_dir.format(split=split)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{layout.name} image folder not found: {folder}\n{layout_hint(layout.layout)}")
    paths = sorted(folder.rglob(f"*{layout.image_suffix}"))
    if not paths:
        raise ValueError(f"{layout.name}: no *{layout.image_suffix} images in {folder}")
    return [(str(p.parent.relative_to(folder)), p.name.removesuffix(layout.image_suffix))
            for p in paths]


def list_benchmark_samples(benchmark: Benchmark | str, root: str | os.PathLike, split: str, *,
                           max_images: int | None = None) -> list[Sample]:
    """The samples of ``split`` (split-file order, or sorted paths), first ``max_images`` only.

    Raises:
        ValueError: unknown benchmark or split, bad ``max_images``, empty or repeating split list,
            no images in a scanned folder.
        FileNotFoundError: missing root, split file, image folder, images or masks; the message
            names the paths (up to 5 plus the count) and shows the expected layout.
    """
    layout = benchmark_layout(benchmark)
    require_split(split, layout.splits, layout.name)
    base = require_root(root, layout.name, layout.layout)
    images = base / layout.image_dir.format(split=split)
    masks = base / layout.mask_dir.format(split=split)
    if layout.split_file is not None:
        ids = read_split_file(base / layout.split_file.format(split=split), layout.name,
                              layout.layout)
        entries = [(".", i) for i in ids]
    else:
        entries = _scan_ids(layout, base, split)
    samples = [Sample(i, images / sub / f"{i}{layout.image_suffix}",
                      masks / sub / f"{i}{layout.mask_suffix}") for sub, i in entries]
    samples = limit_samples(samples, max_images)
    require_files(samples, f"{layout.name} {split}", base, layout.layout)
    return samples


def map_benchmark_labels(raw: np.ndarray, benchmark: Benchmark | str) -> np.ndarray:
    """``(H, W)`` raw mask values -> ``(H, W) int16`` labels (``-1`` = ignore).

    Raises:
        ValueError: values outside ``0..n_raw-1`` and 255, or a non-2-D / non-integer mask.
    """
    layout = benchmark_layout(benchmark)
    return apply_label_table(raw, layout.label_table(), allowed=layout.allowed())


def read_benchmark_label(mask_path: str | os.PathLike, benchmark: Benchmark | str) -> np.ndarray:
    """The label map of one mask file at its stored (original) size.

    Returns:
        ``(H, W) int16`` in the benchmark's label space ``0..n_classes-1``, ``-1`` = ignore.

    Raises:
        FileNotFoundError, CorruptFileError: unreadable file.
        ValueError: values outside the benchmark's rule or a multi-channel mask (names the file).
    """
    layout = benchmark_layout(benchmark)
    raw = np.asarray(read_mask(mask_path))
    try:
        return map_benchmark_labels(raw, benchmark)
    except ValueError as err:
        raise ValueError(f"{layout.name} mask {mask_path}: {err}") from err
