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
        params: ``method``, ``kind``, ``settings`` (config overrides the method reads) and
            ``expected`` (per cache source, the extraction params its manifest must carry).
        caches: cache source (``gem``, ``sd_sa``, ``sd_gt``) -> store path.
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
    for source, reader in readers.items():
        if list(reader.image_ids) != image_ids:
            raise ValueError(f"cache {caches[source]} holds images {list(reader.image_ids)[:3]}..., "
                             f"the ground truth {gt_path} holds {image_ids[:3]}...; "
                             "delete the cache and rerun")
    start = time.perf_counter()
    preds = np.empty((len(image_ids), settings.output_size, settings.output_size), np.int16)
    for i in track(range(len(image_ids)), total=len(image_ids),
                   desc=f"{method.value} {Path(out_path).stem}", logger=log):
        inputs = image_inputs(readers, i, labels[i])
        preds[i] = segment_image(method, inputs, settings)
    np.savez_compressed(out_path, image_ids=np.asarray(image_ids, dtype=str), labels=preds)
    log.info(job_summary(f"segment {method.value}", len(image_ids), time.perf_counter() - start))


def image_inputs(readers: Mapping, index: int, gt: np.ndarray):
    """The ``ImageInputs`` of image ``index`` from the open cache readers."""
    from langseg.methods import ImageInputs, SDGroundTruthAttention

    sd_gt = None
    if "sd_gt" in readers:
        reader = readers["sd_gt"]
        sd_gt = SDGroundTruthAttention.from_padded(reader.read("agg", index),
                                                   reader.read("ca_colsum", index),
                                                   reader.read("class_ids", index))
    return ImageInputs(
        cosines=readers["gem"].read("cosines", index) if "gem" in readers else None,
        self_attention=readers["sd_sa"].read_sa(index) if "sd_sa" in readers else None,
        gt=gt, sd_gt=sd_gt)
