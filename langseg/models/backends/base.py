"""What every dense CLIP backend shares: the model handle, the text side, the ViT stem and head.

A backend changes only the last block(s) of an open_clip ``VisionTransformer``; everything
before is the ordinary CLIP forward and everything after is ``ln_post(x) @ proj`` on every
token. This module holds those shared parts as plain functions over the open_clip modules (no
module is modified) and the :class:`Backend` protocol each backend module implements.

Notation (docstrings): ``B`` images, ``N = 1 + gh*gw`` tokens (CLS first, then patches
row-major), ``C`` width, ``H`` heads, ``d = C / H``, ``D`` the joint embedding width.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from langseg.schemas import schema_default

if TYPE_CHECKING:
    import numpy as np

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
PROMPT_TEMPLATE = "a photo of a {}."
DEFAULT_RESOLUTION = schema_default("extraction", "gem", "resolution")  # 448 (config schema)


@dataclass
class ClipModel:
    """An open_clip CLIP model with its tokenizer, where it runs, and its identity.

    ``text_cache`` holds the text embeddings already computed with this model, keyed by
    ``(text side name, class names)`` (see :func:`text_embeddings`).
    """

    model: Any
    tokenizer: Any
    device: Any
    identity: dict = field(default_factory=dict)
    text_cache: dict = field(default_factory=dict, repr=False, compare=False)


class Backend(Protocol):
    """A training-free dense CLIP signal: one frozen dataclass per backend module.

    Attributes:
        name: the config name (``backends: [name]``), also the cache folder name.
        source: the paper and official repository it reproduces (README, tables).
        resolution: square input side in pixels (a multiple of the patch size).
    """

    name: ClassVar[str]
    source: ClassVar[str]
    resolution: int

    def visual_tokens(self, visual, pixels):
        """``(B, 3, H, W)`` normalised pixels -> ``(B, N, D)`` tokens after ``ln_post @ proj``."""
        ...


#: ``(clip, class names) -> (K, D) float32`` L2-normalised text embeddings (torch, on device).
TextSide = Callable[[ClipModel, Sequence[str]], Any]


def single_template_text(clip: ClipModel, class_names: Sequence[str]):
    """GEM's text side: ``'a photo of a {name}.'`` -> ``(K, D)`` normalised ``encode_text``."""
    import torch.nn.functional as F

    if not class_names:
        raise ValueError("text embeddings need at least one class name")
    tokens = clip.tokenizer([PROMPT_TEMPLATE.format(n) for n in class_names]).to(clip.device)
    return F.normalize(clip.model.encode_text(tokens).float(), dim=-1)


def text_embeddings(clip: ClipModel, class_names: Sequence[str],
                    text_side: TextSide = single_template_text):
    """``(K, D)`` text embeddings of ``class_names``, computed once per model and class list.

    The result is kept in ``clip.text_cache`` under ``(text_side.__qualname__, names)``; a
    second call with the same names returns the same tensor without running the text tower.
    """
    import torch

    key = (getattr(text_side, "__qualname__", repr(text_side)), tuple(class_names))
    if key not in clip.text_cache:
        with torch.inference_mode():
            clip.text_cache[key] = text_side(clip, list(class_names))
    return clip.text_cache[key]


def preprocess_clip_images(images: Sequence, resolution: int = DEFAULT_RESOLUTION):
    """PIL images -> ``(B, 3, res, res) float32``: bicubic resize (no crop), [0,1], OpenAI norm."""
    import numpy as np
    import torch
    from PIL import Image

    arrays = [np.asarray(img.convert("RGB").resize((resolution, resolution), Image.BICUBIC),
                         dtype=np.float32) / 255.0 for img in images]
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    mean = torch.tensor(OPENAI_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_STD).view(1, 3, 1, 1)
    return (x - mean) / std


def check_visual(visual, name: str) -> None:
    """Refuse visual towers the shared forward cannot run (non-ViT, attention pooling)."""
    blocks = getattr(getattr(visual, "transformer", None), "resblocks", None)
    if blocks is None or not hasattr(visual, "conv1"):
        raise ValueError(f"backend {name!r} needs an open_clip VisionTransformer (ViT)")
    if getattr(visual, "attn_pool", None) is not None or getattr(visual, "proj", None) is None:
        raise ValueError(f"backend {name!r} needs a ViT with token pooling and a proj")
    for blk in blocks:
        if not hasattr(blk, "attn") or not hasattr(blk.attn, "in_proj_weight"):
            raise ValueError(f"backend {name!r} needs default open_clip residual blocks "
                             "(nn.MultiheadAttention)")


