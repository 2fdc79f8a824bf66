"""What the workflow runs, derived from a validated config: shards, paths and per-rule params.

``workflow/rules/common.smk`` builds one :class:`WorkflowPlan` at parse time and its ``get_*``
helpers delegate here, so the rule graph's logic is plain Python that tests can call without
Snakemake. Image lists are read at parse time (the demo's ids are known without its files), so a
missing dataset root, split file, image or mask fails before any job runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from langseg.params import DatasetKind, Fidelity, Method

SOURCES = ("sd_sa", "sd_gt", "clip", "sd_zs")  # "clip" = the run's backend (gem, sclip, ...)
DEFAULT_BACKEND = "gem"
FIGURE3_METHODS = (Method.GEM, Method.AGGGEM, Method.DIFFSEGCLUST, Method.SPECCLUST)

#: Which setting keys (config ``method_settings`` names) each method reads; the rest of the
#: settings never reach its ``segment`` jobs, so changing them does not rerun it.
_CLIP_KEYS = ("temperature", "background_offset", "output_size")
METHOD_SETTING_KEYS: dict[Method, tuple[str, ...]] = {
    Method.GEM: _CLIP_KEYS,
    Method.GEMW: _CLIP_KEYS,
    Method.GTCLUST: _CLIP_KEYS,
    Method.AGGGEM: _CLIP_KEYS,
    Method.AGGGEMW: _CLIP_KEYS + ("agggemw_ca_norm",),
    Method.AGGSD: ("output_size", "aggsd_minmax"),
    Method.AGGSD_ZS: ("output_size", "aggsd_minmax"),
    Method.DIFFSEGCLUST: _CLIP_KEYS + ("diffseg",),
    Method.SPECCLUST: _CLIP_KEYS + ("specclust",),
    Method.GRABCUT: _CLIP_KEYS + ("grabcut",),
}


def canonical(value: Any) -> Any:
    """``value`` with every mapping's keys sorted, recursively.

    Snakemake compares rule params by their printed form, so params are returned in canonical
    order: reordering keys in config.yaml must not rerun anything.
    """
    if isinstance(value, Mapping):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    return value


def method_sources(method: Method) -> tuple[str, ...]:
    """The caches a method reads, in ``SOURCES`` order."""
    wanted = {"sd_sa": method.needs_self_attention, "sd_gt": method.needs_sd_gt,
              "clip": method.needs_gem, "sd_zs": method.needs_sd_zs}
    return tuple(source for source in SOURCES if wanted[source])


def run_name(method: Method, backend: str = DEFAULT_BACKEND) -> str:
    """The ``{method}`` wildcard of one run: ``agggem`` with gem (the report's paths), else
    ``sclip/agggem``; methods that read no backend (aggsd) have one run, named by the method."""
    method = Method(method)
    if backend == DEFAULT_BACKEND or not method.uses_backend:
        return method.value
    return f"{backend}/{method.value}"


def parse_run(run: str) -> tuple[Method, str]:
    """Inverse of :func:`run_name`: ``"sclip/agggem"`` -> ``(Method.AGGGEM, "sclip")``."""
    backend, _, method = run.rpartition("/")
    return Method(method), backend or DEFAULT_BACKEND


def cache_folder(source: str, backend: str) -> str:
    """Cache folder of a source under ``results/cache/{dataset}/{split}/``."""
    if source == "clip":
        return backend
    return f"sd_zs/{backend}" if source == "sd_zs" else source


def shard_name(index: int) -> str:
    """``0 -> "000"``: the shard wildcard value."""
    return f"{index:03d}"


@dataclass(frozen=True)
class DatasetPlan:
    """One entry of config ``datasets`` with its defaults filled in."""

    name: str
    kind: DatasetKind
    root: Path
    splits: tuple[str, ...]
    demo: bool
    max_images: int | None
    on_error: str


class WorkflowPlan:
    """Shards, file lists and rule params for a validated config (see module docstring)."""

    def __init__(self, config: Mapping[str, Any], datasets: dict[str, DatasetPlan]):
        self.config = config
        self.datasets = datasets
        self.methods = tuple(Method(m) for m in config["methods"])
        self.backends: tuple[str, ...] = tuple(config.get("backends", [DEFAULT_BACKEND]))
        self.shard_size: int = config["shard_size"]
        self._n_images: dict[tuple[str, str], int] = {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorkflowPlan:
        """Build the plan from a config already passed through ``validate_config``."""
        datasets = {}
        for name, entry in config["datasets"].items():
            if entry.get("protocol", "report") != "report":
                continue  # protocol: standard entries are planned by langseg.standard_plan
            root = Path(entry["root"])
            datasets[name] = DatasetPlan(
                name=name, kind=DatasetKind(entry["kind"]), root=root,
                splits=tuple(entry["splits"]), demo=entry["demo"],
                max_images=entry["max_images"], on_error=entry["on_error"])
        return cls(config, datasets)

    def check_inputs(self) -> None:
        """Fail now, before any job, when a dataset split or the model weights are missing.

        Lists every configured split (the errors name the path and the expected layout) and checks
        the weights of the ``real`` preset when some method needs extraction.
        """
        for name, plan in self.datasets.items():
            for split in plan.splits:
                self.n_images(name, split)
        from langseg.models import check_weights
        from langseg.models.loading import clip_checkpoint

        models = self.config["models"]
        if any(m.needs_self_attention or m.needs_sd_gt or m.needs_sd_zs for m in self.methods):
            check_weights(models["preset"], models["sd_path"], models["clip_path"],
                          sd_config=models["sd_config"])
        elif models["preset"] == "real":  # GEM-only methods need only the CLIP weights
            clip_checkpoint(models["clip_path"])

    # ----------------------------------------------------------------------------- datasets
    @property
    def dataset_names(self) -> list[str]:
        return list(self.datasets)

    def n_images(self, dataset: str, split: str) -> int:
        """Number of images of a split (after ``max_images``), read once at parse time."""
        key = (dataset, split)
        if key not in self._n_images:
            self._n_images[key] = len(self._list_ids(self.datasets[dataset], split))
        return self._n_images[key]

    def _list_ids(self, plan: DatasetPlan, split: str) -> list[str]:
        from langseg.data import DEMO_SPLITS, list_samples

        if plan.demo:
            if split not in DEMO_SPLITS:
                raise ValueError(f"datasets.{plan.name}.splits: the demo has splits "
                                 f"{sorted(DEMO_SPLITS)}, not {split!r}")
            ids = list(DEMO_SPLITS[split])
            return ids[: plan.max_images] if plan.max_images else ids
        samples = list_samples(plan.kind, plan.root, split, max_images=plan.max_images)
        return [sample.image_id for sample in samples]

    def shards(self, dataset: str, split: str) -> list[str]:
        """Shard wildcard values of a split: ``["000", "001", ...]``."""
        count = math.ceil(self.n_images(dataset, split) / self.shard_size)
        return [shard_name(i) for i in range(count)]

    def shard_files(self, pattern: str, wildcards: Mapping[str, str]) -> list[str]:
        """``pattern`` formatted for every shard of ``wildcards.dataset``/``wildcards.split``."""
        values = dict(wildcards.items())
        return [pattern.format(**{**values, "shard": shard})
                for shard in self.shards(values["dataset"], values["split"])]

    def demo_roots(self, dataset: str) -> list[str]:
        plan = self.datasets[dataset]
        return [str(plan.root)] if plan.demo else []

    def index_params(self, dataset: str, split: str) -> dict:
        plan = self.datasets[dataset]
        return canonical({"kind": plan.kind.value, "root": str(plan.root), "split": split,
                          "max_images": plan.max_images, "shard_size": self.shard_size})

    def gt_params(self, dataset: str) -> dict:
        plan = self.datasets[dataset]
        return canonical({"kind": plan.kind.value, "mask_size": self.config["mask_size"],
                          "on_error": plan.on_error})

    # ---------------------------------------------------------------------------- extraction
    @cached_property
    def models(self) -> dict:
        """What identifies the models (preset and weight paths): part of every cache's params."""
        models = self.config["models"]
        return {"preset": models["preset"], "sd_path": models["sd_path"],
                "sd_config": models["sd_config"], "clip_path": models["clip_path"]}

    def backend_params(self, dataset: str, backend: str) -> dict:
        """Everything that changes a CLIP backend's cosines: its settings, models, classes."""
        from langseg.models.backends import backend_settings

        extraction = self.config["extraction"]
        kind = self.datasets[dataset].kind
        if backend == DEFAULT_BACKEND:  # the report's cache: params as they always were
            gem = extraction["gem"]
            return canonical({"source": backend, "kind": kind.value, "models": self.models,
                              "depth": gem["depth"], "resolution": gem["resolution"]})
        settings = {**backend_settings(backend),
                    **extraction.get("backends", {}).get(backend, {})}
        return canonical({"source": backend, "kind": kind.value, "models": self.models,
                          **settings})

    def extraction_params(self, dataset: str, source: str, backend: str | None = None) -> dict:
        """Everything that changes the tensors of ``source`` for ``dataset`` (and nothing else).

        ``source`` is ``sd_sa``, ``sd_gt``, ``sd_zs`` (needs ``backend``) or a backend name
        (``gem``, ``sclip``, ...; ``"clip"`` with ``backend`` means the same).
        """
        from langseg.models.backends import backend_names

        fidelity = Fidelity(self.config["fidelity"])
        extraction = self.config["extraction"]
        kind = self.datasets[dataset].kind
        if source == "clip" or source in backend_names():
            return self.backend_params(dataset, backend if source == "clip" else source)
        sd = extraction["sd"]
        if source == "sd_sa" or fidelity is Fidelity.CORRECTED:
            timestep = sd["sa_timestep"]
        else:
            timestep = sd["gt_timestep"]
        params = {"source": source, "models": self.models, "fidelity": fidelity.value,
                  "timestep": timestep, "seed": sd["seed"]}
        if source in ("sd_gt", "sd_zs"):
            params["kind"] = kind.value  # class names come from the dataset
            params["mask_size"] = self.config["mask_size"]  # GT classes read at this size
        if source == "sd_zs":  # classes from the backend's Method 1 instead of the GT
            params["backend"] = self.backend_params(dataset, backend)
            params["classes"] = dict(extraction.get("aggsd_zs", {}))
            params["method_settings"] = self.method_overrides(Method.GEM)
        return canonical(params)

    # ------------------------------------------------------------------------------ segment
    def runs(self) -> list[str]:
        """Every ``{method}`` wildcard value of the config: methods x backends (see run_name)."""
        names = [run_name(m, b) for b in self.backends for m in self.methods]
        return list(dict.fromkeys(names))

    @property
    def report_backend(self) -> str:
        """The backend of Tables 2-4 and the figures: gem when configured, else the first."""
        return DEFAULT_BACKEND if DEFAULT_BACKEND in self.backends else self.backends[0]

    def segment_caches(self, dataset: str, split: str, method: str, shard: str) -> dict:
        """Named cache inputs of ``segment`` for one run (``{method}`` wildcard) and shard.

        Names: ``sd_sa``, ``sd_gt``, ``sd_zs`` and the backend's name (``gem``, ``sclip``).
        """
        method, backend = parse_run(method)
        return {backend if source == "clip" else source:
                f"results/cache/{dataset}/{split}/{cache_folder(source, backend)}/{shard}.zarr"
                for source in method_sources(method)}

    def method_overrides(self, method: Method) -> dict:
        """The config ``method_settings`` entries that ``method`` reads."""
        settings = self.config.get("method_settings", {})
        return {key: settings[key] for key in METHOD_SETTING_KEYS[method] if key in settings}

    def segment_params(self, dataset: str, method: str) -> dict:
        method, backend = parse_run(method)
        expected = {backend if source == "clip" else source:
                    self.extraction_params(dataset, source, backend)
                    for source in method_sources(method)}
        overrides = self.method_overrides(method)
        if "output_size" in METHOD_SETTING_KEYS[method]:
            overrides.setdefault("output_size", self.config["mask_size"])
        params = {"method": method.value, "kind": self.datasets[dataset].kind.value,
                  "settings": overrides, "expected": expected}
        if backend != DEFAULT_BACKEND:  # gem runs keep their params (no rerun)
            params["backend"] = backend
        return canonical(params)

    # ----------------------------------------------------------------------------- evaluate
    @cached_property
    def provenance(self) -> dict:
        """Models and fidelity behind the numbers; tables and figures print it."""
        models = self.config["models"]
        demo = any(plan.demo for plan in self.datasets.values())
        return {"experiment": self.config["experiment"], "preset": models["preset"],
                "fidelity": self.config["fidelity"], "sd_model": models["sd_path"] or
                f"{models['preset']} random weights",
                "clip_model": models["clip_path"] or (
                    "MetaCLIP ViT-B/16 (metaclip_400m)" if models["preset"] == "real" else
                    f"open_clip ViT, {models['preset']} random weights"),
                "demo": demo}

    def evaluate_params(self, dataset: str, split: str, method: str) -> dict:
        plan = self.datasets[dataset]
        provenance = dict(self.provenance, demo=plan.demo)
        method_enum, backend = parse_run(method)
        params = {"dataset": dataset, "kind": plan.kind.value, "split": split,
                  "method": method_enum.value, "provenance": provenance}
        if backend != DEFAULT_BACKEND:
            params["backend"] = backend
        return canonical(params)

    def evaluation_path(self, dataset: str, split: str, method: Method | str,
                        backend: str = DEFAULT_BACKEND) -> str:
        return f"results/{dataset}/{split}/eval/{run_name(Method(method), backend)}.json"

    def dataset_split_names(self) -> list[str]:
        """``{dataset}_{split}`` of every configured split (names of the class-IoU tables)."""
        return [f"{name}_{split}" for name, plan in self.datasets.items() for split in plan.splits]

    def all_evaluations(self) -> list[str]:
        """Evaluations of Tables 2-4 and the figures: every method with the report backend."""
        return [self.evaluation_path(name, split, method, self.report_backend)
                for name, plan in self.datasets.items() for split in plan.splits
                for method in self.methods]

    def backend_evaluations(self) -> list[str]:
        """Every evaluation of the config: datasets x splits x methods x backends."""
        return [f"results/{name}/{split}/eval/{run}.json"
                for name, plan in self.datasets.items() for split in plan.splits
                for run in self.runs()]

    # ------------------------------------------------------------------------------- report
    @cached_property
    def figure3(self) -> dict | None:
        """The Figure 3 selection: dataset, split, image positions and methods shown."""
        selection = self.config.get("report", {}).get("figure3")
        if not selection:
            first = next(iter(self.datasets.values()))
            selection = {"dataset": first.name, "split": first.splits[0], "images": [0, 1, 2, 3]}
        n = self.n_images(selection["dataset"], selection["split"])
        images = [i for i in selection.get("images", [0, 1, 2, 3]) if i < n]
        methods = [m for m in FIGURE3_METHODS if m in self.methods]
        return {"dataset": selection["dataset"], "split": selection["split"], "images": images,
                "methods": [m.value for m in methods]}

    def figure3_inputs(self) -> dict:
        """Named inputs of plot_figures: index, GT and prediction shards of the chosen images."""
        fig = self.figure3
        base = f"results/{fig['dataset']}/{fig['split']}"
        shards = sorted({shard_name(i // self.shard_size) for i in fig["images"]})
        inputs = {"index": f"{base}/index.tsv",
                  "figure3_gt": [f"{base}/gt/{s}.npz" for s in shards]}
        for method in fig["methods"]:
            run = run_name(Method(method), self.report_backend)
            inputs[f"figure3_{method}"] = [f"{base}/pred/{run}/{s}.npz" for s in shards]
        return inputs

    def report_params(self) -> dict:
        return canonical({"provenance": self.provenance, "figure3": self.figure3,
                          "datasets": {name: {"kind": plan.kind.value, "demo": plan.demo}
                                       for name, plan in self.datasets.items()}})

    def backend_report_params(self) -> dict:
        return canonical({"provenance": self.provenance, "backends": list(self.backends)})
