"""Validation of the workflow configuration (``config.yaml``) against its JSON schema.

The schema (``langseg/schemas/config.schema.yaml``, shipped with the package) is the one place
where workflow defaults live; :func:`validate_config` fills them in and turns schema violations
into messages that name the key and say what is allowed. Method hyperparameters
(``method_settings``) have their defaults and their checks in
:class:`langseg.methods.MethodSettings` (they depend on the dataset), which validates them here.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

from langseg.params import DatasetKind, Method
from langseg.workflow_paths import demo_root as demo_root_of

from langseg.schemas import SCHEMA_PATH


class ConfigError(ValueError):
    """The configuration does not follow the schema or is inconsistent."""


def load_schema(path: Path | str = SCHEMA_PATH) -> dict:
    """Read the YAML JSON-schema at ``path`` (default: the packaged schema)."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _validator_with_defaults():
    """A Draft 2020-12 validator class that also fills ``default`` values into the instance."""
    from jsonschema import Draft202012Validator, validators

    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema) -> Iterator:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = _copy(subschema["default"])
        yield from check_properties(validator, properties, instance, schema)

    return validators.extend(Draft202012Validator, {"properties": set_defaults})


def _copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


def _describe(error) -> str:
    """One line naming the key (dotted path) and what the schema allows."""
    path = ".".join(str(part) for part in error.absolute_path) or "(top level)"
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "enum":
        allowed = ", ".join(repr(v) for v in schema.get("enum", []))
        return f"{path}: {error.instance!r} is not allowed; allowed values: {allowed}"
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties", {}))) or "(see the schema)"
        return f"{path}: {error.message}; allowed keys here: {allowed}"
    return f"{path}: {error.message}"


def validate_config(config: MutableMapping, schema: dict | None = None) -> MutableMapping:
    """Validate ``config`` in place against the schema and fill in defaults.

    Raises:
        ConfigError: listing every violation as ``key.path: problem; allowed ...``, plus
            cross-key problems the schema cannot express.
    """
    schema = load_schema() if schema is None else schema
    validator = _validator_with_defaults()(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    problems = [_describe(error) for error in errors]
    if not problems:
        problems = _cross_checks(config)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    return config


def _cross_checks(config: MutableMapping) -> list[str]:
    """Consistency rules that span several keys."""
    from langseg.standard_plan import standard_config_problems

    problems = standard_config_problems(config)
    seen: dict[tuple[str, str], str] = {}
    for name, dataset in config["datasets"].items():
        if dataset.get("demo") and dataset["kind"] not in ("voc2012", "voc21", "voc20"):
            problems.append(f"datasets.{name}.demo: the demo is written in the voc2012 layout; "
                            f"set kind: voc2012 (or voc21 / voc20 with protocol: standard; "
                            f"got {dataset['kind']!r})")
        demo_root = Path(demo_root_of(name))
        if dataset.get("demo") and Path(dataset["root"]) != demo_root:
            problems.append(f"datasets.{name}.root: the workflow generates the demo dataset "
                            f"{name!r} at {demo_root}; set root: {demo_root} (or demo: false "
                            f"for a dataset you provide), got {dataset['root']!r}")
        if dataset.get("protocol") == "standard":
            continue  # the report tables (one result per kind and split) do not show it
        for split in dataset["splits"]:
            other = seen.setdefault((dataset["kind"], split), name)
            if other != name:
                problems.append(
                    f"datasets.{name}: split {split!r} of kind {dataset['kind']!r} is already "
                    f"configured as datasets.{other}; the tables hold one result per kind and "
                    "split, so remove the split from one of the two datasets")
    figure3 = config.get("report", {}).get("figure3")
    if figure3:
        dataset = config["datasets"].get(figure3.get("dataset"))
        if dataset is not None and dataset.get("protocol") == "standard":
            problems.append(f"report.figure3.dataset: {figure3['dataset']!r} uses the standard "
                            f"protocol; Figure 3 shows a report-protocol dataset")
        elif dataset is None:
            problems.append(f"report.figure3.dataset: {figure3.get('dataset')!r} is not one of "
                            f"the datasets {sorted(config['datasets'])}")
        elif figure3.get("split") not in dataset["splits"]:
            problems.append(f"report.figure3.split: {figure3.get('split')!r} is not a split of "
                            f"dataset {figure3['dataset']!r} ({dataset['splits']})")
    problems += _backend_checks(config)
    problems += _method_settings_problems(config)
    if (config["models"]["preset"] == "real" and not config["models"].get("sd_path")
            and any(Method(m).needs_sd for m in config["methods"])):
        problems.append("models.sd_path: the real preset needs the path of the SD 1.5 weights "
                        "(a diffusers folder or a .safetensors file); see README, Model weights")
    return problems


def _backend_checks(config: MutableMapping) -> list[str]:
    """``backends`` name available backends; ``extraction.backends`` only their settings."""
    from langseg.models.backends import backend_names, make_backend

    problems = []
    names = backend_names()
    for name in config["backends"]:
        if name not in names:
            problems.append(f"backends: {name!r} is not a backend; available: {', '.join(names)}")
    for name, settings in config["extraction"]["backends"].items():
        if name == "gem" or name not in names:
            problems.append(f"extraction.backends.{name}: set gem's settings under "
                            f"extraction.gem; other keys must be one of {names}")
            continue
        try:
            make_backend(name, settings)
        except (TypeError, ValueError) as err:
            problems.append(f"extraction.backends.{name}: {err}")
    return problems


def _method_settings_problems(config: MutableMapping) -> list[str]:
    """``method_settings`` checked by :class:`MethodSettings` (the home of their rules) for
    every configured dataset kind; one message per distinct problem."""
    from langseg.methods import MethodSettings

    problems = []
    report_kinds = {k.value for k in DatasetKind}  # other kinds (standard protocol) skip methods
    kinds = {d.get("kind") for d in config.get("datasets", {}).values()} & report_kinds
    for kind in sorted(kinds or {DatasetKind.CONTEXT.value}):
        try:
            MethodSettings.for_dataset(DatasetKind(kind), config.get("method_settings", {}))
        except (ValueError, TypeError) as err:
            message = f"method_settings: {err}"
            if message not in problems:
                problems.append(message)
    return problems
