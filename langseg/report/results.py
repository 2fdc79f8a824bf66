"""Evaluation results as the tables and figures read them: validation, labels, captions.

A *result* is the dict one ``evaluate`` job writes to its
:func:`langseg.workflow_paths.evaluation` file:
``dataset`` (config name), ``kind`` (a :class:`DatasetKind` value), ``split``, ``method`` (a
:class:`Method` value), ``n_images``, ``n_skipped``, ``eval_class_names``, ``miou``,
``class_iou`` (list, ``None`` for NaN), ``pixel_acc``, ``mean_acc``, ``fwiou``, optional
``multilabel`` ``{"precision", "recall", "n_classes"}`` and ``provenance`` ``{"preset",
"fidelity", "sd_model", "clip_model", "demo"}``. Scores are fractions in [0, 1] or ``None``;
they become percent (1 decimal) only in the tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from langseg.params import DatasetKind, Method, Preset

REQUIRED_KEYS = ("dataset", "kind", "split", "method", "n_images", "eval_class_names", "miou",
                 "class_iou", "provenance")
PROVENANCE_KEYS = ("preset", "fidelity", "sd_model", "clip_model", "demo")

#: Column names of the report (Table 4 names datasets by kind).
KIND_LABELS: dict[DatasetKind, str] = {
    DatasetKind.VOC2012: "VOC",
    DatasetKind.CONTEXT: "Context",
    DatasetKind.COCOSTUFF: "COCO",
    DatasetKind.CITYSCAPES: "Cityscapes",
}

#: Row names of the report's tables.
METHOD_LABELS: dict[Method, str] = {
    Method.GEM: "GEM",
    Method.GEMW: "GEMW",
    Method.AGGGEM: "AggGEM",
    Method.AGGGEMW: "AggGEMW",
    Method.AGGSD: "AggSD",
    Method.DIFFSEGCLUST: "DiffSegClust",
    Method.SPECCLUST: "SpecClust",
    Method.GTCLUST: "GTClust",
    Method.GRABCUT: "GrabCut",
    Method.AGGSD_ZS: "AggSD-ZS",
}

NOT_IN_REPORT = " (not in the report)"


def validate_results(results: Iterable[Mapping]) -> list[Mapping]:
    """Check every result dict and that no (dataset, split, method) appears twice.

    Returns the results as a list, unchanged. Raises ValueError naming the result and the
    missing key or the value that is not allowed.
    """
    checked: list[Mapping] = []
    seen: set[tuple[str, str, str]] = set()
    for position, result in enumerate(results):
        _validate_one(result, position)
        key = (result["dataset"], result["split"], result["method"])
        if key in seen:
            raise ValueError(f"results: two results for dataset={key[0]!r} split={key[1]!r} "
                             f"method={key[2]!r}; pass each evaluation JSON once")
        seen.add(key)
        checked.append(result)
    return checked


def _validate_one(result: Mapping, position: int) -> None:
    if not isinstance(result, Mapping):
        raise ValueError(f"result #{position} is a {type(result).__name__}, expected a dict")
    name = f"result #{position} ({result.get('dataset')}/{result.get('split')}/" \
           f"{result.get('method')})"
    missing = [key for key in REQUIRED_KEYS if key not in result]
    if missing:
        raise ValueError(f"{name}: missing keys {missing}; an evaluation JSON has {REQUIRED_KEYS}")
    allowed = {
        "method": [m.value for m in Method],
        "kind": [k.value for k in DatasetKind],
    }
    for key, values in allowed.items():
        if result[key] not in values:
            raise ValueError(f"{name}: {key}={result[key]!r} is not one of {values}")
    provenance = result["provenance"]
    if not isinstance(provenance, Mapping) or any(k not in provenance for k in PROVENANCE_KEYS):
        raise ValueError(f"{name}: provenance must be a dict with keys {PROVENANCE_KEYS}, "
                         f"got {provenance!r}")
    if len(result["class_iou"]) != len(result["eval_class_names"]):
        raise ValueError(f"{name}: class_iou has {len(result['class_iou'])} values but "
                         f"eval_class_names has {len(result['eval_class_names'])}")


def read_results(paths: Iterable[Path | str]) -> list[dict]:
    """Read evaluation JSON files (the workflow's ``eval/{method}.json``), not yet validated."""
    results = []
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"evaluation result {path} does not exist; run the "
                                    f"workflow's evaluate rule first")
        with path.open(encoding="utf-8") as handle:
            results.append(json.load(handle))
    return results


