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
