"""Ground truth of a shard: every mask loaded, checked against its image, resized to 320."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from langseg.data.images import CorruptFileError, image_size, load_image
from langseg.data.labels import check_size, resize_labels
from langseg.data.readers import read_label
from langseg.data.registry import get_dataset_info
from langseg.data.samples import Sample
from langseg.params import DatasetKind

ON_ERROR = ("fail", "skip")


@dataclass(frozen=True, eq=False)
class GroundTruthShard:
    """Label maps of the readable samples of a shard.

    Attributes:
        image_ids: ids of the loaded samples, in input order.
        labels: ``(n, size, size) int16`` in the dataset's label space, ``-1`` = ignore.
        skipped: ``(image_id, reason)`` of each sample skipped as corrupt (``on_error="skip"``).
    """

    image_ids: list[str]
    labels: np.ndarray
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _checked_label(sample: Sample, kind: DatasetKind | str, size: int, decode_images: bool):
    labels = read_label(sample.mask_path, kind)
    width, height = (load_image(sample.image_path).size if decode_images
                     else image_size(sample.image_path))
    if labels.shape != (height, width):
        raise ValueError(
            f"mask {sample.mask_path} is {labels.shape[1]}x{labels.shape[0]} (WxH) but image "
            f"{sample.image_path} is {width}x{height}; a mask must cover its image pixel for "
            "pixel (wrong root, or image and mask from different releases?)")
    return resize_labels(labels, size)


def prepare_ground_truth(samples: Sequence[Sample], kind: DatasetKind | str, *, size: int = 320,
                         on_error: str = "fail", decode_images: bool = True) -> GroundTruthShard:
    """Load, check and resize the label maps of ``samples``.

    Each mask is mapped to the label space (values outside the dataset's rule -> ValueError naming
    the file) and its size compared with its image's (mismatch -> ValueError naming both sizes).
    With ``decode_images`` the image is decoded completely, so a truncated image is found here on
    the CPU rather than in a GPU extraction job; otherwise only its header is read.

    Args:
        on_error: ``"fail"``: the first unreadable (truncated/corrupt) image or mask raises
            :class:`CorruptFileError` naming it. ``"skip"``: such samples are left out and listed
            in ``skipped``. Size mismatches and invalid label values always raise: they mean a
            wrong root or dataset kind, not one damaged file.

    Returns:
        :class:`GroundTruthShard`; ``labels`` has shape ``(0, size, size)`` if every sample was
        skipped.
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
    check_size(size)
    get_dataset_info(kind)  # validates kind before any file is read
    ids, maps, skipped = [], [], []
    for sample in samples:
        try:
            maps.append(_checked_label(sample, kind, size, decode_images))
        except CorruptFileError as err:
            if on_error == "fail":
                raise
            skipped.append((sample.image_id, str(err)))
            continue
        ids.append(sample.image_id)
    labels = np.stack(maps) if maps else np.zeros((0, size, size), dtype=np.int16)
    return GroundTruthShard(image_ids=ids, labels=labels, skipped=skipped)


def present_classes(label: np.ndarray) -> tuple[int, ...]:
    """Sorted unique class ids of a label map, ignore (-1) dropped.

    Used for the GT-class prompts and the W variants (VOC callers drop background 0 themselves).

    Args:
        label: integer array of any shape, values ``>= -1``.

    Returns:
        ``tuple[int, ...]`` ascending, e.g. ``present_classes([[0, 3], [-1, 3]]) == (0, 3)``.
    """
    values = np.asarray(label)
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"label map must hold integers, got dtype {values.dtype}")
    unique = np.unique(values)
    if unique.size and unique[0] < -1:
        raise ValueError(f"label map has values below -1 (ignore): {unique[unique < -1][:10]}")
    return tuple(int(v) for v in unique if v >= 0)
