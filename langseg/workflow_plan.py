"""What the workflow runs, derived from a validated config: shards, paths and per-rule params.

``workflow/rules/common.smk`` builds one :class:`WorkflowPlan` at parse time and its ``get_*``
helpers delegate here, so the rule graph's logic is plain Python that tests can call without
Snakemake. Image lists are read at parse time (the demo's ids are known without its files), so a
missing dataset root, split file, image or mask fails before any job runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from langseg import workflow_paths as paths
from langseg.data.index import shard_name, shard_names
from langseg.params import DatasetKind, Fidelity, Method, Protocol, gt_pass_timestep
from langseg.provenance import EXTRACTION_CODE, SEGMENT_CODE, code_digest

#: Package sources behind the ground-truth files (readers, label rules, resizing).
GT_CODE = ("langseg/data", "langseg/pipeline/stages.py", "langseg/params.py")

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


def clip_model_name(models: Mapping[str, Any]) -> str:
    """The CLIP model the tables name in their provenance, from config ``models``."""
    if models["clip_path"]:
        return models["clip_path"]
    if models["preset"] == "real":
        return "MetaCLIP ViT-B/16 (metaclip_400m)"
    return f"open_clip ViT, {models['preset']} random weights"


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
        self.backends: tuple[str, ...] = tuple(config["backends"])
        self.shard_size: int = config["shard_size"]
        self._samples: dict[tuple[str, str], list] = {}
        self._file_digests: dict[tuple[str, str, str, str], dict] = {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WorkflowPlan:
        """Build the plan from a config already passed through ``validate_config``."""
        datasets = {}
        for name, entry in config["datasets"].items():
            if entry["protocol"] != Protocol.REPORT.value:
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
        if self.datasets:  # report datasets (a standard-protocol-only config has none)
            self.figure3  # noqa: B018  (checks report.figure3.images against the split's size)
        from langseg.models import check_weights
        from langseg.models.loading import clip_checkpoint

        models = self.config["models"]
        if any(m.needs_sd for m in self.methods):
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
        return len(self.samples(dataset, split))

    def samples(self, dataset: str, split: str) -> list:
        """The split's samples (image id, image and mask paths), listed once at parse time.

        The demo's are built from its known ids (its files are made by a rule).
        """
        key = (dataset, split)
        if key not in self._samples:
            self._samples[key] = self._list_samples(self.datasets[dataset], split)
        return self._samples[key]

    def _list_samples(self, plan: DatasetPlan, split: str) -> list:
        from langseg.data import DEMO_SPLITS, list_samples
        from langseg.data.samples import Sample

        if plan.demo:
            if split not in DEMO_SPLITS:
                raise ValueError(f"datasets.{plan.name}.splits: the demo has splits "
                                 f"{sorted(DEMO_SPLITS)}, not {split!r}")
            ids = list(DEMO_SPLITS[split])
            ids = ids[: plan.max_images] if plan.max_images else ids
            return [Sample(i, plan.root / "JPEGImages" / f"{i}.jpg",
                           plan.root / "SegmentationClass" / f"{i}.png") for i in ids]
        return list_samples(plan.kind, plan.root, split, max_images=plan.max_images)

    def shard_samples(self, dataset: str, split: str, shard: str) -> list:
        """The samples of one shard, in index order."""
        start = int(shard) * self.shard_size
        return self.samples(dataset, split)[start:start + self.shard_size]

    def shard_file_identity(self, dataset: str, split: str, shard: str, kind: str) -> dict:
        """Identity of a shard's dataset files (``kind``: ``"images"`` or ``"masks"``).

        A rule param (and so part of the cache manifests): ``{"n", "sha256"}`` where the digest
        covers every file's path, size and mtime (ns), so an overwritten file (a re-download, a
        fixed annotation) reruns what reads it. Params rather than inputs keep the DAG fast on
        large datasets (no per-file Snakemake bookkeeping). The demo's files come from a rule
        (its folder is an input of the index): ``{"generated": True}``.
        """
        if self.datasets[dataset].demo:
            return {"generated": True}
        key = (dataset, split, shard, kind)
        if key not in self._file_digests:
            attr = {"images": "image_path", "masks": "mask_path"}[kind]
            digest = hashlib.sha256()
            samples = self.shard_samples(dataset, split, shard)
            for sample in samples:
                path = getattr(sample, attr)
                stat = path.stat()
                digest.update(f"{path}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
            self._file_digests[key] = {"n": len(samples), "sha256": digest.hexdigest()[:16]}
        return self._file_digests[key]

    def listing_digest(self, dataset: str, split: str) -> str:
        """sha256 (16 hex digits) of the split's listing (ids and paths, in order): a changed
        split file or folder rewrites the index."""
        digest = hashlib.sha256()
        for s in self.samples(dataset, split):
            digest.update(f"{s.image_id}\t{s.image_path}\t{s.mask_path}\n".encode())
        return digest.hexdigest()[:16]

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
                          "max_images": plan.max_images, "shard_size": self.shard_size,
                          "listing": self.listing_digest(dataset, split)})

    def gt_params(self, dataset: str, split: str | None = None, shard: str | None = None) -> dict:
        """Params of prepare_gt; with ``split`` and ``shard`` also the shard's files' identity."""
        plan = self.datasets[dataset]
        params = {"kind": plan.kind.value, "mask_size": self.config["mask_size"],
                  "on_error": plan.on_error, "code": code_digest(GT_CODE)}
        if shard is not None:
            params["images"] = self.shard_file_identity(dataset, split, shard, "images")
            params["masks"] = self.shard_file_identity(dataset, split, shard, "masks")
        return canonical(params)

    # ---------------------------------------------------------------------------- extraction
    @cached_property
    def sd_models(self) -> dict:
        """What identifies the SD weights (preset, paths, ``real``: every file's identity)."""
        from langseg.models.loading import sd_weights_identity

        models = self.config["models"]
        out = {"preset": models["preset"], "sd_path": models["sd_path"],
               "sd_config": models["sd_config"]}
        if models["preset"] == "real":
            out["weights"] = sd_weights_identity(models["sd_path"], models["sd_config"])
        return out

    @cached_property
    def clip_models(self) -> dict:
        """What identifies the CLIP weights (preset, path, ``real``: the file's identity)."""
        from langseg.models.loading import clip_weights_identity

        models = self.config["models"]
        out = {"preset": models["preset"], "clip_path": models["clip_path"]}
        if models["preset"] == "real":
            out["weights"] = clip_weights_identity(models["clip_path"])
        return out

    def backend_params(self, dataset: str, backend: str) -> dict:
        """Everything that changes a CLIP backend's cosines: its settings, the CLIP weights, the
        dataset's classes and the extraction code (not the shard's files)."""
        from langseg.models.backends import backend_settings

        extraction = self.config["extraction"]
        kind = self.datasets[dataset].kind
        code = code_digest(EXTRACTION_CODE)
        if backend == DEFAULT_BACKEND:  # the report's cache
            gem = extraction["gem"]
            return canonical({"source": backend, "kind": kind.value, "models": self.clip_models,
                              "depth": gem["depth"], "resolution": gem["resolution"],
                              "code": code})
        settings = {**backend_settings(backend),
                    **extraction["backends"].get(backend, {})}
        return canonical({"source": backend, "kind": kind.value, "models": self.clip_models,
                          **settings, "code": code})

    def extraction_params(self, dataset: str, source: str, split: str | None = None,
                          shard: str | None = None, *, backend: str | None = None) -> dict:
        """Everything that changes the tensors of ``source`` for ``dataset`` (and nothing else):
        the models with their weight files' identity, the settings, the SA codec, and the digest
        of the package code that computes them, and (given ``split`` and ``shard``) the identity
        of the shard's image files. Recorded in the store's manifest and compared by every
        reader.

        ``source`` is ``sd_sa``, ``sd_gt``, ``sd_zs`` (needs ``backend``) or a backend name
        (``gem``, ``sclip``, ...; ``"clip"`` with ``backend`` means the same).
        """
        params = self._extraction_settings(dataset, source, backend)
        if shard is not None:
            params["images"] = self.shard_file_identity(dataset, split, shard, "images")
        return canonical(params)

    def _extraction_settings(self, dataset: str, source: str, backend: str | None) -> dict:
        from langseg.models.backends import backend_names

        if source == "clip" or source in backend_names():
            return dict(self.backend_params(dataset, backend if source == "clip" else source))
        fidelity = Fidelity(self.config["fidelity"])
        extraction = self.config["extraction"]
        kind = self.datasets[dataset].kind
        code = code_digest(EXTRACTION_CODE)
        sd = extraction["sd"]
        timestep = sd["sa_timestep"] if source == "sd_sa" else gt_pass_timestep(
            fidelity, sa_timestep=sd["sa_timestep"], gt_timestep=sd["gt_timestep"])
        params = {"source": source, "models": self.sd_models, "fidelity": fidelity.value,
                  "timestep": timestep, "seed": sd["seed"], "code": code}
        if source == "sd_sa":
            from langseg.cache.codecs import SACodec

            params["sa_codec"] = SACodec.parse(self.config["cache"]["sa_codec"]).value
        if source in ("sd_gt", "sd_zs"):
            params["kind"] = kind.value  # class names come from the dataset
            params["mask_size"] = self.config["mask_size"]  # GT classes read at this size
        if source == "sd_zs":  # classes from the backend's Method 1 instead of the GT
            params["backend"] = self.backend_params(dataset, backend)
            params["classes"] = dict(extraction["aggsd_zs"])
            params["method_settings"] = self.method_overrides(Method.GEM)
        return params

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
                paths.cache(paths.cache_folder(source, backend), dataset, split, shard)
                for source in method_sources(method)}

    def method_overrides(self, method: Method) -> dict:
        """The config ``method_settings`` entries that ``method`` reads."""
        settings = self.config["method_settings"]
        return {key: settings[key] for key in METHOD_SETTING_KEYS[method] if key in settings}

    def segment_params(self, dataset: str, method: str, split: str | None = None,
                       shard: str | None = None) -> dict:
        method, backend = parse_run(method)
        expected = {backend if source == "clip" else source:
                    self.extraction_params(dataset, source, split, shard, backend=backend)
                    for source in method_sources(method)}
        overrides = self.method_overrides(method)
        if "output_size" in METHOD_SETTING_KEYS[method]:
            overrides.setdefault("output_size", self.config["mask_size"])
        params = {"method": method.value, "kind": self.datasets[dataset].kind.value,
                  "settings": overrides, "expected": expected,
                  "code": code_digest(SEGMENT_CODE)}
        if backend != DEFAULT_BACKEND:
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
                "clip_model": clip_model_name(models), "demo": demo}

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
        return paths.evaluation(dataset, split, run_name(Method(method), backend))

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
        return [paths.evaluation(name, split, run)
                for name, plan in self.datasets.items() for split in plan.splits
                for run in self.runs()]

    # ------------------------------------------------------------------------------- report
    @cached_property
    def figure3(self) -> dict | None:
        """The Figure 3 selection: dataset, split, image positions and methods shown."""
        selection = self.config["report"].get("figure3")
        n_default = 4
        if not selection:
            first = next(iter(self.datasets.values()))
            selection = {"dataset": first.name, "split": first.splits[0]}
        n = self.n_images(selection["dataset"], selection["split"])
        if "images" in selection:
            images = list(selection["images"])
            outside = [i for i in images if not 0 <= i < n]
            if outside:
                from langseg.config import ConfigError

                raise ConfigError(
                    f"report.figure3.images: {outside} out of range; split "
                    f"{selection['dataset']}/{selection['split']} has {n} images (positions "
                    f"0..{n - 1} of its index, after max_images)")
        else:
            images = list(range(min(n, n_default)))
        methods = [m for m in FIGURE3_METHODS if m in self.methods]
        return {"dataset": selection["dataset"], "split": selection["split"], "images": images,
                "methods": [m.value for m in methods]}

    def figure3_inputs(self) -> dict:
        """Named inputs of plot_figures: index, GT and prediction shards of the chosen images."""
        fig = self.figure3
        where = {"dataset": fig["dataset"], "split": fig["split"]}
        shards = sorted({shard_name(i // self.shard_size) for i in fig["images"]})
        inputs = {"index": paths.index(**where),
                  "figure3_gt": [paths.gt(**where, shard=s) for s in shards]}
        for method in fig["methods"]:
            run = run_name(Method(method), self.report_backend)
            inputs[f"figure3_{method}"] = [paths.pred(**where, method=run, shard=s)
                                           for s in shards]
        return inputs

    def report_params(self) -> dict:
        return canonical({"provenance": self.provenance, "figure3": self.figure3,
                          "datasets": {name: {"kind": plan.kind.value, "demo": plan.demo}
                                       for name, plan in self.datasets.items()}})

    def backend_report_params(self) -> dict:
        return canonical({"provenance": self.provenance, "backends": list(self.backends)})
