"""What reruns after what change, on a `preset: real` run of exported tiny weights.

One small run (3 VOC-layout images in shards of 2; GEM and AggGEM; shard 000 only) in a temporary
workdir holding its own copy of the ``langseg`` package (so the tests may edit its code), then
dry runs after each change: weights replaced in place, dataset files overwritten, the SA codec,
``mask_size``/``on_error``, and edits of method and extraction code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from snakemake_runs import job_counts, write_config
from snakemake_runs import snakemake as run_snakemake

REPO = Path(__file__).resolve().parent.parent
TARGET = "results/voc/val/pred/agggem/000.npz"
CONFIG = {
    "experiment": "provenance-test",
    "models": {"preset": "real", "sd_path": "weights", "sd_config": None,
               "clip_path": "weights/open_clip", "device": "cpu", "batch_size": 2},
    "datasets": {"voc": {"kind": "voc2012", "root": "data/VOC2012", "splits": ["val"],
                         "max_images": 3}},
    "shard_size": 2,
    "methods": ["gem", "agggem"],
    "report": {"figure3": {"dataset": "voc", "split": "val", "images": [0]}},
}

pytestmark = pytest.mark.workflow


def snakemake(workdir: Path, *args: str, check: bool = True):
    """Snakemake in ``workdir`` with langseg imported from the copy there."""
    return run_snakemake(workdir, *args, check=check, pythonpath=workdir)


def planned(workdir: Path, target: str = TARGET) -> dict[str, int]:
    """Rule -> job count of a dry run of ``target`` ({} when nothing is to be done)."""
    return job_counts(snakemake(workdir, "-n", target))


def export(workdir: Path, seed: int) -> None:
    env = dict(os.environ, PYTHONPATH=str(workdir))
    subprocess.run([sys.executable, "-m", "langseg", "export-preset", "tiny", "weights",
                    "--seed", str(seed)], cwd=workdir, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from langseg.data import write_demo_dataset

    workdir = tmp_path_factory.mktemp("prov") / "wf"
    workdir.mkdir()
    shutil.copy(REPO / "Snakefile", workdir / "Snakefile")
    for folder in ("workflow", "langseg"):
        shutil.copytree(REPO / folder, workdir / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    write_demo_dataset(workdir / "data")  # a real (not generated-by-a-rule) VOC layout
    export(workdir, seed=0)
    write_config(workdir, CONFIG)
    snakemake(workdir, "--cores", "2", TARGET)
    assert planned(workdir) == {}
    return workdir


def changed(workdir: Path, edit) -> dict[str, int]:
    """Dry-run job counts after ``edit(config)``; the config is restored afterwards."""
    config = yaml.safe_load(yaml.safe_dump(CONFIG))
    edit(config)
    write_config(workdir, config)
    try:
        return planned(workdir)
    finally:
        write_config(workdir, CONFIG)


def test_mask_size_and_on_error_rerun_no_gem_or_sa_extraction(run):
    def mask_size(config):
        config["mask_size"] = 160

    def on_error(config):
        config["datasets"]["voc"]["on_error"] = "skip"

    for edit in (mask_size, on_error):
        jobs = changed(run, edit)
        assert jobs.get("prepare_gt") == 1 and jobs.get("segment") == 1, jobs
        assert "extract_gem" not in jobs and "extract_sd_attention" not in jobs, jobs


def test_sa_codec_reruns_the_sa_extraction_only(run):
    def codec(config):
        config["cache"] = {"sa_codec": "fp16-zstd"}

    jobs = changed(run, codec)
    assert jobs == {"extract_sd_attention": 1, "segment": 1}


def test_method_code_edit_reruns_segment_never_extraction(run):
    module = run / "langseg/methods/aggregation.py"
    original = module.read_text()
    try:
        module.write_text(original + "\n# a comment changes nothing\n")
        assert planned(run) == {}
        module.write_text(original + "\n\ndef _new_helper():\n    return 1\n")
        assert planned(run) == {"segment": 1}
    finally:
        module.write_text(original)


def test_extraction_code_edit_reruns_extraction(run):
    module = run / "langseg/models/gem.py"
    original = module.read_text()
    try:
        module.write_text(original + "\n\ndef _new_helper():\n    return 1\n")
        jobs = planned(run)
        assert jobs["extract_gem"] == 1 and jobs["extract_sd_attention"] == 1, jobs
    finally:
        module.write_text(original)


def test_overwritten_dataset_files_rerun_what_reads_them(run):
    from PIL import Image

    first = (run / "results/voc/val/index.tsv").read_text().split("\n")[1].split("\t")
    assert first[3] == "000", first  # image 0 of the split, in shard 000
    image, mask = run / first[1], run / first[2]
    saved = {path: (path.read_bytes(), path.stat()) for path in (image, mask)}
    try:
        Image.open(image).transpose(Image.FLIP_LEFT_RIGHT).save(image)  # a re-download
        jobs = planned(run)
        assert jobs["extract_gem"] == 1 and jobs["extract_sd_attention"] == 1, jobs
        image.write_bytes(saved[image][0])
        os.utime(image, ns=(saved[image][1].st_atime_ns, saved[image][1].st_mtime_ns))
        assert planned(run) == {}
        fixed = Image.open(mask)
        fixed.putpixel((0, 0), 1 if fixed.getpixel((0, 0)) != 1 else 2)
        fixed.save(mask)  # a fixed annotation
        jobs = planned(run)
        assert jobs.get("prepare_gt") == 1 and "extract_gem" not in jobs, jobs
    finally:
        for path, (data, stat) in saved.items():
            path.write_bytes(data)
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_weights_replaced_in_place_rerun_extraction_and_the_old_store_is_refused(run):
    """Last: it overwrites the weights (seed 1) under the same paths."""
    from langseg.cache import CacheError, open_store
    from langseg.config import validate_config
    from langseg.workflow_plan import WorkflowPlan

    export(run, seed=1)
    jobs = planned(run)
    assert jobs["extract_gem"] == 1 and jobs["extract_sd_attention"] == 1, jobs
    cwd = Path.cwd()
    os.chdir(run)  # the config's paths are relative to the workdir
    try:
        plan = WorkflowPlan.from_config(validate_config(yaml.safe_load(yaml.safe_dump(CONFIG))))
        for source in ("gem", "sd_sa"):
            expected = {"extraction": plan.extraction_params("voc", source, "val", "000")}
            with pytest.raises(CacheError, match=r"stale cache store .*models\.weights"):
                open_store(f"results/cache/voc/val/{source}/000.zarr", expected=expected)
    finally:
        os.chdir(cwd)
