"""The demo workflow on a real SLURM cluster, through profiles/slurm (issue #7).

Two kinds of tests:

* profile tests (marker ``workflow``, a few seconds, no cluster): a dry run with
  ``--profile profiles/slurm`` shows which partition, GPU count and memory every rule asks for,
  and that the workflow profile is applied without dropping those per-rule settings;
* cluster tests (marker ``slurm``): a reduced demo (split ``train``, one method per extraction
  cache) runs once locally and once with ``snakemake --profile profiles/slurm tables`` in two
  copies of the workflow under a temporary folder; the assertions read SLURM's own records
  (``scontrol -o show job``, kept for MinJobAge, and the jobcomp file) and compare the tables.
  They are skipped, with the reason, when ``sinfo`` is absent or the cluster is not up;
  start it with ``SLURM_CI_INSTALL=1 bash .ci/start_slurm.sh``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SLURM_PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
GPU_RULES = ("extract_sd_attention", "extract_sd_gt", "extract_gem")
# one method per extraction cache: gem <- extract_gem, aggsd <- extract_sd_gt,
# diffsegclust <- extract_sd_attention
CI_METHODS = ["gem", "aggsd", "diffsegclust"]
CI_SPLIT = "train"
RUN_TIMEOUT_S = 1200
# the repository parts a workflow run needs (the package itself is installed)
COPIED = ("Snakefile", "config.yaml", "workflow", "profiles")  # what a run needs besides langseg


# --- helpers -----------------------------------------------------------------------------------

def _snakemake(args: list[str], cwd: Path, log: Path, timeout: float):
    """Run ``python -m snakemake ARGS`` in ``cwd``; stdout and stderr go to ``log``."""
    with log.open("w") as out:
        return subprocess.run(
            [sys.executable, "-m", "snakemake", *args], cwd=cwd, stdout=out,
            stderr=subprocess.STDOUT, env=_env(), timeout=timeout, check=False,
        )


def _env() -> dict[str, str]:
    """This interpreter's bin/ first on PATH: SLURM jobs (sbatch --export=ALL) inherit it."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _tail(path: Path, n: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""


def _config_path(root: Path) -> Path:
    for candidate in ("config.yaml", "config/config.yaml"):
        if (root / candidate).is_file():
            return root / candidate
    raise FileNotFoundError(f"no config.yaml or config/config.yaml under {root}")


def _copy_workflow(dest: Path) -> Path:
    """Copy the workflow (Snakefile, workflow/, profiles/, config) and reduce its config."""
    dest.mkdir(parents=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, dest / name)
    config_path = _config_path(dest)
    config = yaml.safe_load(config_path.read_text())
    config["datasets"] = {
        name: {**spec, "splits": [CI_SPLIT]}
        for name, spec in config["datasets"].items() if spec.get("demo")
    }
    config["methods"] = CI_METHODS
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    return dest


def _profile_threads() -> list[str]:
    """``--set-threads`` arguments equal to profiles/slurm's, so both runs compute alike."""
    threads = yaml.safe_load(SLURM_PROFILE.read_text()).get("set-threads") or {}
    return ["--set-threads", *(f"{rule}={n}" for rule, n in threads.items())] if threads else []


def _parse_scontrol_line(line: str) -> dict[str, str]:
    """``scontrol -o show job`` line -> {key: value} (values hold no spaces for our jobs)."""
    return dict(re.findall(r"(\w+(?::\w+)?)=(\S*)", line))


def _rule_of(comment: str, rules: set[str]) -> str:
    """The plugin's ``--comment rule_<rule>[_wildcards_<values>]`` -> rule name."""
    for rule in rules:
        if comment == f"rule_{rule}" or comment.startswith(f"rule_{rule}_wildcards_"):
            return rule
    raise AssertionError(f"SLURM comment {comment!r} names none of the rules {sorted(rules)}")


def _csv_tables(root: Path) -> dict[str, str]:
    """{file name: text} of every CSV table under ROOT/results/tables."""
    return {p.name: p.read_text() for p in sorted((root / "results" / "tables").glob("*.csv"))}


def _job_stats(dry_run_log: str) -> Counter:
    """The 'Job stats' table of ``snakemake -n`` -> Counter(rule -> jobs)."""
    stats: Counter = Counter()
    block = dry_run_log.split("Job stats:", 1)[-1].split("total", 1)[0]
    for rule, count in re.findall(r"^(\w+)\s+(\d+)\s*$", block, flags=re.MULTILINE):
        stats[rule] = int(count)
    return stats


