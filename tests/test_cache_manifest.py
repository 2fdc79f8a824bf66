"""langseg.cache.manifest: the exact difference lines, JSON equality rules, recorded versions.

Pure functions, no store: the expected lines are written out by hand from the documented format
``"<dotted key>: cache has <json>, config asks for <json>"`` (values longer than 80 characters
of JSON are cut to 77 and end with ``...``).
"""

from __future__ import annotations

import math

import pytest

from langseg.cache import manifest
from langseg.cache.manifest import manifest_differences, package_versions, to_json


def test_top_level_and_nested_lines_exactly():
    assert manifest_differences({"a": 1}, {"a": 2}) == ["a: cache has 2, config asks for 1"]
    assert manifest_differences({"e": {"t": 1, "u": 2}}, {"e": {"t": 1}}) == [
        "e.u: cache has no value, config asks for 2"]
    assert manifest_differences({"a": 1}, {"a": 1, "b": 2}) == []


def test_a_mapping_against_a_scalar_is_one_difference():
    assert manifest_differences({"a": 1}, {"a": {"b": 1}}) == [
        'a: cache has {"b": 1}, config asks for 1']
    assert manifest_differences({"a": {"b": 1}}, {"a": 3}) == [
        'a: cache has 3, config asks for {"b": 1}']


def test_booleans_equal_only_booleans():
    assert manifest_differences({"a": True, "b": False}, {"a": True, "b": False}) == []
    assert manifest_differences({"a": True}, {"a": 1}) == ["a: cache has 1, config asks for true"]
    assert manifest_differences({"a": 0}, {"a": False}) == [
        "a: cache has false, config asks for 0"]
    assert manifest_differences({"a": 1.0}, {"a": 1}) == []


def test_lists_compare_element_by_element():
    assert manifest_differences({"a": [1, 2]}, {"a": [1, 2]}) == []
    assert manifest_differences({"a": [1, 2]}, {"a": [1, 3]}) == [
        "a: cache has [1, 3], config asks for [1, 2]"]
    assert manifest_differences({"a": [1, 2]}, {"a": [1, 2, 3]}) != []
    assert manifest_differences({"a": ["a", "b"]}, {"a": "ab"}) == [
        'a: cache has "ab", config asks for ["a", "b"]']
    assert manifest_differences({"a": [True]}, {"a": [1]}) != []


def test_mappings_inside_lists_compare_keys_and_values():
    assert manifest_differences({"a": [{"x": 1, "y": [2]}]}, {"a": [{"x": 1, "y": [2]}]}) == []
    assert manifest_differences({"a": [{"x": 1}]}, {"a": [{"x": 1, "y": 2}]}) != []
    assert manifest_differences({"a": [{"x": 1}]}, {"a": [{"x": 2}]}) != []
    assert manifest_differences({"a": [{"x": 1}]}, {"a": ["x"]}) == [
        'a: cache has ["x"], config asks for [{"x": 1}]']


def test_long_values_are_cut_at_80_characters():
    exact = "s" * 78  # json.dumps adds two quotes: 80 characters, shown whole
    assert manifest_differences({"a": exact}, {"a": 1}) == [
        f'a: cache has 1, config asks for "{exact}"']
    longer = "s" * 79  # 81 characters: the first 77 (a quote and 76 s), then "..."
    assert manifest_differences({"a": longer}, {"a": 1}) == [
        "a: cache has 1, config asks for \"" + "s" * 76 + "..."]


def test_to_json_refuses_nan_and_objects_naming_what():
    assert to_json({"t": (1, 2)}, "expected") == {"t": [1, 2]}
    with pytest.raises(ValueError, match="^expected must be JSON data"):
        to_json({"x": math.nan}, "expected")
    with pytest.raises(ValueError, match="^manifest must be JSON data"):
        to_json({"x": object()}, "manifest")


def test_versions_of_packages_not_installed_are_none(monkeypatch):
    monkeypatch.setattr(manifest, "VERSIONED_PACKAGES", ("numpy", "langseg-no-such-package"))
    versions = package_versions()
    assert versions["langseg-no-such-package"] is None
    assert isinstance(versions["numpy"], str) and versions["numpy"]
