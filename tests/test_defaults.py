"""One home per default: the schema's defaults are what the package uses, the rules that depend
on a choice live in one function, and the schema ships inside the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from langseg.config import ConfigError, validate_config
from langseg.methods import MethodSettings, default_temperature
from langseg.methods.settings import TEMPERATURE_OTHERS, TEMPERATURE_VOC
from langseg.params import DatasetKind, Fidelity, Method, gt_pass_timestep
from langseg.schemas import SCHEMA_PATH, load_schema, schema_default

REPO = Path(__file__).resolve().parents[1]


def _minimal(**extra):
    config = {"datasets": {"voc": {"kind": "voc2012", "root": "/data/VOC2012",
                                   "splits": ["val"]}}}
    config.update(extra)
    return config


def test_package_constants_are_the_schema_defaults():
    from langseg.models import gem, sd

    config = validate_config(_minimal())
    assert sd.SA_TIMESTEP == config["extraction"]["sd"]["sa_timestep"] == 100
    assert sd.AGGSD_REPORT_TIMESTEP == config["extraction"]["sd"]["gt_timestep"] == 101
    assert gem.GEM_DEPTH == config["extraction"]["gem"]["depth"] == 7
    assert gem.GEM_RESOLUTION == config["extraction"]["gem"]["resolution"] == 448


def test_schema_default_names_a_missing_key():
    assert schema_default("shard_size") == 16
    with pytest.raises(KeyError, match="extraction.sd.nope"):
        schema_default("extraction", "sd", "nope")
    with pytest.raises(KeyError, match="no default for 'datasets'"):
        schema_default("datasets")
    schema = load_schema()
    schema["shard_size"] = "changed"  # a copy: the package's schema is unchanged
    assert schema_default("shard_size") == 16


def test_gt_pass_timestep_rule():
    assert gt_pass_timestep(Fidelity.REPORT, sa_timestep=100, gt_timestep=101) == 101
    assert gt_pass_timestep("corrected", sa_timestep=100, gt_timestep=101) == 100
    assert gt_pass_timestep("corrected", sa_timestep=50, gt_timestep=101) == 50


def test_temperature_has_one_home():
    assert (default_temperature(True), default_temperature(False)) == (0.1, 0.01)
    assert (TEMPERATURE_VOC, TEMPERATURE_OTHERS) == (0.1, 0.01)
    for kind in DatasetKind:
        voc = kind is DatasetKind.VOC2012
        assert MethodSettings.for_dataset(kind).temperature == default_temperature(voc)


def test_methods_needing_sd_come_from_the_method():
    assert {m for m in Method if m.needs_sd} == {
        Method.AGGGEM, Method.AGGGEMW, Method.AGGSD, Method.AGGSD_ZS, Method.DIFFSEGCLUST,
        Method.SPECCLUST, Method.GRABCUT}
    real = {"preset": "real", "clip_path": "/w/clip.pt"}
    validate_config(_minimal(models=real, methods=["gem", "gemw", "gtclust"]))  # CLIP only
    for method in ("aggsd", "specclust"):
        with pytest.raises(ConfigError, match="models.sd_path"):
            validate_config(_minimal(models=dict(real), methods=["gem", method]))


@pytest.mark.parametrize(("settings", "message"), [
    ({"temperature": 0}, "temperature must be a number > 0"),
    ({"diffseg": {"grid": 1}}, "diffseg.grid must be an integer >= 2"),
    ({"specclust": {"solver": "svd"}}, "specclust.solver must be one of truncated, full"),
    ({"grabcut": {"min_class_prob": 2}}, "grabcut.min_class_prob"),
    ({"colour": 1}, "unknown method_settings key 'colour'"),
])
def test_method_settings_are_validated_by_method_settings(settings, message):
    with pytest.raises(ConfigError, match=message) as err:
        validate_config(_minimal(method_settings=settings))
    assert "method_settings" in str(err.value)


def test_schema_is_package_data_and_validates_from_a_plain_install(tmp_path):
    """``pip install .`` (not editable) ships the schema: a wheel built from the sources holds
    it, and validation works from the installed copy alone (run from an unrelated folder)."""
    assert SCHEMA_PATH.parent == REPO / "langseg" / "schemas"
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "langseg", source / "langseg",
                    ignore=shutil.ignore_patterns("__pycache__"))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--no-build-isolation", "--target", str(site), str(source)],
                   check=True, capture_output=True)
    assert (site / "langseg" / "schemas" / "config.schema.yaml").is_file()
    code = ("import langseg.config as c; from langseg.config import validate_config; "
            "cfg = validate_config({'datasets': {'v': {'kind': 'voc2012', 'root': 'r', "
            "'splits': ['val']}}}); print(c.__file__, cfg['extraction']['sd']['gt_timestep'])")
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    installed, timestep = run.stdout.split()
    assert installed.startswith(str(site)) and timestep == "101"


def test_the_plan_shards_with_the_index_rule_and_its_limit():
    from langseg.data import shard_names
    from langseg.workflow_plan import WorkflowPlan

    config = validate_config({"datasets": {"demo": {"kind": "voc2012",
                                                    "root": "resources/demo/VOC2012",
                                                    "demo": True, "splits": ["val"]}},
                              "shard_size": 4})
    plan = WorkflowPlan.from_config(config)
    assert plan.shards("demo", "val") == shard_names(6, 4) == ["000", "001"]
    plan._samples[("demo", "val")] = [None] * 4001  # 1001 shards of 4: more than 3 digits allow
    with pytest.raises(ValueError, match="set shard_size >= 5"):
        plan.shards("demo", "val")
