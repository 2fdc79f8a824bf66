"""What the workflow runs for the ``protocol: standard`` dataset entries (see docs/protocol.md).

``workflow/rules/common_standard.smk`` builds one :class:`StandardPlan` at parse time; the report
protocol's :class:`langseg.workflow_plan.WorkflowPlan` skips these entries. Rows of the standard
table are keyed by ``(backend, method)``; the backends are config ``backends`` (schema default
``[gem]``).

Its files (index, confusion matrices per shard and backend, evaluations, the standard table) are
laid out by the ``standard_*`` functions of :mod:`langseg.workflow_paths`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from langseg import workflow_paths as paths
from langseg.data.index import shard_names
from langseg.params import Benchmark, Method, Protocol
from langseg.workflow_plan import canonical, clip_model_name


def is_standard(entry: Mapping[str, Any]) -> bool:
    """Whether a config ``datasets`` entry uses the standard protocol."""
    return entry.get("protocol", Protocol.REPORT.value) == Protocol.STANDARD.value


@dataclass(frozen=True)
class StandardDataset:
    """One ``protocol: standard`` entry of config ``datasets`` (defaults filled in)."""

    name: str
    benchmark: Benchmark
    root: Path
    splits: tuple[str, ...]
    demo: bool
    max_images: int | None
    on_error: str
    class_file: str | None


class StandardPlan:
    """Shards, file lists and rule params of the standard-protocol entries of a valid config."""

    def __init__(self, config: Mapping[str, Any], datasets: dict[str, StandardDataset]):
        self.config = config
        self.datasets = datasets
        self.shard_size: int = config["shard_size"]
        standard = config["standard"]  # defaults: the schema (validate_config fills them)
        self.preset: str = standard["preset"]
        self.pamr: bool = standard["pamr"]
        self.methods = tuple(Method(m) for m in standard["methods"])
        self.backends: tuple[str, ...] = tuple(config["backends"])
        self._n_images: dict[tuple[str, str], int] = {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StandardPlan:
        """Build the plan from a config already passed through ``validate_config``."""
        datasets = {}
        for name, entry in config["datasets"].items():
            if not is_standard(entry):
                continue
            datasets[name] = StandardDataset(
                name=name, benchmark=Benchmark(entry["kind"]), root=Path(entry["root"]),
                splits=tuple(entry["splits"]), demo=entry["demo"],
                max_images=entry["max_images"], on_error=entry["on_error"],
                class_file=entry["class_file"])
        return cls(config, datasets)

    @property
    def dataset_names(self) -> list[str]:
        return list(self.datasets)

    @property
    def needs_sd(self) -> bool:
        return any(m.needs_sd for m in self.methods)

    def check_inputs(self) -> None:
        """Fail before any job when a split, a class file or the weights are missing."""
        from langseg.protocol.classes import benchmark_classes

        for name, ds in self.datasets.items():
            for split in ds.splits:
                self.n_images(name, split)
            benchmark_classes(ds.benchmark, ds.class_file)
        if not self.datasets:
            return
        from langseg.models import check_weights
        from langseg.models.loading import clip_checkpoint

        models = self.config["models"]
        if self.needs_sd:
            check_weights(models["preset"], models["sd_path"], models["clip_path"],
                          sd_config=models["sd_config"])
        elif models["preset"] == "real":
            clip_checkpoint(models["clip_path"])

    def n_images(self, dataset: str, split: str) -> int:
        key = (dataset, split)
        if key not in self._n_images:
            ds = self.datasets[dataset]
            if ds.demo:
                from langseg.data import DEMO_SPLITS

                if split not in DEMO_SPLITS:
                    raise ValueError(f"datasets.{dataset}.splits: the demo has splits "
                                     f"{sorted(DEMO_SPLITS)}, not {split!r}")
                n = len(DEMO_SPLITS[split])
                n = min(n, ds.max_images) if ds.max_images else n
            else:
                from langseg.data.mmseg_layouts import list_benchmark_samples

                n = len(list_benchmark_samples(ds.benchmark, ds.root, split,
                                               max_images=ds.max_images))
            self._n_images[key] = n
        return self._n_images[key]

    def shards(self, dataset: str, split: str) -> list[str]:
        """Shard wildcard values of a split (``data.index`` rules, its 1000-shard limit too)."""
        return shard_names(self.n_images(dataset, split), self.shard_size)

    # ----------------------------------------------------------------------------- paths
    def demo_roots(self, dataset: str) -> list[str]:
        ds = self.datasets[dataset]
        return [str(ds.root)] if ds.demo else []

    def class_files(self, dataset: str) -> list[str]:
        """The user's class-name file as an input (edits rerun the segment jobs), if any."""
        class_file = self.datasets[dataset].class_file
        return [class_file] if class_file else []

    def count_files(self, dataset: str, split: str, backend: str) -> list[str]:
        return [paths.standard_counts(dataset, split, backend, shard)
                for shard in self.shards(dataset, split)]

    def all_evaluations(self) -> list[str]:
        return [paths.standard_evaluation(name, split, backend)
                for name, ds in self.datasets.items() for split in ds.splits
                for backend in self.backends]

    def table_targets(self) -> list[str]:
        return paths.standard_tables() if self.datasets else []

    # ---------------------------------------------------------------------------- params
    def index_params(self, dataset: str, split: str) -> dict:
        ds = self.datasets[dataset]
        return canonical({"benchmark": ds.benchmark.value, "root": str(ds.root), "split": split,
                          "max_images": ds.max_images, "shard_size": self.shard_size})

    def benchmark_settings(self, dataset: str) -> dict:
        from langseg.protocol.settings import benchmark_settings

        return asdict(benchmark_settings(self.preset, self.datasets[dataset].benchmark))

    def segment_params(self, dataset: str, backend: str) -> dict:
        """Everything that changes a shard's confusion matrices (and nothing else)."""
        ds = self.datasets[dataset]
        models = self.config["models"]
        params = {
            "benchmark": ds.benchmark.value, "backend": backend, "preset": self.preset,
            "pamr": self.pamr, "methods": [m.value for m in self.methods],
            "settings": self.benchmark_settings(dataset), "class_file": ds.class_file,
            "on_error": ds.on_error,
            "models": {key: models[key] for key in ("preset", "sd_path", "sd_config",
                                                    "clip_path")},
            "gem_depth": self.config["extraction"]["gem"]["depth"],
            "method_settings": {key: value for key, value in
                                self.config["method_settings"].items()
                                if key in ("specclust", "diffseg")},
        }
        if self.needs_sd:
            sd = self.config["extraction"]["sd"]
            params["sd"] = {"timestep": sd["sa_timestep"], "seed": sd["seed"],
                            "fidelity": self.config["fidelity"]}
        return canonical(params)

    @cached_property
    def provenance(self) -> dict:
        models = self.config["models"]
        return {"experiment": self.config["experiment"], "preset": models["preset"],
                "protocol_preset": self.preset, "pamr": self.pamr,
                "clip_model": clip_model_name(models),
                "demo": any(ds.demo for ds in self.datasets.values())}

    def evaluate_params(self, dataset: str, split: str, backend: str) -> dict:
        from langseg.protocol.settings import settings_version

        ds = self.datasets[dataset]
        return canonical({"dataset": dataset, "benchmark": ds.benchmark.value, "split": split,
                          "backend": backend, "methods": [m.value for m in self.methods],
                          "settings_version": settings_version(),
                          "provenance": dict(self.provenance, demo=ds.demo)})

    def table_params(self) -> dict:
        return canonical({"provenance": self.provenance,
                          "rows": [[b, m.value] for b in self.backends for m in self.methods]})


