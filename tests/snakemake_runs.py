"""Helpers shared by the workflow tests: run Snakemake in a work folder, read dry-run job counts,
read and write its config.yaml."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml


def snakemake(workdir: Path, *args: str, check: bool = True,
              pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m snakemake ARGS`` in ``workdir`` (15 min at most); ``check`` raises with the
    output on a non-zero exit; ``pythonpath`` makes jobs import langseg from there."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    proc = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir,
                          capture_output=True, text=True, env=env, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def job_counts(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table ({} when nothing is to be done)."""
    counts = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if match and match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


def write_config(workdir: Path, config: dict) -> None:
    with open(workdir / "config.yaml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)


def read_config(workdir: Path) -> dict:
    with open(workdir / "config.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)
