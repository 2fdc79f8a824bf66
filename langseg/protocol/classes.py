"""The class-name file of each benchmark (shipped in ``classnames/``, or the user's own)."""

from __future__ import annotations

import os
from pathlib import Path

from langseg.classnames import read_class_file
from langseg.data.mmseg_layouts import as_benchmark, benchmark_layout
from langseg.params import Benchmark

CLASSNAMES_DIR = Path(__file__).with_name("classnames")


def class_file(benchmark: Benchmark | str) -> Path:
    """The shipped class-name file of ``benchmark``."""
    return CLASSNAMES_DIR / f"{as_benchmark(benchmark).value}.txt"


def benchmark_classes(benchmark: Benchmark | str, path: str | os.PathLike | None = None,
                      ) -> tuple[tuple[str, ...], ...]:
    """The classes (with synonyms) of ``benchmark``, from ``path`` or the shipped file.

    Raises:
        ValueError: the file's class count differs from the benchmark's label space (names both).
    """
    path = class_file(benchmark) if path is None else Path(path)
    classes = read_class_file(path)
    expected = benchmark_layout(benchmark).n_classes
    if len(classes) != expected:
        raise ValueError(f"class-name file {path} has {len(classes)} classes; "
                         f"{as_benchmark(benchmark).value} needs {expected} (one line per label "
                         f"id, in label order)")
    return classes


#: Benchmarks whose label 0 is background (their class file's line 0 may list stuff words).
WITH_BACKGROUND = (Benchmark.VOC21, Benchmark.CONTEXT60, Benchmark.COCO_OBJECT)


def label_names(benchmark: Benchmark | str) -> tuple[str, ...]:
    """One display name per label id: the first name of each class, ``"background"`` for
    label 0 of the benchmarks with background."""
    names = [names[0] for names in benchmark_classes(benchmark)]
    if as_benchmark(benchmark) in WITH_BACKGROUND:
        names[0] = "background"
    return tuple(names)
