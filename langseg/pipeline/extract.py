"""Extraction stage: run one model over the images of a shard and write one cache store.

Sources (see docs/architecture.md): ``gem`` (raw patch-text cosines), ``sd_sa`` (aggregated
empty-prompt self-attention, stored with the configured SA codec) and ``sd_gt`` (the GT-prompt
pass reduced to what AggSD needs). The store's manifest holds the rule's extraction params, which
``segment`` compares before reading (models with their weight files' identity, settings,
SA codec, code digest), plus the identity of the loaded models (recorded, not compared).
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
    threads: int

    @classmethod
    def from_config(cls, config: Mapping, *, threads: int) -> RuntimeOptions:
        models = config["models"]
        return cls(device=Device(models["device"]), batch_size=models["batch_size"],
                   threads=threads)


#: ``(batch indices, PIL images) -> None``: extracts a batch and writes it into the store.
BatchWriter = Callable[[Sequence[int], list], None]


def extract_shard(*, params: Mapping, index_path, shard: str, gt_path, store_path,
                  runtime: RuntimeOptions, log: logging.Logger) -> None:
    """Extract ``params["source"]`` for the images of one shard into the store at ``store_path``.

    ``sd_gt`` (``gt_path`` given) extracts the images of the shard's ground-truth file (images
    skipped there are skipped here too); ``gem`` and ``sd_sa`` (``gt_path=None``) extract every
    image of the shard in the index, so they never depend on ground-truth settings, and an image
    that cannot be decoded is skipped (recorded in the manifest; the GT stage decides whether
    that is an error). The store is complete (manifest written) only when every image was
    written or skipped.
    """
    import torch

    from langseg.data import CorruptFileError, load_image, read_index
    from langseg.pipeline.stages import shard_samples_from_index

    torch.set_num_threads(max(1, runtime.threads))
    if gt_path is None:
        samples, labels = shard_samples_from_index(index_path, shard), None
        image_ids = [sample.image_id for sample in samples]
    else:
        image_ids, labels, _ = load_gt(gt_path)
        by_id = {sample.image_id: sample for sample, _ in read_index(index_path)}
        samples = [by_id[image_id] for image_id in image_ids]
    source = params["source"]
    start = time.perf_counter()
    opener = {"gem": _gem_writer, "sd_sa": _sa_writer, "sd_gt": _sd_gt_writer}[source]
    writer, write_batch = opener(params, image_ids, labels, store_path, runtime)
    batches = [list(range(i, min(i + runtime.batch_size, len(samples))))
               for i in range(0, len(samples), runtime.batch_size)]
    for batch in track(batches, total=len(samples), count=len,
                       desc=f"{source} {Path(store_path).stem}", logger=log):
        kept, images = [], []
        for i in batch:
            try:
                images.append(load_image(samples[i].image_path))
                kept.append(i)
            except CorruptFileError as err:
                log.warning("skipped %s: %s", image_ids[i], err)
                writer.skip(i, str(err))
        if kept:
            write_batch(kept, images)
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


def _gem_writer(params, image_ids, labels, store_path, runtime) -> tuple:
    from langseg.cache import ArraySpec, write_store
    from langseg.data import get_dataset_info
    from langseg.models import gem_cosines, load_clip, model_identity

    models = params["models"]
    clip = load_clip(Preset(models["preset"]), clip_path=models["clip_path"],
                     device=runtime.device)
    names = list(get_dataset_info(DatasetKind(params["kind"])).prompt_class_names)
    patch = clip.model.visual.patch_size
    grid = (params["resolution"] // patch[0], params["resolution"] // patch[1])
    writer = write_store(store_path, manifest=_manifest(params, model_identity(clip)),
                         image_ids=image_ids,
                         arrays={"cosines": ArraySpec(shape=(len(names), *grid), dtype="float32")})

    def write_batch(batch: Sequence[int], images: list) -> None:
        cos = gem_cosines(clip, images, names, depth=params["depth"],
                          resolution=params["resolution"], batch_size=len(images))
        for j, index in enumerate(batch):
            writer.write(index, cosines=np.ascontiguousarray(cos[j], dtype=np.float32))

    return writer, write_batch


def _sa_writer(params, image_ids, labels, store_path, runtime) -> tuple:
    from langseg.cache import sa_array_spec, write_store
    from langseg.models import extract_self_attention, model_identity

    sd = _load_sd(params, runtime)
    writer = write_store(store_path, manifest=_manifest(params, model_identity(sd)),
                         image_ids=image_ids,
                         arrays={"sa": sa_array_spec(latent_pixels(sd), params["sa_codec"])})

    def write_batch(batch: Sequence[int], images: list) -> None:
        sa = extract_self_attention(sd, images, timestep=params["timestep"], seed=params["seed"],
                                    fidelity=Fidelity(params["fidelity"]),
                                    batch_size=len(images))
        for j, index in enumerate(batch):
            writer.write_sa(index, sa[j])

    return writer, write_batch


def _sd_gt_writer(params, image_ids, labels, store_path, runtime) -> tuple:
    from langseg.cache import ArraySpec, write_store
    from langseg.data import get_dataset_info
    from langseg.models import extract_gt_attention, model_identity

    info = get_dataset_info(DatasetKind(params["kind"]))
    class_ids = [gt_class_ids(label, background=info.background_channel) for label in labels]
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
