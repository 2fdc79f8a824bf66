"""Standard-protocol stages: split index, per-shard inference + confusion matrices, evaluation.

One ``segment`` job per (dataset, split, backend, shard) loads CLIP (and SD when a method needs
the self-attention) once, computes each image's class probabilities once and applies every
configured method, accumulating one confusion matrix per method at the original resolution.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from langseg.params import Benchmark, Method


def index_standard_split(params: Mapping, index_path: str | Path) -> int:
    """List a benchmark split (validated) and write the shard index; returns the image count."""
    from langseg.data import write_index
    from langseg.data.mmseg_layouts import list_benchmark_samples

    samples = list_benchmark_samples(Benchmark(params["benchmark"]), params["root"],
                                     params["split"], max_images=params["max_images"])
    write_index(samples, params["shard_size"], index_path)
    return len(samples)


def segment_standard_shard(*, params: Mapping, index_path, shard: str, out_path, device: str,
                           threads: int, log: logging.Logger) -> None:
    """Run the protocol over one shard and write ``image_ids``, ``skipped_ids`` and
    ``cm_{method}`` ``(K, K) int64`` (rows = labels) per method to ``out_path`` (``.npz``)."""
    import torch

    from langseg.classnames import flatten_names
    from langseg.data import load_image
    from langseg.data.images import CorruptFileError
    from langseg.data.mmseg_layouts import read_benchmark_label
    from langseg.metrics import confusion_matrix
    from langseg.models import load_clip
    from langseg.models.dense import patch_logits_fn
    from langseg.models.templates import encode_names
    from langseg.params import Preset
    from langseg.pipeline.stages import shard_samples_from_index
    from langseg.protocol.classes import benchmark_classes
    from langseg.protocol.infer import ClusterSettings, image_probabilities, predict_methods
    from langseg.protocol.settings import BenchmarkSettings

    torch.set_num_threads(max(1, threads))
    start = time.perf_counter()
    benchmark = Benchmark(params["benchmark"])
    settings = BenchmarkSettings(**{k: tuple(v) if isinstance(v, list) else v
                                    for k, v in params["settings"].items()})
    methods = [Method(m) for m in params["methods"]]
    names, counts = flatten_names(benchmark_classes(benchmark, params["class_file"]))
    models = params["models"]
    clip = load_clip(Preset(models["preset"]), clip_path=models["clip_path"], device=device)
    forward = patch_logits_fn(clip, encode_names(clip, names), backend=params["backend"],
                              depth=params["gem_depth"])
    sd = _load_sd(params, device) if "sd" in params else None
    clustering = ClusterSettings.from_config(params["method_settings"])
    k = len(counts)
    cms = {m: np.zeros((k, k), dtype=np.int64) for m in methods}
    done, skipped = [], []
    for sample in shard_samples_from_index(index_path, shard):
        try:
            pil = load_image(sample.image_path)
            labels = read_benchmark_label(sample.mask_path, benchmark)
        except (CorruptFileError, ValueError) as err:
            if params["on_error"] != "skip":
                raise
            log.warning("skipped %s: %s", sample.image_id, err)
            skipped.append(sample.image_id)
            continue
        image = np.asarray(pil, dtype=np.uint8)
        if labels.shape != image.shape[:2]:
            raise ValueError(f"{sample.mask_path}: mask {labels.shape} and image "
                             f"{image.shape[:2]} differ in size")
        probs = image_probabilities(image, forward, counts, settings, use_pamr=params["pamr"])
        sa = _self_attention(sd, pil, params) if sd is not None else None
        for method, pred in predict_methods(methods, probs, sa, settings, clustering).items():
            cms[method] += confusion_matrix(labels, pred, k)
        done.append(sample.image_id)
    np.savez_compressed(out_path, image_ids=np.asarray(done, dtype=str),
                        skipped_ids=np.asarray(skipped, dtype=str),
                        **{f"cm_{m.value}": cm for m, cm in cms.items()})
    log.info("standard %s shard %s: %d images, %d skipped, %.1f s", benchmark.value, shard,
             len(done), len(skipped), time.perf_counter() - start)


def _load_sd(params: Mapping, device: str):
    from langseg.models import load_sd
    from langseg.params import Preset

    models = params["models"]
    return load_sd(Preset(models["preset"]), sd_path=models["sd_path"],
                   sd_config=models["sd_config"], device=device)


def _self_attention(sd, pil, params: Mapping) -> np.ndarray:
    from langseg.models import extract_self_attention
    from langseg.params import Fidelity

    sd_params = params["sd"]
    return extract_self_attention(sd, [pil], timestep=sd_params["timestep"],
                                  seed=sd_params["seed"],
                                  fidelity=Fidelity(sd_params["fidelity"]))[0]


def evaluate_standard(count_paths, params: Mapping, out_path) -> dict:
    """Sum the shards' confusion matrices and write mmseg IoUMetric numbers per method (JSON)."""
    from langseg.protocol.classes import label_names
    from langseg.protocol.metric import iou_metric

    totals: dict[str, np.ndarray] = {}
    n_images, skipped = 0, 0
    for path in count_paths:
        with np.load(path) as data:
            n_images += len(data["image_ids"])
            skipped += len(data["skipped_ids"])
            for method in params["methods"]:
                cm = data[f"cm_{method}"]
                totals[method] = totals.get(method, 0) + cm
    result = dict(params, n_images=n_images, n_skipped=skipped,
                  class_names=list(label_names(params["benchmark"])),
                  scores={m: iou_metric(cm) for m, cm in totals.items()})
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(json.dumps(result, indent=1, allow_nan=True))
    return result


def write_standard_tables(*, eval_paths, params: Mapping, stem, log: logging.Logger) -> list:
    """Write ``{stem}.csv/.md/.tex``: the standard table of every evaluation of the config."""
    from langseg.report.standard_table import build_standard_table, standard_caption
    from langseg.report.writers import write_table

    results = [json.loads(Path(p).read_text()) for p in eval_paths]
    provenance = params["provenance"]
    frame = build_standard_table(results, rows=params["rows"],
                                 backbone=provenance["clip_model"],
                                 real_weights=provenance["preset"] == "real")
    paths = write_table(frame, standard_caption(provenance), stem)
    log.info("wrote %s", ", ".join(str(p) for p in paths))
    return paths
