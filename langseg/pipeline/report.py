"""Report stage: tables and figures from the evaluation JSONs (and Figure 3's predictions)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from langseg.params import DatasetKind


def write_all_tables(*, score_paths: Sequence[str], out_dir: Path, params: Mapping,
                     log: logging.Logger) -> list[Path]:
    """Write Tables 2-4, the summary and the class-IoU tables (CSV, Markdown, LaTeX)."""
    from langseg.report.results import load_results
    from langseg.report.tables import build_all, write_table

    results = load_results(score_paths)
    experiment = params["provenance"]["experiment"]
    tables = build_all(results, experiment=experiment,
                       benchmark_datasets=params.get("benchmark_datasets"))
    written = []
    for stem, table in tables.items():
        written += write_table(table.frame, table.caption, Path(out_dir) / stem)
    log.info("wrote %d table files to %s", len(written), out_dir)
    return written


def write_backend_tables(*, score_paths: Sequence[str], out_dir: Path, params: Mapping,
                         log: logging.Logger) -> list[Path]:
    """Write the backend x method tables of every dataset split (CSV, Markdown, LaTeX)."""
    from langseg.report.backends import build_backend_tables, load_backend_results
    from langseg.report.writers import write_table

    results = load_backend_results(score_paths)
    tables = build_backend_tables(results, backends=params["backends"],
                                  experiment=params["provenance"]["experiment"])
    written = []
    for stem, table in tables.items():
        written += write_table(table.frame, table.caption, Path(out_dir) / stem)
    log.info("wrote %d backend table files to %s", len(written), out_dir)
    return written


def figure2_selection(results: Sequence[Mapping]) -> tuple[str, str]:
    """Dataset and split of Figure 2: a VOC-layout dataset's train split when there is one."""
    order = sorted(results, key=lambda r: (DatasetKind(r["kind"]) != DatasetKind.VOC2012,
                                           r["split"] != "train", r["dataset"], r["split"]))
    if not order:
        raise ValueError("no evaluation results to plot")
    return order[0]["dataset"], order[0]["split"]


def plot_all_figures(*, inputs: Mapping, figure2_path, figure3_path, params: Mapping,
                     log: logging.Logger) -> None:
    """Figure 2 (class IoU per method) and Figure 3 (qualitative grid)."""
    from langseg.report.figures import figure_class_iou, figure_qualitative, provenance_title
    from langseg.report.results import load_results

    results = load_results(list(inputs["scores"]))
    dataset, split = figure2_selection(results)
    figure_class_iou(results, figure2_path, dataset=dataset, split=split)
    images, gts, preds = figure3_arrays(inputs, params["figure3"])
    fig = params["figure3"]
    info = _dataset_info(params["datasets"][fig["dataset"]]["kind"])
    title = (f"{fig['dataset']} / {fig['split']}: "
             f"{provenance_title([r for r in results if r['dataset'] == fig['dataset']])}")
    figure_qualitative(images, gts, preds, info.class_names, info.palette, figure3_path,
                       title=title)
    log.info("figure 2: %s/%s; figure 3: %d images of %s/%s", dataset, split, len(images),
             fig["dataset"], fig["split"])


def figure3_arrays(inputs: Mapping, figure3: Mapping):
    """Images, GT maps and per-method predictions of the Figure 3 selection, in order."""
    from langseg.data import load_image, read_index

    by_id = {sample.image_id: sample for sample, _ in read_index(inputs["index"])}
    gt = _stack_npz(inputs["figure3_gt"])
    preds = {m: _stack_npz(inputs[f"figure3_{m}"]) for m in figure3["methods"]}
    order = list(by_id)
    wanted = [order[i] for i in figure3["images"] if order[i] in gt]
    images = [np.asarray(load_image(by_id[i].image_path)) for i in wanted]
    return (images, [gt[i] for i in wanted],
            {m: [maps[i] for i in wanted] for m, maps in preds.items()})


def _stack_npz(paths: Sequence[str]) -> dict[str, np.ndarray]:
    """``image_id -> labels`` over several prepare_gt/segment files."""
    out = {}
    for path in paths:
        with np.load(path) as data:
            out.update(zip((str(i) for i in data["image_ids"]), data["labels"]))
    return out


def _dataset_info(kind: str):
    from langseg.data import get_dataset_info

    return get_dataset_info(DatasetKind(kind))
