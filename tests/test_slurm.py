"""The demo workflow on a real SLURM cluster, through profiles/slurm (issue #7).

Two kinds of tests:

* profile tests (marker ``workflow``, a few seconds, no cluster): a dry run with
  ``--profile profiles/slurm`` shows which partition, GPU count and memory every rule asks for,
  and that the workflow profile is applied without dropping those per-rule settings;
* cluster tests (marker ``slurm``): a reduced demo (split ``train``, one method per extraction
  cache) runs once locally and once with ``snakemake --profile profiles/slurm tables`` in two
  copies of the workflow under a temporary folder; the assertions read SLURM's own records
  (``scontrol -o show job``, kept for MinJobAge, and the jobcomp file) and compare the tables.

The cluster tests submit jobs, so they run ONLY on a cluster named on purpose: the environment
variable ``LANGSEG_TEST_SLURM_CLUSTER`` must hold the ``ClusterName`` of the cluster that answers
(``.ci/start_slurm.sh`` prints ``export LANGSEG_TEST_SLURM_CLUSTER=ci`` and ``.ci/run`` sets it).
Without it they are skipped before any SLURM command runs, whatever cluster is reachable; with it
they fail (not skip) if that cluster is not the one answering or stops answering. Every wait is
bounded: a SLURM client call 15 s, a workflow run ``RUN_TIMEOUT_S``, and the SLURM run is stopped
as soon as the named cluster stops answering. ``test_no_submission_without_cluster_variable``
checks the guard with fake SLURM commands that record their calls.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SLURM_PROFILE = REPO / "profiles" / "slurm" / "config.yaml"
GPU_RULES = ("extract_sd_attention", "extract_sd_gt", "extract_gem")
INDEX_ONLY_GPU_RULES = ("extract_sd_attention", "extract_gem")  # need no ground truth
# one method per extraction cache: gem <- extract_gem, aggsd <- extract_sd_gt,
# diffsegclust <- extract_sd_attention
CI_METHODS = ["gem", "aggsd", "diffsegclust"]
CI_SPLIT = "train"
CLUSTER_VARIABLE = "LANGSEG_TEST_SLURM_CLUSTER"
RUN_TIMEOUT_S = 900        # one workflow run (about 3-6 min on a loaded 2-core CI machine)
CLIENT_TIMEOUT_S = 15      # one sinfo/scontrol call
LIVENESS_EVERY_S = 30      # how often the SLURM run checks that the cluster still answers
SLURM_COMMANDS = ("sbatch", "squeue", "sinfo", "scontrol", "sacct", "sacctmgr", "scancel", "srun")
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
    """``--set-threads`` arguments for both runs: profiles/slurm's, capped at this machine's
    CPUs (the test cluster's one node has no more; a GPU node's 16 would never be scheduled), so
    both runs compute alike."""
    threads = yaml.safe_load(SLURM_PROFILE.read_text()).get("set-threads") or {}
    cpus = os.cpu_count() or 1
    return ["--set-threads", *(f"{rule}={min(n, cpus)}" for rule, n in threads.items())] \
        if threads else []


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


def _requested_cluster() -> str | None:
    """The cluster named in ``LANGSEG_TEST_SLURM_CLUSTER``, or None (then nothing may submit)."""
    return os.environ.get(CLUSTER_VARIABLE, "").strip() or None


def _slurm_client(*args: str) -> subprocess.CompletedProcess:
    """Run a SLURM client command, bounded by CLIENT_TIMEOUT_S (raises TimeoutExpired)."""
    return subprocess.run(list(args), capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S,
                          check=False)


def _cluster_problem(name: str) -> str | None:
    """Why the cluster NAME cannot run the tests, or None when it answers with cpu+gpu usable."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "SLURM client not installed (run: SLURM_CI_INSTALL=1 bash .ci/start_slurm.sh)"
    try:
        config = _slurm_client("scontrol", "show", "config")
        out = _slurm_client("sinfo", "-h", "-o", "%R %T")
    except subprocess.TimeoutExpired:
        return "slurmctld not answering within 15 s (run: bash .ci/start_slurm.sh)"
    if config.returncode != 0 or out.returncode != 0:
        return f"SLURM cluster not up ({(config.stderr + out.stderr).strip()})"
    answering = re.search(r"^ClusterName\s*=\s*(\S+)", config.stdout, re.MULTILINE)
    if answering is None or answering.group(1) != name:
        found = answering.group(1) if answering else "unknown"
        return (f"{CLUSTER_VARIABLE}={name} but the cluster answering is {found!r}; refusing to "
                f"submit to a cluster that was not named")
    ready = {p for p, state in (line.split() for line in out.stdout.splitlines() if line.strip())
             if state.rstrip("*~#").startswith(("idle", "mixed", "allocated"))}
    if not {"cpu", "gpu"} <= ready:
        return f"need partitions cpu and gpu with a usable node; sinfo says: {out.stdout.strip()}"
    return None


