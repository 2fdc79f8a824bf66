"""Cache manifests: what a store was made with, and the comparison that keeps caches fresh.

A manifest is a JSON object in the store's root attributes: the caller's extraction parameters
and model identity, plus what the writer adds (image ids, array codecs, package versions).
:func:`manifest_differences` compares only the keys the reader *expects*, recursively; package
versions are recorded, never compared (an upgrade of torch does not invalidate a cache; delete
the cache yourself when a numerical change matters). Pure functions, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import metadata
from typing import Any

# distribution names whose versions every manifest records
VERSIONED_PACKAGES = ("torch", "diffusers", "open_clip_torch", "zarr", "numpy", "langseg")
RESERVED_KEYS = ("image_ids", "arrays", "versions", "skipped")


def package_versions() -> dict[str, str | None]:
    """Installed versions of :data:`VERSIONED_PACKAGES` (``None`` when not installed).

    Reads package metadata only; imports none of them.
    """
    versions: dict[str, str | None] = {}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def to_json(value: Any, what: str) -> Any:
    """``value`` as plain JSON data (tuples become lists, str Enums their values).

    Raises:
        ValueError: naming ``what`` when ``value`` is not JSON-serialisable.
    """
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be JSON data (dicts, lists, str, numbers, bool, None): "
                         f"{err}") from None


def manifest_differences(expected: Mapping, actual: Mapping, prefix: str = "") -> list[str]:
    """Where ``actual`` disagrees with ``expected``, comparing only the keys of ``expected``.

    Args:
        expected: JSON data the reader requires (nested mappings are compared key by key).
        actual: the manifest stored in the cache.

    Returns:
        One line per differing leaf, e.g. ``"extraction.timestep: cache has 100, config asks
        for 101"``; empty when everything expected matches.
    """
    lines = []
    for key, want in expected.items():
        path = f"{prefix}{key}"
        if key not in actual:
            lines.append(f"{path}: cache has no value, config asks for {_show(want)}")
        elif isinstance(want, Mapping) and isinstance(actual[key], Mapping):
            lines.extend(manifest_differences(want, actual[key], prefix=f"{path}."))
        elif not _same(actual[key], want):
            lines.append(f"{path}: cache has {_show(actual[key])}, config asks for {_show(want)}")
    return lines


def _same(a: Any, b: Any) -> bool:
    """JSON equality where booleans differ from numbers (``True != 1``) and ``1 == 1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."
