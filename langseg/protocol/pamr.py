"""PAMR (pixel-adaptive mask refinement; Araslanov & Roth 2020), as the SCLIP lineage applies it.

Affinities come from the image: for every pixel and each of its 8 neighbours at every dilation
``d`` (replicate padding), ``a = -|x_p - x_q| / (1e-8 + 0.1 * std_p)``, averaged over the
colour channels, softmax over all neighbours; ``std_p`` is the unbiased standard deviation of the
pixel's 3x3 neighbourhoods (centre included) over all dilations. Each iteration replaces every
mask value by the affinity-weighted sum of its neighbours' values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _neighbours(x, dilations: Sequence[int], *, centre: bool):
    """``(C, P, H, W)``: the values at each offset (times each dilation), replicate padded."""
    import torch
    import torch.nn.functional as F

    _, height, width = x.shape
    out = []
    for d in dilations:
        padded = F.pad(x[None], [d] * 4, mode="replicate")[0]
        offsets = _OFFSETS if not centre else ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0),
                                              (0, 1), (1, -1), (1, 0), (1, 1))
        for dy, dx in offsets:
            y0, x0 = d + dy * d, d + dx * d
            out.append(padded[:, y0:y0 + height, x0:x0 + width])
    return torch.stack(out, dim=1)


def pamr(image: np.ndarray, masks: np.ndarray, *, iterations: int = 10,
         dilations: Sequence[int] = (8, 16)) -> np.ndarray:
    """Refine ``masks`` along the edges of ``image``.

    Args:
        image: ``(3, H, W) float32`` (the normalised image at the masks' size).
        masks: ``(C, H, W) float32`` scores (e.g. logits).
        iterations: propagation steps (>= 0).
        dilations: neighbour distances in pixels (each >= 1).

    Returns:
        ``(C, H, W) float32``.
    """
    import torch

    if image.shape[1:] != masks.shape[1:]:
        raise ValueError(f"image {image.shape} and masks {masks.shape} differ in size")
    if iterations < 0 or not dilations or min(dilations) < 1:
        raise ValueError(f"iterations must be >= 0 and dilations >= 1, got {iterations}, "
                         f"{list(dilations)}")
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    m = torch.from_numpy(np.ascontiguousarray(masks, dtype=np.float32))
    std = _neighbours(x, dilations, centre=True).std(dim=1, keepdim=True)  # (3, 1, H, W)
    diff = (x[:, None] - _neighbours(x, dilations, centre=False)).abs()
    affinity = (-diff / (1e-8 + 0.1 * std)).mean(dim=0, keepdim=True).softmax(dim=1)
    for _ in range(iterations):
        m = _propagate(m, affinity[0], dilations)
    return m.numpy()


def _propagate(m, affinity, dilations: Sequence[int]):
    """``sum_p affinity[p] * neighbour_p(m)``, one neighbour at a time (memory ``O(C H W)``)."""
    import torch.nn.functional as F

    _, height, width = m.shape
    out = None
    p = 0
    for d in dilations:
        padded = F.pad(m[None], [d] * 4, mode="replicate")[0]
        for dy, dx in _OFFSETS:
            y0, x0 = d + dy * d, d + dx * d
            term = padded[:, y0:y0 + height, x0:x0 + width] * affinity[p]
            out = term if out is None else out + term
            p += 1
    return out
