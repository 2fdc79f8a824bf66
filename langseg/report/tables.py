"""The report's tables (2, 3, 4), a summary and per-class IoUs, as DataFrames with captions.

Every function takes a list of result dicts (see :mod:`langseg.report.results`), does no I/O and
returns a :class:`ReportTable`: ``frame`` (``Method`` is the first column, default index; scores
in percent rounded to 1 decimal, NaN when missing) and ``caption`` (what the table shows, the
models, fidelity and number of images it was computed on). :func:`write_table` writes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from langseg import workflow_paths as paths
from langseg.params import DatasetKind, Method
from langseg.report.literature import MARKERS, VALUE_COLUMNS, load_literature
from langseg.report.results import (KIND_LABELS, METHOD_LABELS, NOT_IN_REPORT, dataset_columns,
                                    describe_provenance, is_real, mean_without_background,
                                    sort_key, to_percent, validate_results)
from langseg.report.writers import write_table

__all__ = ["ReportTable", "table_ablation", "table_multilabel", "table_benchmark",
           "table_summary", "table_class_iou", "build_all", "write_table", "CHECK", "CROSS",
           "CROSS_TABLE4"]

CHECK = "✓"
CROSS = "✗"  # "no", in every table (the report used "X" in Table 2 and "✗" in Table 4)
CROSS_TABLE4 = CROSS  # old name, kept for callers

ABLATION_ROWS = (Method.GEM, Method.GEMW, Method.AGGGEM, Method.AGGSD, Method.AGGGEMW,
                 Method.DIFFSEGCLUST, Method.SPECCLUST, Method.GTCLUST)
MULTILABEL_ROWS = (Method.GEM, Method.AGGGEM)
BENCHMARK_ROWS = (Method.GEM, Method.AGGGEM, Method.DIFFSEGCLUST, Method.SPECCLUST,
                  Method.AGGSD)
EXTRA_ROWS = (Method.GRABCUT,)  # shown after the report's rows, only when there are results
BENCHMARK_KINDS = (DatasetKind.VOC2012, DatasetKind.CONTEXT, DatasetKind.COCOSTUFF,
                   DatasetKind.CITYSCAPES)
REPORT_BACKBONES = {"clip": "MetaCLIP ViT-B/16", "sd": "SD1.5"}  # preset real = the report's models


@dataclass(frozen=True)
class ReportTable:
    """A table in the report's layout and the caption written under it."""

    frame: pd.DataFrame
    caption: str


def _label(method: Method) -> str:
    return METHOD_LABELS[method] + (NOT_IN_REPORT if method in EXTRA_ROWS else "")


def _rows(report_rows: Sequence[Method], results: Sequence[Mapping]) -> list[Method]:
    present = {Method(r["method"]) for r in results}
    return list(report_rows) + [m for m in EXTRA_ROWS if m in present]


def _select(results: Sequence[Mapping], split: str) -> list[Mapping]:
    return sorted((r for r in validate_results(results) if r["split"] == split), key=sort_key)


def _by_dataset_method(results: Sequence[Mapping]) -> dict[tuple[str, Method], Mapping]:
    return {(r["dataset"], Method(r["method"])): r for r in results}


def _caption(title: str, results: Sequence[Mapping], split: str, experiment: str | None) -> str:
    if not results:
        return f"{title} No results for the {split} split."
    return f"{title} {describe_provenance(results, experiment)}"


