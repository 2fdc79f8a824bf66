"""MethodSettings: dataset defaults of the report's code, config overrides, validation."""

import json

import pytest

from langseg.methods import MethodSettings, SVDSolver
from langseg.methods.settings import DiffSegSettings, GrabCutSettings, SpecClustSettings
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


def _direct(**changes):
    values = {"temperature": 0.1, "voc_background": True, "agggemw_ca_norm": False,
              "aggsd_minmax": True, **changes}
    return MethodSettings(**values)


@pytest.mark.parametrize(("changes", "message"), [
    ({"temperature": 0.0}, "temperature must be a number > 0.0, got 0.0"),
    ({"voc_background": 1}, "voc_background must be true or false, got 1"),
    ({"background_offset": -0.5}, "background_offset must be a number >= 0.0 and <= 1.0, got"),
    ({"output_size": 0}, "output_size must be an integer >= 1, got 0"),
    ({"agggemw_ca_norm": "yes"}, "agggemw_ca_norm must be true or false"),
    ({"aggsd_ca_norm": 0}, "aggsd_ca_norm must be true or false"),
    ({"aggsd_minmax": None}, "aggsd_minmax must be true or false"),
    ({"diffseg": {"grid": 4}}, "diffseg must be a DiffSegSettings$"),
    ({"grabcut": GrabCutSettings}, "grabcut must be a GrabCutSettings$"),
])
def test_direct_construction_messages_start_with_the_field(changes, message):
    with pytest.raises(ValueError, match="^" + message):
        _direct(**changes)


def test_closed_bounds_are_accepted():
    # background_offset in [0, 1] (closed), output_size >= 1
    assert _direct(background_offset=0.0, output_size=1).output_size == 1
    assert _direct(background_offset=1.0).background_offset == 1.0


def test_grabcut_unary_must_be_the_enum():
    with pytest.raises(ValueError, match="^grabcut.unary must be one of probabilities, agg, "
                                         "got 'agg'$"):
        GrabCutSettings(unary="agg")


def test_unknown_nested_key_lists_the_allowed_ones():
    with pytest.raises(ValueError, match="allowed: grid, kl_threshold, iterations, refine$"):
        MethodSettings.for_dataset("context", {"diffseg": {"gird": 3}})


def test_to_dict_turns_enums_into_plain_strings():
    d = MethodSettings.for_dataset("context").to_dict()
    assert type(d["specclust"]["solver"]) is str and d["specclust"]["solver"] == "truncated"
    assert type(d["grabcut"]["unary"]) is str and d["grabcut"]["unary"] == "probabilities"


@pytest.mark.parametrize(("kind", "field", "value", "message"), [
    (DiffSegSettings, "grid", 1, "diffseg.grid must be an integer >= 2, got 1$"),
    (DiffSegSettings, "kl_threshold", 0.0, "diffseg.kl_threshold must be a number > 0.0, got"),
    (DiffSegSettings, "iterations", 0, "diffseg.iterations must be an integer >= 1, got 0$"),
    (DiffSegSettings, "refine", 1, "diffseg.refine must be true or false, got 1$"),
    (SpecClustSettings, "n_vectors", 0, "specclust.n_vectors must be an integer >= 1, got 0$"),
    (SpecClustSettings, "n_clusters", 1, "specclust.n_clusters must be an integer >= 2, got"),
    (SpecClustSettings, "seed", -1, "specclust.seed must be an integer >= 0, got -1$"),
    (SpecClustSettings, "solver", "full", "specclust.solver must be one of truncated, full, "),
    (SpecClustSettings, "n_init", 0, "specclust.n_init must be an integer >= 1, got 0$"),
    (GrabCutSettings, "pairwise_weight", -1.0, "grabcut.pairwise_weight must be a number >= 0.0,"),
    (GrabCutSettings, "min_class_prob", -0.1, "grabcut.min_class_prob must be a number >= 0.0 "),
    (GrabCutSettings, "probability_floor", 1.5,
     "grabcut.probability_floor must be a number > 0.0 and <= 1.0, got 1.5$"),
    (GrabCutSettings, "probability_floor", 0.0, "grabcut.probability_floor must be a number >"),
])
def test_nested_refusals_start_with_the_dotted_key(kind, field, value, message):
    with pytest.raises(ValueError, match="^" + message):
        kind(**{field: value})


@pytest.mark.parametrize(("kind", "values"), [
    (DiffSegSettings, {"grid": 2, "iterations": 1}),
    (SpecClustSettings, {"n_vectors": 1, "n_clusters": 2, "seed": 0}),
    (GrabCutSettings, {"pairwise_weight": 0.0, "min_class_prob": 0.0, "probability_floor": 1.0}),
])
def test_nested_lowest_allowed_values_are_accepted(kind, values):
    settings = kind(**values)
    assert {key: getattr(settings, key) for key in values} == values


def test_unknown_key_lists_every_overridable_key():
    with pytest.raises(ValueError, match="^unknown method_settings key 'temprature'; allowed: "
                                         "agggemw_ca_norm, aggsd_minmax, background_offset, "
                                         "diffseg, grabcut, output_size, specclust, temperature$"):
        MethodSettings.for_dataset("context", {"temprature": 0.1})
