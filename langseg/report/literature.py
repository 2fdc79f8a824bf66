"""The literature rows of the report's Table 4, typed from the report with their sources.

``literature.csv`` (next to this module) holds one row per method: ``method, backbone, LD, ZS``
(``yes``/``no``), ``voc, context, coco, cityscapes`` (text exactly as printed in the report's
Table 4: ``"34.2*"``, ``"-"`` when not reported) and ``source`` (reference number, arXiv id when
the report's bibliography has one, and the report's marker).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

LITERATURE_PATH = Path(__file__).with_name("literature.csv")
LITERATURE_COLUMNS = ("method", "backbone", "LD", "ZS", "voc", "context", "coco", "cityscapes",
                      "source")
VALUE_COLUMNS = ("voc", "context", "coco", "cityscapes")

#: What each marker of Table 4 means (the report's caption).
MARKERS = {
    "*": "Results from [41]",
    "+": "Results from [5]",
    "®": "Results from [28]",
}


def load_literature(path: Path | str = LITERATURE_PATH) -> pd.DataFrame:
    """Read the literature rows as text (no number parsing, ``"-"`` kept), checking the columns.

    Returns a DataFrame with :data:`LITERATURE_COLUMNS`, one row per method, all ``str``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"literature table {path} does not exist (the package ships "
                                f"{LITERATURE_PATH})")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if tuple(frame.columns) != LITERATURE_COLUMNS:
        raise ValueError(f"{path}: columns {list(frame.columns)}, expected "
                         f"{list(LITERATURE_COLUMNS)}")
    for column in ("LD", "ZS"):
        bad = sorted(set(frame[column]) - {"yes", "no"})
        if bad:
            raise ValueError(f"{path}: column {column} has {bad}; allowed: yes, no")
    for column in VALUE_COLUMNS:
        for text in frame[column]:
            parse_value(text, where=f"{path} column {column}")
    return frame


def parse_value(text: str, *, where: str = "literature value") -> tuple[float | None, str]:
    """``"34.2*"`` -> ``(34.2, "*")``; ``"55.7"`` -> ``(55.7, "")``; ``"-"`` -> ``(None, "")``."""
    if text == "-":
        return None, ""
    marker = text[-1] if text[-1:] in MARKERS else ""
    number = text[:-1] if marker else text
    try:
        return float(number), marker
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a number, a number followed by one of "
                         f"{list(MARKERS)}, or '-'") from None
