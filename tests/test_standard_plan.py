"""The standard protocol's config checks, plan, evaluation and table (no models)."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from langseg.config import ConfigError, validate_config
from langseg.pipeline.standard import evaluate_standard
from langseg.report.standard_table import build_standard_table, load_standard_literature
from langseg.standard_plan import StandardPlan
from langseg.workflow_plan import WorkflowPlan

REPO = Path(__file__).resolve().parent.parent


def _load(name: str) -> dict:
    with open(REPO / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _mixed_config() -> dict:
    config = _load("config.yaml")
    config["datasets"]["std"] = {"kind": "voc21", "protocol": "standard", "demo": True,
                                 "root": "resources/std/VOC2012", "splits": ["val"]}
    return validate_config(config)


def test_shipped_standard_configs_are_valid():
    for name in ("config/standard.yaml", "config/standard_demo.yaml"):
        config = validate_config(_load(name))
        plan = StandardPlan.from_config(config)
        assert plan.dataset_names and not WorkflowPlan.from_config(config).dataset_names
    full = StandardPlan.from_config(validate_config(_load("config/standard.yaml")))
    assert sorted(d.benchmark.value for d in full.datasets.values()) == sorted(
        ["voc21", "voc20", "context60", "context59", "coco_object", "coco_stuff171",
         "cityscapes19", "ade20k"])


def test_each_protocol_plans_only_its_own_entries():
    config = _mixed_config()
    assert WorkflowPlan.from_config(config).dataset_names == ["demo"]
    plan = StandardPlan.from_config(config)
    assert plan.dataset_names == ["std"] and plan.backends == ("gem",)
    assert config["standard"] == {"preset": "sclip", "pamr": False, "methods": ["gem", "agggem"]}
    assert config["datasets"]["demo"]["protocol"] == "report"


def test_segment_params_carry_the_settings_file_values():
    config = _mixed_config()
    params = StandardPlan.from_config(config).segment_params("std", "gem")
    assert params["settings"]["logit_scale"] == 65.0 and params["settings"]["area_thd"] == 0.1
    assert params["sd"] == {"fidelity": "report", "seed": 0, "timestep": 100}  # agggem needs SD
    config["standard"]["preset"] = "clearclip"
    config["standard"]["methods"] = ["gem"]
    params = StandardPlan.from_config(config).segment_params("std", "gem")
    assert params["settings"]["prob_thd"] == 0.5 and "sd" not in params


def test_demo_split_sizes_known_without_files():
    plan = StandardPlan.from_config(_mixed_config())
    assert plan.n_images("std", "val") > 0
    assert plan.shards("std", "val")[0] == "000"


def test_shards_follow_the_index_rules_with_their_limit(monkeypatch):
    config = _mixed_config()
    config["shard_size"] = 2
    plan = StandardPlan.from_config(config)
    monkeypatch.setattr(StandardPlan, "n_images", lambda self, dataset, split: 5)
    assert plan.shards("std", "val") == ["000", "001", "002"]  # ceil(5 / 2)
    monkeypatch.setattr(StandardPlan, "n_images", lambda self, dataset, split: 2001)
    with pytest.raises(ValueError, match="at most 1000 are allowed.*shard_size >= 3"):
        plan.shards("std", "val")  # 1001 shards of 2: refused at parse time, not in a job


def test_plan_settings_are_the_schema_defaults():
    plan = StandardPlan.from_config(_mixed_config())  # config.yaml has no standard: section
    assert (plan.preset, plan.pamr, plan.backends) == ("sclip", False, ("gem",))
    assert [m.value for m in plan.methods] == ["gem", "agggem"] and plan.needs_sd


@pytest.mark.parametrize("entry, message", [
    ({"kind": "voc2012", "protocol": "standard"}, "protocol standard needs one of the benchmarks"),
    ({"kind": "ade20k"}, "'ade20k' is a standard-protocol benchmark; add protocol: standard"),
    ({"kind": "ade20k", "protocol": "standard", "splits": ["val"]},
     r"\['val'\] are not splits of ade20k; allowed: validation, training"),
    ({"kind": "voc2012", "class_file": "x.txt"}, "only datasets with protocol: standard"),
    ({"kind": "context60", "protocol": "standard", "demo": True}, "the demo is written in the"),
])
def test_inconsistent_entries_are_named(entry, message):
    dataset = {"root": "/data", "splits": ["val"], **entry}
    with pytest.raises(ConfigError, match=message):
        validate_config({"datasets": {"d": dataset}})


def test_evaluate_sums_shards_as_iou_metric(tmp_path):
    cm_a = np.array([[3, 1], [0, 2]], dtype=np.int64)
    cm_b = np.array([[1, 0], [2, 0]], dtype=np.int64)
    for name, cm in (("a", cm_a), ("b", cm_b)):
        np.savez(tmp_path / f"{name}.npz", image_ids=np.array(["x", "y"]),
                 skipped_ids=np.array([], dtype=str), cm_gem=cm)
    params = {"benchmark": "voc21", "backend": "gem", "methods": ["gem"], "dataset": "v",
              "split": "val"}
    out = tmp_path / "eval/gem.json"
    evaluate_standard([tmp_path / "a.npz", tmp_path / "b.npz"], params, out)
    result = json.loads(out.read_text())
    # summed [[4, 1], [2, 2]]: IoU0 = 4 / (5 + 6 - 4) = 4/7, IoU1 = 2 / (4 + 3 - 2) = 2/5
    assert result["scores"]["gem"]["miou"] == pytest.approx(100 * (4 / 7 + 2 / 5) / 2)
    assert result["n_images"] == 4 and result["class_names"][0] == "background"


def _result(benchmark, miou, method="gem"):
    return {"benchmark": benchmark, "backend": "gem", "scores": {method: {"miou": miou}}}


def test_table_columns_rows_average_and_literature_only_with_real_weights():
    names = ["voc21", "context60", "coco_object", "voc20", "context59", "coco_stuff171",
             "cityscapes19", "ade20k"]
    results = [_result(b, float(i)) for i, b in enumerate(names)] + [_result("voc21", 9.0,
                                                                           "agggem")]
    rows = [["gem", "gem"], ["gem", "agggem"]]
    frame = build_standard_table(results, rows=rows, backbone="B/16", real_weights=False)
    assert list(frame.columns) == ["Backend", "Method", "Backbone", "VOC21", "PC60", "Object",
                                   "VOC20", "PC59", "Stuff", "City", "ADE", "Avg", "Source"]
    assert frame.loc[0, "VOC21"] == 0.0 and frame.loc[0, "ADE"] == 7.0
    assert frame.loc[0, "Avg"] == pytest.approx(3.5)
    assert frame.loc[1, "VOC21"] == 9.0 and math.isnan(frame.loc[1, "Avg"])
    assert len(frame) == 2
    real = build_standard_table(results, rows=rows, backbone="B/16", real_weights=True)
    literature = load_standard_literature()
    assert len(real) == 2 + len(literature)
    sclip = real[real["Method"] == "SCLIP (repo defaults)"].iloc[0]
    assert sclip["VOC21"] == 59.63 and sclip["Source"] == "wangf3014/SCLIP README"
    assert isinstance(literature, pd.DataFrame) and (literature["source"] != "").all()


def test_own_class_file_is_an_input_and_checked(tmp_path):
    from langseg.protocol.classes import benchmark_classes

    path = tmp_path / "voc20.txt"
    path.write_text("\n".join(f"class {i}, synonym {i}" for i in range(20)) + "\n")
    config = _mixed_config()
    config["datasets"]["std"]["class_file"] = str(path)
    plan = StandardPlan.from_config(config)
    assert plan.class_files("std") == [str(path)]
    assert plan.segment_params("std", "gem")["class_file"] == str(path)
    assert benchmark_classes("voc20", path)[3] == ("class 3", "synonym 3")
    with pytest.raises(ValueError, match=r"voc20\.txt has 20 classes; voc21 needs 21"):
        benchmark_classes("voc21", path)
