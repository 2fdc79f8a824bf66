"""CA_CLIP class probabilities, the VOC background rule and the ground-truth class filter.

docs/spec.md §2 and §3.6: ``p = softmax_c(cos / s)``; on VOC a background channel 0 is prepended,
``bg = max(0, (1 - max_c p) - offset)`` evaluated in float32 in that order, not renormalised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FILTERED_LOGIT = -100.0  # what the report's filter_prompt writes into non-GT channels


def class_probabilities(cosines: np.ndarray, temperature: float, *, voc_background: bool,
                        background_offset: float = 0.8,
                        name_counts: Sequence[int] | None = None) -> np.ndarray:
    """Softmax over classes of ``cosines / temperature`` (torch float32, as coded).

    Args:
        cosines: ``(C, h, w) float32`` raw patch-text cosines; with ``name_counts``,
            ``(sum(name_counts), h, w)``: one channel per class NAME, classes' names in order.
        temperature: ``s > 0`` (a true division, as the VOC code does).
        voc_background: prepend the background channel.
        background_offset: ``offset`` of the background rule.
        name_counts: names per class (synonyms): the softmax runs over all names, then each
            class takes the max over its names (:func:`langseg.classnames.max_over_synonyms`),
            so the ``C`` class channels sum to at most 1; the background rule follows.

    Returns:
        ``(C, h, w)`` or, with the background, ``(1 + C, h, w) float32`` in ``[0, 1]``; the
        ``C`` class channels sum to 1 per pixel, channel 0 is the (unnormalised) background.
    """
    import torch

    x = torch.from_numpy(np.ascontiguousarray(cosines, dtype=np.float32))
    probs = torch.softmax(x / temperature, dim=0)
    if name_counts is not None:
        from langseg.classnames import max_over_synonyms

        probs = torch.from_numpy(max_over_synonyms(probs.numpy(), name_counts, axis=0))
    if voc_background:
        bg = (1 - probs.max(dim=0).values) - background_offset
        bg = torch.where(bg > 0, bg, torch.zeros_like(bg))
        probs = torch.cat([bg[None], probs], dim=0)
    return probs.numpy()


def allowed_channels(gt: np.ndarray, n_channels: int, *, voc_background: bool) -> np.ndarray:
    """Channels a "W" method may predict: the classes present in ``gt`` (+ background on VOC).

    Args:
        gt: ``(S, S) int`` label map, -1 = ignore; label id == channel index.
        n_channels: number of channels (VOC: 21 incl. background).
        voc_background: channel 0 (background) is always allowed.

    Returns:
        ``(k,) int64`` sorted channel ids.

    Raises:
        ValueError: a GT id is >= ``n_channels``.
    """
    ids = np.unique(gt)
    ids = ids[ids >= 0]
    if ids.size and ids[-1] >= n_channels:
        raise ValueError(f"gt holds label {int(ids[-1])} but the methods have only "
                         f"{n_channels} channels; check the dataset's class list")
    if voc_background:
        ids = np.union1d(ids, [0])
    return ids.astype(np.int64)


def mask_channels(scores: np.ndarray, allowed: np.ndarray,
                  value: float = FILTERED_LOGIT) -> np.ndarray:
    """Copy of ``scores (C, ...)`` with every channel not in ``allowed`` set to ``value``."""
    out = np.array(scores, dtype=np.float32, copy=True)
    keep = np.zeros(out.shape[0], dtype=bool)
    keep[allowed] = True
    out[~keep] = value
    return out


def argmax_channels(scores: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
    """Per-pixel argmax over channels; first maximum wins.

    Restricting to ``allowed`` equals the report's "set other channels to -100, then argmax"
    whenever allowed scores exceed -100 (always for probabilities and AGG). With no allowed
    channel every channel would be -100 and the report's argmax gives 0, as here.

    Args:
        scores: ``(C, H, W) float``.
        allowed: ``(k,) int`` sorted channel ids, or ``None`` for all.

    Returns:
        ``(H, W) int64`` channel ids.
    """
    if allowed is None:
        return scores.argmax(axis=0)
    if len(allowed) == 0:
        return np.zeros(scores.shape[1:], dtype=np.int64)
    return np.asarray(allowed, dtype=np.int64)[scores[allowed].argmax(axis=0)]
