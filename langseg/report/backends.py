"""Backend x method tables: every CLIP backend crossed with every method, per dataset split.

Two tables per ``{dataset}_{split}``, built from the evaluation JSONs (a result without a
``backend`` key is ``gem``'s):

* ``backend_miou_{dataset}_{split}``: one row per backend, one mIoU (%) column per method.
  AggSD (ground-truth classes, no backend) repeats in every row, next to AggSD-ZS (the classes
  the row's backend predicts) and Method 1 (the backend alone), so the three read side by side.
* ``backend_scores_{dataset}_{split}``: one row per (backend, method): mIoU and the multilabel
  precision / recall (%) of the classes present in the predicted masks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from langseg import workflow_paths as paths
from langseg.params import Method
from langseg.report.results import (
    read_results,
    METHOD_LABELS,
    describe_provenance,
    to_percent,
    validate_results,
)
from langseg.report.tables import ReportTable

#: Column order: the backend alone, its zero-shot AggSD, AggSD's upper bound, then the rest.
COLUMN_ORDER = (Method.GEM, Method.AGGSD_ZS, Method.AGGSD, Method.GEMW, Method.AGGGEM,
                Method.AGGGEMW, Method.DIFFSEGCLUST, Method.SPECCLUST, Method.GTCLUST,
                Method.GRABCUT)
BACKEND_ONLY_LABEL = "Method 1 (backend alone)"
DEFAULT_BACKEND = "gem"


def _backend(result: Mapping) -> str:
    return result.get("backend", DEFAULT_BACKEND)


def _label(method: Method) -> str:
    return BACKEND_ONLY_LABEL if method is Method.GEM else METHOD_LABELS[method]


def _validated(results: Sequence[Mapping]) -> list[Mapping]:
    """Each backend's results pass :func:`validate_results` (one per dataset/split/method)."""
    for backend in dict.fromkeys(_backend(r) for r in results):
        validate_results([r for r in results if _backend(r) == backend])
    return list(results)


def load_backend_results(paths: Iterable[Path | str]) -> list[dict]:
    """Read evaluation JSONs of several backends and validate them (per backend)."""
    return _validated(read_results(paths))


def _select(results: Sequence[Mapping], dataset: str, split: str) -> list[Mapping]:
    return [r for r in _validated(results) if r["dataset"] == dataset and r["split"] == split]


def _backends(selected: Sequence[Mapping], order: Sequence[str] | None) -> list[str]:
    found = list(dict.fromkeys(_backend(r) for r in selected
                               if Method(r["method"]).uses_backend))
    if order:
        return [b for b in order if b in found] + [b for b in found if b not in order]
    return found


def _scores(selected: Sequence[Mapping]) -> dict[tuple[str, Method], Mapping]:
    """(backend, method) -> result; backend-free methods under every backend key via None."""
    out: dict = {}
    for r in selected:
        method = Method(r["method"])
        key = (_backend(r) if method.uses_backend else None, method)
        if key in out:
            raise ValueError(f"two results for {r['dataset']}/{r['split']} method "
                             f"{method.value} backend {key[0]}; pass each evaluation once")
        out[key] = r
    return out


def _lookup(scores: Mapping, backend: str, method: Method) -> Mapping | None:
    return scores.get((backend if method.uses_backend else None, method))


def table_backend_miou(results: Sequence[Mapping], *, dataset: str, split: str,
                       backends: Sequence[str] | None = None,
                       experiment: str | None = None) -> ReportTable:
    """mIoU (%) per backend (rows, ``backends`` order first) and method (columns).

    Columns: ``Backend`` then one float column per method with results, in
    :data:`COLUMN_ORDER`; NaN where a (backend, method) has no result.
    """
    selected = _select(results, dataset, split)
    scores = _scores(selected)
    methods = [m for m in COLUMN_ORDER if any(key[1] is m for key in scores)]
    rows = []
    for backend in _backends(selected, backends):
        row: dict = {"Backend": backend}
        for method in methods:
            result = _lookup(scores, backend, method)
            row[_label(method)] = to_percent(result["miou"]) if result else float("nan")
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["Backend", *(_label(m) for m in methods)])
    caption = (f"mIoU (%) of every CLIP backend with every method on {dataset} {split}. "
               f"AggSD uses the ground-truth classes (no backend; the same in every row), "
               f"AggSD-ZS the classes the row's backend predicts present. "
               + (describe_provenance(selected, experiment) if selected else "No results."))
    return ReportTable(frame, caption)


def table_backend_scores(results: Sequence[Mapping], *, dataset: str, split: str,
                         backends: Sequence[str] | None = None,
                         experiment: str | None = None) -> ReportTable:
    """One row per (backend, method): ``mIoU``, ``Precision``, ``Recall`` (%, float)."""
    selected = _select(results, dataset, split)
    scores = _scores(selected)
    methods = [m for m in COLUMN_ORDER if any(key[1] is m for key in scores)]
    rows = []
    for backend in _backends(selected, backends):
        for method in methods:
            result = _lookup(scores, backend, method)
            if result is None:
                continue
            multilabel = result.get("multilabel") or {}
            rows.append({"Backend": backend, "Method": _label(method),
                         "mIoU": to_percent(result["miou"]),
                         "Precision": to_percent(multilabel.get("precision")),
                         "Recall": to_percent(multilabel.get("recall"))})
    frame = pd.DataFrame(rows, columns=["Backend", "Method", "mIoU", "Precision", "Recall"])
    caption = (f"Every CLIP backend with every method on {dataset} {split}: mIoU and "
               f"multilabel precision / recall (%, mean over classes, from the classes present "
               f"in the predicted masks). "
               + (describe_provenance(selected, experiment) if selected else "No results."))
    return ReportTable(frame, caption)


def build_backend_tables(results: Sequence[Mapping], *, backends: Sequence[str] | None = None,
                         experiment: str | None = None) -> dict[str, ReportTable]:
    """Both tables for every (dataset, split) of ``results``, keyed by file stem
    (:func:`langseg.workflow_paths.backend_table_stem`)."""
    tables = {}
    for dataset, split in dict.fromkeys((r["dataset"], r["split"]) for r in results):
        kw = {"dataset": dataset, "split": split, "backends": backends, "experiment": experiment}
        name = f"{dataset}_{split}"
        tables[paths.backend_table_stem("miou", name)] = table_backend_miou(results, **kw)
        tables[paths.backend_table_stem("scores", name)] = table_backend_scores(results, **kw)
    return tables
