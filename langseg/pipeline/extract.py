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
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from langseg.cache.writer import PipelinedWriter
from langseg.params import DatasetKind, Device, Fidelity, Preset
from langseg.pipeline.stages import load_gt
from langseg.progress import job_summary, track


@dataclass(frozen=True)
class RuntimeOptions:
    """How to run (never what to compute): changing these does not invalidate caches.

    Attributes:
        device: where the models run.
        batch_size: images per model pass (split further when the GPU runs out of memory).
        sa_codec: the ``cache.sa_codec`` name.
        threads: the job's CPU threads: torch's compute threads and the store writer's threads.
        max_gpu_memory: GiB of GPU memory this process may use (``None``: all); on CUDA a batch
            that does not fit is split in halves (and later batches with it).
        loaders: batches read and prepared ahead, each on its own prefetch thread (2: one
            thread alone could not keep up with the SA pass on an H200, docs/performance.md).
    """

    device: Device
    batch_size: int
    threads: int
    max_gpu_memory: float | None = None
    loaders: int = 2

    @classmethod
    def from_config(cls, config: Mapping, *, threads: int) -> RuntimeOptions:
        models = config["models"]
        return cls(device=Device(models["device"]), batch_size=models["batch_size"],
                   threads=threads, max_gpu_memory=models.get("max_gpu_memory"))


@dataclass
class ShardJob:
    """One source's extraction: the pipelined store writer and the per-batch functions.

    ``prepare(images)`` runs on a prefetch thread (the next batch's images are read and prepared
    while the current batch computes); ``write_batch(indices, prepared)`` computes and queues the
    writes on ``writer``.
    """

    writer: PipelinedWriter
    write_batch: Callable[[Sequence[int], Any], None]
    prepare: Callable[[list], Any] = list


def extract_shard(*, params: Mapping, index_path, shard: str, gt_path, store_path,
                  runtime: RuntimeOptions, log: logging.Logger, clip_store=None) -> None:
    """Extract ``params["source"]`` for the images of one shard into the store at ``store_path``.

    With ``gt_path`` given (``sd_gt``, ``sd_zs``) the images are those of the shard's
    ground-truth file (images skipped there are skipped here too); with ``gt_path=None``
    (``gem``, the other CLIP backends, ``sd_sa``) every image of the shard in the index, so the
    store never depends on ground-truth settings, and an image that cannot be decoded is skipped
    (recorded in the manifest; the GT stage decides whether that is an error). Reading the next
    batch, computing this one and compressing and writing the previous ones overlap (three
    stages, bounded queues). The store is complete (manifest written) only when every image was
    written or skipped. ``clip_store``: the backend cache whose predicted classes prompt
    ``sd_zs`` (AggSD-ZS).
    """
    import torch

    from langseg.data import read_index
    from langseg.models.loading import resolve_device
    from langseg.pipeline.stages import shard_samples_from_index

    torch.set_num_threads(max(1, runtime.threads))
    limit_gpu_memory(runtime)
    if gt_path is None:
        samples, labels = shard_samples_from_index(index_path, shard), None
        image_ids = [sample.image_id for sample in samples]
    else:
        image_ids, labels, _ = load_gt(gt_path)
        by_id = {sample.image_id: sample for sample, _ in read_index(index_path)}
        samples = [by_id[image_id] for image_id in image_ids]
    paths = [sample.image_path for sample in samples]
    source = params["source"]
    start = time.perf_counter()
    job = open_job(params, image_ids, labels, store_path, runtime, clip_store=clip_store)
    opened = time.perf_counter()
    times = run_job(job, paths, runtime.batch_size, desc=f"{source} {Path(store_path).stem}",
                    log=log, loaders=runtime.loaders)
    log.info(job_summary(f"extract {source} {Path(store_path).stem}", len(paths),
                         time.perf_counter() - start, device=str(resolve_device(runtime.device)),
                         loading=f"{opened - start:.2f}s", **times.as_log_fields()))


def open_job(params: Mapping, image_ids: Sequence[str], labels: Sequence[np.ndarray],
             store_path, runtime: RuntimeOptions, *, model=None, clip_store=None) -> ShardJob:
    """Create the store of ``params["source"]`` (complete after :func:`run_job`) and the job.

    ``model``: an already loaded model for the source (``SDModels`` / ``ClipModel``, loaded
    from ``params["models"]``); ``None`` loads it.
    """
    from langseg.models.backends import backend_names

    source = params["source"]
    if source in backend_names():  # gem or another CLIP backend
        return _gem_job(params, image_ids, labels, store_path, runtime, model)
    if source == "sd_zs":  # the GT-prompt pass, prompted with the backend's classes
        class_ids = zero_shot_class_ids(params, clip_store, image_ids)
        return _sd_gt_job(params, image_ids, labels, store_path, runtime, model,
                          class_ids=class_ids)
    opener = {"sd_sa": _sa_job, "sd_gt": _sd_gt_job}[source]
    return opener(params, image_ids, labels, store_path, runtime, model)


