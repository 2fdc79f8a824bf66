"""The report's figures as PNG and PDF: Figure 2 (class IoU per method), Figure 3 (qualitative).

Figures are drawn with matplotlib's object API (no pyplot, no display) and saved as PNG at
:data:`DPI` and as vector PDF next to it, without software stamps or dates, so the same inputs
give the same bytes. Legends sit outside the data; Figure 3 paints the classes it shows with
distinguishable colours (:func:`~langseg.report.colours.distinct_palette`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from langseg.params import DatasetKind, Method
from langseg.report.colours import colourise, distinct_palette, legend_entries, overlay
from langseg.report.results import (METHOD_LABELS, mean_without_background, sort_key, to_percent,
                                    validate_results)

__all__ = ["colourise", "overlay", "legend_entries", "figure_class_iou", "class_iou_figure",
           "figure_qualitative", "METHOD_MARKERS",
           "provenance_title", "DPI", "FIGURE2_METHODS", "METHOD_COLOURS"]

DPI = 120
#: Figure 2's methods (the report's seven GEM-based rows and AggSD), in legend order.
FIGURE2_METHODS = (Method.GEM, Method.GEMW, Method.AGGGEM, Method.AGGGEMW, Method.AGGSD,
                   Method.DIFFSEGCLUST, Method.SPECCLUST, Method.GTCLUST)
#: Fixed colour and marker per method, the same in every figure (colour-blind safe together).
METHOD_COLOURS = {
    Method.GEM: "#1f77b4", Method.GEMW: "#aec7e8", Method.AGGGEM: "#ff7f0e",
    Method.AGGGEMW: "#ffbb78", Method.AGGSD: "#2ca02c", Method.DIFFSEGCLUST: "#d62728",
    Method.SPECCLUST: "#9467bd", Method.GTCLUST: "#8c564b", Method.GRABCUT: "#7f7f7f",
}
#: Figure 3's prediction columns, in order (others follow in Method order).
FIGURE3_METHODS = (Method.GEM, Method.AGGGEM, Method.DIFFSEGCLUST, Method.SPECCLUST)
METHOD_MARKERS = {
    Method.GEM: "o", Method.GEMW: "o", Method.AGGGEM: "s", Method.AGGGEMW: "s",
    Method.AGGSD: "^", Method.DIFFSEGCLUST: "D", Method.SPECCLUST: "v", Method.GTCLUST: "P",
    Method.GRABCUT: "X",
}
CLASS_IOU_SIZE = (12.0, 5.0)  # inches: 1440 x 600 px at DPI
PANEL_INCHES = 2.0  # Figure 3 panel side
LEGEND_INCHES = 2.5  # Figure 3 legend column width
TITLE_INCHES = 0.5  # Figure 3 title band


def provenance_title(results: Sequence[Mapping]) -> str:
    """One line naming the models, preset, fidelity and demo flag of the results."""
    seen = dict.fromkeys(
        (p["sd_model"], p["clip_model"], p["preset"], p["fidelity"], bool(p["demo"]))
        for p in (r["provenance"] for r in results))
    return "; ".join(f"SD {sd} | CLIP {clip} | preset {preset} | fidelity {fidelity}"
                     + (" | demo data" if demo else "")
                     for sd, clip, preset, fidelity, demo in seen)


def _save(figure, path: Path | str) -> Path:
    """Write ``path`` (PNG) and the same figure as ``path`` with suffix ``.pdf``; return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
    figure.savefig(path.with_suffix(".pdf"), format="pdf",
                   metadata={"Creator": None, "Producer": None, "CreationDate": None})
    return path


