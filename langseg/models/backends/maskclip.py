"""MaskCLIP (Zhou et al., ECCV 2022), as ClearCLIP's code runs ``model_type='MaskCLIP'``.

The last block's attention is the identity (each token attends only to itself), so the block
is ``x + out_proj(v)`` followed by its FFN with residual (``ignore_residual=False``).
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


@dataclass(frozen=True)
class MaskCLIPBackend:
    """MaskCLIP's last block: value embedding only, residual and FFN kept."""

    name: ClassVar[str] = "maskclip"
    source: ClassVar[str] = ("Zhou et al., MaskCLIP, ECCV 2022 (as implemented in "
                             "mc-lan/ClearCLIP, model_type='MaskCLIP')")
    resolution: int = DEFAULT_RESOLUTION

    def visual_tokens(self, visual, pixels):
        x, _ = stem(visual, pixels)
        last = visual.transformer.resblocks[-1]
        x = plain_blocks(visual, x, len(visual.transformer.resblocks) - 1)
        _, _, v = split_heads(last.attn, last.ln_1(x))
        x = x + last.ls_1(merge_heads(last.attn, v))
        x = x + last.ls_2(last.mlp(last.ln_2(x)))
        return project(visual, x)


BACKEND = MaskCLIPBackend
