"""Shards of a split and the split index file (TSV) the workflow's rules share.

Shard ``k`` holds samples ``[k * S, (k + 1) * S)`` in index order, named ``f"{k:03d}"``.
The index is a tab-separated file with the header ``image_id  image_path  mask_path  shard``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

from langseg.data.samples import Sample

INDEX_COLUMNS = ("image_id", "image_path", "mask_path", "shard")
MAX_SHARDS = 1000  # shard names are 3 digits


def _check_shard_size(shard_size: int) -> None:
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise ValueError(f"shard_size must be a positive integer, got {shard_size!r}")


def shard_name(index: int) -> str:
    """Name of shard ``index``: ``0 -> "000"`` (the shard wildcard value)."""
    return f"{index:03d}"


def shard_names(n_samples: int, shard_size: int) -> list[str]:
    """Names of the ``ceil(n_samples / shard_size)`` shards: ``["000", "001", ...]``.

    Raises:
        ValueError: ``shard_size < 1``, ``n_samples < 0``, or more than 1000 shards (increase
            ``shard_size``).
    """
    _check_shard_size(shard_size)
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 0:
        raise ValueError(f"n_samples must be a non-negative integer, got {n_samples!r}")
    n_shards = math.ceil(n_samples / shard_size)
    if n_shards > MAX_SHARDS:
        raise ValueError(
            f"{n_samples} images in shards of {shard_size} make {n_shards} shards; at most "
            f"{MAX_SHARDS} are allowed (3-digit names): set shard_size >= "
            f"{math.ceil(n_samples / MAX_SHARDS)}")
    return [shard_name(k) for k in range(n_shards)]


def shard_samples(samples: Sequence[Sample], shard_size: int) -> list[list[Sample]]:
    """``samples`` cut into consecutive shards of ``shard_size`` (the last may be shorter)."""
    names = shard_names(len(samples), shard_size)
    return [list(samples[k * shard_size:(k + 1) * shard_size]) for k in range(len(names))]


def write_index(samples: Sequence[Sample], shard_size: int, path: str | os.PathLike) -> None:
    """Write the index TSV of ``samples`` (parent folders are created).

    Raises:
        ValueError: a field contains a tab or newline, or ``shard_size`` is invalid.
    """
    rows = ["\t".join(INDEX_COLUMNS)]
    for name, shard in zip(shard_names(len(samples), shard_size),
                           shard_samples(samples, shard_size)):
        for s in shard:
            fields = (s.image_id, str(s.image_path), str(s.mask_path), name)
            bad = [f for f in fields if "\t" in f or "\n" in f or "\r" in f]
            if bad:
                raise ValueError(f"index field {bad[0]!r} contains a tab or newline")
            rows.append("\t".join(fields))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")


def read_index(path: str | os.PathLike) -> list[tuple[Sample, str]]:
    """Read an index TSV written by :func:`write_index`.

    Returns:
        ``[(Sample, shard_name), ...]`` in file order.

    Raises:
        FileNotFoundError: ``path`` is missing.
        ValueError: wrong header or a row without exactly 4 fields (names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset index not found: {path} (written by the index_dataset "
                                "rule, langseg.data.write_index)")
    lines = path.read_text().splitlines()
    if not lines or tuple(lines[0].split("\t")) != INDEX_COLUMNS:
        raise ValueError(f"{path}: first line must be the header {' '.join(INDEX_COLUMNS)}")
    entries = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(INDEX_COLUMNS):
            raise ValueError(f"{path}:{number}: expected {len(INDEX_COLUMNS)} tab-separated "
                             f"fields, got {len(fields)}")
        image_id, image_path, mask_path, shard = fields
        entries.append((Sample(image_id, Path(image_path), Path(mask_path)), shard))
    return entries