@dataclass
class JobTimes:
    """Where one :func:`run_job` spent its wall time, in seconds, as seen by its main thread.

    ``waiting_for_images``: for the prefetch threads' next batch (reading or preparing caps the
    job); ``computing``: running the model and queueing the writes; ``waiting_for_writer``: for
    room in the writer's queue (compressing or writing caps the job); ``closing``: for the last
    writes and the manifest after the last batch.
    """

    waiting_for_images: float = 0.0
    computing: float = 0.0
    waiting_for_writer: float = 0.0
    closing: float = 0.0

    def as_log_fields(self) -> dict[str, str]:
        """``{"waited_images": "1.2s", ...}`` for :func:`langseg.progress.job_summary`."""
        return {"waited_images": f"{self.waiting_for_images:.2f}s",
                "computing": f"{self.computing:.2f}s",
                "waited_writer": f"{self.waiting_for_writer:.2f}s",
                "closing": f"{self.closing:.2f}s"}


def run_job(job: ShardJob, paths: Sequence, batch_size: int, *, desc: str,
            log: logging.Logger | None = None,
            loaders: int = RuntimeOptions.loaders) -> JobTimes:
    """Read, compute and write every image (``paths[i]`` is image ``i`` of the store) in
    batches; reading the next batches, computing this one and writing earlier ones overlap. On
    return the store is closed and complete; on an error it stays incomplete.

    Args:
        loaders: batches read and prepared ahead, each on its own prefetch thread (>= 1).

    Returns:
        where the time went (:class:`JobTimes`).
    """
    from langseg.data import CorruptFileError, load_image

    if loaders < 1:
        raise ValueError(f"run_job: loaders must be >= 1, got {loaders}")
    batches = [list(range(i, min(i + batch_size, len(paths))))
               for i in range(0, len(paths), batch_size)]
    times = JobTimes()

    def load(batch):  # -> (kept indices, prepared images, [(index, reason)] of undecodable ones)
        kept, images, skipped = [], [], []
        for i in batch:
            try:
                images.append(load_image(paths[i]))
                kept.append(i)
            except CorruptFileError as err:
                skipped.append((i, str(err)))
        return kept, (job.prepare(images) if kept else None), skipped

    with job.writer, ThreadPoolExecutor(loaders, thread_name_prefix="prefetch") as prefetch:
        upcoming = deque(prefetch.submit(load, batch) for batch in batches[:loaders])
        for k, _batch in enumerate(track(batches, total=len(paths), count=len, desc=desc,
                                        logger=log)):
            clock = time.perf_counter()
            kept, prepared, skipped = upcoming.popleft().result()
            if k + loaders < len(batches):
                upcoming.append(prefetch.submit(load, batches[k + loaders]))
            blocked = job.writer.blocked_seconds
            times.waiting_for_images += time.perf_counter() - clock
            clock = time.perf_counter()
            for index, reason in skipped:
                if log is not None:
                    log.warning("skipped image %d (%s): %s", index, paths[index], reason)
                job.writer.skip(index, reason)
            if kept:
                job.write_batch(kept, prepared)
            waited = job.writer.blocked_seconds - blocked
            times.waiting_for_writer += waited
            times.computing += time.perf_counter() - clock - waited
        clock = time.perf_counter()
    # leaving the block waited for every write and closed the store (manifest last)
    times.closing = time.perf_counter() - clock
    return times


def limit_gpu_memory(runtime: RuntimeOptions) -> None:
    """Cap this process's CUDA allocations at ``runtime.max_gpu_memory`` GiB (if set and CUDA)."""
    import torch

    if runtime.max_gpu_memory is None or runtime.device is Device.CPU \
            or not torch.cuda.is_available():
        return
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, runtime.max_gpu_memory * 2**30 / total))


