"""SCLIP (Wang et al., ECCV 2024; wangf3014/SCLIP): correlative self-attention in the last block.

Last block: ``x + out_proj((softmax(s q q^T) + softmax(s k k^T)) v)``, then the block's FFN
with its residual (``x + mlp(ln_2(x))``); ``s = d^-0.5``. Earlier blocks are plain CLIP.
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


def correlative_attention(mha, h):
    """``(B, N, C)`` -> ``out_proj((softmax(s q q^T) + softmax(s k k^T)) v)``, ``(B, N, C)``."""
    q, k, v = split_heads(mha, h)
    scale = q.shape[-1] ** -0.5
    weights = ((q @ q.transpose(-2, -1)) * scale).softmax(-1) + \
        ((k @ k.transpose(-2, -1)) * scale).softmax(-1)
    return merge_heads(mha, weights @ v)


@dataclass(frozen=True)
class SCLIPBackend:
    """SCLIP's last block (residual and FFN kept)."""

    name: ClassVar[str] = "sclip"
    source: ClassVar[str] = "Wang et al., SCLIP, ECCV 2024 (wangf3014/SCLIP)"
    resolution: int = DEFAULT_RESOLUTION

    def visual_tokens(self, visual, pixels):
        x, _ = stem(visual, pixels)
        last = visual.transformer.resblocks[-1]
        x = plain_blocks(visual, x, len(visual.transformer.resblocks) - 1)
        x = x + last.ls_1(correlative_attention(last.attn, last.ln_1(x)))
        x = x + last.ls_2(last.mlp(last.ln_2(x)))
        return project(visual, x)


BACKEND = SCLIPBackend
