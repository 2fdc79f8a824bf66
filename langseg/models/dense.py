"""Dense patch-text logits of a CLIP backend for one window (the standard protocol's backend).

:func:`patch_logits_fn` returns the callable the protocol's sliding windows call: a normalised
``(3, h, w)`` window in, ``(Q, h // p, w // p)`` cosine similarities between the backend's
L2-normalised patch tokens and the ``Q`` text embeddings out. Backends are named; only ``gem``
exists today (the GEM stream of :func:`langseg.models.gem.gem_visual_tokens`), others slot in here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from langseg.models.gem import GEM_DEPTH, ClipModel, gem_visual_tokens

BACKENDS = ("gem",)


def patch_logits_fn(clip: ClipModel, text: np.ndarray, *, backend: str = "gem",
                    depth: int = GEM_DEPTH) -> Callable[[np.ndarray], np.ndarray]:
    """The window -> patch-logits callable of ``backend``.

    Args:
        clip: the loaded open_clip model.
        text: ``(Q, D) float32`` unit text embeddings (one per name).
        backend: one of :data:`BACKENDS`.
        depth: GEM's depth.

    Returns:
        ``f(window (3, h, w) float32) -> (Q, h // p, w // p) float32`` cosines in ``[-1, 1]``.
    """
    import torch
    import torch.nn.functional as F

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    visual = clip.model.visual
    patch = visual.patch_size[0]
    text_t = torch.from_numpy(np.ascontiguousarray(text, dtype=np.float32)).to(clip.device)

    def patch_logits(window: np.ndarray) -> np.ndarray:
        _, h, w = window.shape
        gh, gw = h // patch, w // patch
        if gh < 1 or gw < 1:
            raise ValueError(f"window {h}x{w} is smaller than the patch size {patch}")
        pixels = torch.from_numpy(np.ascontiguousarray(window[:, :gh * patch, :gw * patch]))
        with torch.inference_mode():
            tokens, _ = gem_visual_tokens(visual, pixels[None].to(clip.device), depth=depth)
            sim = F.normalize(tokens[0, 1:].float(), dim=-1) @ text_t.T  # (gh*gw, Q)
        return sim.T.reshape(-1, gh, gw).cpu().numpy().astype(np.float32)

    return patch_logits
