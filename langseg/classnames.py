"""Class-name files with synonyms (the SCLIP lineage's ``cls_*.txt`` convention).

One class per line; a line may hold several names separated by ``","`` (each stripped). The
text side scores every name separately and a class takes the maximum over its names after the
softmax (:func:`max_over_synonyms`). Pure: no torch, no model.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

_BOM = "\ufeff"


def parse_class_lines(lines: Iterable[str], source: str) -> tuple[tuple[str, ...], ...]:
    """Classes of a class-name file's lines, in order.

    Args:
        lines: the file's lines (with or without line ends); a UTF-8 BOM at the start of the first
            line is dropped, blank lines are skipped.
        source: what to name in error messages (usually the file path).

    Returns:
        one tuple of names per class, e.g. ``(("person", "person in shirt"), ("car",))``.

    Raises:
        ValueError: an empty name on a line (``"a,,b"``, a trailing comma), a name listed twice
            (within or across classes; names ``source`` and both line numbers), or no class.
    """
    classes: list[tuple[str, ...]] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        text = line.removeprefix(_BOM) if number == 1 else line
        text = text.strip()
        if not text:
            continue
        names = tuple(name.strip() for name in text.split(","))
        if any(not name for name in names):
            raise ValueError(f"{source}, line {number}: empty class name in {text!r}; names are "
                             f"separated by single commas")
        for name in names:
            if name in first_line:
                raise ValueError(f"{source}, line {number}: name {name!r} is already listed on "
                                 f"line {first_line[name]}; every name must belong to one class")
            first_line[name] = number
        classes.append(names)
    if not classes:
        raise ValueError(f"{source}: no class names (one class per line expected)")
    return tuple(classes)


def read_class_file(path: str | os.PathLike) -> tuple[tuple[str, ...], ...]:
    """:func:`parse_class_lines` of a UTF-8 file; errors name the file.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not UTF-8, or a problem found by :func:`parse_class_lines`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"class-name file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"class-name file {path} is not UTF-8 text: {err}") from None
    return parse_class_lines(text.splitlines(), str(path))


def flatten_names(classes: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """``(names, counts)``: every class's names in order, and how many names each class has."""
    names = tuple(name for names in classes for name in names)
    return names, tuple(len(names) for names in classes)


def max_over_synonyms(scores: np.ndarray, counts: Sequence[int], axis: int = -1) -> np.ndarray:
    """Per-class maximum over each class's names.

    Args:
        scores: one entry per name along ``axis`` (classes' names flattened in order), any dtype.
        counts: ``counts[k]`` = number of names of class ``k`` (each >= 1, summing to the length
            of ``axis``).
        axis: the name axis.

    Returns:
        same dtype, with ``axis`` of length ``len(counts)``.

    Raises:
        ValueError: counts below 1 or not summing to the axis length.
    """
    scores = np.asarray(scores)
    counts = [int(c) for c in counts]
    if not counts or min(counts) < 1:
        raise ValueError(f"every class needs at least one name, got counts {counts}")
    axis = axis % scores.ndim if scores.ndim else axis
    if sum(counts) != scores.shape[axis]:
        raise ValueError(f"counts sum to {sum(counts)} names but scores have "
                         f"{scores.shape[axis]} along axis {axis}")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    return np.maximum.reduceat(scores, starts, axis=axis)
