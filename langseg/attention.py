"""Aggregation of per-layer Stable Diffusion attention maps (docs/spec.md §1.4), pure torch on CPU.

The capture (``langseg.models.sd``) yields one head-averaged map per attention layer; this module
turns them into one self-attention (SA) and one cross-attention (CA) map at the largest layer
resolution, exactly as the report's code does, and builds the AggSD product of §3.2.
Generic over any set of square layer resolutions (SD 1.5: 64, 32, 16, 8; the tiny preset: others).

Computations run in float32 on the device of the input maps (CPU in tests and CPU jobs; the
GPU when extraction runs there). torch is imported inside the functions: ``import
langseg.attention`` stays torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor


def map_resolution(n_queries: int) -> int:
    """Side ``r`` of a square ``r`` x ``r`` query grid with ``n_queries = r*r`` entries."""
    r = math.isqrt(n_queries)
    if r * r != n_queries:
        raise ValueError(f"attention map has {n_queries} queries, not a square grid (r*r)")
    return r


def self_attention_weights(resolutions: Sequence[int]) -> list[float]:
    """SA layer weights ``r_l / sum(r)`` (SD 1.5: 64 -> 64/568)."""
    total = float(sum(resolutions))
    return [r / total for r in resolutions]


def cross_attention_weights(resolutions: Sequence[int]) -> list[float]:
    """CA layer weights ``(R / r_l) / sum_l(R / r_l)`` with ``R = max(r)`` (SD 1.5: 64 -> 1/43)."""
    big = max(resolutions)
    inv = [big / r for r in resolutions]
    total = sum(inv)
    return [v / total for v in inv]


def nearest_query_index(res: int, out_res: int) -> Tensor:
    """Low-res query row of every ``out_res`` x ``out_res`` query: ``(y // f) * res + x // f``.

    Returns:
        ``(out_res*out_res,) int64`` with values in ``[0, res*res)``; ``f = out_res / res``.
    """
    import torch

    if out_res % res:
        raise ValueError(f"resolution {res} does not divide the output resolution {out_res}")
    f = out_res // res
    coarse = torch.arange(out_res) // f
    return (coarse[:, None] * res + coarse[None, :]).reshape(-1)


def _check_maps(maps: Sequence[Tensor], kind: str) -> list[int]:
    if len(maps) == 0:
        raise ValueError(f"no {kind} maps to aggregate")
    resolutions = []
    for i, m in enumerate(maps):
        if m.ndim != 2:
            raise ValueError(f"{kind} map {i} has shape {tuple(m.shape)}; expected (Q, K)")
        resolutions.append(map_resolution(m.shape[0]))
    return resolutions


def upsample_key_axis(layer: Tensor, r: int, big: int) -> Tensor:
    """Each row of ``layer``, viewed as ``r`` x ``r``, upsampled to ``big`` x ``big``.

    Bilinear, ``align_corners=False``, no antialias: ``F.interpolate`` of the rows as images. On
    CPU the rows go as a batch of one-channel images (the report's call, bit for bit). On CUDA
    they go as the channels of one channels-last image: CUDA's kernel for that layout runs in
    parallel over every output value, where its one-channel kernel loops over the rows in each
    thread (about 10x slower here); the values then differ from the CPU call by float32
    rounding only (a few ulps: relative < 5e-7).

    Args:
        layer: ``(Q, r*r)`` float32.

    Returns:
        ``(Q, big*big)`` float32, contiguous, on ``layer``'s device.
    """
    import torch.nn.functional as F

    q = layer.shape[0]
    if layer.device.type == "cpu":
        return F.interpolate(layer.reshape(q, 1, r, r), size=(big, big), mode="bilinear",
                             align_corners=False).reshape(q, big * big)
    return _upsample_as_channels(layer, r, big)


def _upsample_as_channels(layer: Tensor, r: int, big: int) -> Tensor:
    """:func:`upsample_key_axis` with the rows as channels of one channels-last image."""
    import torch.nn.functional as F

    q = layer.shape[0]
    image = layer.t().contiguous().view(1, r, r, q).permute(0, 3, 1, 2)  # (1, Q, r, r), NHWC
    out = F.interpolate(image, size=(big, big), mode="bilinear", align_corners=False)
    return out.permute(0, 2, 3, 1).reshape(big * big, q).t().contiguous()


def aggregate_self_attention(maps: Sequence[Tensor]) -> Tensor:
    """Merge head-averaged self-attention layers into one map at the largest resolution ``R``.

    Per layer (resolution ``r``): the key axis, viewed as ``r`` x ``r``, is upsampled to
    ``R`` x ``R`` (bilinear, ``align_corners=False``, no antialias); rows are divided by their
    sum; the query axis is expanded by nearest indexing (query ``(y, x)`` takes row
    ``(y//f)*r + x//f``, ``f = R/r``); layers are summed with weights ``r / sum(r)`` in float32.
    Layers of one resolution are summed first (in the given order) and expanded once, without
    any full-size temporary: equal to the per-layer sum up to float32 rounding (summation order).

    Args:
        maps: per layer ``(r*r, r*r)`` float tensors, rows = queries, columns = keys.

    Returns:
        ``(N, N) float32`` with ``N = R*R`` on the maps' device; every row sums to 1.
    """
    import torch

    resolutions = _check_maps(maps, "self-attention")
    for i, (m, r) in enumerate(zip(maps, resolutions)):
        if m.shape[1] != r * r:
            raise ValueError(f"self-attention map {i} has shape {tuple(m.shape)}; expected square")
    big = max(resolutions)
    n = big * big
    device = maps[0].device
    # rows expanded from the same low-res query are equal: sum the layers of one resolution at
    # their own query resolution, then add that sum to every covered output row at once
    per_res: dict[int, Tensor] = {}
    for m, r, w in zip(maps, resolutions, self_attention_weights(resolutions)):
        if big % r:
            raise ValueError(f"resolution {r} does not divide the output resolution {big}")
        layer = m.detach().to(device, torch.float32)
        if r != big:
            layer = upsample_key_axis(layer, r, big)
        layer = layer / layer.sum(dim=1, keepdim=True)
        if r in per_res:
            per_res[r].add_(layer, alpha=w)
        else:
            per_res[r] = layer.mul_(w)
    out = per_res.pop(big)  # the largest resolution is one of the layers'
    for r, acc in per_res.items():
        f = big // r
        out.view(r, f, r, f, n).add_(acc.view(r, 1, r, 1, n))
    return out


def average_label_tokens(layer: Tensor, label_indices: Sequence[Sequence[int]]) -> Tensor:
    """Column ``lids[0]`` <- mean of columns ``lids``, for each label in order (as coded).

    Labels are processed sequentially on one copy, so overlapping index lists see the columns
    earlier labels overwrote (the report's in-place behaviour).

    Args:
        layer: ``(Q, L)`` cross-attention map of one layer.
        label_indices: per label, the prompt token positions (non-empty, in ``[0, L)``).

    Returns:
        ``(Q, L)`` new tensor, same dtype as ``layer``.
    """
    out = layer.clone()
    for lids in label_indices:
        if len(lids) == 0:
            raise ValueError("a label has no token positions; every label needs at least one")
        if min(lids) < 0 or max(lids) >= layer.shape[1]:
            raise ValueError(f"token positions {list(lids)} outside [0, {layer.shape[1]})")
        out[:, lids[0]] = out[:, list(lids)].mean(dim=1)
    return out


def aggregate_cross_attention(
    maps: Sequence[Tensor], label_indices: Sequence[Sequence[int]] | None = None
) -> Tensor:
    """Merge head-averaged cross-attention layers into one map at the largest resolution ``R``.

    Per layer: optional multi-token averaging (:func:`average_label_tokens`, in the map's own
    dtype, before upsampling); float32; each token map ``r`` x ``r`` upsampled to ``R`` x ``R``
    (bicubic, antialias, ``align_corners=False``); layers summed with weights
    ``(R/r) / sum(R/r)``. No renormalisation (bicubic may overshoot slightly).

    Args:
        maps: per layer ``(r*r, L)`` float tensors; all layers have the same ``L`` tokens.
        label_indices: per label, its token positions; ``None`` skips the averaging.

    Returns:
        ``(N, L) float32`` with ``N = R*R`` on the maps' device; column ``k`` is token ``k``
        (0 = start token).
    """
    import torch
    import torch.nn.functional as F

    resolutions = _check_maps(maps, "cross-attention")
    n_tokens = maps[0].shape[1]
    if any(m.shape[1] != n_tokens for m in maps):
        raise ValueError(f"cross-attention maps differ in token count: {[m.shape for m in maps]}")
    big = max(resolutions)
    device = maps[0].device
    out = torch.zeros(big * big, n_tokens, dtype=torch.float32, device=device)
    for m, r, w in zip(maps, resolutions, cross_attention_weights(resolutions)):
        layer = m.detach().to(device)
        if label_indices is not None:
            layer = average_label_tokens(layer, label_indices)
        layer = layer.float()
        if r != big:
            grid = layer.T.reshape(1, n_tokens, r, r)
            grid = F.interpolate(grid, size=(big, big), mode="bicubic", antialias=True,
                                 align_corners=False)
            layer = grid.reshape(n_tokens, big * big).T
        out.add_(layer, alpha=w)
    return out


def gt_aggregation(self_attention: Tensor, ca_columns: Tensor) -> tuple[Tensor, Tensor]:
    """AggSD product before ``ca_norm``: ``agg = (SA / colsum(SA))^T @ CA_cols``.

    ``agg[i, k] = sum_j SA[j, i] * CA[j, k] / sum_j SA[j, i]``. The later ``ca_norm`` (divide CA
    column ``k`` by ``colsum_k + 1e-10``) commutes with the product, so it can be applied to
    ``agg`` with the returned ``ca_colsum``.

    Args:
        self_attention: ``(N, N)`` float, rows = queries (the aggregated SA of the same pass).
        ca_columns: ``(N, M)`` float, the selected aggregated CA columns ``[SOS, c_1..c_K]``.

    Returns:
        ``agg (N, M) float32`` and ``ca_colsum (M,) float32`` (column sums of ``ca_columns``).
    """
    import torch

    n = self_attention.shape[0]
    if self_attention.shape != (n, n) or ca_columns.ndim != 2 or ca_columns.shape[0] != n:
        raise ValueError(f"expected SA (N, N) and CA (N, M); got {tuple(self_attention.shape)} "
                         f"and {tuple(ca_columns.shape)}")
    sa = self_attention.to(torch.float32)
    ca = ca_columns.to(torch.float32)
    transition = sa.T / sa.sum(dim=0)[:, None]
    return transition @ ca, ca.sum(dim=0)
