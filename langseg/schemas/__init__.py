"""The workflow configuration's JSON schema, shipped inside the package (package data).

``config.schema.yaml`` is the one home of every workflow default (extraction, GEM, sharding,
models); modules that need one of these defaults outside a config read it with
:func:`schema_default`, so the schema and the code cannot disagree. It is found next to this
file, so validation also works from a non-editable ``pip install .``.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent / "config.schema.yaml"


@functools.cache
def _schema() -> dict:
    import yaml

    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_schema() -> dict:
    """A fresh copy of the packaged schema (callers may modify it)."""
    return copy.deepcopy(_schema())


def schema_default(*keys: str) -> Any:
    """The ``default`` of the config key ``keys`` (e.g. ``"extraction", "sd", "sa_timestep"``).

    Raises:
        KeyError: naming the dotted key when the schema has no such property or no default.
    """
    node = _schema()
    for key in keys:
        try:
            node = node["properties"][key]
        except KeyError:
            raise KeyError(f"the config schema has no key {'.'.join(keys)!r}") from None
    if "default" not in node:
        raise KeyError(f"the config schema gives no default for {'.'.join(keys)!r}")
    return copy.deepcopy(node["default"])
