"""GPU requests of the extraction jobs: CPU jobs must not queue behind a single `gpu` slot.

profiles/default caps the running jobs' ``gpu`` resource at 1 on one machine. A job that runs on
the CPU asks for 0, so CPU extraction jobs run side by side (bounded by --cores); GPU jobs keep
asking for 1 (one at a time locally); profiles/slurm sets 1 per GPU rule whatever the login
node has (``--gpus=1``, see tests/test_slurm.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from langseg.devices import extraction_gpus, gpu_visible

REPO = Path(__file__).resolve().parents[1]
EXTRACTION_RULES = ("extract_sd_attention", "extract_sd_gt", "extract_gem")


@pytest.mark.parametrize("device, gpu_present, expected", [
    ("cpu", False, 0), ("cpu", True, 0), ("cuda", False, 1), ("cuda", True, 1),
    ("auto", False, 0), ("auto", True, 1),
])
def test_extraction_gpus(device, gpu_present, expected):
    assert extraction_gpus(device, gpu_present=gpu_present) == expected


def test_extraction_gpus_names_the_key_on_a_bad_device():
    with pytest.raises(ValueError, match="models.device must be one of"):
        extraction_gpus("tpu", gpu_present=False)


def test_gpu_visible_reads_device_files_and_cuda_visible_devices(tmp_path):
    assert not gpu_visible(tmp_path, {})
    (tmp_path / "nvidiactl").touch()            # the driver's control file is not a GPU
    assert not gpu_visible(tmp_path, {})
    (tmp_path / "nvidia0").touch()
    assert gpu_visible(tmp_path, {})
    assert gpu_visible(tmp_path, {"CUDA_VISIBLE_DEVICES": "0"})
    assert not gpu_visible(tmp_path, {"CUDA_VISIBLE_DEVICES": ""})
    assert not gpu_visible(tmp_path, {"CUDA_VISIBLE_DEVICES": "-1"})


def _dry_run_gpus(tmp_path: Path, device: str) -> dict[str, set[str]]:
    """{rule: set of its jobs' `gpu` values} of a local dry run with models.device = DEVICE."""
    shutil.copy(REPO / "Snakefile", tmp_path / "Snakefile")
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    config["models"]["device"] = device
    config["datasets"]["demo"].update(splits=["val"], max_images=3)
    config["shard_size"] = 2
    config["report"]["figure3"].update(split="val", images=[0])
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "8", "tables"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found: dict[str, set[str]] = {}
    for rule, body in re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", proc.stdout, re.MULTILINE | re.DOTALL):
        match = re.search(r"^\s+resources: .*\bgpu=(\d+)", body, re.MULTILINE)
        if rule in EXTRACTION_RULES:
            found.setdefault(rule, set()).add(match.group(1) if match else "absent")
    return found


@pytest.mark.workflow
@pytest.mark.parametrize("device, gpus", [("cpu", "0"), ("cuda", "1")])
def test_local_extraction_jobs_request_gpus_by_device(tmp_path, device, gpus):
    found = _dry_run_gpus(tmp_path, device)
    assert set(found) == set(EXTRACTION_RULES), found
    assert all(values == {gpus} for values in found.values()), found