def _voc_results(results: Sequence[Mapping], dataset: str | None, split: str) -> list[Mapping]:
    selected = [r for r in validate_results(results) if r["split"] == split
                and Method(r["method"]) in FIGURE2_METHODS
                and (r["dataset"] == dataset if dataset else r["kind"] == DatasetKind.VOC2012)]
    names = sorted({r["dataset"] for r in selected})
    if not selected:
        raise ValueError(f"figure_class_iou: no results of {[m.value for m in FIGURE2_METHODS]} "
                         f"for {'dataset ' + repr(dataset) if dataset else 'a voc2012 dataset'} "
                         f"on split {split!r}")
    if len(names) > 1:
        raise ValueError(f"figure_class_iou: voc2012 datasets {names} all have {split!r} results; "
                         f"pass dataset=... to pick one")
    return sorted(selected, key=sort_key)


def figure_class_iou(results: Sequence[Mapping], path: Path | str, *, dataset: str | None = None,
                     split: str = "train") -> Path:
    """Figure 2: class IoU (%) per method over the classes, plus ``"avg."``; PNG and PDF.

    Uses the VOC 2012 results of ``split`` (or those of ``dataset``). ``"avg."`` is the mean over
    the classes other than ``"background"`` (NaN classes skipped), as in the report. One marker
    per method of :data:`FIGURE2_METHODS` that has a result and class, side by side within the
    class's column (no lines: the classes are not a sequence), colours :data:`METHOD_COLOURS`,
    markers :data:`METHOD_MARKERS`; the legend sits to the right of the axes. PNG 1440 x 600 px.
    Returns the PNG path; the PDF has the same stem.
    """
    return _save(class_iou_figure(results, dataset=dataset, split=split), path)


def class_iou_figure(results: Sequence[Mapping], *, dataset: str | None = None,
                     split: str = "train"):
    """The ``matplotlib.figure.Figure`` that :func:`figure_class_iou` saves (not saved)."""
    from matplotlib.figure import Figure

    selected = _voc_results(results, dataset, split)
    names = list(selected[0]["eval_class_names"])
    figure = Figure(figsize=CLASS_IOU_SIZE, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    x = np.arange(len(names) + 1)
    step = 0.8 / len(selected)
    for k, result in enumerate(selected):
        method = Method(result["method"])
        values = [to_percent(v) for v in result["class_iou"]]
        values.append(to_percent(mean_without_background(result)))
        axes.plot(x - 0.4 + step * (k + 0.5), values, linestyle="none",
                  marker=METHOD_MARKERS[method], markersize=4, markeredgewidth=0.4,
                  markeredgecolor="black", color=METHOD_COLOURS[method],
                  label=METHOD_LABELS[method])
    axes.set_xticks(x, [*names, "avg."], rotation=60, ha="right")
    axes.set_xticks(np.arange(len(names) + 2) - 0.5, minor=True)   # class column borders
    axes.tick_params(axis="x", which="minor", length=0)
    axes.grid(True, axis="x", which="minor", linewidth=0.4)
    axes.grid(True, axis="y", which="major", linewidth=0.3)
    axes.axvline(len(names) - 0.5, color="black", linewidth=0.8)   # classes | avg.
    axes.set_xlim(-0.5, len(names) + 0.5)
    axes.set_ylabel("IoU (%)")
    axes.set_ylim(0, 100)
    figure.legend(loc="outside right upper", fontsize="small", frameon=False)
    axes.set_title(f"Class IoU, {selected[0]['dataset']} ({selected[0]['kind']}) {split}\n"
                   f"{provenance_title(selected)}", fontsize="medium")
    return figure


def _method_order(preds: Mapping) -> list[tuple[Method, object]]:
    """``preds`` keys (Method or its value) -> [(Method, key)] in Figure 3 column order."""
    keyed = {}
    for key in preds:
        try:
            keyed[Method(key)] = key
        except ValueError:
            raise ValueError(f"figure_qualitative: preds key {key!r} is not a method; allowed: "
                             f"{[m.value for m in Method]}") from None
    order = [*FIGURE3_METHODS, *(m for m in Method if m not in FIGURE3_METHODS)]
    return [(method, keyed[method]) for method in order if method in keyed]


def _fit_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an (H, W, 3) uint8 image to the label's (S, S) when they differ."""
    from PIL import Image

    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"figure_qualitative: images must be (H, W, 3) uint8, got "
                         f"{image.shape} {image.dtype}")
    if image.shape[:2] == shape:
        return image
    resized = Image.fromarray(image).resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(resized)


def figure_qualitative(images: Sequence[np.ndarray], gts: Sequence[np.ndarray],
                       preds: Mapping[Method | str, Sequence[np.ndarray]],
                       class_names: Sequence[str], palette: np.ndarray, path: Path | str, *,
                       title: str = "", alpha: float = 0.8, distinct: bool = True) -> Path:
    """Figure 3: one row per image: image, ground truth, then each method's prediction.

    ``images``: (H, W, 3) uint8 (resized bilinearly to the label size when they differ);
    ``gts`` and each list of ``preds`` (keyed by method value or :class:`Method`): (S, S) int
    label maps, -1 ignore, one per image. Labels are overlaid on the image with ``alpha`` (0.8
    as in the report); each row ends with a legend of the classes in its maps. With ``distinct``
    (default) the classes shown get distinguishable colours and a class named ``"background"``
    light grey (:func:`~langseg.report.colours.distinct_palette`) instead of ``palette``'s (VOC's
    black background darkens whole panels, its dark class colours look alike). ``title`` should
    name the dataset, split and provenance. Size: (2 * (2 + n_methods) + 2.5) x (2 * n_images +
    0.5) inches at :data:`DPI`; PNG and PDF (same stem). Returns the PNG path.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    methods = _method_order(preds)
    n_rows = len(images)
    if n_rows == 0 or len(gts) != n_rows or any(len(preds[k]) != n_rows for _, k in methods):
        raise ValueError(f"figure_qualitative: need one GT and one prediction per method for "
                         f"each of the {n_rows} images, got {len(gts)} GTs and "
                         f"{ {str(k): len(preds[k]) for _, k in methods} } predictions")
    headers = ["image", "ground truth", *(METHOD_LABELS[m] for m, _ in methods)]
    if distinct:
        shown = np.concatenate([np.asarray(m).ravel() for m in
                                [*gts, *(p for _, k in methods for p in preds[k])]])
        palette = distinct_palette(class_names, shown, palette)
    width = PANEL_INCHES * len(headers) + LEGEND_INCHES
    height = PANEL_INCHES * n_rows + TITLE_INCHES
    figure = Figure(figsize=(width, height), dpi=DPI)
    grid = figure.add_gridspec(n_rows, len(headers) + 1, left=0.005, right=0.995, bottom=0.005,
                               top=1 - TITLE_INCHES / height, wspace=0.03, hspace=0.03,
                               width_ratios=[PANEL_INCHES] * len(headers) + [LEGEND_INCHES])
    for row in range(n_rows):
        labels = [np.asarray(gts[row]), *(np.asarray(preds[k][row]) for _, k in methods)]
        if any(label.shape != labels[0].shape for label in labels):
            raise ValueError(f"figure_qualitative: image {row}: GT and predictions differ in "
                             f"shape {[label.shape for label in labels]}")
        image = _fit_image(images[row], labels[0].shape)
        panels = [image, *(overlay(image, label, palette, alpha) for label in labels)]
        for column, panel in enumerate(panels):
            axes = figure.add_subplot(grid[row, column])
            axes.imshow(panel, interpolation="nearest")
            axes.set_axis_off()
            if row == 0:
                axes.set_title(headers[column], fontsize="small")
        entries = legend_entries(np.concatenate([label.ravel() for label in labels]),
                                 class_names, palette)
        legend_axes = figure.add_subplot(grid[row, -1])
        legend_axes.set_axis_off()
        handles = [Patch(facecolor=np.array(colour) / 255, edgecolor="black", linewidth=0.3,
                         label=name) for name, colour in entries]
        legend_axes.legend(handles=handles, loc="center left", fontsize="x-small", frameon=False,
                           ncols=max(1, math.ceil(len(handles) / 12)))
    figure.suptitle(title, fontsize="small", y=1 - 0.1 * TITLE_INCHES / height, va="top")
    return _save(figure, path)