def table_ablation(results: Sequence[Mapping], *, split: str = "train",
                   experiment: str | None = None) -> ReportTable:
    """Table 2: mIoU (%) per method (report order) and dataset on ``split``.

    Columns: ``Method``, ``GT class``, ``GT cluster`` (``"✓"``/``"✗"``), then one float column per
    dataset (``"VOC"``, ``"Context"``; see :func:`dataset_columns`). GrabCut is appended as
    ``"GrabCut (not in the report)"`` when it has results.
    """
    selected = _select(results, split)
    columns = dataset_columns(selected)
    scores = _by_dataset_method(selected)
    rows = []
    for method in _rows(ABLATION_ROWS, selected):
        row = {"Method": _label(method),
               "GT class": CHECK if method.uses_ground_truth and method is not Method.GTCLUST
               else CROSS,
               "GT cluster": CHECK if method is Method.GTCLUST else CROSS}
        for dataset, column in columns.items():
            result = scores.get((dataset, method))
            row[column] = to_percent(result["miou"]) if result else math.nan
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["Method", "GT class", "GT cluster", *columns.values()])
    title = (f"Ablation (report Table 2): mIoU (%) on the {split} split. "
             f"GT class / GT cluster: the method sees the image's ground-truth classes / "
             f"segments ({CHECK} yes, {CROSS} no).")
    return ReportTable(frame, _caption(title, selected, split, experiment))


def table_multilabel(results: Sequence[Mapping], *, split: str = "train",
                     experiment: str | None = None) -> ReportTable:
    """Table 3: multilabel AP / AR (%) of GEM and AggGEM per dataset on ``split``.

    AP / AR are the macro means over classes of the set-level precision / recall of the classes
    present in the predicted masks (``result["multilabel"]``). Columns: ``Method``, then
    ``"VOC AP"``, ``"VOC AR"``, ... (float, NaN when missing).
    """
    selected = [r for r in _select(results, split) if Method(r["method"]) in MULTILABEL_ROWS]
    columns = dataset_columns(selected)
    scores = _by_dataset_method(selected)
    rows = []
    for method in MULTILABEL_ROWS:
        row = {"Method": _label(method)}
        for dataset, column in columns.items():
            multilabel = (scores.get((dataset, method)) or {}).get("multilabel") or {}
            row[f"{column} AP"] = to_percent(multilabel.get("precision"))
            row[f"{column} AR"] = to_percent(multilabel.get("recall"))
        rows.append(row)
    names = [f"{column} {score}" for column in columns.values() for score in ("AP", "AR")]
    frame = pd.DataFrame(rows, columns=["Method", *names])
    title = (f"Multilabel classification (report Table 3) from the predicted masks on the "
             f"{split} split. "
             f"AP / AR: mean over classes of the class-wise precision / recall (%), "
             f"not ranking average precision.")
    return ReportTable(frame, _caption(title, selected, split, experiment))


def table_benchmark(results: Sequence[Mapping], *, split: str = "val",
                    datasets: Sequence[str] | None = None, experiment: str | None = None,
                    literature: pd.DataFrame | None = None) -> ReportTable:
    """Table 4: literature rows (real results only), then ours; mIoU (%) per dataset kind.

    Columns: ``Method, Backbone, LD, ZS`` (``"✓"``/``"✗"``), ``VOC, Context, COCO,
    Cityscapes`` (text as printed: ``"55.7"``, literature ``"34.2*"``, ``"-"`` when missing).
    ``datasets`` restricts the results to these dataset names (needed when two datasets of the
    same kind have ``split`` results). Literature rows (default: the packaged
    ``literature.csv``) are included only when every result in our rows is real
    (:func:`is_real`); otherwise the caption says why they are left out.
    """
    selected = _select(results, split)
    if datasets is not None:
        unknown = sorted(set(datasets) - {r["dataset"] for r in validate_results(results)})
        if unknown:
            raise ValueError(f"table_benchmark: datasets {unknown} have no results")
        selected = [r for r in selected if r["dataset"] in datasets]
    ours = [r for r in selected if Method(r["method"]) in BENCHMARK_ROWS + EXTRA_ROWS]
    by_kind = _one_dataset_per_kind(ours, split)
    scores = {(DatasetKind(r["kind"]), Method(r["method"])): r for r in ours}
    rows = []
    with_literature = bool(ours) and all(is_real(r) for r in ours)
    if with_literature:
        rows += _literature_rows(load_literature() if literature is None else literature)
    for method in _rows(BENCHMARK_ROWS, ours):
        label = "GEM (our impl.)" if method is Method.GEM else _label(method)
        row = {"Method": label, "Backbone": _our_backbone(method, ours), "LD": CHECK,
               "ZS": CHECK}
        for kind in BENCHMARK_KINDS:
            result = scores.get((kind, method))
            row[KIND_LABELS[kind]] = _format_percent(result["miou"] if result else None)
        rows.append(row)
    columns = ["Method", "Backbone", "LD", "ZS", *(KIND_LABELS[k] for k in BENCHMARK_KINDS)]
    frame = pd.DataFrame(rows, columns=columns)
    return ReportTable(frame, _benchmark_caption(ours, by_kind, split, with_literature,
                                                 experiment))