def _cluster_answers(name: str) -> bool:
    """Whether the cluster NAME still answers (one bounded ``scontrol`` call)."""
    try:
        config = _slurm_client("scontrol", "show", "config")
    except subprocess.TimeoutExpired:
        return False
    return config.returncode == 0 and re.search(
        rf"^ClusterName\s*=\s*{re.escape(name)}\s*$", config.stdout, re.MULTILINE) is not None


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT (the plugin scancels its jobs and exits), then kill after 60 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_while_cluster_answers(proc: subprocess.Popen, name: str, deadline: float, log: Path):
    """Wait for PROC; stop it and fail when the cluster stops answering or the deadline passes."""
    while True:
        try:
            proc.wait(timeout=LIVENESS_EVERY_S)
            return
        except subprocess.TimeoutExpired:
            pass
        if not _cluster_answers(name):
            _stop(proc)
            pytest.fail(f"SLURM cluster {name!r} stopped answering during the run; stopped it."
                        f"\n{_tail(log, 20)}", pytrace=False)
        if time.monotonic() > deadline:
            _stop(proc)
            pytest.fail(f"SLURM run exceeded {RUN_TIMEOUT_S} s; stopped it.\n{_tail(log, 20)}",
                        pytrace=False)


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
def cluster_run(tmp_path_factory) -> dict:
    """The reduced demo run on SLURM and locally, or ``{"error": message}`` if it failed.

    Skipped unless LANGSEG_TEST_SLURM_CLUSTER names the cluster (checked before any SLURM
    command). A failure is returned, not raised: pytest would re-raise a module fixture's
    exception, traceback and all, in every test that uses it.
    """
    name = _requested_cluster()
    if name is None:
        pytest.skip(f"{CLUSTER_VARIABLE} not set: the SLURM tests submit jobs only to a cluster "
                    f"started on purpose (.ci/start_slurm.sh prints the variable to export)")
    try:
        return _run_both(tmp_path_factory, name)
    except (AssertionError, pytest.fail.Exception, subprocess.SubprocessError) as error:
        return {"error": str(error)}


_REPORTED: list[str] = []


@pytest.fixture
def runs(cluster_run) -> dict:
    """The successful run; its failure fails the first test in full and skips the others."""
    if "error" in cluster_run:
        if _REPORTED:
            pytest.skip("the SLURM run failed; see the first failed SLURM test")
        _REPORTED.append(cluster_run["error"])
        pytest.fail(cluster_run["error"], pytrace=False)
    return cluster_run


def _run_both(tmp_path_factory, name: str) -> dict:
    problem = _cluster_problem(name)
    if problem:
        pytest.fail(f"{CLUSTER_VARIABLE}={name} was set but: {problem}", pytrace=False)
    base = tmp_path_factory.mktemp("slurm_demo")
    slurm_root, local_root = _copy_workflow(base / "slurm"), _copy_workflow(base / "local")
    slurm_log = slurm_root / "snakemake_slurm.log"
    # CI-size polling: first status check after 2 s (profile: 10 s), then every 2 s + back-off
    args = ["--profile", "profiles/slurm", "--slurm-init-seconds-before-status-checks", "2",
            "--seconds-between-status-checks", "2", "tables", *_profile_threads()]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    with slurm_log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "snakemake", *args], cwd=slurm_root,
                                stdout=out, stderr=subprocess.STDOUT, env=_env())
    try:
        local_log = local_root / "snakemake_local.log"
        local = _snakemake(["tables", "--cores", "2", *_profile_threads()], local_root,
                           local_log, RUN_TIMEOUT_S)
        assert local.returncode == 0, f"local run failed:\n{_tail(local_log)}"
        _wait_while_cluster_answers(proc, name, deadline, slurm_log)
    finally:
        _stop(proc)
    assert proc.returncode == 0, f"SLURM run failed:\n{_tail(slurm_log)}"
    return {"slurm": slurm_root, "local": local_root, "log": slurm_log.read_text(),
            "tables": {"slurm": _csv_tables(slurm_root), "local": _csv_tables(local_root)}}


