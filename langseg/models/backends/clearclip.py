"""ClearCLIP (Lan et al., ECCV 2024; mc-lan/ClearCLIP): q-q attention, no residual, no FFN.

Last block output: ``out_proj(softmax(s q q^T) v)`` alone (``model_type='ClearCLIP'``,
``ignore_residual=True``, as its demo runs it); ``s = d^-0.5``.
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
class ClearCLIPBackend:
    """ClearCLIP's last block (self-self q-q attention, residual and FFN dropped)."""

    name: ClassVar[str] = "clearclip"
    source: ClassVar[str] = "Lan et al., ClearCLIP, ECCV 2024 (mc-lan/ClearCLIP)"
    resolution: int = DEFAULT_RESOLUTION

    def visual_tokens(self, visual, pixels):
        x, _ = stem(visual, pixels)
        last = visual.transformer.resblocks[-1]
        x = plain_blocks(visual, x, len(visual.transformer.resblocks) - 1)
        q, _, v = split_heads(last.attn, last.ln_1(x))
        weights = ((q @ q.transpose(-2, -1)) * q.shape[-1] ** -0.5).softmax(-1)
        return project(visual, merge_heads(last.attn, weights @ v))


BACKEND = ClearCLIPBackend