def _one_dataset_per_kind(results: Sequence[Mapping], split: str) -> dict[DatasetKind, str]:
    by_kind: dict[DatasetKind, set[str]] = {}
    for result in results:
        by_kind.setdefault(DatasetKind(result["kind"]), set()).add(result["dataset"])
    for kind, names in by_kind.items():
        if len(names) > 1:
            raise ValueError(f"table_benchmark: datasets {sorted(names)} are all of kind "
                             f"{kind.value} on split {split!r}, but Table 4 has one "
                             f"{KIND_LABELS[kind]} column; pass datasets=[...] to pick one")
    return {kind: names.pop() for kind, names in by_kind.items()}


def _literature_rows(literature: pd.DataFrame) -> list[dict]:
    rows = []
    for _, entry in literature.iterrows():
        row = {"Method": entry["method"], "Backbone": entry["backbone"],
               "LD": CHECK if entry["LD"] == "yes" else CROSS_TABLE4,
               "ZS": CHECK if entry["ZS"] == "yes" else CROSS_TABLE4}
        for kind, column in zip(BENCHMARK_KINDS, VALUE_COLUMNS, strict=True):
            row[KIND_LABELS[kind]] = entry[column]
        rows.append(row)
    return rows


def _our_backbone(method: Method, results: Sequence[Mapping]) -> str:
    """Which model gives each part of the method's input.

    Real weights: ``"MetaCLIP ViT-B/16 + SD1.5"`` (the names say which is which, as in the
    report). Other presets: each part labelled, e.g. ``"CLIP: open_clip ViT, tiny random weights
    + SD: tiny random weights"``.
    """
    texts = []
    for result in results:
        provenance = result["provenance"]
        if is_real(result):
            names = dict(REPORT_BACKBONES)
        else:
            names = {"clip": f"CLIP: {provenance['clip_model']}",
                     "sd": f"SD: {provenance['sd_model']}"}
        parts = [names["clip"]] if method.needs_gem else []
        if method.needs_self_attention or method.needs_sd_gt:
            parts.append(names["sd"])
        texts.append(" + ".join(parts))
    return "; ".join(dict.fromkeys(texts)) or "-"


def _format_percent(value: float | None) -> str:
    percent = to_percent(value)
    return "-" if math.isnan(percent) else f"{percent:.1f}"


def _benchmark_caption(ours: Sequence[Mapping], by_kind: Mapping[DatasetKind, str], split: str,
                       with_literature: bool, experiment: str | None) -> str:
    text = (f"Benchmark (report Table 4): mIoU (%) on the {split} split. LD: language dependency, "
            f"ZS: zero-shot ({CROSS_TABLE4} no, {CHECK} yes). AggSD sees the ground-truth "
            f"image-level class names and is included for reference, as in the report.")
    if by_kind:
        text += " Columns filled from datasets: " + ", ".join(
            f"{KIND_LABELS[kind]} = {name}" for kind, name in sorted(
                by_kind.items(), key=lambda item: BENCHMARK_KINDS.index(item[0]))) + "."
    if with_literature:
        text += (" Literature rows typed from the report's Table 4 (sources in "
                 "langseg/report/literature.csv): " +
                 " ".join(f"{marker}{meaning}." for marker, meaning in MARKERS.items()))
    elif ours:
        text += (" Literature rows left out: these results come from random weights or the "
                 "demo dataset and are not comparable with published numbers.")
    return _caption(text, ours, split, experiment)


