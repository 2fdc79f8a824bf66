"""Class-name files with synonyms, as the field writes them (one class per line).

A line ``person, person in shirt`` is ONE class with two names; a pixel's score for the class is
the maximum over its names of the name probabilities, taken AFTER the softmax over all names of
all classes (:func:`max_over_synonyms`). Reading is strict: a name used by two classes is an
error naming the file and line, never silently merged. Pure Python + numpy, no models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

BOM = "\ufeff"


def parse_class_lines(lines: Iterable[str], source: str) -> tuple[tuple[str, ...], ...]:
    """Classes from text lines: one class per line, its names separated by ``,``.

    Names are stripped; a UTF-8 byte-order mark at the start of a line is dropped; blank lines
    are skipped. Names compare case-sensitively after stripping.

    Args:
        lines: the text lines (with or without line ends).
        source: what the lines come from (a file name), used in error messages.

    Returns:
        One tuple of names per class, in line order, each non-empty.

    Raises:
        ValueError: an empty name (``"cat,,dog"``), or a name given twice, within a class or
            across classes; the message names ``source`` and the line number(s).
    """
    classes: list[tuple[str, ...]] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        text = line.replace(BOM, "").strip()
        if not text:
            continue
        names = tuple(name.strip() for name in text.split(","))
        for name in names:
            if not name:
                raise ValueError(f"{source}, line {number}: empty class name in {text!r}; "
                                 "remove the extra comma")
            if name in first_line:
                where = ("this line" if first_line[name] == number
                         else f"line {first_line[name]}")
                raise ValueError(f"{source}, line {number}: {name!r} is already a name on "
                                 f"{where}; give every name once")
            first_line[name] = number
        classes.append(names)
    return tuple(classes)


def read_class_file(path: str | Path) -> tuple[tuple[str, ...], ...]:
    """:func:`parse_class_lines` of a UTF-8 text file (BOM allowed).

    Raises:
        FileNotFoundError: no such file (the message names it).
        ValueError: not UTF-8 text, or a bad line (the message names the file).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"class-name file {path}: no such file") from None
    except UnicodeDecodeError as err:
        raise ValueError(f"class-name file {path}: not UTF-8 text ({err}); save it as "
                         "UTF-8") from None
    return parse_class_lines(text.splitlines(), str(path))


def max_over_synonyms(scores: np.ndarray, counts: Sequence[int], axis: int = -1) -> np.ndarray:
    """Per-class maximum over the names of each class.

    Args:
        scores: any shape, with one entry per NAME along ``axis``: the names of class 0, then
            those of class 1, ... (``sum(counts)`` entries).
        counts: ``counts[k] >= 1`` = number of names of class ``k``.
        axis: the name axis.

    Returns:
        Same dtype and shape as ``scores`` except ``len(counts)`` entries along ``axis``;
        entry ``k`` is the max over class ``k``'s names.

    Raises:
        ValueError: a count < 1, or ``sum(counts)`` differs from the axis length.
    """
    scores = np.asarray(scores)
    counts = [int(c) for c in counts]
    if not counts or min(counts) < 1:
        raise ValueError(f"counts must be a non-empty list of integers >= 1, got {counts}")
    if sum(counts) != scores.shape[axis]:
        raise ValueError(f"scores has {scores.shape[axis]} names along axis {axis}, but counts "
                         f"sum to {sum(counts)}")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.maximum.reduceat(scores, starts, axis=axis)
