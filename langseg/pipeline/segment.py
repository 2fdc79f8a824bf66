"""Segmentation stage: one method over the images of one shard, caches in, label maps out."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from langseg.params import DatasetKind, Method
from langseg.pipeline.stages import load_gt
from langseg.progress import job_summary, track


def segment_shard(*, params: Mapping, caches: Mapping[str, str], gt_path, out_path,
                  log: logging.Logger, threads: int = 1) -> None:
    """Run ``params["method"]`` on every image of the shard and write ``out_path`` (``.npz``).

    Args:
        params: ``method``, ``kind``, ``settings`` (config overrides the method reads),
            ``expected`` (per cache source, the extraction params its manifest must carry) and
            ``backend`` (the CLIP backend; absent = ``gem``).
        caches: cache source (the backend's name, ``sd_sa``, ``sd_gt``, ``sd_zs``) -> store.
        gt_path: the shard's ``prepare_gt`` file.
        out_path: receives ``image_ids (n,) str`` and ``labels (n, S, S) int16``.
        threads: the job's threads: torch gets them, BLAS and scikit-learn run serially
            (:func:`langseg.threads.pinned_threads`; two threads are never slower than one).
    """
    from langseg.threads import pinned_threads

    with pinned_threads(threads):
        _segment_shard(params, caches, gt_path, out_path, log)


def _segment_shard(params: Mapping, caches: Mapping[str, str], gt_path, out_path,
                   log: logging.Logger) -> None:
    from langseg.cache import open_store
    from langseg.methods import MethodSettings, segment_image

    method = Method(params["method"])
    settings = MethodSettings.for_dataset(DatasetKind(params["kind"]), params["settings"])
    image_ids, labels, _ = load_gt(gt_path)
    readers = {source: open_store(path, expected={"extraction": params["expected"][source]})
               for source, path in caches.items()}
    for reader in readers.values():
        for image_id in image_ids:  # the GT may leave out images the store holds, not the reverse
            reader.index_of(image_id)
    start = time.perf_counter()
    preds = np.empty((len(image_ids), settings.output_size, settings.output_size), np.int16)
    for i in track(range(len(image_ids)), total=len(image_ids),
                   desc=f"{method.value} {Path(out_path).stem}", logger=log):
        inputs = image_inputs(readers, image_ids[i], labels[i],
                              backend=params.get("backend", "gem"))
        preds[i] = segment_image(method, inputs, settings)
    np.savez_compressed(out_path, image_ids=np.asarray(image_ids, dtype=str), labels=preds)
    log.info(job_summary(f"segment {method.value}", len(image_ids), time.perf_counter() - start))


def image_inputs(readers: Mapping, image_id: str, gt: np.ndarray, *, backend: str = "gem"):
    """The ``ImageInputs`` of image ``image_id`` from the open cache readers.

    The cosines come from the ``backend`` reader; ``sd_zs`` (AggSD-ZS) stands in for ``sd_gt``.
    """
    from langseg.methods import ImageInputs, SDGroundTruthAttention

    sd_gt = None
    prompted = "sd_gt" if "sd_gt" in readers else "sd_zs"
    if prompted in readers:
        reader = readers[prompted]
        index = reader.index_of(image_id)
        sd_gt = SDGroundTruthAttention.from_padded(reader.read("agg", index),
                                                   reader.read("ca_colsum", index),
                                                   reader.read("class_ids", index))
    clip, sd_sa = readers.get(backend), readers.get("sd_sa")
    return ImageInputs(
        cosines=clip.read("cosines", clip.index_of(image_id)) if clip else None,
        self_attention=sd_sa.read_sa(sd_sa.index_of(image_id)) if sd_sa else None,
        gt=gt, sd_gt=sd_gt)
