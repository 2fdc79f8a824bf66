"""The standard-protocol table: the eight benchmarks as columns, backend x method rows.

Columns follow the field's order (with background: VOC21, Context60, COCO-Object; without:
VOC20, Context59, COCO-Stuff, Cityscapes, ADE20K) and ``Avg`` (mean of the eight, only when a row
has all eight). Published rows (``standard_literature.csv``, each with its source) are appended
only for runs with real weights: random-weight numbers next to them would invite a comparison
that means nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from langseg.params import Benchmark

STANDARD_LITERATURE_PATH = Path(__file__).with_name("standard_literature.csv")
COLUMN_ORDER = (Benchmark.VOC21, Benchmark.CONTEXT60, Benchmark.COCO_OBJECT, Benchmark.VOC20,
                Benchmark.CONTEXT59, Benchmark.COCO_STUFF171, Benchmark.CITYSCAPES19,
                Benchmark.ADE20K)
COLUMN_TITLES = {Benchmark.VOC21: "VOC21", Benchmark.CONTEXT60: "PC60",
                 Benchmark.COCO_OBJECT: "Object", Benchmark.VOC20: "VOC20",
                 Benchmark.CONTEXT59: "PC59", Benchmark.COCO_STUFF171: "Stuff",
                 Benchmark.CITYSCAPES19: "City", Benchmark.ADE20K: "ADE"}


def load_standard_literature(path: Path | str = STANDARD_LITERATURE_PATH) -> pd.DataFrame:
    """Published rows as text (``"-"`` = not reported), checked for columns and numbers."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    expected = ["method", "backbone", *(b.value for b in COLUMN_ORDER), "source"]
    if list(frame.columns) != expected:
        raise ValueError(f"{path}: columns {list(frame.columns)}, expected {expected}")
    for b in COLUMN_ORDER:
        for text in frame[b.value]:
            if text != "-":
                float(text)
    return frame


def build_standard_table(results: Sequence[Mapping], *, rows: Sequence[Sequence[str]],
                         backbone: str, real_weights: bool,
                         literature: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per ``(backend, method)`` in ``rows`` order, mIoU (%) per benchmark.

    Args:
        results: evaluation JSONs of :func:`langseg.pipeline.standard.evaluate_standard`
            (``benchmark``, ``backend``, ``scores[method]["miou"]``). Several configured datasets
            of one benchmark: the first result wins.
        rows: ``[backend, method]`` pairs.
        backbone: the CLIP model of this run (written in every own row).
        real_weights: append the published rows.

    Returns:
        columns ``Backend, Method, Backbone, VOC21 ... ADE, Avg, Source``; ``NaN`` where a
        benchmark was not run.
    """
    cells: dict[tuple[str, str, Benchmark], float] = {}
    for result in results:
        bench = Benchmark(result["benchmark"])
        for method, scores in result["scores"].items():
            cells.setdefault((result["backend"], method, bench), float(scores["miou"]))
    records = []
    for backend, method in rows:
        values = [cells.get((backend, method, b), math.nan) for b in COLUMN_ORDER]
        records.append({"Backend": backend, "Method": method, "Backbone": backbone,
                        **dict(zip(COLUMN_TITLES.values(), values)),
                        "Avg": _average(values), "Source": "this run"})
    if real_weights:
        lit = load_standard_literature() if literature is None else literature
        for _, row in lit.iterrows():
            values = [math.nan if row[b.value] == "-" else float(row[b.value])
                      for b in COLUMN_ORDER]
            records.append({"Backend": "published", "Method": row["method"],
                            "Backbone": row["backbone"], **dict(zip(COLUMN_TITLES.values(),
                                                                     values)),
                            "Avg": _average(values), "Source": row["source"]})
    return pd.DataFrame.from_records(
        records, columns=["Backend", "Method", "Backbone", *COLUMN_TITLES.values(), "Avg",
                          "Source"])


def _average(values: Sequence[float]) -> float:
    return math.nan if any(math.isnan(v) for v in values) else sum(values) / len(values)


def standard_caption(provenance: Mapping) -> str:
    """Caption naming the protocol preset, PAMR, the models and the demo caveat."""
    text = (f"{provenance['experiment']}: mIoU (%) under the standard (SCLIP-lineage) protocol, "
            f"preset {provenance['protocol_preset']}, PAMR {'on' if provenance['pamr'] else 'off'};"
            f" CLIP: {provenance['clip_model']}. Avg only when all eight benchmarks ran.")
    if provenance["preset"] != "real":
        text += " Random weights: the numbers only show that the pipeline runs."
    return text
