"""MethodSettings: dataset defaults of the report's code, config overrides, validation."""

import json

import pytest

from langseg.methods import MethodSettings, SVDSolver
from langseg.params import DatasetKind


@pytest.mark.parametrize(("kind", "temperature", "background", "agggemw_norm", "minmax"), [
    (DatasetKind.VOC2012, 0.1, True, False, True),
    (DatasetKind.CONTEXT, 0.01, False, False, False),
    (DatasetKind.COCOSTUFF, 0.01, False, False, False),
    (DatasetKind.CITYSCAPES, 0.01, False, True, False),
])
def test_dataset_defaults_follow_the_code(kind, temperature, background, agggemw_norm, minmax):
    s = MethodSettings.for_dataset(kind)
    assert (s.temperature, s.voc_background) == (temperature, background)
    assert (s.agggemw_ca_norm, s.aggsd_minmax, s.aggsd_ca_norm) == (agggemw_norm, minmax, True)
    assert (s.background_offset, s.output_size) == (0.8, 320)
    assert (s.diffseg.grid, s.diffseg.kl_threshold, s.diffseg.iterations) == (16, 0.8, 3)
    assert s.diffseg.refine
    assert (s.specclust.n_vectors, s.specclust.n_clusters, s.specclust.seed) == (20, 20, 123)
    assert (s.specclust.solver, s.specclust.n_init) == (SVDSolver.TRUNCATED, 8)


def test_overrides_nested_enum_strings_and_null_defaults():
    s = MethodSettings.for_dataset("voc2012", {
        "temperature": None, "aggsd_minmax": False, "output_size": 64,
        "diffseg": {"kl_threshold": 1.1}, "specclust": {"solver": "full", "n_init": 1},
        "grabcut": {"unary": "agg", "pairwise_weight": 2.5}})
    assert s.temperature == 0.1  # null = dataset default
    assert not s.aggsd_minmax and s.output_size == 64
    assert s.diffseg.kl_threshold == 1.1 and s.diffseg.grid == 16  # other fields kept
    assert s.specclust.solver is SVDSolver.FULL and s.specclust.n_init == 1
    assert s.grabcut.unary.value == "agg" and s.grabcut.pairwise_weight == 2.5


@pytest.mark.parametrize(("overrides", "message"), [
    ({"temprature": 0.1}, "temprature"),
    ({"voc_background": False}, "voc_background"),  # not a config key
    ({"diffseg": {"gird": 3}}, "gird"),
    ({"diffseg": 3}, "diffseg"),
    ({"temperature": 0}, "temperature"),
    ({"temperature": "0.1"}, "temperature"),
    ({"background_offset": 1.5}, "background_offset"),
    ({"output_size": 320.0}, "output_size"),
    ({"agggemw_ca_norm": 1}, "agggemw_ca_norm"),
    ({"diffseg": {"iterations": 0}}, "diffseg.iterations"),
    ({"diffseg": {"grid": True}}, "diffseg.grid"),
    ({"specclust": {"solver": "lanczos"}}, "truncated, full"),
    ({"specclust": {"n_clusters": 1}}, "specclust.n_clusters"),
    ({"grabcut": {"min_class_prob": 2}}, "grabcut.min_class_prob"),
])
def test_bad_overrides_name_the_key(overrides, message):
    with pytest.raises(ValueError, match=message):
        MethodSettings.for_dataset("context", overrides)


def test_to_dict_is_plain_json():
    s = MethodSettings.for_dataset("cityscapes", {"specclust": {"solver": "full"}})
    d = json.loads(json.dumps(s.to_dict()))
    assert d["specclust"]["solver"] == "full" and d["grabcut"]["unary"] == "probabilities"
    assert d["temperature"] == 0.01 and d["agggemw_ca_norm"] is True
    overrides = {k: d[k] for k in ("temperature", "background_offset", "output_size",
                                   "agggemw_ca_norm", "aggsd_minmax", "diffseg", "specclust",
                                   "grabcut")}
    assert MethodSettings.for_dataset("cityscapes", overrides) == s  # round trip


def test_settings_are_frozen():
    s = MethodSettings.for_dataset("voc2012")
    with pytest.raises(AttributeError):
        s.temperature = 1.0  # type: ignore[misc]
