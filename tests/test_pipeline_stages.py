"""The workflow's stage functions (langseg.pipeline.*) on a tiny store, without Snakemake.

Index -> ground truth -> extraction (tiny random models, CPU) -> segment -> evaluate -> tables,
with the params the workflow would pass (built by WorkflowPlan from a validated config), plus
each stage's refusals: a cache whose manifest or image list does not match, predictions of other
images. Expected numbers are recomputed here from the files (plain loops) or by hand.
"""

from __future__ import annotations

import copy
import json
import logging
import re

import naive_reference as ref
import numpy as np
import pytest

from langseg.cache import CacheError, open_store
from langseg.config import validate_config
from langseg.data import read_index, write_demo_dataset
from langseg.params import Device, Method
from langseg.pipeline.evaluate import evaluate_method
from langseg.pipeline.extract import RuntimeOptions, extract_shard, gt_class_ids, pad_gt_attention
from langseg.pipeline.report import figure2_selection, write_all_tables
from langseg.pipeline.segment import image_inputs, segment_shard
from langseg.pipeline.stages import index_split, load_gt, prepare_gt_shard
from langseg.workflow_plan import WorkflowPlan

LOG = logging.getLogger("test_pipeline_stages")
METHODS = ["gem", "agggem", "aggsd"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One shard of 2 demo images through index, GT and the three extractions."""
    base = tmp_path_factory.mktemp("pipeline")
    write_demo_dataset(base / "demo")
    config = {"datasets": {"demo": {"kind": "voc2012", "root": str(base / "demo" / "VOC2012"),
                                    "demo": False, "splits": ["train"], "max_images": 2}},
              "shard_size": 2, "mask_size": 32, "methods": METHODS,
              "models": {"device": "cpu"}}
    validate_config(config)
    plan = WorkflowPlan.from_config(config)
    paths = {"index": base / "index.tsv", "gt": base / "gt_000.npz"}
    assert index_split(plan.index_params("demo", "train"), paths["index"]) == 2
    prepare_gt_shard(paths["index"], "000", plan.gt_params("demo"), paths["gt"], LOG)
    runtime = RuntimeOptions(device=Device.CPU, batch_size=2, threads=1)
    for source in ("gem", "sd_sa", "sd_gt"):
        paths[source] = base / f"{source}_000.zarr"
        extract_shard(params=plan.extraction_params("demo", source), index_path=paths["index"],
                      shard="000", gt_path=paths["gt"] if source == "sd_gt" else None,
                      store_path=paths[source], runtime=runtime, log=LOG)
    return base, plan, paths


def _segment(run, method: str, params=None, gt=None):
    base, plan, paths = run
    params = plan.segment_params("demo", method) if params is None else params
    caches = {source: str(paths[source]) for source in params["expected"]}
    out = base / f"pred_{method}.npz"
    segment_shard(params=params, caches=caches, gt_path=gt or paths["gt"], out_path=out,
                  log=LOG)
    return out


def test_index_and_ground_truth_of_the_shard(run):
    _, _, paths = run
    rows = read_index(paths["index"])
    assert [name for _, name in rows] == ["000", "000"]
    ids, labels, skipped = load_gt(paths["gt"])
    assert ids == [sample.image_id for sample, _ in rows] and skipped == []
    assert labels.shape == (2, 32, 32) and labels.dtype == np.int16
    assert labels.min() >= -1 and labels.max() < 21


def test_extraction_stores_hold_the_params_and_the_shapes(run):
    _, plan, paths = run
    ids, labels, _ = load_gt(paths["gt"])
    for source in ("gem", "sd_sa", "sd_gt"):
        reader = open_store(paths[source],
                            expected={"extraction": plan.extraction_params("demo", source)})
        assert list(reader.image_ids) == ids
    gem = open_store(paths["gem"], expected={})
    assert gem.read("cosines", 0).shape[0] == 20  # VOC prompts: 20 classes, no background
    sa = open_store(paths["sd_sa"], expected={}).read_sa(1)
    np.testing.assert_allclose(sa.sum(axis=1), 1.0, atol=1e-5)
    sd_gt = open_store(paths["sd_gt"], expected={})
    for i, label in enumerate(labels):
        want = gt_class_ids(label, background=True)
        stored = sd_gt.read("class_ids", i)
        assert [int(c) for c in stored if c >= 0] == want
        assert np.all(stored[len(want):] == -1)


def test_more_writer_threads_and_loaders_store_the_same_bytes(run, tmp_path, caplog):
    base, plan, paths = run
    runtime = RuntimeOptions(device=Device.CPU, batch_size=2, threads=1, loaders=3)
    caplog.set_level(logging.INFO, logger=LOG.name)
    extract_shard(params=plan.extraction_params("demo", "sd_sa"), index_path=paths["index"],
                  shard="000", gt_path=None, store_path=tmp_path / "sd_sa.zarr", runtime=runtime,
                  log=LOG)

    def files(root):
        return {str(f.relative_to(root)): f.read_bytes() for f in root.rglob("*") if f.is_file()}

    reference = files(paths["sd_sa"])
    assert len(reference) > 4 and files(tmp_path / "sd_sa.zarr") == reference
    summary = caplog.records[-1].getMessage()  # where the job's time went
    assert summary.startswith("extract sd_sa sd_sa: 2 images in ")
    assert re.search(r" loading=\d+\.\d\ds waited_images=\d+\.\d\ds computing=\d+\.\d\ds "
                     r"waited_writer=\d+\.\d\ds closing=\d+\.\d\ds$", summary), summary


def test_sd_gt_timestep_follows_the_fidelity(run):
    _, plan, _ = run
    assert plan.extraction_params("demo", "sd_gt")["timestep"] == 101  # report fidelity
    assert plan.extraction_params("demo", "sd_sa")["timestep"] == 100
    config = copy.deepcopy(plan.config)
    config["fidelity"] = "corrected"
    corrected = WorkflowPlan.from_config(config)
    assert corrected.extraction_params("demo", "sd_gt")["timestep"] == 100


@pytest.mark.parametrize("method", METHODS)
def test_segment_writes_the_labels_of_segment_image(run, method):
    from langseg.methods import MethodSettings, segment_image
    from langseg.params import DatasetKind

    _, plan, paths = run
    params = plan.segment_params("demo", method)
    out = _segment(run, method)
    ids, labels, _ = load_gt(paths["gt"])
    with np.load(out) as data:
        assert [str(i) for i in data["image_ids"]] == ids
        preds = data["labels"]
    assert preds.shape == (2, 32, 32) and preds.dtype == np.int16
    readers = {source: open_store(paths[source], expected={}) for source in params["expected"]}
    settings = MethodSettings.for_dataset(DatasetKind.VOC2012, {"output_size": 32})
    for i in range(2):
        want = segment_image(Method(method), image_inputs(readers, ids[i], labels[i]), settings)
        np.testing.assert_array_equal(preds[i], want)


def test_segment_reads_sd_gt_through_the_padding_check(run):
    _, _, paths = run
    reader = open_store(paths["sd_gt"], expected={})
    first = reader.image_ids[0]
    inputs = image_inputs({"sd_gt": reader}, first, np.zeros((32, 32), np.int16))
    stored = reader.read("class_ids", 0)
    k = int((stored >= 0).sum())
    assert inputs.sd_gt.agg.shape[1] == k + 1
    assert inputs.sd_gt.class_ids.tolist() == stored[:k].tolist()

    class Misordered:  # padding before an id: the cache is corrupt, not silently truncated
        def index_of(self, image_id):
            return reader.index_of(image_id)

        def read(self, name, index):
            if name == "class_ids":
                return np.array([-1, 5], dtype=np.int16)
            return reader.read(name, index)

    with pytest.raises(ValueError, match="padding"):
        image_inputs({"sd_gt": Misordered()}, first, np.zeros((32, 32), np.int16))


@pytest.mark.parametrize(("source", "key", "value"), [
    ("sd_sa", "timestep", 99), ("gem", "depth", 5), ("sd_gt", "fidelity", "corrected")])
def test_segment_refuses_a_cache_made_with_other_params(run, source, key, value):
    _, plan, _ = run
    method = {"sd_sa": "agggem", "gem": "gem", "sd_gt": "aggsd"}[source]
    params = copy.deepcopy(plan.segment_params("demo", method))
    params["expected"][source][key] = value
    with pytest.raises(CacheError, match=key):
        _segment(run, method, params)


def test_segment_refuses_a_cache_of_other_images(run, tmp_path):
    _, _, paths = run
    ids, labels, skipped = load_gt(paths["gt"])
    other = tmp_path / "gt.npz"
    unknown = [ids[0], "not_in_the_store"]  # stores are read by image id, so order is free
    np.savez_compressed(other, image_ids=np.asarray(unknown, dtype=str), labels=labels,
                        skipped_ids=np.asarray(skipped, dtype=str),
                        skipped_reasons=np.asarray([], dtype=str))
    with pytest.raises(CacheError, match="does not hold image 'not_in_the_store'"):
        _segment(run, "gem", gt=other)


def test_evaluate_scores_the_predictions_by_hand(run, tmp_path):
    base, plan, paths = run
    pred_path = _segment(run, "gem")
    params = plan.evaluate_params("demo", "train", "gem")
    out = tmp_path / "gem.json"
    result = evaluate_method(params=params, gt_paths=[str(paths["gt"])],
                             pred_paths=[str(pred_path)], out_path=out, log=LOG)
    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    _, gts, _ = load_gt(paths["gt"])
    with np.load(pred_path) as data:
        preds = data["labels"]
    cm = sum(ref.confusion(g, p, 21) for g, p in zip(gts, preds, strict=True))
    assert result["confusion_matrix"] == cm.tolist()
    want = ref.scores(cm)
    assert result["miou"] == pytest.approx(want["miou"], abs=1e-12)
    assert result["pixel_acc"] == pytest.approx(want["pixel_acc"], abs=1e-12)
    assert result["n_images"] == 2 and result["n_skipped"] == 0
    assert (result["dataset"], result["split"], result["method"]) == ("demo", "train", "gem")
    assert result["provenance"]["preset"] == "tiny"


def test_evaluate_refuses_predictions_of_other_images(run, tmp_path):
    _, plan, paths = run
    ids, labels, _ = load_gt(paths["gt"])
    pred = tmp_path / "pred.npz"
    np.savez_compressed(pred, image_ids=np.asarray(ids[::-1], dtype=str),
                        labels=np.zeros_like(labels))
    with pytest.raises(ValueError, match="rerun the segment rule"):
        evaluate_method(params=plan.evaluate_params("demo", "train", "gem"),
                        gt_paths=[str(paths["gt"])], pred_paths=[str(pred)],
                        out_path=tmp_path / "x.json", log=LOG)


def test_report_tables_from_the_evaluations(run, tmp_path):
    _, plan, paths = run
    scores = []
    for method in METHODS:
        out = tmp_path / f"{method}.json"
        evaluate_method(params=plan.evaluate_params("demo", "train", method),
                        gt_paths=[str(paths["gt"])], pred_paths=[str(_segment(run, method))],
                        out_path=out, log=LOG)
        scores.append(str(out))
    written = write_all_tables(score_paths=scores, out_dir=tmp_path / "tables",
                               params=plan.report_params(), log=LOG)
    assert written and all(path.exists() and path.stat().st_size > 0 for path in written)
    miou = {m: json.loads((tmp_path / f"{m}.json").read_text())["miou"] for m in METHODS}
    csvs = "\n".join(p.read_text() for p in written if p.suffix == ".csv")
    for method, value in miou.items():  # every method's mIoU (in %) appears in a table
        assert f"{100 * value:.1f}" in csvs, method


def test_figure2_prefers_a_voc_train_split():
    results = [{"kind": "context", "split": "train", "dataset": "ctx"},
               {"kind": "voc2012", "split": "val", "dataset": "voc"},
               {"kind": "voc2012", "split": "train", "dataset": "voc"}]
    assert figure2_selection(results) == ("voc", "train")
    assert figure2_selection(results[:2]) == ("voc", "val")
    with pytest.raises(ValueError, match="no evaluation results"):
        figure2_selection([])


def test_pad_gt_attention_by_hand():
    agg = np.arange(6, dtype=np.float32).reshape(2, 3)  # N = 2, 1 + K = 3
    padded, sums, ids = pad_gt_attention(agg, np.array([1, 2, 3], np.float32), [4, 9], 3)
    assert padded.tolist() == [[0, 1, 2, 0], [3, 4, 5, 0]]
    assert sums.tolist() == [1, 2, 3, 0] and ids.tolist() == [4, 9, -1]
    with pytest.raises(ValueError, match="columns"):
        pad_gt_attention(agg, np.zeros(3, np.float32), [4], 3)