def load_results(paths: Iterable[Path | str]) -> list[dict]:
    """Read evaluation JSON files (the workflow's ``eval/{method}.json``) and validate them."""
    results = read_results(paths)
    validate_results(results)
    return results


def to_percent(value: float | None) -> float:
    """A fraction in [0, 1] (or None/NaN) -> percent rounded to 1 decimal (NaN when missing).

    Rounding is Python's ``round(100 * value, 1)``: 0.5583 -> 55.8, 0.365 -> 36.5.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    return round(100.0 * float(value), 1)


def is_real(result: Mapping) -> bool:
    """True when the result comes from real weights on real data (comparable with the paper)."""
    provenance = result["provenance"]
    return provenance["preset"] == Preset.REAL.value and not provenance["demo"]


def sort_key(result: Mapping) -> tuple:
    """Report order: dataset kind (VOC, Context, COCO, Cityscapes), dataset name, split, method."""
    kinds = list(DatasetKind)
    methods = list(Method)
    return (kinds.index(DatasetKind(result["kind"])), result["dataset"], result["split"],
            methods.index(Method(result["method"])))


def dataset_columns(results: Sequence[Mapping]) -> dict[str, str]:
    """Dataset name -> column label, in report order.

    The label is the kind's report name (``VOC``); when two datasets share a kind, both get
    ``"VOC (name)"`` so columns stay distinct.
    """
    names = {}
    for result in sorted(results, key=sort_key):
        names.setdefault(result["dataset"], DatasetKind(result["kind"]))
    kind_counts = {kind: list(names.values()).count(kind) for kind in set(names.values())}
    return {name: KIND_LABELS[kind] if kind_counts[kind] == 1 else f"{KIND_LABELS[kind]} ({name})"
            for name, kind in names.items()}


def describe_provenance(results: Sequence[Mapping], experiment: str | None = None) -> str:
    """Caption text: models, fidelity, weights, and the images each dataset split was scored on.

    Example: ``"Models: SD stable-diffusion-v1-5, CLIP ViT-B-16-quickgelu/metaclip_400m
    (preset real). Fidelity: report. Images: VOC train 1464 (3 skipped)."``
    """
    if not results:
        return "No results."
    parts = [] if experiment is None else [f"Experiment: {experiment}."]
    models = sorted({(r["provenance"]["sd_model"], r["provenance"]["clip_model"],
                      r["provenance"]["preset"]) for r in results})
    parts.append("Models: " + "; ".join(f"SD {sd}, CLIP {clip} (preset {preset})"
                                         for sd, clip, preset in models) + ".")
    fidelities = sorted({r["provenance"]["fidelity"] for r in results})
    parts.append("Fidelity: " + ", ".join(fidelities) + ".")
    if any(r["provenance"]["demo"] for r in results):
        parts.append("Includes the generated demo dataset.")
    if any(r["provenance"]["preset"] != Preset.REAL.value for r in results):
        parts.append("Random weights: the numbers are not meaningful.")
    parts.append("Images: " + _describe_images(results) + ".")
    return " ".join(parts)


def _describe_images(results: Sequence[Mapping]) -> str:
    """``"VOC train 1464, Context train 4990-4996 (6 skipped)"``.

    One entry per dataset split; a range when methods were scored on different numbers of images,
    and the largest number of skipped images when any was skipped.
    """
    counts: dict[tuple[str, str], list[tuple[int, int]]] = {}
    labels = dataset_columns(results)
    for result in sorted(results, key=sort_key):
        key = (labels[result["dataset"]], result["split"])
        counts.setdefault(key, []).append((int(result["n_images"]),
                                           int(result.get("n_skipped") or 0)))
    texts = []
    for (label, split), pairs in counts.items():
        low, high = min(n for n, _ in pairs), max(n for n, _ in pairs)
        number = f"{low}" if low == high else f"{low}-{high}"
        n_skipped = max(skipped for _, skipped in pairs)
        skipped = f" ({n_skipped} skipped)" if n_skipped > 0 else ""
        texts.append(f"{label} {split} {number}{skipped}")
    return ", ".join(texts)


def mean_without_background(result: Mapping) -> float:
    """Mean class IoU (fraction) over the classes not named ``"background"``, NaN/None skipped.

    This is Figure 2's ``"avg."`` (on VOC: the 20 object classes).
    """
    values = [float(v) for name, v in zip(result["eval_class_names"], result["class_iou"],
                                          strict=True)
              if name != "background" and v is not None and not math.isnan(float(v))]
    return sum(values) / len(values) if values else math.nan
