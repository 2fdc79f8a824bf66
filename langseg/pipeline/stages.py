"""Dataset stages of the workflow: the split index and the ground truth of a shard."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from langseg.params import DatasetKind


def index_split(params: Mapping, index_path: str | Path) -> int:
    """List a split's images (validated) and write the shard index TSV; returns the image count.

    Args:
        params: ``kind``, ``root``, ``split``, ``max_images``, ``shard_size`` (rule params).
    """
    from langseg.data import list_samples, write_index

    samples = list_samples(DatasetKind(params["kind"]), params["root"], params["split"],
                           max_images=params["max_images"])
    write_index(samples, params["shard_size"], index_path)
    return len(samples)


def shard_samples_from_index(index_path: str | Path, shard: str) -> list:
    """The samples of ``shard`` listed in the index, in index order."""
    from langseg.data import read_index

    return [sample for sample, name in read_index(index_path) if name == shard]


def prepare_gt_shard(index_path, shard: str, params: Mapping, out_path,
                     log: logging.Logger) -> None:
    """Load, check and resize the ground truth of one shard; write it as ``.npz``.

    The file holds ``image_ids (n,) str``, ``labels (n, S, S) int16`` (label space, -1 ignore)
    and ``skipped_ids`` / ``skipped_reasons`` for images skipped under ``on_error: skip``.
    """
    from langseg.data import prepare_ground_truth

    samples = shard_samples_from_index(index_path, shard)
    gt = prepare_ground_truth(samples, DatasetKind(params["kind"]), size=params["mask_size"],
                              on_error=params["on_error"])
    for image_id, reason in gt.skipped:
        log.warning("skipped %s: %s", image_id, reason)
    np.savez_compressed(
        out_path, image_ids=np.asarray(gt.image_ids, dtype=str), labels=gt.labels,
        skipped_ids=np.asarray([i for i, _ in gt.skipped], dtype=str),
        skipped_reasons=np.asarray([r for _, r in gt.skipped], dtype=str))
    log.info("shard %s: %d images, %d skipped", shard, len(gt.image_ids), len(gt.skipped))


def load_gt(path: str | Path) -> tuple[list[str], np.ndarray, list[str]]:
    """Read a ``prepare_gt`` file: ``(image_ids, labels (n, S, S) int16, skipped_ids)``."""
    with np.load(path) as data:
        return ([str(i) for i in data["image_ids"]], data["labels"],
                [str(i) for i in data["skipped_ids"]])
