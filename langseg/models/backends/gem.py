"""GEM (Grounding Everything Module; Bousselham et al., CVPR 2024; WalBouss/GEM), our forward
(docs/spec.md §2).

The last ``depth - 1`` blocks also run the self-self attention (q-q, k-k, v-v on L2-normalised
features); the GEM stream adds only those attention outputs, while the ordinary CLIP stream
runs on. The positional embedding is resized bicubic with antialias (timm style), as GEM does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import numpy as np

from langseg.models.backends.base import (
    DEFAULT_RESOLUTION,
    ClipModel,
    backend_cosines,
    merge_heads,
    plain_blocks,
    project,
    single_template_text,
    split_heads,
    stem,
)

from langseg.schemas import schema_default

GEM_RESOLUTION = DEFAULT_RESOLUTION
GEM_DEPTH = schema_default("extraction", "gem", "depth")  # 7 (config schema)


def resample_positional_embedding(pos, grid: tuple[int, int], old_grid: tuple[int, int]):
    """``(1 + g0h*g0w, D)`` -> ``(1 + gh*gw, D)``: CLS kept, grid resized bicubic + antialias.

    Returned unchanged when the grids match.
    """
    import torch
    import torch.nn.functional as F

    if tuple(grid) == tuple(old_grid):
        return pos
    cls, patches = pos[:1], pos[1:]
    img = patches.reshape(1, old_grid[0], old_grid[1], -1).permute(0, 3, 1, 2).float()
    img = F.interpolate(img, size=tuple(grid), mode="bicubic", antialias=True,
                        align_corners=False)
    patches = img.permute(0, 2, 3, 1).reshape(grid[0] * grid[1], -1).to(pos.dtype)
    return torch.cat([cls, patches])


def self_self_attention(mha, h):
    """Original and GEM attention outputs of one block from its ``nn.MultiheadAttention``.

    Args:
        mha: the block's attention (``in_proj_weight/bias`` rows q, k, v; ``out_proj``).
        h: ``(B, N, C)`` LN_1 of the original stream (batch first).

    Returns:
        ``(a_ori, a_gem)``, each ``(B, N, C)``: ``out_proj(softmax(s q k^T) v)`` and
        ``out_proj((o_v + o_k + o_q) / 3)`` with ``o_z = softmax(t n(z') n(z')^T) v``,
        ``z' = softmax(t n(z) n(z)^T) n(z)`` (one iteration), ``n`` = L2 norm over the head
        dim, ``t = s * mean_tokens(||h||)``, ``s = head_dim^-0.5``.
    """
    import torch.nn.functional as F

    q, k, v = split_heads(mha, h)
    scale = q.shape[-1] ** -0.5
    ori = ((q @ k.transpose(-2, -1)) * scale).softmax(dim=-1) @ v
    inv_temp = h.norm(dim=-1).mean(dim=1).view(h.shape[0], 1, 1, 1) * scale
    gem = 0
    for z in (v, k, q):
        zn = F.normalize(z, dim=-1)
        zn = F.normalize(((zn @ zn.transpose(-2, -1)) * inv_temp).softmax(dim=-1) @ zn, dim=-1)
        gem = gem + ((zn @ zn.transpose(-2, -1)) * inv_temp).softmax(dim=-1) @ v
    return merge_heads(mha, ori), merge_heads(mha, gem / 3)


def gem_visual_tokens(visual, pixels, *, depth: int = GEM_DEPTH):
    """GEM and original token streams of an open_clip visual tower.

    Args:
        visual: ``open_clip`` ``VisionTransformer`` (eval mode).
        pixels: ``(B, 3, H, W)`` normalised images; H, W multiples of the patch size.
        depth: the last ``depth - 1`` blocks gain the self-self path (7 -> last 6).

    Returns:
        ``(gem, ori)``, each ``(B, 1 + gh*gw, output_dim)``: both streams after ``ln_post`` on
        every token and ``@ proj``; token 0 is CLS, then patches row-major.
    """
    blocks = visual.transformer.resblocks
    if not 2 <= depth <= len(blocks) + 1:
        raise ValueError(f"GEM depth must be in [2, {len(blocks) + 1}] for a {len(blocks)}-block "
                         f"vision transformer, got {depth}")

    def position(pos, grid):
        return resample_positional_embedding(pos, grid, visual.grid_size)

    x, _ = stem(visual, pixels, position)
    first_gem = len(blocks) - (depth - 1)
    x = plain_blocks(visual, x, first_gem)
    g = x
    for block in list(blocks)[first_gem:]:
        a_ori, a_gem = self_self_attention(block.attn, block.ln_1(x))
        x = x + block.ls_1(a_ori)
        x = x + block.ls_2(block.mlp(block.ln_2(x)))
        g = g + block.ls_1(a_gem)
    return project(visual, g), project(visual, x)


@dataclass(frozen=True)
class GEMBackend:
    """GEM's stream; ``depth`` 7 = self-self attention in the last 6 blocks."""

    name: ClassVar[str] = "gem"
    source: ClassVar[str] = "Bousselham et al., Grounding Everything, CVPR 2024 (WalBouss/GEM)"
    resolution: int = GEM_RESOLUTION
    depth: int = GEM_DEPTH

    def visual_tokens(self, visual, pixels):
        return gem_visual_tokens(visual, pixels, depth=self.depth)[0]


BACKEND = GEMBackend


def encode_class_prompts(clip: ClipModel, class_names: Sequence[str]):
    """``'a photo of a {name}.'`` -> ``(C, D)`` L2-normalised ``encode_text`` embeddings."""
    return single_template_text(clip, class_names)


def gem_cosines(clip: ClipModel, images: Sequence, class_names: Sequence[str], *,
                depth: int = GEM_DEPTH, resolution: int = GEM_RESOLUTION,
                batch_size: int = 1) -> np.ndarray:
    """Raw GEM patch-text cosine similarities (no upsampling, no temperature).

    Args:
        images: PIL images (resized to ``resolution`` x ``resolution``, no crop).
        class_names: the ``C`` prompt class names (text encoded once per model and list).

    Returns:
        ``(B, C, g, g) float32`` in ``[-1, 1]``, ``g = resolution // patch`` (28 at 448, /16).
    """
    if not class_names:
        raise ValueError("gem_cosines needs at least one class name")
    return backend_cosines(clip, GEMBackend(resolution=resolution, depth=depth), images,
                           class_names, batch_size=batch_size)
