"""What one image offers the methods, validated once at the boundary."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SDGroundTruthAttention:
    """The GT-prompt SD pass of one image (AggSD input).

    Attributes:
        agg: ``(N, 1+K) float32`` = (SA_gt with columns normalised)^T @ [CA_SOS, CA_c1..CA_cK].
        ca_colsum: ``(1+K,) float`` pixel sums of the raw CA columns (for ``ca_norm``).
        class_ids: ``(K,) int`` label ids of the K prompted GT classes, in prompt order, >= 0.
    """

    agg: np.ndarray
    ca_colsum: np.ndarray
    class_ids: np.ndarray

    def __post_init__(self) -> None:
        agg, colsum, ids = (np.asarray(x) for x in (self.agg, self.ca_colsum, self.class_ids))
        if agg.ndim != 2 or agg.shape[1] < 1:
            raise ValueError(f"sd_gt.agg must be (N, 1+K), got shape {agg.shape}")
        k = agg.shape[1] - 1
        if colsum.shape != (k + 1,):
            raise ValueError(f"sd_gt.ca_colsum must have shape ({k + 1},), got {colsum.shape}")
        if ids.shape != (k,) or (k and (not np.issubdtype(ids.dtype, np.integer)
                                         or ids.min() < 0)):
            raise ValueError(f"sd_gt.class_ids must be ({k},) non-negative ints, got {ids!r}")

    @classmethod
    def from_padded(cls, agg: np.ndarray, ca_colsum: np.ndarray,
                    class_ids: np.ndarray) -> SDGroundTruthAttention:
        """From the cache layout: ``class_ids (Kmax,)`` padded with -1, agg/colsum padded too."""
        ids = np.asarray(class_ids)
        k = int((ids >= 0).sum())
        if np.any(ids[:k] < 0) or np.any(ids[k:] >= 0):
            raise ValueError(f"class_ids padding (-1) must come after the ids, got {ids!r}")
        return cls(agg=np.asarray(agg)[:, : k + 1], ca_colsum=np.asarray(ca_colsum)[: k + 1],
                   class_ids=ids[:k].astype(np.int64))


@dataclass(frozen=True)
class ImageInputs:
    """Per-image inputs; ``None`` for what the method does not need.

    Attributes:
        cosines: ``(C, g, g) float32`` raw GEM patch-text cosines over the prompt classes.
        self_attention: ``(N, N) float32``, rows (queries) sum to 1, ``N = r*r``.
        gt: ``(S, S) int`` label map in label space, -1 = ignore (S = output size, 320).
        sd_gt: the GT-prompt SD pass (AggSD only).
        name_counts: ``None`` (one name per class, ``C`` classes) or the number of names of
            each class (synonyms); ``cosines`` then has ``sum(name_counts)`` channels.
    """

    cosines: np.ndarray | None = None
    self_attention: np.ndarray | None = None
    gt: np.ndarray | None = None
    sd_gt: SDGroundTruthAttention | None = None
    name_counts: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.cosines is not None:
            cos = np.asarray(self.cosines)
            if cos.ndim != 3 or cos.shape[1] != cos.shape[2] or cos.shape[0] < 1:
                raise ValueError(f"cosines must be (C, g, g), got shape {cos.shape}")
        if self.name_counts is not None:
            counts = tuple(self.name_counts)
            if not counts or min(counts) < 1 or (
                    self.cosines is not None and sum(counts) != np.shape(self.cosines)[0]):
                raise ValueError(f"name_counts must be >= 1 each and sum to the cosine "
                                 f"channels, got {counts} for cosines of shape "
                                 f"{np.shape(self.cosines)}")
        if self.self_attention is not None:
            attention_side(self.self_attention)
        if self.gt is not None:
            gt = np.asarray(self.gt)
            if gt.ndim != 2 or not np.issubdtype(gt.dtype, np.integer) or gt.min(initial=0) < -1:
                raise ValueError(f"gt must be a 2-D int label map with -1 = ignore, got "
                                 f"shape {gt.shape} dtype {gt.dtype}")


    @property
    def n_classes(self) -> int:
        """``C``: number of classes of ``cosines`` (names grouped by ``name_counts``)."""
        if self.name_counts is not None:
            return len(self.name_counts)
        return int(np.shape(self.cosines)[0])


def attention_side(self_attention: np.ndarray) -> int:
    """Side ``r`` of the attention grid of an ``(N, N)`` SA with ``N = r*r``."""
    shape = np.shape(self_attention)
    side = math.isqrt(shape[0]) if len(shape) == 2 else 0
    if len(shape) != 2 or shape[0] != shape[1] or side * side != shape[0]:
        raise ValueError(f"self_attention must be (N, N) with N = r*r, got shape {shape}")
    return side