def _dry_run_resources(log: str) -> dict[str, dict[str, str]]:
    """``snakemake -n`` output -> {rule: resources of its first job}."""
    found: dict[str, dict[str, str]] = {}
    for rule, body in re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", log, re.MULTILINE | re.DOTALL):
        match = re.search(r"^\s+resources: (.*)$", body, re.MULTILINE)
        if match and rule not in found:
            found[rule] = dict(kv.split("=", 1) for kv in match.group(1).split(", "))
    return found


def _cluster_problem() -> str | None:
    """Why the cluster tests cannot run here, or None when a cluster with cpu+gpu is up."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "SLURM client not installed (run: SLURM_CI_INSTALL=1 bash .ci/start_slurm.sh)"
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%R %T"], capture_output=True, text=True,
                             timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return "sinfo timed out: slurmctld not answering (run: bash .ci/start_slurm.sh)"
    if out.returncode != 0:
        return f"SLURM cluster not up ({out.stderr.strip()}); run: bash .ci/start_slurm.sh"
    ready = {p for p, state in (line.split() for line in out.stdout.splitlines() if line.strip())
             if state.rstrip("*~#").startswith(("idle", "mixed", "allocated"))}
    if not {"cpu", "gpu"} <= ready:
        return f"need partitions cpu and gpu with a usable node; sinfo says: {out.stdout.strip()}"
    return None


# --- profile tests (no cluster) ----------------------------------------------------------------

@pytest.fixture(scope="module")
def slurm_dry_run(tmp_path_factory) -> str:
    """Output of ``snakemake -n --profile profiles/slurm tables`` on a copy of the workflow."""
    root = _copy_workflow(tmp_path_factory.mktemp("dry") / "wf")
    log = root / "dry_run.log"
    result = _snakemake(["-n", "--profile", "profiles/slurm", "tables"], root, log, 300)
    assert result.returncode == 0, _tail(log)
    return log.read_text()


@pytest.mark.workflow
def test_slurm_profile_sends_gpu_rules_to_gpu_partition(slurm_dry_run):
    resources = _dry_run_resources(slurm_dry_run)
    assert set(GPU_RULES) <= set(resources), sorted(resources)
    for rule, res in resources.items():
        if rule in GPU_RULES:
            assert (res.get("slurm_partition"), res.get("gpu")) == ("gpu", "1"), (rule, res)
        else:
            assert res.get("slurm_partition") == "cpu", (rule, res)
            assert "gpu" not in res, (rule, res)
        assert "mem_mb" in res and "runtime" in res, (rule, res)


@pytest.mark.workflow
def test_workflow_profile_is_applied_automatically(slurm_dry_run):
    # Snakemake finds a workflow profile only at profiles/default/ (cwd or the Snakefile's
    # folder); with it the local GPU limit applies to local runs without any flag.
    assert "workflow specific profile" in slurm_dry_run, (
        "profiles/default is not picked up: Snakemake looks for profiles/default/ in the "
        "working directory or next to the Snakefile")


# --- cluster tests -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Run the reduced demo on SLURM and locally (concurrently); return their folders + logs."""
    problem = _cluster_problem()
    if problem:
        pytest.skip(problem)
    base = tmp_path_factory.mktemp("slurm_demo")
    slurm_root, local_root = _copy_workflow(base / "slurm"), _copy_workflow(base / "local")
    slurm_log = slurm_root / "snakemake_slurm.log"
    # CI-size polling: first status check after 2 s (profile: 10 s), then every 2 s + back-off
    args = ["--profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "2",
            "--seconds-between-status-checks", "2", "tables"]
    with slurm_log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "snakemake", *args], cwd=slurm_root,
                                stdout=out, stderr=subprocess.STDOUT, env=_env())
    try:
        local_log = local_root / "snakemake_local.log"
        local = _snakemake(["tables", "--cores", "2", *_profile_threads()], local_root,
                           local_log, RUN_TIMEOUT_S)
        assert local.returncode == 0, f"local run failed:\n{_tail(local_log)}"
        proc.wait(timeout=RUN_TIMEOUT_S)
    except BaseException:
        if proc.poll() is None:          # SIGINT: the plugin scancels its jobs, then exits
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        raise
    assert proc.returncode == 0, f"SLURM run failed:\n{_tail(slurm_log)}"
    return {"slurm": slurm_root, "local": local_root, "log": slurm_log.read_text(),
            "tables": {"slurm": _csv_tables(slurm_root), "local": _csv_tables(local_root)}}