def table_summary(results: Sequence[Mapping], *, experiment: str | None = None) -> ReportTable:
    """Every result: dataset, kind, split, method, scores (%) and image counts, report order."""
    rows = []
    for result in sorted(validate_results(results), key=sort_key):
        rows.append({"dataset": result["dataset"], "kind": result["kind"],
                     "split": result["split"], "method": METHOD_LABELS[Method(result["method"])],
                     "mIoU": to_percent(result["miou"]),
                     "pixel acc": to_percent(result.get("pixel_acc")),
                     "mean acc": to_percent(result.get("mean_acc")),
                     "fwIoU": to_percent(result.get("fwiou")),
                     "n_images": int(result["n_images"]),
                     "n_skipped": int(result.get("n_skipped") or 0)})
    columns = ["dataset", "kind", "split", "method", "mIoU", "pixel acc", "mean acc", "fwIoU",
               "n_images", "n_skipped"]
    frame = pd.DataFrame(rows, columns=columns)
    title = "All results: scores in %, n_skipped = images left out of the evaluation."
    caption = f"{title} {describe_provenance(results, experiment)}" if rows else \
        f"{title} No results."
    return ReportTable(frame, caption)


def table_class_iou(results: Sequence[Mapping], *, dataset: str, split: str,
                    experiment: str | None = None) -> ReportTable:
    """Per-class IoU (%) of every method on one dataset split.

    Columns: ``Class`` then one float column per method (report order); rows: the scored classes
    (``eval_class_names``), then ``"mIoU"`` (the result's mIoU, NaN classes excluded) and
    ``"avg. (no background)"`` (mean over the classes other than ``"background"``, as Figure 2).
    """
    selected = [r for r in _select(results, split) if r["dataset"] == dataset]
    if not selected:
        raise ValueError(f"table_class_iou: no results for dataset {dataset!r} split {split!r}")
    names = list(selected[0]["eval_class_names"])
    column = {"Class": [*names, "mIoU", "avg. (no background)"]}
    for result in selected:
        if list(result["eval_class_names"]) != names:
            raise ValueError(f"table_class_iou: {dataset}/{split} methods disagree on "
                             f"eval_class_names ({result['method']})")
        ious = [to_percent(v) for v in result["class_iou"]]
        column[METHOD_LABELS[Method(result["method"])]] = [
            *ious, to_percent(result["miou"]), to_percent(mean_without_background(result))]
    title = f"Class IoU (%) on {dataset} {split}."
    return ReportTable(pd.DataFrame(column), f"{title} {describe_provenance(selected, experiment)}")


def build_all(results: Sequence[Mapping], *, experiment: str | None = None,
              benchmark_datasets: Sequence[str] | None = None) -> dict[str, ReportTable]:
    """Every table, keyed by its file stem (:mod:`langseg.workflow_paths`): ``table2_ablation``,
    ``table3_multilabel``, ``table4_benchmark``, ``summary`` and ``class_iou_{dataset}_{split}``
    per dataset split.

    The workflow writes each with ``write_table(t.frame, t.caption, out_dir / stem)``.
    """
    tables = {
        paths.TABLE2_STEM: table_ablation(results, experiment=experiment),
        paths.TABLE3_STEM: table_multilabel(results, experiment=experiment),
        paths.TABLE4_STEM: table_benchmark(results, datasets=benchmark_datasets,
                                           experiment=experiment),
        paths.SUMMARY_STEM: table_summary(results, experiment=experiment),
    }
    for dataset, split in dict.fromkeys((r["dataset"], r["split"])
                                        for r in sorted(results, key=sort_key)):
        tables[paths.class_iou_stem(f"{dataset}_{split}")] = table_class_iou(
            results, dataset=dataset, split=split, experiment=experiment)
    return tables
