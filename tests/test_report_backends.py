"""Backend x method tables from evaluation results."""

import json
import math

import pytest

from langseg.report.backends import (
    BACKEND_ONLY_LABEL,
    build_backend_tables,
    load_backend_results,
    table_backend_miou,
    table_backend_scores,
)

PROVENANCE = {"preset": "tiny", "fidelity": "report", "sd_model": "sd", "clip_model": "clip",
              "demo": True}


def result(method, miou, backend=None, precision=0.5, recall=0.25):
    out = {"dataset": "demo", "kind": "voc2012", "split": "val", "method": method,
           "n_images": 3, "eval_class_names": ["a", "b"], "miou": miou,
           "class_iou": [miou, miou], "provenance": PROVENANCE, "n_skipped": 0,
           "multilabel": {"precision": precision, "recall": recall, "n_classes": 2}}
    if backend:
        out["backend"] = backend
    return out


RESULTS = [result("gem", 0.1), result("agggem", 0.2), result("aggsd", 0.5),
           result("aggsd-zs", 0.3), result("gem", 0.4, "sclip"), result("aggsd-zs", 0.35, "sclip")]


def test_miou_table_crosses_backends_and_methods():
    table = table_backend_miou(RESULTS, dataset="demo", split="val", backends=["sclip", "gem"])
    frame = table.frame
    assert list(frame.columns) == ["Backend", BACKEND_ONLY_LABEL, "AggSD-ZS", "AggSD", "AggGEM"]
    assert list(frame["Backend"]) == ["sclip", "gem"]
    assert frame.loc[0, BACKEND_ONLY_LABEL] == 40.0 and frame.loc[1, BACKEND_ONLY_LABEL] == 10.0
    assert list(frame["AggSD"]) == [50.0, 50.0]  # GT classes: no backend, in every row
    assert list(frame["AggSD-ZS"]) == [35.0, 30.0]
    assert math.isnan(frame.loc[0, "AggGEM"]) and frame.loc[1, "AggGEM"] == 20.0
    assert "AggSD-ZS" in table.caption and "Random weights" in table.caption


def test_scores_table_has_one_row_per_backend_and_method():
    frame = table_backend_scores(RESULTS, dataset="demo", split="val").frame
    assert len(frame) == 4 + 3  # gem: 4 methods; sclip: gem, aggsd-zs and aggsd
    row = frame[(frame["Backend"] == "sclip") & (frame["Method"] == "AggSD-ZS")].iloc[0]
    assert (row["mIoU"], row["Precision"], row["Recall"]) == (35.0, 50.0, 25.0)


def test_duplicate_result_of_one_backend_is_refused():
    with pytest.raises(ValueError, match="two results"):
        table_backend_miou(RESULTS + [result("gem", 0.9, "sclip")], dataset="demo",
                           split="val")


def test_load_and_build(tmp_path):
    paths = []
    for i, r in enumerate(RESULTS):
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps(r), encoding="utf-8")
        paths.append(path)
    tables = build_backend_tables(load_backend_results(paths))
    assert set(tables) == {"backend_miou_demo_val", "backend_scores_demo_val"}
    with pytest.raises(FileNotFoundError, match="evaluate rule"):
        load_backend_results([tmp_path / "missing.json"])
