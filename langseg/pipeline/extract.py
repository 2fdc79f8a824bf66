"""Extraction stage: run one model over the images of a shard and write one cache store.

Sources (see docs/architecture.md): a CLIP backend (``gem``, ``sclip``, ...: raw patch-text
cosines), ``sd_sa`` (aggregated empty-prompt self-attention, stored with the configured SA
codec), ``sd_gt`` (the GT-prompt pass reduced to what AggSD needs) and ``sd_zs`` (the same pass
prompted with the classes a backend predicts, for AggSD-ZS). The store's manifest holds the rule's extraction params, which
``segment`` compares before reading, plus the model identity (recorded, not compared).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from langseg.params import DatasetKind, Device, Fidelity, Preset
from langseg.pipeline.stages import load_gt
from langseg.progress import job_summary, track


@dataclass(frozen=True)
class RuntimeOptions:
    """How to run (never what to compute): changing these does not invalidate caches."""

    device: Device
    batch_size: int
    sa_codec: str
    threads: int

    @classmethod
    def from_config(cls, config: Mapping, *, threads: int) -> RuntimeOptions:
        models = config["models"]
        return cls(device=Device(models["device"]), batch_size=models["batch_size"],
                   sa_codec=config["cache"]["sa_codec"], threads=threads)


#: ``(batch indices, PIL images) -> None``: extracts a batch and writes it into the store.
BatchWriter = Callable[[Sequence[int], list], None]


def extract_shard(*, params: Mapping, index_path, gt_path, store_path, runtime: RuntimeOptions,
                  log: logging.Logger, clip_store=None) -> None:
    """Extract ``params["source"]`` for the images of one shard into the store at ``store_path``.

    The images are those of the shard's ground-truth file (images skipped there are skipped
    here too). The store is complete (manifest written) only when every image was written.
    ``clip_store``: the backend cache whose predicted classes prompt ``sd_zs``.
    """
    import torch

    from langseg.data import load_image, read_index
    from langseg.models.backends import backend_names

    torch.set_num_threads(max(1, runtime.threads))
    image_ids, labels, _ = load_gt(gt_path)
    by_id = {sample.image_id: sample for sample, _ in read_index(index_path)}
    samples = [by_id[image_id] for image_id in image_ids]
    source = params["source"]
    start = time.perf_counter()
    if source in backend_names():
        writer, write_batch = _clip_writer(params, image_ids, store_path, runtime)
    elif source == "sd_zs":
        class_ids = zero_shot_class_ids(params, clip_store, image_ids)
        writer, write_batch = _prompted_writer(params, image_ids, class_ids, store_path, runtime)
    else:
        opener = {"sd_sa": _sa_writer, "sd_gt": _sd_gt_writer}[source]
        writer, write_batch = opener(params, image_ids, labels, store_path, runtime)
    batches = [list(range(i, min(i + runtime.batch_size, len(samples))))
               for i in range(0, len(samples), runtime.batch_size)]
    for batch in track(batches, total=len(batches), unit="batches",
                       desc=f"{source} {Path(store_path).stem}", logger=log):
        write_batch(batch, [load_image(samples[i].image_path) for i in batch])
    writer.close()  # the manifest goes in last: only now is the store complete
    from langseg.models.loading import resolve_device

    log.info(job_summary(f"extract {source} {Path(store_path).stem}", len(samples),
                         time.perf_counter() - start, device=str(resolve_device(runtime.device))))


def _manifest(params: Mapping, identity: Mapping) -> dict:
    return {"extraction": dict(params), "model": dict(identity)}


def _load_sd(params: Mapping, runtime: RuntimeOptions):
    from langseg.models import load_sd

    models = params["models"]
    return load_sd(Preset(models["preset"]), sd_path=models["sd_path"],
                   sd_config=models["sd_config"], device=runtime.device)


def latent_pixels(sd) -> int:
    """``N``: pixels of the latent grid the attention lives on (4096 for SD 1.5 at 512)."""
    from langseg.models.sd import SD_INPUT_SIZE

    side = SD_INPUT_SIZE // 2 ** (len(sd.vae.config.block_out_channels) - 1)
    return side * side


def _clip_writer(params, image_ids, store_path, runtime) -> tuple:
    """Cosines of the backend ``params["source"]``; text embedded once for the whole job."""
    from langseg.cache import ArraySpec, write_store
    from langseg.data import get_dataset_info
    from langseg.models import backend_cosines, load_clip, make_backend, model_identity
    from langseg.models.backends import backend_settings

    models = params["models"]
    name = params["source"]
    backend = make_backend(name, {k: params[k] for k in backend_settings(name) if k in params})
    clip = load_clip(Preset(models["preset"]), clip_path=models["clip_path"],
                     device=runtime.device)
    names = list(get_dataset_info(DatasetKind(params["kind"])).prompt_class_names)
    patch = clip.model.visual.patch_size
    grid = (backend.resolution // patch[0], backend.resolution // patch[1])
    writer = write_store(store_path, manifest=_manifest(params, model_identity(clip)),
                         image_ids=image_ids,
                         arrays={"cosines": ArraySpec(shape=(len(names), *grid), dtype="float32")})

    def write_batch(batch: Sequence[int], images: list) -> None:
        cos = backend_cosines(clip, backend, images, names, batch_size=len(images))
        for j, index in enumerate(batch):
            writer.write(index, cosines=np.ascontiguousarray(cos[j], dtype=np.float32))

    return writer, write_batch


def _sa_writer(params, image_ids, labels, store_path, runtime) -> tuple:
    from langseg.cache import sa_array_spec, write_store
    from langseg.models import extract_self_attention, model_identity

    sd = _load_sd(params, runtime)
    writer = write_store(store_path, manifest=_manifest(params, model_identity(sd)),
                         image_ids=image_ids,
                         arrays={"sa": sa_array_spec(latent_pixels(sd), runtime.sa_codec)})

    def write_batch(batch: Sequence[int], images: list) -> None:
        sa = extract_self_attention(sd, images, timestep=params["timestep"], seed=params["seed"],
                                    fidelity=Fidelity(params["fidelity"]),
                                    batch_size=len(images))
        for j, index in enumerate(batch):
            writer.write_sa(index, sa[j])

    return writer, write_batch


def _sd_gt_writer(params, image_ids, labels, store_path, runtime) -> tuple:
    from langseg.data import get_dataset_info

    info = get_dataset_info(DatasetKind(params["kind"]))
    class_ids = [gt_class_ids(label, background=info.background_channel) for label in labels]
    return _prompted_writer(params, image_ids, class_ids, store_path, runtime)


def zero_shot_class_ids(params: Mapping, clip_store, image_ids: Sequence[str]) -> list[list[int]]:
    """Per image, the classes the backend's Method 1 predicts present (``params["classes"]``)."""
    from langseg.cache import open_store
    from langseg.methods import MethodSettings
    from langseg.methods.zero_shot import ZeroShotClasses, predicted_classes

    if clip_store is None:
        raise ValueError("the sd_zs extraction needs the backend cache (input 'clip')")
    reader = open_store(clip_store, expected={"extraction": params["backend"]})
    if list(reader.image_ids) != list(image_ids):
        raise ValueError(f"backend cache {clip_store} lists other images than the shard; "
                         "delete it and rerun")
    settings = MethodSettings.for_dataset(
        DatasetKind(params["kind"]),
        {**params["method_settings"], "output_size": params["mask_size"]})
    rule = ZeroShotClasses(**params["classes"])
    return [predicted_classes(reader.read("cosines", i), settings, rule)
            for i in range(len(image_ids))]


