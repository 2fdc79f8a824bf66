"""Write a table with its caption as CSV, Markdown and LaTeX (the only I/O of the tables).

The tables mark yes/no with ``"✓"``/``"✗"`` (one symbol each, in every table).

* CSV: ``frame.to_csv(index=False)``; marks become text (``"✓"`` -> ``yes``, ``"✗"`` -> ``no``);
  the caption follows as lines starting with ``"# "``, so ``pd.read_csv(path, comment="#")``
  reads the table back.
* Markdown: pandas ``DataFrame.to_markdown`` (a pipe table through ``tabulate``; numbers
  right-aligned, NaN as ``-``), a blank line, the caption as a paragraph.
* LaTeX: pandas ``Styler.to_latex`` with booktabs rules (``\\toprule``, ``\\midrule``,
  ``\\bottomrule``: needs ``\\usepackage{booktabs}``) in a ``table`` float with ``\\caption{}``;
  ``✓`` is written ``\\checkmark`` (needs ``\\usepackage{amssymb}``), ``✗`` as ``$\\times$``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

CSV_MARKS = {"✓": "yes", "✗": "no"}
_LATEX_CHARS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "✓": r"\checkmark{}", "✗": r"$\times$", "®": r"\textsuperscript{\textregistered}",
}


def write_table(frame: pd.DataFrame, caption: str, stem: Path | str) -> list[Path]:
    """Write ``{stem}.csv``, ``{stem}.md`` and ``{stem}.tex`` (parent folders created).

    Returns the three paths. Raises ValueError when a cell holds ``#`` (it would cut the CSV
    row when read back with ``comment="#"``).
    """
    stem = Path(stem)
    for column in frame.columns:
        if frame[column].astype(str).str.contains("#", regex=False).any() or "#" in str(column):
            raise ValueError(f"write_table({stem}): column {column!r} holds '#', which CSV "
                             f"readers with comment='#' would cut; rename it")
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(stem.name + suffix) for suffix in (".csv", ".md", ".tex")]
    paths[0].write_text(format_csv(frame, caption), encoding="utf-8")
    paths[1].write_text(format_markdown(frame, caption), encoding="utf-8")
    paths[2].write_text(format_latex(frame, caption), encoding="utf-8")
    return paths


def format_cell(value: object) -> str:
    """Display text of one cell: floats with 1 decimal, NaN/None as ``-``, the rest as ``str``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def format_csv(frame: pd.DataFrame, caption: str) -> str:
    """CSV text with ``yes``/``no`` marks and the caption as trailing ``# `` lines."""
    text_frame = frame.map(lambda v: CSV_MARKS.get(v, v) if isinstance(v, str) else v)
    comment = "".join(f"# {line}\n" for line in caption.splitlines() or [""])
    return text_frame.to_csv(index=False, lineterminator="\n") + comment


def format_markdown(frame: pd.DataFrame, caption: str) -> str:
    """A Markdown pipe table (``DataFrame.to_markdown``) then the caption paragraph."""
    numeric = [_is_numeric(frame[column]) for column in frame.columns]
    text = frame.map(format_cell).map(lambda cell: cell.replace("|", "\\|"))
    text.columns = [str(c).replace("|", "\\|") for c in frame.columns]
    table = text.to_markdown(index=False, disable_numparse=True,
                             colalign=["right" if n else "left" for n in numeric])
    return table + "\n\n" + caption + "\n"


def format_latex(frame: pd.DataFrame, caption: str) -> str:
    """A LaTeX ``table`` float from ``Styler.to_latex``: booktabs rules, numbers right-aligned."""
    spec = "".join("r" if _is_numeric(frame[c]) else "l" for c in frame.columns)
    text = frame.map(lambda value: latex_escape(format_cell(value)))
    text.columns = [latex_escape(str(c)) for c in frame.columns]
    body = text.style.hide(axis="index").to_latex(
        hrules=True, column_format=spec, position="ht", position_float="centering",
        caption=latex_escape(caption), environment="table")
    return r"% needs \usepackage{booktabs} and \usepackage{amssymb} (for \checkmark)" + "\n" + body


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters and write the report's marks as LaTeX macros."""
    return "".join(_LATEX_CHARS.get(char, char) for char in text)


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