class HalvingOnOOM:
    """Runs ``fn(inputs)`` on parts of a batch, halving the part size when CUDA runs out of memory.

    The size that fitted is kept for later batches. ``fn`` must return one result per input.
    """

    def __init__(self, fn: Callable[[Any], list], batch_size: int) -> None:
        self.fn = fn
        self.size = batch_size

    def __call__(self, inputs) -> list:
        import torch

        out: list = []
        start = 0
        while start < len(inputs):
            part = inputs[start:start + self.size]
            try:
                out.extend(self.fn(part))
            except torch.cuda.OutOfMemoryError:
                if self.size == 1:
                    raise MemoryError("one image does not fit in the GPU memory allowed "
                                      "(models.max_gpu_memory); raise it or free the GPU") from None
                torch.cuda.empty_cache()
                self.size = max(1, self.size // 2)
                continue
            start += len(part)
        return out


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


def _pipelined(store, runtime: RuntimeOptions) -> PipelinedWriter:
    """The store's writer with ``runtime.threads`` threads, two batches of images queued."""
    return PipelinedWriter(store, threads=max(1, runtime.threads),
                           max_pending=2 * runtime.batch_size)


def _gem_job(params, image_ids, labels, store_path, runtime, clip=None) -> ShardJob:
    """Cosines of the backend ``params["source"]`` (gem or another); text embedded once."""
    from langseg.cache import ArraySpec, write_store
    from langseg.data import get_dataset_info
    from langseg.models import backend_cosines, load_clip, make_backend, model_identity
    from langseg.models.backends import backend_settings

    name = params["source"]
    backend = make_backend(name, {k: params[k] for k in backend_settings(name) if k in params})
    models = params["models"]
    clip = clip or load_clip(Preset(models["preset"]), clip_path=models["clip_path"],
                             device=runtime.device)
    names = list(get_dataset_info(DatasetKind(params["kind"])).prompt_class_names)
    patch = clip.model.visual.patch_size
    grid = (backend.resolution // patch[0], backend.resolution // patch[1])
    writer = _pipelined(write_store(
        store_path, manifest=_manifest(params, model_identity(clip)), image_ids=image_ids,
        arrays={"cosines": ArraySpec(shape=(len(names), *grid), dtype="float32")}), runtime)

    def write_batch(batch: Sequence[int], images: list) -> None:
        cos = backend_cosines(clip, backend, images, names, batch_size=len(images))
        for j, index in enumerate(batch):
            writer.submit(index, cosines=np.ascontiguousarray(cos[j], dtype=np.float32))

    return ShardJob(writer, write_batch)


def _sa_job(params, image_ids, labels, store_path, runtime, sd=None) -> ShardJob:
    """SA on the model's device; on CUDA encoded there and only the codes copied to the host."""
    from langseg.cache import sa_array_spec, write_store
    from langseg.models import model_identity
    from langseg.models.sd import preprocess_images, self_attention_batch

    sd = sd or _load_sd(params, runtime)
    spec = sa_array_spec(latent_pixels(sd), params["sa_codec"])
    writer = _pipelined(write_store(store_path, manifest=_manifest(params, model_identity(sd)),
                                    image_ids=image_ids, arrays={"sa": spec}), runtime)
    fidelity = Fidelity(params["fidelity"])
    compute = HalvingOnOOM(lambda pixels: self_attention_batch(
        sd, pixels.to(sd.device, non_blocking=True), timestep=params["timestep"],
        seed=params["seed"]), runtime.batch_size)

    def prepare(images: list):
        pixels = preprocess_images(images, fidelity)
        return pixels.pin_memory() if sd.device.type == "cuda" else pixels

    def write_batch(batch: Sequence[int], pixels) -> None:
        for index, sa in zip(batch, compute(pixels)):
            queue_sa(writer, index, sa, spec.codec)

    return ShardJob(writer, write_batch, prepare)


def queue_sa(writer: PipelinedWriter, index: int, sa, codec) -> None:
    """Queue one ``(N, N) float32`` SA tensor: a CPU tensor is encoded by the writer's threads;
    a GPU tensor is encoded on the GPU and only its codes are copied (pinned, asynchronously)."""
    from langseg.cache import EncodedSA
    from langseg.cache.codecs import encode_sa_tensor
    from langseg.cache.writer import stage_on_host

    if sa.device.type == "cpu":
        writer.submit(index, sa=sa.numpy())
        return
    values, scale = encode_sa_tensor(sa, codec)
    (values, scale), ready = stage_on_host([values, scale])
    writer.submit(index, ready=ready, sa=EncodedSA(
        codec, values.numpy(), None if scale is None else scale.numpy()))


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


def _sd_gt_job(params, image_ids, labels, store_path, runtime, sd=None, *,
               class_ids=None) -> ShardJob:
    """The prompted SD pass: GT classes, or ``class_ids`` per image (AggSD-ZS)."""
    from langseg.cache import ArraySpec, write_store
    from langseg.data import get_dataset_info
    from langseg.models import extract_gt_attention, model_identity

    info = get_dataset_info(DatasetKind(params["kind"]))
    if class_ids is None:
        class_ids = [gt_class_ids(label, background=info.background_channel)
                     for label in labels]
    k_max = max([len(ids) for ids in class_ids] + [1])
    sd = sd or _load_sd(params, runtime)
    n = latent_pixels(sd)
    writer = _pipelined(write_store(
        store_path, manifest=_manifest(params, model_identity(sd)), image_ids=image_ids,
        arrays={"agg": ArraySpec(shape=(n, 1 + k_max), dtype="float32"),
                "ca_colsum": ArraySpec(shape=(1 + k_max,), dtype="float32"),
                "class_ids": ArraySpec(shape=(k_max,), dtype="int16")}), runtime)

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
            writer.submit(index, agg=agg, ca_colsum=colsum, class_ids=ids)

    return ShardJob(writer, write_batch)


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