@pytest.fixture(scope="module")
def slurm_jobs(runs) -> list[dict[str, str]]:
    """SLURM's record (scontrol) of every job of the run, with 'rule' added from its comment."""
    run_id = re.search(r"SLURM run ID: (\S+)", runs["log"]).group(1)
    out = subprocess.run(["scontrol", "-o", "show", "job"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    jobs = [job for job in map(_parse_scontrol_line, out.splitlines())
            if job.get("JobName") == run_id]
    rules = set(re.findall(r"^rule (\w+):", runs["log"], re.MULTILINE))
    for job in jobs:
        job["rule"] = _rule_of(job.get("Comment", ""), rules)
    return jobs


@pytest.mark.slurm
def test_every_job_went_through_sbatch_and_completed(runs, slurm_jobs):
    submitted = set(re.findall(r"has been submitted with SLURM jobid (\d+)", runs["log"]))
    assert submitted, "no job was submitted to SLURM"
    assert {job["JobId"] for job in slurm_jobs} == submitted
    assert {(job["JobState"], job["ExitCode"]) for job in slurm_jobs} == {("COMPLETED", "0:0")}
    ran = {job["rule"] for job in slurm_jobs}
    assert {*GPU_RULES, "segment", "evaluate"} <= ran, sorted(ran)


@pytest.mark.slurm
def test_gpu_rules_ran_on_gpu_partition_with_one_gpu(slurm_jobs):
    for job in slurm_jobs:
        where = (job["rule"], job["JobId"], job["Partition"], job.get("TresPerJob"))
        if job["rule"] in GPU_RULES:
            assert job["Partition"] == "gpu", where
            assert job.get("TresPerJob") in ("gres:gpu:1", "gres/gpu:1"), where
        else:
            assert job["Partition"] == "cpu", where
            assert "gpu" not in job.get("TresPerJob", "") + job.get("TRES", ""), where


@pytest.mark.slurm
def test_local_gpu_limit_does_not_cap_cluster_submissions(slurm_jobs):
    # The three extraction jobs of the shard are ready together. Had `resources: gpu: 1` been
    # tallied across submissions, each would be submitted only after the previous one ended.
    gpu_jobs = [job for job in slurm_jobs if job["rule"] in GPU_RULES]
    assert len(gpu_jobs) >= 2
    last_submit = max(datetime.fromisoformat(job["SubmitTime"]) for job in gpu_jobs)
    first_end = min(datetime.fromisoformat(job["EndTime"]) for job in gpu_jobs)
    assert last_submit < first_end, [(j["JobId"], j["SubmitTime"], j["EndTime"]) for j in gpu_jobs]


@pytest.mark.slurm
def test_jobcomp_file_records_the_same_jobs(slurm_jobs):
    config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                            timeout=30, check=True).stdout
    settings = dict(re.findall(r"^(\w+)\s*=\s*(.*?)\s*$", config, re.MULTILINE))
    if settings.get("JobCompType") != "jobcomp/filetxt":
        pytest.skip(f"cluster has JobCompType={settings.get('JobCompType')}, not jobcomp/filetxt")
    lines = Path(settings["JobCompLoc"]).read_text().splitlines()
    records = {rec["JobId"]: rec for rec in map(_parse_scontrol_line, lines)}
    for job in slurm_jobs:
        rec = records.get(job["JobId"])
        assert rec is not None, f"job {job['JobId']} missing from {settings['JobCompLoc']}"
        assert (rec["JobState"], rec["Partition"]) == ("COMPLETED", job["Partition"]), rec


@pytest.mark.slurm
def test_tables_match_local_run(runs):
    # every CSV table (the mIoU summary among them) is identical, text for text
    slurm_tables, local_tables = runs["tables"]["slurm"], runs["tables"]["local"]
    assert any("mIoU" in text.splitlines()[0] for text in local_tables.values()), local_tables
    assert slurm_tables == local_tables


@pytest.mark.slurm
def test_rerun_after_failure_schedules_only_what_is_missing(runs):
    root = runs["slurm"]               # changed in place: the tables were read by `runs`
    log = root / "dry_run_after.log"
    result = _snakemake(["-n", "--profile", "profiles/slurm", "tables"], root, log, 300)
    assert result.returncode == 0 and "Nothing to be done" in log.read_text(), _tail(log)
    # What a failed `segment` job of method gem leaves behind: its prediction and everything
    # downstream of it missing. The rerun plans that part only, no extraction.
    preds = sorted((root / "results").glob("*/*/pred/gem/*.npz"))
    assert preds, "no gem prediction found under results/*/*/pred/gem/"
    preds[0].unlink()
    results = root / "results"
    for pattern in ("*/*/eval/gem.*", "tables/*", "figures/*"):
        for lost in results.glob(pattern):
            lost.unlink()
    result = _snakemake(["-n", "--profile", "profiles/slurm", "tables"], root, log, 300)
    stats = _job_stats(log.read_text())
    assert result.returncode == 0, _tail(log)
    assert (stats["segment"], stats["evaluate"]) == (1, 1), stats
    assert not set(GPU_RULES) & set(stats), stats