_REPORT_KINDS = ("voc2012", "context", "cocostuff", "cityscapes")


def standard_config_problems(config: Mapping[str, Any]) -> list[str]:
    """Cross-key problems of the standard-protocol entries (one line each, naming the key)."""
    from langseg.data.mmseg_layouts import benchmark_layout

    problems = []
    benchmarks = [b.value for b in Benchmark]
    for name, entry in config["datasets"].items():
        key = f"datasets.{name}"
        if is_standard(entry):
            if entry["kind"] not in benchmarks:
                problems.append(f"{key}.kind: protocol standard needs one of the benchmarks "
                                f"{', '.join(benchmarks)} (got {entry['kind']!r})")
                continue
            layout = benchmark_layout(entry["kind"])
            bad = [s for s in entry["splits"] if s not in layout.splits and not entry.get("demo")]
            if bad:
                problems.append(f"{key}.splits: {bad} are not splits of {entry['kind']}; "
                                f"allowed: {', '.join(layout.splits)}")
        else:
            if entry["kind"] not in _REPORT_KINDS:
                problems.append(f"{key}.kind: {entry['kind']!r} is a standard-protocol "
                                f"benchmark; add protocol: standard (or use one of "
                                f"{', '.join(_REPORT_KINDS)})")
            if entry.get("class_file"):
                problems.append(f"{key}.class_file: only datasets with protocol: standard "
                                f"read class-name files")
    return problems
