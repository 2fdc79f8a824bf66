"""The ``Sample`` record and the checks every dataset reader shares (roots, split files, files)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

_MAX_LISTED_MISSING = 5


@dataclass(frozen=True)
class Sample:
    """One image of a split and its label mask (paths as built from the configured root)."""

    image_id: str
    image_path: Path
    mask_path: Path


def layout_hint(layout: str) -> str:
    """The indented ``expected layout`` block appended to every file-not-found message."""
    return "expected layout:\n" + "\n".join("  " + line for line in layout.strip("\n").splitlines())


def require_root(root: str | os.PathLike, what: str, layout: str) -> Path:
    """``root`` as a ``Path``; FileNotFoundError naming it and the layout if it is not a folder."""
    path = Path(root)
    if not path.is_dir():
        raise FileNotFoundError(f"{what} root folder not found: {path}\n{layout_hint(layout)}")
    return path


def require_split(split: str, allowed: tuple[str, ...], what: str) -> None:
    """ValueError listing the allowed split names when ``split`` is not one of them."""
    if split not in allowed:
        raise ValueError(f"unknown {what} split {split!r}; allowed: {', '.join(allowed)}")


def read_split_file(path: Path, what: str, layout: str) -> list[str]:
    """Image ids of a split list (one per line, blanks skipped), in file order.

    The file is read as UTF-8; a leading byte-order mark (as some Windows editors write) is
    dropped.

    Raises:
        FileNotFoundError: the file is missing (message names it and the layout).
        ValueError: the file is not UTF-8, or the list is empty or repeats an id (names the file).
    """
    if not path.is_file():
        raise FileNotFoundError(f"{what} split file not found: {path}\n{layout_hint(layout)}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{what} split file {path} is not UTF-8 text (byte {err.start}: "
                         f"{err.reason}); save it as UTF-8") from None
    ids = [line.strip() for line in text.splitlines() if line.strip()]
    if not ids:
        raise ValueError(f"{what} split file {path} lists no image ids")
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise ValueError(f"{what} split file {path} repeats image ids: {', '.join(repeated[:5])}")
    return ids


def limit_samples(samples: list[Sample], max_images: int | None) -> list[Sample]:
    """The first ``max_images`` samples (all when ``None``); ``max_images`` must be >= 1."""
    if max_images is None:
        return samples
    if isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 1:
        raise ValueError(f"max_images must be a positive integer or None, got {max_images!r}")
    return samples[:max_images]


def require_files(samples: list[Sample], what: str, root: Path, layout: str) -> None:
    """FileNotFoundError listing up to 5 missing image/mask paths, their count and the layout."""
    paths = (p for s in samples for p in (s.image_path, s.mask_path))
    missing = [str(p) for p in paths if not os.path.exists(p)]
    if not missing:
        return
    shown = "\n".join("  " + p for p in missing[:_MAX_LISTED_MISSING])
    more = len(missing) - _MAX_LISTED_MISSING
    tail = f"\n  ... and {more} more" if more > 0 else ""
    raise FileNotFoundError(
        f"{len(missing)} image/mask file(s) of the {what} split listing are missing under {root}:\n"
        f"{shown}{tail}\n{layout_hint(layout)}")
