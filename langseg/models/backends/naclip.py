"""NACLIP (Hajimiri et al., WACV 2025; sinahmr/NACLIP): neighbourhood attention, reduced block.

Last block output: ``out_proj(softmax(s k k^T + G) v)`` alone (no residual, no FFN: the
``reduced`` architecture with the ``naclip`` attention), ``s = d^-0.5``,
``G[(i,j),(k,l)] = exp(-((i-k)^2 + (j-l)^2) / (2 std^2))`` over patch-grid positions and 0 in
the CLS row and column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from langseg.models.backends.base import (
    DEFAULT_RESOLUTION,
    merge_heads,
    plain_blocks,
    project,
    split_heads,
    stem,
)


def neighbourhood_bias(grid: tuple[int, int], std: float):
    """``(1 + gh*gw, 1 + gh*gw) float32`` Gaussian of grid distances; CLS row/column zero."""
    import torch

    rows, cols = torch.meshgrid(torch.arange(grid[0], dtype=torch.float64),
                                torch.arange(grid[1], dtype=torch.float64), indexing="ij")
    pos = torch.stack([rows.flatten(), cols.flatten()], dim=1)
    gauss = torch.exp(-torch.cdist(pos, pos).square() / (2 * std * std))
    out = torch.zeros(gauss.shape[0] + 1, gauss.shape[1] + 1, dtype=torch.float64)
    out[1:, 1:] = gauss
    return out.float()


@dataclass(frozen=True)
class NACLIPBackend:
    """NACLIP's last block; ``gaussian_std`` of the neighbourhood (official default 5)."""

    name: ClassVar[str] = "naclip"
    source: ClassVar[str] = "Hajimiri et al., NACLIP, WACV 2025 (sinahmr/NACLIP)"
    resolution: int = DEFAULT_RESOLUTION
    gaussian_std: float = 5.0

    def __post_init__(self) -> None:
        if not self.gaussian_std > 0:
            raise ValueError(f"naclip gaussian_std must be > 0, got {self.gaussian_std}")

    def visual_tokens(self, visual, pixels):
        x, grid = stem(visual, pixels)
        last = visual.transformer.resblocks[-1]
        x = plain_blocks(visual, x, len(visual.transformer.resblocks) - 1)
        _, k, v = split_heads(last.attn, last.ln_1(x))
        bias = neighbourhood_bias(grid, self.gaussian_std).to(k.device, k.dtype)
        weights = ((k @ k.transpose(-2, -1)) * k.shape[-1] ** -0.5 + bias).softmax(-1)
        return project(visual, merge_heads(last.attn, weights @ v))


BACKEND = NACLIPBackend
