"""Tables 2-4, summary and class IoU from hand-made evaluation results; writers round trip."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from langseg.report.literature import load_literature, parse_value
from langseg.report.results import (dataset_columns, mean_without_background, to_percent,
                                    validate_results)
from langseg.report.tables import (build_all, table_ablation, table_benchmark, table_class_iou,
                                   table_multilabel, table_summary)
from langseg.report.writers import write_table

REAL = {"preset": "real", "fidelity": "report", "sd_model": "sd-1-5", "clip_model": "metaclip-b16",
        "demo": False}
DEMO = {"preset": "tiny", "fidelity": "corrected", "sd_model": "tiny-sd", "clip_model": "tiny-clip",
        "demo": True}


def result(dataset, kind, split, method, miou, *, provenance=REAL, n_images=10, n_skipped=0,
           multilabel=None):
    names = ["background", "cat", "dog"]
    return {"dataset": dataset, "kind": kind, "split": split, "method": method,
            "n_images": n_images, "n_skipped": n_skipped, "eval_class_names": names,
            "confusion_matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "miou": miou,
            "class_iou": [0.9, None, 0.3], "pixel_acc": 0.9, "mean_acc": 0.7, "fwiou": 0.8,
            "multilabel": multilabel, "provenance": dict(provenance)}


@pytest.fixture
def results():
    return [
        result("voc", "voc2012", "train", "gem", 0.5583, n_images=1464,
               multilabel={"precision": 0.783, "recall": 0.9061, "n_classes": 21}),
        result("voc", "voc2012", "train", "gemw", 0.611, n_images=1464),
        result("voc", "voc2012", "train", "gtclust", 0.6994, n_images=1464),
        result("ctx", "context", "train", "gem", 0.3652, n_images=4996, n_skipped=4,
               multilabel={"precision": 0.504, "recall": 0.674, "n_classes": 59}),
        result("ctx", "context", "train", "agggem", 0.378, n_images=4996,
               multilabel={"precision": 0.631, "recall": 0.54, "n_classes": 59}),
        result("ctx", "context", "train", "aggsd", 0.438, n_images=4996),
        result("voc", "voc2012", "val", "gem", 0.557, n_images=1449),
        result("voc", "voc2012", "val", "aggsd", 0.583, n_images=1449),
        result("city", "cityscapes", "val", "specclust", 0.083, n_images=500),
    ]


# Table 2 of the report, transcribed: method, GT class, GT cluster.
REPORT_TABLE2 = [("GEM", "✗", "✗"), ("GEMW", "✓", "✗"), ("AggGEM", "✗", "✗"),
                 ("AggSD", "✓", "✗"), ("AggGEMW", "✓", "✗"), ("DiffSegClust", "✗", "✗"),
                 ("SpecClust", "✗", "✗"), ("GTClust", "✗", "✓")]


def test_table2_has_report_rows_marks_and_percent(results):
    table = table_ablation(results)
    frame = table.frame
    assert list(frame.columns) == ["Method", "GT class", "GT cluster", "VOC", "Context"]
    marks = frame[["Method", "GT class", "GT cluster"]]
    assert list(marks.itertuples(index=False, name=None)) == REPORT_TABLE2
    by_method = frame.set_index("Method")
    # 0.5583 -> 55.83 -> 55.8; 0.6994 -> 69.94 -> 69.9; 0.3652 -> 36.5; 0.438 -> 43.8
    assert by_method.loc["GEM", "VOC"] == 55.8
    assert by_method.loc["GTClust", "VOC"] == 69.9
    assert by_method.loc["GEM", "Context"] == 36.5
    assert by_method.loc["AggSD", "Context"] == 43.8
    assert math.isnan(by_method.loc["AggGEM", "VOC"])  # no result -> NaN, row still there
    assert "GrabCut (not in the report)" not in set(frame["Method"])


def test_table2_caption_states_models_fidelity_images_and_skips(results):
    caption = table_ablation(results, experiment="paper").caption
    assert "SD sd-1-5, CLIP metaclip-b16 (preset real)" in caption
    assert "Fidelity: report." in caption
    assert "VOC train 1464" in caption and "Context train 4996 (4 skipped)" in caption
    assert "VOC train 1464 (" not in caption  # no skip note when nothing was skipped
    assert "Experiment: paper." in caption and "val" not in caption


def test_table2_grabcut_is_an_extra_last_row(results):
    results.append(result("voc", "voc2012", "train", "grabcut", 0.42))
    frame = table_ablation(results).frame
    assert list(frame["Method"])[-1] == "GrabCut (not in the report)"
    assert frame.iloc[-1]["VOC"] == 42.0 and len(frame) == 9


def test_table3_multilabel_percent(results):
    frame = table_multilabel(results).frame
    assert list(frame.columns) == ["Method", "VOC AP", "VOC AR", "Context AP", "Context AR"]
    assert list(frame["Method"]) == ["GEM", "AggGEM"]
    # 0.9061 -> 90.61 -> 90.6; AggGEM VOC has no result -> NaN
    assert frame.iloc[0, 1:].tolist() == [78.3, 90.6, 50.4, 67.4]
    assert frame.iloc[1, 3:].tolist() == [63.1, 54.0]
    assert math.isnan(frame.iloc[1]["VOC AP"])


def test_table4_real_results_get_literature_rows(results):
    table = table_benchmark(results)
    frame = table.frame
    assert list(frame.columns) == ["Method", "Backbone", "LD", "ZS", "VOC", "Context", "COCO",
                                   "Cityscapes"]
    ours = ["GEM (our impl.)", "AggGEM", "DiffSegClust", "SpecClust", "AggSD"]
    assert list(frame["Method"])[-5:] == ours
    assert len(frame) == 9 + 5
    rows = frame.set_index("Method")
    assert rows.loc["ReCo [42]", "VOC"] == "34.2*"
    assert rows.loc["ACSeg [27]", ["LD", "ZS"]].tolist() == ["✓", "✗"]
    assert rows.loc["GEM (our impl.)", "VOC"] == "55.7"
    assert rows.loc["AggSD", "VOC"] == "58.3"
    assert rows.loc["SpecClust", "Cityscapes"] == "8.3"
    assert rows.loc["AggGEM", "VOC"] == "-"
    assert rows.loc["AggGEM", "Backbone"] == "MetaCLIP ViT-B/16 + SD1.5"
    assert rows.loc["AggSD", "Backbone"] == "SD1.5"
    assert "Literature rows typed from the report" in table.caption
    assert "VOC val 1449" in table.caption and "Cityscapes val 500" in table.caption


@pytest.mark.parametrize("provenance", [DEMO, {**REAL, "demo": True}, {**REAL, "preset": "tiny"}])
def test_table4_demo_or_random_results_leave_literature_out(results, provenance):
    results.append(result("ctx", "context", "val", "agggem", 0.39, provenance=provenance))
    table = table_benchmark(results)
    assert list(table.frame["Method"]) == ["GEM (our impl.)", "AggGEM", "DiffSegClust",
                                           "SpecClust", "AggSD"]
    assert "Literature rows left out" in table.caption


def test_table4_two_datasets_of_one_kind_need_a_choice(results):
    results.append(result("demo", "voc2012", "val", "gem", 0.1, provenance=DEMO))
    with pytest.raises(ValueError, match="pass datasets="):
        table_benchmark(results)
    frame = table_benchmark(results, datasets=["demo"]).frame
    assert frame.set_index("Method").loc["GEM (our impl.)", "VOC"] == "10.0"
    assert frame.set_index("Method").loc["GEM (our impl.)", "Backbone"] == "CLIP: tiny-clip"


def test_summary_and_class_iou(results):
    summary = table_summary(results).frame
    assert len(summary) == len(results)
    assert summary.iloc[0][["dataset", "split", "method", "mIoU", "n_images"]].tolist() == [
        "voc", "train", "GEM", 55.8, 1464]
    assert summary.set_index(["dataset", "method"]).loc[("ctx", "GEM"), "n_skipped"] == 4
    classes = table_class_iou(results, dataset="voc", split="train").frame
    assert list(classes.columns) == ["Class", "GEM", "GEMW", "GTClust"]
    # class_iou [0.9, None, 0.3]; avg. without background = 0.3 (cat is NaN) -> 30.0
    assert classes["Class"].tolist() == ["background", "cat", "dog", "mIoU",
                                         "avg. (no background)"]
    gem = classes["GEM"].tolist()
    assert gem[0] == 90.0 and math.isnan(gem[1]) and gem[2:] == [30.0, 55.8, 30.0]


def test_mean_without_background_by_hand():
    # (0.2 + 0.4) / 2 = 0.3: background 0.9 and the None class are skipped
    values = {"eval_class_names": ["background", "a", "b", "c"],
              "class_iou": [0.9, 0.2, None, 0.4]}
    assert mean_without_background(values) == pytest.approx(0.3)


def test_to_percent():
    assert to_percent(0.5583) == 55.8
    assert to_percent(1.0) == 100.0
    assert math.isnan(to_percent(None)) and math.isnan(to_percent(float("nan")))


def test_dataset_columns_disambiguate_same_kind():
    rows = [result("voc", "voc2012", "train", "gem", 0.5),
            result("demo", "voc2012", "train", "gem", 0.5),
            result("ctx", "context", "train", "gem", 0.5)]
    assert dataset_columns(rows) == {"demo": "VOC (demo)", "voc": "VOC (voc)", "ctx": "Context"}


@pytest.mark.parametrize("change, message", [
    (lambda r: r.pop("miou"), "missing keys"),
    (lambda r: r.update(method="sam"), "method='sam' is not one of"),
    (lambda r: r.update(kind="ade20k"), "kind='ade20k'"),
    (lambda r: r["provenance"].pop("demo"), "provenance must be"),
    (lambda r: r.update(class_iou=[0.1]), "class_iou has 1 values"),
])
def test_validate_results_names_the_problem(change, message):
    bad = result("voc", "voc2012", "train", "gem", 0.5)
    change(bad)
    with pytest.raises(ValueError, match=message):
        validate_results([bad])


def test_validate_results_rejects_duplicates():
    one = result("voc", "voc2012", "train", "gem", 0.5)
    with pytest.raises(ValueError, match="two results"):
        validate_results([one, dict(one)])


def test_write_table_round_trips(results, tmp_path):
    table = table_ablation(results)
    paths = write_table(table.frame, table.caption, tmp_path / "tables" / "table2")
    assert [p.name for p in paths] == ["table2.csv", "table2.md", "table2.tex"]
    back = pd.read_csv(paths[0], comment="#")
    assert list(back.columns) == list(table.frame.columns)
    assert back["GT class"].tolist() == ["no", "yes", "no", "yes", "yes", "no", "no", "no"]
    pd.testing.assert_series_equal(back["VOC"], table.frame["VOC"])
    assert paths[0].read_text(encoding="utf-8").splitlines()[-1] == "# " + table.caption
    markdown = paths[1].read_text(encoding="utf-8").splitlines()
    # pipe table with cells padded to the column width, numbers right-aligned (---:)
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in markdown[:10]]
    assert cells[0] == ["Method", "GT class", "GT cluster", "VOC", "Context"]
    assert [c.startswith(":") for c in cells[1]] == [True, True, True, False, False]
    assert [c.endswith(":") for c in cells[1]] == [False, False, False, True, True]
    assert cells[2] == ["GEM", "✗", "✗", "55.8", "36.5"]
    assert cells[4] == ["AggGEM", "✗", "✗", "-", "37.8"]
    assert len({len(line) for line in markdown[:10]}) == 1      # aligned columns
    assert len(markdown) == 2 + 8 + 2 and markdown[-1] == table.caption
    latex = paths[2].read_text(encoding="utf-8").splitlines()
    assert r"\begin{tabular}{lllrr}" in latex and r"\end{tabular}" in latex
    # booktabs rules around header and body, no \hline
    rules = [line for line in latex if line.startswith(("\\toprule", "\\midrule", "\\bottomrule",
                                                        "\\hline"))]
    assert rules == [r"\toprule", r"\midrule", r"\bottomrule"]
    assert latex[latex.index(r"\toprule") + 1] == r"Method & GT class & GT cluster & VOC & Context \\"
    assert r"GEMW & \checkmark{} & $\times$ & 61.1 & - \\" in latex
    assert any(line.startswith(r"\caption{Ablation (report Table 2): mIoU (\%)") for line in latex)


def test_write_table_refuses_hash_in_cells(tmp_path):
    with pytest.raises(ValueError, match="holds '#'"):
        write_table(pd.DataFrame({"Method": ["a#b"]}), "caption", tmp_path / "t")


# The literature rows of the report's Table 4, transcribed independently of literature.csv.
REPORT_TABLE4_LITERATURE = [
    ("ACSeg [27]", "yes", "no", "53.9", "-", "28.1", "-"),
    ("DiffSeg [46]", "no", "yes", "-", "-", "43.6", "21.2"),
    ("ReCo [42]", "yes", "no", "34.2*", "27.2", "26.3", "19.3"),
    ("OVDiff [20]", "yes", "no", "69.0", "31.4", "-", "-"),
    ("NamedMask [41]", "yes", "no", "60.7", "-", "-", "-"),
    ("MaskCLIP [58]", "yes", "yes", "29.1*", "25.5", "-", "22.7®"),
    ("CLIPSurgery [28]", "yes", "yes", "41.2+", "29.3", "-", "31.4"),
    ("GEM [5]", "yes", "yes", "46.8", "34.5", "-", "-"),
    ("DiffSegmenter [49]", "yes", "yes", "60.1", "27.5", "-", "-"),
]


def test_literature_matches_report_table4():
    frame = load_literature()
    columns = ["method", "LD", "ZS", "voc", "context", "coco", "cityscapes"]
    assert list(frame[columns].itertuples(index=False, name=None)) == REPORT_TABLE4_LITERATURE
    assert frame["source"].str.contains(r"\[\d+\]").all()
    assert frame.set_index("method").loc["ReCo [42]", "source"].count("(*)") == 1


def test_parse_literature_value():
    assert parse_value("34.2*") == (34.2, "*")
    assert parse_value("22.7®") == (22.7, "®")
    assert parse_value("55.7") == (55.7, "")
    assert parse_value("-") == (None, "")
    with pytest.raises(ValueError, match="not a number"):
        parse_value("n/a")


def test_build_all_keys(results):
    tables = build_all(results)
    assert list(tables) == ["table2_ablation", "table3_multilabel", "table4_benchmark", "summary",
                            "class_iou_voc_train", "class_iou_voc_val", "class_iou_ctx_train",
                            "class_iou_city_val"]


def test_report_tables_import_no_heavy_modules():
    import subprocess
    import sys
    code = ("import sys, langseg.report.tables, langseg.report.figures, langseg.report.colours; "
            "print(sorted(m for m in ('torch', 'diffusers', 'open_clip', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
