"""GEM (Grounding Everything Module) over an open_clip ViT CLIP, our own forward (docs/spec.md §2).

No open_clip module is modified: the forward below reads the visual tower's modules and weights
(``conv1``, ``class_embedding``, ``positional_embedding``, ``ln_pre``, ``transformer.resblocks``,
``ln_post``, ``proj``). The last ``depth - 1`` blocks also run the self-self attention
(q-q, k-k, v-v on L2-normalised features); the GEM stream adds only those attention outputs.
Works for any open_clip ``VisionTransformer`` with default residual blocks (any width, depth,
patch size, either ``batch_first`` layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from langseg.schemas import schema_default

GEM_RESOLUTION = schema_default("extraction", "gem", "resolution")  # 448 (config schema)
GEM_DEPTH = schema_default("extraction", "gem", "depth")  # 7 (config schema)
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
PROMPT_TEMPLATE = "a photo of a {}."


@dataclass
class ClipModel:
    """An open_clip CLIP model with its tokenizer, where it runs, and its identity."""

    model: Any
    tokenizer: Any
    device: Any
    identity: dict = field(default_factory=dict)


def preprocess_clip_images(images: Sequence, resolution: int = GEM_RESOLUTION):
    """PIL images -> ``(B, 3, res, res) float32``: bicubic resize (no crop), [0,1], OpenAI norm."""
    import torch
    from PIL import Image

    arrays = [np.asarray(img.convert("RGB").resize((resolution, resolution), Image.BICUBIC),
                         dtype=np.float32) / 255.0 for img in images]
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    mean = torch.tensor(OPENAI_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_STD).view(1, 3, 1, 1)
    return (x - mean) / std


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

    b, n, c = h.shape
    heads = mha.num_heads
    qkv = F.linear(h, mha.in_proj_weight, mha.in_proj_bias)
    q, k, v = qkv.reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    scale = (c // heads) ** -0.5
    ori = ((q @ k.transpose(-2, -1)) * scale).softmax(dim=-1) @ v
    inv_temp = h.norm(dim=-1).mean(dim=1).view(b, 1, 1, 1) * scale
    gem = 0
    for z in (v, k, q):
        zn = F.normalize(z, dim=-1)
        zn = F.normalize(((zn @ zn.transpose(-2, -1)) * inv_temp).softmax(dim=-1) @ zn, dim=-1)
        gem = gem + ((zn @ zn.transpose(-2, -1)) * inv_temp).softmax(dim=-1) @ v

    def merge(x):
        return mha.out_proj(x.transpose(1, 2).reshape(b, n, c))

    return merge(ori), merge(gem / 3)


def _check_visual(visual, depth: int) -> None:
    blocks = visual.transformer.resblocks
    if not 2 <= depth <= len(blocks) + 1:
        raise ValueError(f"GEM depth must be in [2, {len(blocks) + 1}] for a {len(blocks)}-block "
                         f"vision transformer, got {depth}")
    if getattr(visual, "attn_pool", None) is not None or getattr(visual, "proj", None) is None:
        raise ValueError("GEM needs an open_clip VisionTransformer with token pooling and a proj")
    for blk in blocks:
        if not hasattr(blk, "attn") or not hasattr(blk.attn, "in_proj_weight"):
            raise ValueError("GEM needs default open_clip residual blocks (nn.MultiheadAttention)")


def _plain_block(block, x, batch_first: bool):
    if batch_first:
        return block(x)
    return block(x.transpose(0, 1)).transpose(0, 1)


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
    import torch

    _check_visual(visual, depth)
    x = visual.conv1(pixels.to(visual.conv1.weight.dtype))
    grid = tuple(x.shape[-2:])
    x = x.flatten(2).transpose(1, 2)
    cls = visual.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
    pos = resample_positional_embedding(visual.positional_embedding, grid, visual.grid_size)
    x = visual.ln_pre(visual.patch_dropout(torch.cat([cls, x], dim=1) + pos.to(x.dtype)))
    blocks = visual.transformer.resblocks
    batch_first = getattr(visual.transformer, "batch_first", True)
    first_gem = len(blocks) - (depth - 1)
    g = None
    for i, block in enumerate(blocks):
        if i < first_gem:
            x = _plain_block(block, x, batch_first)
            continue
        g = x if g is None else g
        a_ori, a_gem = self_self_attention(block.attn, block.ln_1(x))
        x = x + block.ls_1(a_ori)
        x = x + block.ls_2(block.mlp(block.ln_2(x)))
        g = g + block.ls_1(a_gem)
    return visual.ln_post(g) @ visual.proj, visual.ln_post(x) @ visual.proj


def encode_class_prompts(clip: ClipModel, class_names: Sequence[str]):
    """``'a photo of a {name}.'`` -> ``(C, D)`` L2-normalised ``encode_text`` embeddings."""
    import torch.nn.functional as F

    if not class_names:
        raise ValueError("gem_cosines needs at least one class name")
    tokens = clip.tokenizer([PROMPT_TEMPLATE.format(n) for n in class_names]).to(clip.device)
    return F.normalize(clip.model.encode_text(tokens).float(), dim=-1)


def gem_cosines(clip: ClipModel, images: Sequence, class_names: Sequence[str], *,
                depth: int = GEM_DEPTH, resolution: int = GEM_RESOLUTION,
                batch_size: int = 1) -> np.ndarray:
    """Raw GEM patch-text cosine similarities (no upsampling, no temperature).

    Args:
        images: PIL images (resized to ``resolution`` x ``resolution``, no crop).
        class_names: the ``C`` prompt class names (text is encoded on every call).

    Returns:
        ``(B, C, g, g) float32`` in ``[-1, 1]``, ``g = resolution // patch`` (28 at 448, /16).
    """
    import torch
    import torch.nn.functional as F

    patch = clip.model.visual.patch_size[0]
    if resolution % patch:
        raise ValueError(f"resolution {resolution} is not a multiple of the patch size {patch}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    g = resolution // patch
    out = []
    with torch.inference_mode():
        text = encode_class_prompts(clip, class_names)
        for start in range(0, len(images), batch_size):
            pixels = preprocess_clip_images(images[start:start + batch_size], resolution)
            gem, _ = gem_visual_tokens(clip.model.visual, pixels.to(clip.device), depth=depth)
            sim = F.normalize(gem[:, 1:].float(), dim=-1) @ text.T
            out.append(sim.transpose(1, 2).reshape(-1, len(class_names), g, g).cpu())
    return torch.cat(out).numpy().astype(np.float32)
