"""The rule graph's logic (shards, params, inputs) as plain Python, without Snakemake."""

import pytest

from langseg.config import validate_config
from langseg.params import Method
from langseg.workflow_plan import (METHOD_SETTING_KEYS, WorkflowPlan, canonical, method_sources)


def make_plan(**overrides):
    config = {"datasets": {"demo": {"kind": "voc2012", "root": "resources/demo/VOC2012",
                                    "demo": True, "splits": ["train", "val"]}},
              "shard_size": 4}
    config.update(overrides)
    validate_config(config)
    return WorkflowPlan.from_config(config)


def test_demo_shards_are_known_without_files():
    plan = make_plan()
    assert plan.n_images("demo", "val") == 6
    assert plan.shards("demo", "val") == ["000", "001"]  # 6 images in shards of 4


def test_max_images_limits_the_shards():
    plan = make_plan(datasets={"demo": {"kind": "voc2012", "root": "resources/demo/VOC2012", "demo": True,
                                        "splits": ["val"], "max_images": 1}})
    assert plan.shards("demo", "val") == ["000"]


def test_unknown_demo_split_is_refused():
    plan = make_plan(datasets={"demo": {"kind": "voc2012", "root": "resources/demo/VOC2012", "demo": True,
                                        "splits": ["test"]}})
    with pytest.raises(ValueError, match="the demo has splits"):
        plan.n_images("demo", "test")


def test_missing_dataset_root_fails_at_parse_time(tmp_path):
    plan = make_plan(datasets={"voc": {"kind": "voc2012", "root": str(tmp_path / "nope"),
                                       "splits": ["val"]}})
    with pytest.raises(FileNotFoundError, match="nope"):
        plan.shards("voc", "val")


def test_method_sources_follow_the_methods_inputs():
    assert method_sources(Method.GEM) == ("clip",)  # "clip": the run's backend
    assert method_sources(Method.AGGGEM) == ("sd_sa", "clip")
    assert method_sources(Method.AGGSD) == ("sd_gt",)
    assert method_sources(Method.AGGSD_ZS) == ("sd_zs",)


def test_segment_params_hold_only_the_settings_a_method_reads():
    plan = make_plan(method_settings={"temperature": 0.2, "diffseg": {"kl_threshold": 0.5},
                                      "specclust": {"n_clusters": 8}})
    params = plan.segment_params("demo", "diffsegclust")
    assert params["settings"] == {"diffseg": {"kl_threshold": 0.5}, "output_size": 320,
                                  "temperature": 0.2}
    assert set(params["expected"]) == {"gem", "sd_sa"}
    assert "specclust" not in str(plan.segment_params("demo", "gem"))
    assert plan.segment_params("demo", "aggsd")["settings"] == {"output_size": 320}


def test_every_method_has_setting_keys():
    assert set(METHOD_SETTING_KEYS) == set(Method)


def test_extraction_params_exclude_method_settings_and_runtime():
    plan = make_plan(method_settings={"temperature": 0.2})
    sa = plan.extraction_params("demo", "sd_sa")
    assert sa["timestep"] == 100 and sa["seed"] == 0 and sa["fidelity"] == "report"
    assert "temperature" not in str(sa) and "device" not in str(sa)
    assert plan.extraction_params("demo", "sd_gt")["timestep"] == 101  # as coded
    corrected = make_plan(fidelity="corrected")
    assert corrected.extraction_params("demo", "sd_gt")["timestep"] == 100  # one timestep


def test_params_are_canonical():
    assert list(canonical({"b": 1, "a": {"d": 2, "c": 3}})) == ["a", "b"]
    assert canonical({"x": ({"b": 1, "a": 2},)}) == {"x": [{"a": 2, "b": 1}]}


def test_figure3_images_out_of_range_fail_at_parse_time():
    from langseg.config import ConfigError

    plan = make_plan(report={"figure3": {"dataset": "demo", "split": "train",
                                         "images": [1, 5, 9]}})
    with pytest.raises(ConfigError, match=r"report.figure3.images: \[9\] out of range; split "
                                          r"demo/train has 6 images"):
        plan.check_inputs()


def test_figure3_inputs_cover_the_shards_of_the_chosen_images():
    plan = make_plan(report={"figure3": {"dataset": "demo", "split": "train",
                                         "images": [1, 5]}})
    inputs = plan.figure3_inputs()
    assert plan.figure3["images"] == [1, 5]
    assert inputs["figure3_gt"] == ["results/demo/train/gt/000.npz",
                                    "results/demo/train/gt/001.npz"]
    assert inputs["figure3_agggem"][1] == "results/demo/train/pred/agggem/001.npz"
    assert "figure3_gemw" not in inputs


def test_all_evaluations_cover_datasets_splits_methods():
    plan = make_plan(methods=["gem", "aggsd"])
    assert plan.all_evaluations() == [
        "results/demo/train/eval/gem.json", "results/demo/train/eval/aggsd.json",
        "results/demo/val/eval/gem.json", "results/demo/val/eval/aggsd.json"]


def test_figure3_default_shows_the_first_four_images():
    plan = make_plan()
    assert plan.figure3["images"] == [0, 1, 2, 3]


def test_shard_file_identity_follows_size_and_mtime_of_the_shards_files(tmp_path):
    import os

    from langseg.data import write_demo_dataset

    write_demo_dataset(tmp_path)
    config = {"voc": {"kind": "voc2012", "root": str(tmp_path / "VOC2012"), "splits": ["val"]}}
    plan = make_plan(datasets=config)
    before = plan.extraction_params("voc", "gem", "val", "001")["images"]
    assert before["n"] == 2  # 6 images in shards of 4
    assert plan.gt_params("voc", "val", "001")["images"] == before
    image = plan.shard_samples("voc", "val", "001")[1].image_path
    os.utime(image, ns=(0, image.stat().st_mtime_ns + 1))  # overwritten (new mtime)
    again = make_plan(datasets=config)
    assert again.extraction_params("voc", "gem", "val", "001")["images"] != before
    assert again.extraction_params("voc", "gem", "val", "000")["images"] == \
        plan.extraction_params("voc", "gem", "val", "000")["images"]
    masks = plan.gt_params("voc", "val", "000")["masks"]
    mask = plan.shard_samples("voc", "val", "000")[0].mask_path
    os.utime(mask, ns=(0, mask.stat().st_mtime_ns + 1))
    assert make_plan(datasets=config).gt_params("voc", "val", "000")["masks"] != masks
    assert make_plan().extraction_params("demo", "gem", "val", "000")["images"] == {
        "generated": True}


def test_extraction_params_identify_codec_code_and_weights_source():
    plan = make_plan(cache={"sa_codec": "fp16-zstd"})
    sa = plan.extraction_params("demo", "sd_sa")
    assert sa["sa_codec"] == "fp16-zstd" and len(sa["code"]) == 16
    assert "sa_codec" not in plan.extraction_params("demo", "gem")
    assert "clip_path" in plan.extraction_params("demo", "gem")["models"]
    assert "clip_path" not in plan.extraction_params("demo", "sd_sa")["models"]
    assert make_plan().extraction_params("demo", "sd_sa")["sa_codec"] == "u8-pow0.85-mass"
    assert plan.segment_params("demo", "gem")["code"] != sa["code"]