@pytest.fixture
def slurm_jobs(runs) -> list[dict[str, str]]:
    """SLURM's record (scontrol) of every job of the run, with 'rule' added from its comment."""
    run_id = re.search(r"SLURM run ID: (\S+)", runs["log"]).group(1)
    out = subprocess.run(["scontrol", "-o", "show", "job"], capture_output=True, text=True,
                         timeout=CLIENT_TIMEOUT_S, check=True).stdout
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
    # The GEM and SA extractions of a shard need only the index, so they are ready together
    # (extract_sd_gt waits for the ground truth). Had `resources: gpu: 1` been tallied across
    # submissions, the second would be submitted only after the first one ended.
    gpu_jobs = [job for job in slurm_jobs if job["rule"] in INDEX_ONLY_GPU_RULES]
    assert len(gpu_jobs) >= 2
    last_submit = max(datetime.fromisoformat(job["SubmitTime"]) for job in gpu_jobs)
    first_end = min(datetime.fromisoformat(job["EndTime"]) for job in gpu_jobs)
    assert last_submit < first_end, [(j["JobId"], j["SubmitTime"], j["EndTime"]) for j in gpu_jobs]


@pytest.mark.slurm
def test_jobcomp_file_records_the_same_jobs(slurm_jobs):
    config = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                            timeout=CLIENT_TIMEOUT_S, check=True).stdout
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


# --- the guard: nothing submits unless the cluster was named ------------------------------------

_FAKE_SLURM = """#!/bin/sh
# fake SLURM client: records the call, answers like a live production cluster named 'prod'
echo "$(basename "$0") $*" >> "$FAKE_SLURM_RECORD"
case "$(basename "$0")" in
    sinfo) printf 'cpu idle\\ngpu idle\\n' ;;
    scontrol) echo 'ClusterName             = prod' ;;
    sbatch) echo 'Submitted batch job 4242' ;;
esac
exit 0
"""


def _run_slurm_tests_with_fake_cluster(tmp_path: Path, variable: str | None):
    """Run this file's ``slurm`` tests in a subprocess with fake SLURM commands first on PATH."""
    fake_bin, record = tmp_path / "fake_bin", tmp_path / "calls.txt"
    fake_bin.mkdir()
    record.touch()
    for command in SLURM_COMMANDS:
        (fake_bin / command).write_text(_FAKE_SLURM)
        (fake_bin / command).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != CLUSTER_VARIABLE}
    env["PATH"] = f"{fake_bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["FAKE_SLURM_RECORD"] = str(record)
    if variable is not None:
        env[CLUSTER_VARIABLE] = variable
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", str(Path(__file__)), "-m", "slurm", "-q", "-rs",
         "-p", "no:cacheprovider", "-o", "addopts=", f"--basetemp={tmp_path / 'inner'}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=120)   # a few seconds when nothing is submitted
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)      # the inner pytest and any snakemake it started
        proc.communicate()
        pytest.fail(f"the SLURM tests waited on the fake cluster; SLURM calls: "
                    f"{record.read_text().splitlines()}", pytrace=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out), \
        record.read_text().splitlines()


@pytest.mark.workflow
def test_no_submission_without_cluster_variable(tmp_path):
    # A reachable 'cluster' with idle cpu and gpu partitions (the old trigger), no variable:
    # every cluster test is skipped and no SLURM command, sbatch least of all, is run.
    result, calls = _run_slurm_tests_with_fake_cluster(tmp_path, None)
    assert result.returncode == 0, result.stdout
    n_cluster_tests = sum(1 for name, f in globals().items()
                          if name.startswith("test_") and any(
                              m.name == "slurm" for m in getattr(f, "pytestmark", [])))
    assert f"{n_cluster_tests} skipped" in result.stdout, result.stdout
    assert f"{CLUSTER_VARIABLE} not set" in result.stdout, result.stdout
    assert calls == []


@pytest.mark.workflow
def test_named_cluster_must_be_the_one_answering(tmp_path):
    # The variable names 'ci' but 'prod' answers: the tests fail (once, in full) and submit nothing.
    result, calls = _run_slurm_tests_with_fake_cluster(tmp_path, "ci")
    assert result.returncode == 1, result.stdout
    assert result.stdout.count("refusing to submit to a cluster that was not named") == 1, (
        result.stdout)
    assert calls and not [call for call in calls if call.split()[0] in ("sbatch", "srun")], calls
