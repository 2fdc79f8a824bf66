"""The config schema: defaults filled in one place, bad keys and values named in the error."""

import copy
from pathlib import Path

import pytest
import yaml

from langseg.cache import SACodec
from langseg.config import ConfigError, load_schema, validate_config
from langseg.params import Benchmark, DatasetKind, Device, Fidelity, Method, Preset


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def config():
    with open(REPO / "config.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_default_config_is_valid_and_gets_defaults(config):
    validate_config(config)
    assert config["models"]["preset"] == "tiny"
    assert config["datasets"]["demo"]["on_error"] == "fail"  # filled from the schema
    assert config["datasets"]["demo"]["max_images"] is None
    assert config["extraction"]["gem"] == {"depth": 7, "resolution": 448}
    assert config["cache"]["sa_codec"] == "default"


def test_minimal_config_gets_every_default():
    config = {"datasets": {"voc": {"kind": "voc2012", "root": "/data/VOC2012", "splits": ["val"]}}}
    validate_config(config)
    assert config["fidelity"] == "report"
    assert config["extraction"]["sd"] == {"sa_timestep": 100, "gt_timestep": 101, "seed": 0}
    assert config["methods"] == [m.value for m in Method if m is not Method.AGGSD_ZS]
    assert config["backends"] == ["gem"]
    assert config["shard_size"] == 16 and config["mask_size"] == 320


def test_bad_value_names_key_and_allowed_values(config):
    config["models"]["preset"] = "huge"
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    message = str(err.value)
    assert "models.preset: 'huge' is not allowed" in message
    assert "'tiny', 'sd15-random', 'real'" in message


def test_unknown_key_is_named_with_the_allowed_keys(config):
    config["method_settings"]["diffseg"]["kl_treshold"] = 0.5
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    message = str(err.value)
    assert "method_settings.diffseg" in message and "'kl_treshold'" in message
    assert "kl_threshold" in message  # the allowed keys are listed


def test_out_of_range_number_is_named(config):
    config["extraction"]["sd"]["sa_timestep"] = 1000
    with pytest.raises(ConfigError, match=r"extraction\.sd\.sa_timestep: 1000 is greater"):
        validate_config(config)


def test_unknown_method_is_named(config):
    config["methods"] = ["gem", "clipseg"]
    with pytest.raises(ConfigError, match=r"methods\.1: 'clipseg' is not allowed"):
        validate_config(config)


def test_real_preset_needs_sd_path(config):
    config["models"]["preset"] = "real"
    with pytest.raises(ConfigError, match="models.sd_path"):
        validate_config(config)


def test_figure3_must_name_a_configured_split(config):
    config["report"]["figure3"]["split"] = "test"
    with pytest.raises(ConfigError, match="report.figure3.split"):
        validate_config(config)


def test_schema_enums_match_package_enums():
    schema = load_schema()
    props = schema["properties"]
    assert props["models"]["properties"]["preset"]["enum"] == [p.value for p in Preset]
    assert props["models"]["properties"]["device"]["enum"] == [d.value for d in Device]
    assert props["fidelity"]["enum"] == [f.value for f in Fidelity]
    assert props["methods"]["items"]["enum"] == [m.value for m in Method]
    codecs = props["cache"]["properties"]["sa_codec"]["enum"]
    assert codecs == ["default"] + [c.value for c in SACodec]
    kinds = props["datasets"]["additionalProperties"]["properties"]["kind"]["enum"]
    assert kinds == [k.value for k in DatasetKind] + [b.value for b in Benchmark]


def test_validation_does_not_mutate_a_valid_copy_beyond_defaults(config):
    once = copy.deepcopy(config)
    validate_config(once)
    twice = copy.deepcopy(once)
    validate_config(twice)
    assert once == twice


def test_two_datasets_with_the_same_kind_and_split_are_refused():
    config = {"datasets": {
        "voc": {"kind": "voc2012", "root": "/data/VOC2012", "splits": ["train", "val"]},
        "voc_copy": {"kind": "voc2012", "root": "/other/VOC2012", "splits": ["val"]}}}
    with pytest.raises(ConfigError, match=r"datasets.voc_copy: split 'val' of kind 'voc2012' "
                                          r"is already configured as datasets.voc"):
        validate_config(config)


def test_same_kind_with_other_splits_is_fine():
    validate_config({"datasets": {
        "voc": {"kind": "voc2012", "root": "/data/VOC2012", "splits": ["train"]},
        "voc_val": {"kind": "voc2012", "root": "/data/VOC2012", "splits": ["val"]}}})


def test_demo_root_must_be_where_the_workflow_writes_it():
    config = {"datasets": {"mydemo": {"kind": "voc2012", "root": "data/demo/VOC2012",
                                      "demo": True, "splits": ["val"]}}}
    with pytest.raises(ConfigError, match=r"datasets.mydemo.root: .* at "
                                          r"resources/mydemo/VOC2012; set root"):
        validate_config(config)