def _prompted_writer(params, image_ids, class_ids, store_path, runtime) -> tuple:
    """The SD pass prompted with ``class_ids[i]`` per image (GT classes or predicted ones)."""
    from langseg.cache import ArraySpec, write_store
    from langseg.data import get_dataset_info
    from langseg.models import extract_gt_attention, model_identity

    info = get_dataset_info(DatasetKind(params["kind"]))
    k_max = max([len(ids) for ids in class_ids] + [1])
    sd = _load_sd(params, runtime)
    n = latent_pixels(sd)
    writer = write_store(
        store_path, manifest=_manifest(params, model_identity(sd)), image_ids=image_ids,
        arrays={"agg": ArraySpec(shape=(n, 1 + k_max), dtype="float32"),
                "ca_colsum": ArraySpec(shape=(1 + k_max,), dtype="float32"),
                "class_ids": ArraySpec(shape=(k_max,), dtype="int16")})

    def write_batch(batch: Sequence[int], images: list) -> None:
        prompted = [i for i in batch if class_ids[i]]  # an image without GT classes has no prompt
        results = dict(zip(prompted, extract_gt_attention(
            sd, [images[batch.index(i)] for i in prompted],
            [[info.class_names[c] for c in class_ids[i]] for i in prompted],
            timestep=params["timestep"], seed=params["seed"],
            fidelity=Fidelity(params["fidelity"]), batch_size=max(1, len(prompted))))) \
            if prompted else {}
        for index in batch:
            result = results.get(index)
            agg = result.agg if result else np.zeros((n, 1), np.float32)
            colsum = result.ca_colsum if result else np.zeros(1, np.float32)
            agg, colsum, ids = pad_gt_attention(agg, colsum, class_ids[index], k_max)
            writer.write(index, agg=agg, ca_colsum=colsum, class_ids=ids)

    return writer, write_batch


def gt_class_ids(label: np.ndarray, *, background: bool) -> list[int]:
    """Label ids present in a GT map, sorted, without -1 (and without 0 when it is background)."""
    from langseg.data import present_classes

    return [c for c in present_classes(label) if not (background and c == 0)]


def pad_gt_attention(agg: np.ndarray, colsum: np.ndarray, class_ids: Sequence[int], k_max: int):
    """Pad ``(N, 1+K)`` / ``(1+K,)`` to ``1+k_max`` columns (zeros) and ids to ``k_max`` (-1)."""
    k = len(class_ids)
    if agg.shape[1] != 1 + k:
        raise ValueError(f"GT attention has {agg.shape[1]} columns, expected 1 + {k} classes")
    padded = np.zeros((agg.shape[0], 1 + k_max), dtype=np.float32)
    padded[:, : 1 + k] = agg
    sums = np.zeros(1 + k_max, dtype=np.float32)
    sums[: 1 + k] = colsum
    ids = np.full(k_max, -1, dtype=np.int16)
    ids[:k] = class_ids
    return padded, sums, ids
