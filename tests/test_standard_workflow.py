"""Dry runs of the standard protocol's workflow (temporary copies; nothing runs)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def make_workdir(path: Path, config: dict) -> Path:
    path.mkdir(parents=True)
    shutil.copy(REPO / "Snakefile", path / "Snakefile")
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    with open(path / "config.yaml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    return path


def load(name: str) -> dict:
    with open(REPO / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def dry_run(workdir: Path, *args: str) -> tuple[int, str, dict[str, int]]:
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", *args,
                           "tables"], cwd=workdir, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    counts = {}
    for line in out.splitlines():
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match and match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return proc.returncode, out, counts


def test_standard_demo_dry_run(tmp_path):
    workdir = make_workdir(tmp_path / "wf", load("config/standard_demo.yaml"))
    code, out, jobs = dry_run(workdir)
    assert code == 0, out
    # two demo datasets (VOC21, VOC20), 3 images in one shard each, one backend
    assert jobs == {"standard_make_demo": 2, "standard_index": 2, "standard_segment": 2,
                    "standard_evaluate": 2, "standard_table": 1, "tables": 1}
    assert not (workdir / "results").exists()


def test_both_protocols_in_one_config_dry_run(tmp_path):
    config = load("config.yaml")
    config["datasets"]["demo"].update(splits=["val"], max_images=3)
    config["methods"] = ["gem"]
    config["shard_size"] = 2
    config["report"]["figure3"].update(split="val", images=[0])
    config["datasets"]["std"] = {"kind": "voc21", "protocol": "standard", "demo": True,
                                 "root": "resources/std/VOC2012", "splits": ["val"],
                                 "max_images": 3}
    config["standard"] = {"methods": ["gem", "specclust"], "pamr": True}
    workdir = make_workdir(tmp_path / "wf", config)
    code, out, jobs = dry_run(workdir)
    assert code == 0, out
    assert jobs["make_demo"] == 1 and jobs["standard_make_demo"] == 1
    assert jobs["segment"] == 2 and jobs["standard_segment"] == 2
    assert jobs["write_tables"] == 1 and jobs["standard_table"] == 1


def test_standard_entry_with_a_report_kind_fails_before_any_job(tmp_path):
    config = load("config/standard_demo.yaml")
    config["datasets"]["demo_voc21"]["kind"] = "voc2012"
    workdir = make_workdir(tmp_path / "wf", config)
    code, out, _ = dry_run(workdir)
    assert code != 0
    assert "datasets.demo_voc21.kind: protocol standard needs one of the benchmarks" in out
    assert not (workdir / "results").exists()


def test_lint_is_clean_with_the_standard_demo(tmp_path):
    workdir = make_workdir(tmp_path / "wf", load("config/standard_demo.yaml"))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=workdir,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr
