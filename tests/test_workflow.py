"""The Snakemake workflow on the embedded demo: dry run, a real run, rerun semantics, killed jobs.

Each test works in a temporary copy of the workflow (Snakefile, config.yaml, workflow/) with a
reduced demo config, so the repository's own results/ are never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from snakemake_runs import job_counts, read_config, snakemake, write_config

REPO = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
ALL_METHODS = ["gem", "gemw", "agggem", "agggemw", "aggsd", "diffsegclust", "specclust",
               "gtclust", "grabcut"]


def make_workdir(path: Path, **overrides) -> Path:
    """Copy the workflow (and its profiles) into ``path`` with a reduced demo config (3 val images, 2 shards)."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "Snakefile", path / "Snakefile")
    for folder in ("workflow", "profiles"):
        shutil.copytree(REPO / folder, path / folder, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__"))
    with open(REPO / "config.yaml", encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config["datasets"]["demo"].update(splits=["val"], max_images=3)
    config["shard_size"] = 2
    config["report"]["figure3"].update(split="val", images=[0, 2])
    config.update(overrides)
    write_config(path, config)
    return path


def planned_jobs(workdir: Path, *args: str) -> dict[str, int]:
    """Rule -> job count of a dry run of ``tables``."""
    return job_counts(snakemake(workdir, "-n", *args, "tables"))


def test_dry_run_plans_the_whole_graph(tmp_path):
    workdir = make_workdir(tmp_path / "wf")
    jobs = planned_jobs(workdir)
    # 3 val images in shards of 2 -> 2 shards; 9 methods
    assert jobs == {"make_demo": 1, "index_dataset": 1, "prepare_gt": 2,
                    "extract_sd_attention": 2, "extract_sd_gt": 2, "extract_gem": 2,
                    "segment": 18, "evaluate": 9, "write_tables": 1, "plot_figures": 1,
                    "write_backend_tables": 1, "tables": 1}


def test_methods_without_sd_do_not_schedule_sd_extraction(tmp_path):
    workdir = make_workdir(tmp_path / "wf", methods=["gem", "gtclust"])
    jobs = planned_jobs(workdir)
    assert "extract_sd_attention" not in jobs and "extract_sd_gt" not in jobs
    assert jobs["extract_gem"] == 2 and jobs["segment"] == 4


def test_lint_is_clean():
    proc = snakemake(REPO, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Lints for" not in proc.stdout + proc.stderr


def test_backends_and_aggsd_zs_schedule_one_extraction_each(tmp_path):
    workdir = make_workdir(tmp_path, methods=["gem", "agggem", "aggsd", "aggsd-zs"],
                           backends=["gem", "sclip"])
    jobs = planned_jobs(workdir)
    assert jobs["extract_gem"] == jobs["extract_backend"] == jobs["extract_sd_attention"] == 2
    assert jobs["extract_sd_zs"] == 4  # per backend and shard; no GT-prompted pass reused
    assert jobs["evaluate"] == 7  # gem, agggem, aggsd-zs per backend, and aggsd once
    assert jobs["write_backend_tables"] == 1


def test_bad_config_fails_before_any_job(tmp_path):
    workdir = make_workdir(tmp_path / "wf")
    config = read_config(workdir)
    config["fidelity"] = "exact"
    write_config(workdir, config)
    proc = snakemake(workdir, "-n", "tables", check=False)
    assert proc.returncode != 0
    assert "fidelity: 'exact' is not allowed" in proc.stdout + proc.stderr
    assert not (workdir / "results").exists()


def planned_after_change(workdir: Path, change) -> dict[str, int]:
    """Dry-run job counts after ``change(config)`` edits a copy of the config (then restored)."""
    original = read_config(workdir)
    changed = yaml.safe_load(yaml.safe_dump(original))
    change(changed)
    write_config(workdir, changed)
    try:
        return planned_jobs(workdir)
    finally:
        write_config(workdir, original)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One real run of the reduced demo, shared by the tests that inspect or rerun it."""
    workdir = make_workdir(tmp_path_factory.mktemp("demo") / "wf")
    snakemake(workdir, "--cores", "2", "tables")
    return workdir


@pytest.mark.workflow
def test_demo_run_writes_tables_with_every_method(demo_run):
    summary = pd.read_csv(demo_run / "results/tables/summary.csv", comment="#")
    from langseg.params import Method
    from langseg.report.results import METHOD_LABELS

    assert sorted(summary["method"]) == sorted(METHOD_LABELS[Method(m)] for m in ALL_METHODS)
    assert set(summary["split"]) == {"val"} and set(summary["dataset"]) == {"demo"}
    assert summary["n_images"].eq(3).all()
    assert summary["mIoU"].between(0, 100).all()
    table4 = (demo_run / "results/tables/table4_benchmark.md").read_text()
    for name in ("GEM", "AggGEM", "DiffSegClust", "SpecClust", "AggSD"):
        assert name in table4
    assert "tiny" in table4 and "report" in table4  # provenance in the caption
    for figure in ("figure2_class_iou.png", "figure3_qualitative.png", "figure2_class_iou.pdf",
                   "figure3_qualitative.pdf"):
        assert (demo_run / "results/figures" / figure).stat().st_size > 1000
    assert r"\toprule" in (demo_run / "results/tables/table2_ablation.tex").read_text()


@pytest.mark.workflow
def test_demo_scores_are_recomputable_from_predictions(demo_run):
    """The table's mIoU equals a recomputation from the saved predictions and GT."""
    import json

    import numpy as np

    from langseg.metrics import confusion_matrix, segmentation_scores

    scores = json.loads((demo_run / "results/demo/val/eval/agggem.json").read_text())
    cm = np.zeros((21, 21), dtype=np.int64)
    for shard in ("000", "001"):
        gt = np.load(demo_run / f"results/demo/val/gt/{shard}.npz")["labels"]
        pred = np.load(demo_run / f"results/demo/val/pred/agggem/{shard}.npz")["labels"]
        for g, p in zip(gt, pred):
            cm += confusion_matrix(g, p, 21)
    assert np.array_equal(cm, np.asarray(scores["confusion_matrix"]))
    assert scores["miou"] == pytest.approx(segmentation_scores(cm)["miou"])


@pytest.mark.workflow
def test_second_run_does_nothing(demo_run):
    proc = snakemake(demo_run, "-n", "tables")
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.workflow
def test_method_setting_reruns_postprocessing_only(demo_run):
    def change(config):
        config["method_settings"]["diffseg"]["kl_threshold"] = 0.5

    jobs = planned_after_change(demo_run, change)
    assert jobs == {"segment": 2, "evaluate": 1, "write_tables": 1, "plot_figures": 1,
                    "write_backend_tables": 1, "tables": 1}


@pytest.mark.workflow
def test_adding_a_backend_extracts_only_that_backend(demo_run):
    jobs = planned_after_change(demo_run, lambda config: config.update(backends=["gem",
                                                                              "naclip"]))
    extractions = {rule: n for rule, n in jobs.items() if rule.startswith("extract")}
    assert extractions == {"extract_backend": 2}  # naclip's two shards; SD caches reused
    clip_methods = [m for m in ALL_METHODS if m != "aggsd"]
    assert jobs["segment"] == 2 * len(clip_methods)
    assert jobs["evaluate"] == len(clip_methods)


@pytest.mark.workflow
def test_temperature_reruns_every_clip_method_but_no_extraction(demo_run):
    def change(config):
        config["method_settings"]["temperature"] = 0.05

    jobs = planned_after_change(demo_run, change)
    assert not any(rule.startswith("extract") for rule in jobs)
    assert jobs["segment"] == 2 * 8  # every method but AggSD reads the temperature


@pytest.mark.workflow
def test_timestep_reruns_its_extraction(demo_run):
    def change(config):
        config["extraction"]["sd"]["sa_timestep"] = 200

    jobs = planned_after_change(demo_run, change)
    assert jobs["extract_sd_attention"] == 2
    assert "extract_gem" not in jobs and "extract_sd_gt" not in jobs


@pytest.mark.workflow
def test_killed_extraction_is_never_mistaken_for_done(tmp_path):
    from langseg.cache import CacheError, open_store

    workdir = make_workdir(tmp_path / "wf", methods=["agggem"])
    store = workdir / "results/cache/demo/val/sd_sa/000.zarr"
    proc = subprocess.Popen([*SNAKEMAKE, "--cores", "1", str(store.relative_to(workdir))],
                            cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 300
        while not any(store.glob("sa*")) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "extraction finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    with pytest.raises(CacheError, match="incomplete"):
        open_store(store, expected={})
    blocked = snakemake(workdir, "-n", "tables", check=False)
    assert blocked.returncode != 0 and "incomplete" in (blocked.stdout + blocked.stderr).lower()
    snakemake(workdir, "--cores", "2", "--unlock")
    snakemake(workdir, "--cores", "2", "--rerun-incomplete", "tables")
    assert open_store(store, expected={}).image_ids


@pytest.mark.workflow
def test_reordered_config_keys_rerun_nothing(demo_run):
    original = read_config(demo_run)
    with open(demo_run / "config.yaml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(original, handle, sort_keys=True)  # same values, other key order
    try:
        proc = snakemake(demo_run, "-n", "tables")
    finally:
        write_config(demo_run, original)
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.workflow
def test_html_report_holds_tables_and_figures_with_captions(demo_run):
    snakemake(demo_run, "--report", "results/report.html")
    html = (demo_run / "results/report.html").read_text(encoding="utf-8")
    for name in ("table2_ablation.csv", "table3_multilabel.csv", "table4_benchmark.csv",
                 "summary.csv", "class_iou_demo_val.csv", "figure2_class_iou.png",
                 "figure3_qualitative.png", "figure2_class_iou.pdf", "figure3_qualitative.pdf",
                 "table2_ablation.md", "table2_ablation.tex", "class_iou_demo_val.md",
                 "class_iou_demo_val.tex"):
        assert name in html, name
    assert "Table 2 of the report" in html and "Figure 3 of the report" in html
    assert '<tt class=\\"docutils literal\\">tiny</tt> models in' in html  # captions name models


@pytest.mark.workflow
def test_corrupt_image_fails_by_default_and_is_skipped_and_counted_on_request(tmp_path):
    workdir = make_workdir(tmp_path / "wf", methods=["gem"])
    snakemake(workdir, "--cores", "1", "resources/demo/VOC2012")
    image = workdir / "resources/demo/VOC2012/JPEGImages/demo_007.jpg"
    image.write_bytes(image.read_bytes()[:2000])  # a truncated download
    failed = snakemake(workdir, "--cores", "2", "tables", check=False)
    assert failed.returncode != 0
    log = (workdir / "logs/prepare_gt/demo/val/000.log").read_text()
    assert "demo_007.jpg" in log and "truncated" in log
    config = read_config(workdir)
    config["datasets"]["demo"]["on_error"] = "skip"
    write_config(workdir, config)
    snakemake(workdir, "--cores", "2", "tables")
    summary = pd.read_csv(workdir / "results/tables/summary.csv", comment="#")
    assert summary["n_images"].tolist() == [2] and summary["n_skipped"].tolist() == [1]
    assert "1 skipped" in (workdir / "results/tables/table4_benchmark.md").read_text()
