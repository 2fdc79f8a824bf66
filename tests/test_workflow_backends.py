"""Backends in the workflow plan and config: runs, cache paths, params, and the dry run."""

import pytest

from langseg.config import ConfigError, validate_config
from langseg.params import Method
from langseg.provenance import EXTRACTION_CODE, code_digest
from langseg.workflow_plan import WorkflowPlan, parse_run, run_name


def make_plan(**overrides):
    config = {"datasets": {"demo": {"kind": "voc2012", "root": "resources/demo/VOC2012",
                                    "demo": True, "splits": ["val"]}}, "shard_size": 6}
    config.update(overrides)
    validate_config(config)
    return WorkflowPlan.from_config(config)


def test_run_names_keep_the_report_paths_for_gem():
    assert run_name(Method.AGGGEM) == "agggem"
    assert run_name(Method.AGGGEM, "sclip") == "sclip/agggem"
    assert run_name(Method.AGGSD, "sclip") == "aggsd"  # reads no backend: one run
    assert run_name(Method.AGGSD_ZS, "naclip") == "naclip/aggsd-zs"
    for method in Method:
        for backend in ("gem", "sclip"):
            got_method, got_backend = parse_run(run_name(method, backend))
            assert got_method is method
            assert got_backend == (backend if method.uses_backend else "gem")


def test_runs_cross_methods_and_backends():
    plan = make_plan(methods=["gem", "agggem", "aggsd", "aggsd-zs"], backends=["gem", "sclip"])
    assert plan.runs() == ["gem", "agggem", "aggsd", "aggsd-zs", "sclip/gem", "sclip/agggem",
                           "sclip/aggsd-zs"]
    assert plan.all_evaluations() == [f"results/demo/val/eval/{m}.json"
                                      for m in ("gem", "agggem", "aggsd", "aggsd-zs")]
    assert len(plan.backend_evaluations()) == 7


def test_gem_params_and_paths_are_unchanged_by_backends():
    plain, both = make_plan(), make_plan(backends=["gem", "naclip"])
    for run in ("gem", "agggem", "aggsd"):
        assert both.segment_params("demo", run) == plain.segment_params("demo", run)
        assert both.segment_caches("demo", "val", run, "000") == \
            plain.segment_caches("demo", "val", run, "000")
        assert both.evaluate_params("demo", "val", run) == plain.evaluate_params("demo", "val",
                                                                                 run)
    assert plain.segment_caches("demo", "val", "agggem", "000") == {
        "gem": "results/cache/demo/val/gem/000.zarr",
        "sd_sa": "results/cache/demo/val/sd_sa/000.zarr"}


def test_backend_runs_read_their_own_cache_and_share_the_sd_caches():
    plan = make_plan(backends=["gem", "naclip"],
                     extraction={"backends": {"naclip": {"gaussian_std": 3.0}}})
    caches = plan.segment_caches("demo", "val", "naclip/agggem", "000")
    assert caches == {"naclip": "results/cache/demo/val/naclip/000.zarr",
                      "sd_sa": "results/cache/demo/val/sd_sa/000.zarr"}
    params = plan.segment_params("demo", "naclip/agggem")
    assert params["backend"] == "naclip" and params["method"] == "agggem"
    assert params["expected"]["naclip"] == {
        "code": code_digest(EXTRACTION_CODE), "gaussian_std": 3.0, "kind": "voc2012",
        "models": plan.clip_models, "resolution": 448, "source": "naclip"}
    assert params["expected"]["sd_sa"] == plan.extraction_params("demo", "sd_sa")
    assert plan.evaluate_params("demo", "val", "naclip/agggem")["backend"] == "naclip"


def test_aggsd_zs_reads_the_sd_pass_prompted_by_its_backend():
    plan = make_plan(methods=["aggsd-zs"], backends=["sclip"])
    assert plan.segment_caches("demo", "val", "sclip/aggsd-zs", "000") == {
        "sd_zs": "results/cache/demo/val/sd_zs/sclip/000.zarr"}
    zs = plan.extraction_params("demo", "sd_zs", backend="sclip")
    gt = plan.extraction_params("demo", "sd_gt")
    assert {k: v for k, v in zs.items() if k not in ("backend", "classes", "method_settings",
                                                     "source")} == \
        {k: v for k, v in gt.items() if k != "source"}
    assert zs["backend"] == plan.extraction_params("demo", "sclip")
    assert zs["classes"] == {"max_classes": 8, "min_area": 0.05}


def test_config_refuses_unknown_backends_and_settings():
    with pytest.raises(ConfigError, match="backends: 'nope' is not a backend; available: "
                                          "clearclip, gem, maskclip, naclip, sclip"):
        make_plan(backends=["nope"])
    with pytest.raises(ConfigError, match="extraction.backends.sclip: .*no setting"):
        make_plan(extraction={"backends": {"sclip": {"depth": 3}}})
    with pytest.raises(ConfigError, match="extraction.backends.gem: set gem's settings"):
        make_plan(extraction={"backends": {"gem": {"depth": 3}}})


def test_evaluation_json_names_its_backend(tmp_path):
    import json
    import logging

    import numpy as np

    from langseg.pipeline.evaluate import evaluate_method

    labels = np.zeros((1, 4, 4), np.int16)
    labels[0, :2] = 1
    np.savez(tmp_path / "gt.npz", image_ids=np.asarray(["a"]), labels=labels,
             skipped_ids=np.asarray([], dtype=str), skipped_reasons=np.asarray([], dtype=str))
    np.savez(tmp_path / "pred.npz", image_ids=np.asarray(["a"]), labels=labels)
    plan = make_plan(backends=["gem", "sclip"])
    for run, backend in (("sclip/agggem", "sclip"), ("agggem", None)):
        out = tmp_path / "eval.json"
        evaluate_method(params=plan.evaluate_params("demo", "val", run),
                        gt_paths=[str(tmp_path / "gt.npz")],
                        pred_paths=[str(tmp_path / "pred.npz")], out_path=out,
                        log=logging.getLogger("test"))
        result = json.loads(out.read_text(encoding="utf-8"))
        assert result["method"] == "agggem" and result.get("backend") == backend