def dino_positional_embedding(pos, grid: tuple[int, int]):
    """Positional embedding for a ``grid`` of patches, as SCLIP, ClearCLIP and NACLIP resize it.

    ``pos`` is ``(1 + s*s, C)`` (square native grid ``s``). Unchanged when the token counts
    match; otherwise the patch part is resized bicubic (no antialias, ``align_corners=False``)
    with ``scale_factor = ((gh + 0.1) / s, (gw + 0.1) / s)`` (the scale, not the size, maps
    coordinates) and the CLS row kept.
    """
    import torch
    import torch.nn.functional as F

    n = pos.shape[0] - 1
    if grid[0] * grid[1] == n:
        return pos
    side = math.sqrt(n)
    patches = pos[1:].reshape(1, int(side), int(side), -1).permute(0, 3, 1, 2)
    patches = F.interpolate(patches, scale_factor=((grid[0] + 0.1) / side,
                                                   (grid[1] + 0.1) / side),
                            mode="bicubic", align_corners=False, recompute_scale_factor=False)
    if tuple(patches.shape[-2:]) != tuple(grid):
        raise ValueError(f"positional embedding resized to {tuple(patches.shape[-2:])}, "
                         f"expected the patch grid {tuple(grid)}")
    return torch.cat([pos[:1], patches.permute(0, 2, 3, 1).reshape(grid[0] * grid[1], -1)])


def stem(visual, pixels, position: Callable = dino_positional_embedding):
    """Patch embedding, CLS, positional embedding (resized by ``position``) and ``ln_pre``.

    Returns:
        ``(x, grid)``: ``x (B, N, C)`` batch first, ``grid = (gh, gw)``.
    """
    import torch

    x = visual.conv1(pixels.to(visual.conv1.weight.dtype))
    grid = tuple(x.shape[-2:])
    x = x.flatten(2).transpose(1, 2)
    cls = visual.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
    pos = position(visual.positional_embedding, grid)
    x = visual.ln_pre(visual.patch_dropout(torch.cat([cls, x], dim=1) + pos.to(x.dtype)))
    return x, grid


def plain_blocks(visual, x, stop: int):
    """Run the ordinary CLIP blocks ``0 .. stop-1`` on batch-first ``x (B, N, C)``."""
    blocks = visual.transformer.resblocks
    batch_first = getattr(visual.transformer, "batch_first", True)
    for block in list(blocks)[:stop]:
        x = block(x) if batch_first else block(x.transpose(0, 1)).transpose(0, 1)
    return x


def split_heads(mha, h):
    """``q, k, v``, each ``(B, H, N, d)``, of ``h (B, N, C)`` with ``mha``'s in-projection."""
    import torch.nn.functional as F

    b, n, c = h.shape
    qkv = F.linear(h, mha.in_proj_weight, mha.in_proj_bias)
    q, k, v = qkv.reshape(b, n, 3, mha.num_heads, c // mha.num_heads).permute(2, 0, 3, 1, 4)
    return q, k, v


def merge_heads(mha, o):
    """``o (B, H, N, d)`` -> ``out_proj`` of the concatenated heads, ``(B, N, C)``."""
    b, heads, n, d = o.shape
    return mha.out_proj(o.transpose(1, 2).reshape(b, n, heads * d))


def project(visual, x):
    """``ln_post`` on every token, then ``@ proj``: ``(B, N, C)`` -> ``(B, N, D)``."""
    return visual.ln_post(x) @ visual.proj


def backend_cosines(clip: ClipModel, backend: Backend, images: Sequence, class_names:
                    Sequence[str], *, batch_size: int = 1,
                    text_side: TextSide = single_template_text) -> np.ndarray:
    """Raw patch-text cosine similarities of a backend (no upsampling, no temperature).

    Args:
        images: PIL images (resized to ``backend.resolution`` square, no crop).
        class_names: the ``K`` prompt class names; their text embeddings are computed once
            per ``clip`` and class list (:func:`text_embeddings`).

    Returns:
        ``(B, K, g, g) float32`` in ``[-1, 1]``, ``g = resolution // patch`` (28 at 448, /16).
    """
    import numpy as np
    import torch
    import torch.nn.functional as F

    patch = clip.model.visual.patch_size[0]
    if backend.resolution % patch:
        raise ValueError(f"resolution {backend.resolution} is not a multiple of the patch "
                         f"size {patch}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_visual(clip.model.visual, backend.name)
    text = text_embeddings(clip, class_names, text_side)
    g = backend.resolution // patch
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            pixels = preprocess_clip_images(images[start:start + batch_size], backend.resolution)
            tokens = backend.visual_tokens(clip.model.visual, pixels.to(clip.device))
            sim = F.normalize(tokens[:, 1:].float(), dim=-1) @ text.T
            out.append(sim.transpose(1, 2).reshape(-1, len(class_names), g, g).cpu())
    return torch.cat(out).numpy().astype(np.float32)
