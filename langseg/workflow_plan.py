"""What the workflow runs, derived from a validated config: shards, paths and per-rule params.

``workflow/rules/common.smk`` builds one :class:`WorkflowPlan` at parse time and its ``get_*``
helpers delegate here, so the rule graph's logic is plain Python that tests can call without
Snakemake. Image lists are read at parse time (the demo's ids are known without its files), so a
missing dataset root, split file, image or mask fails before any job runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from langseg import workflow_paths as paths
from langseg.data.index import shard_name, shard_names
from langseg.params import DatasetKind, Fidelity, Method, gt_pass_timestep

SOURCES = ("sd_sa", "sd_gt", "gem")
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
              "gem": method.needs_gem}
    return tuple(source for source in SOURCES if wanted[source])


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
        if any(m.needs_self_attention or m.needs_sd_gt for m in self.methods):
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
        return shard_names(self.n_images(dataset, split), self.shard_size)

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

    def extraction_params(self, dataset: str, source: str) -> dict:
        """Everything that changes the tensors of ``source`` for ``dataset`` (and nothing else)."""
        fidelity = Fidelity(self.config["fidelity"])
        extraction = self.config["extraction"]
        kind = self.datasets[dataset].kind
        if source == "gem":
            gem = extraction["gem"]
            return canonical({"source": source, "kind": kind.value, "models": self.models,
                              "depth": gem["depth"], "resolution": gem["resolution"]})
        sd = extraction["sd"]
        timestep = sd["sa_timestep"] if source == "sd_sa" else gt_pass_timestep(
            fidelity, sa_timestep=sd["sa_timestep"], gt_timestep=sd["gt_timestep"])
        params = {"source": source, "models": self.models, "fidelity": fidelity.value,
                  "timestep": timestep, "seed": sd["seed"]}
        if source == "sd_gt":
            params["kind"] = kind.value  # class names come from the dataset
            params["mask_size"] = self.config["mask_size"]  # GT classes read at this size
        return canonical(params)

    # ------------------------------------------------------------------------------ segment
    def segment_caches(self, dataset: str, split: str, method: str, shard: str) -> dict:
        """Named cache inputs of ``segment`` for one method and shard."""
        return {source: paths.CACHE.format(dataset=dataset, split=split, source=source,
                                           shard=shard)
                for source in method_sources(Method(method))}

    def method_overrides(self, method: Method) -> dict:
        """The config ``method_settings`` entries that ``method`` reads."""
        settings = self.config.get("method_settings", {})
        return {key: settings[key] for key in METHOD_SETTING_KEYS[method] if key in settings}

    def segment_params(self, dataset: str, method: str) -> dict:
        method = Method(method)
        expected = {source: self.extraction_params(dataset, source)
                    for source in method_sources(method)}
        overrides = self.method_overrides(method)
        if "output_size" in METHOD_SETTING_KEYS[method]:
            overrides.setdefault("output_size", self.config["mask_size"])
        return canonical({"method": method.value, "kind": self.datasets[dataset].kind.value,
                          "settings": overrides, "expected": expected})

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
        return canonical({"dataset": dataset, "kind": plan.kind.value, "split": split,
                          "method": method, "provenance": provenance})

    def evaluation_path(self, dataset: str, split: str, method: Method) -> str:
        return paths.EVAL.format(dataset=dataset, split=split, method=method.value)

    def dataset_split_names(self) -> list[str]:
        """``{dataset}_{split}`` of every configured split (names of the class-IoU tables)."""
        return [f"{name}_{split}" for name, plan in self.datasets.items() for split in plan.splits]

    def all_evaluations(self) -> list[str]:
        return [self.evaluation_path(name, split, method)
                for name, plan in self.datasets.items() for split in plan.splits
                for method in self.methods]

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
        where = {"dataset": fig["dataset"], "split": fig["split"]}
        shards = sorted({shard_name(i // self.shard_size) for i in fig["images"]})
        inputs = {"index": paths.INDEX.format(**where),
                  "figure3_gt": [paths.GT.format(**where, shard=s) for s in shards]}
        for method in fig["methods"]:
            inputs[f"figure3_{method}"] = [paths.PRED.format(**where, method=method, shard=s)
                                           for s in shards]
        return inputs

    def report_params(self) -> dict:
        return canonical({"provenance": self.provenance, "figure3": self.figure3,
                          "datasets": {name: {"kind": plan.kind.value, "demo": plan.demo}
                                       for name, plan in self.datasets.items()}})
