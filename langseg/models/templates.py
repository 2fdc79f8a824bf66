"""The text side of the standard protocol: the 80 ImageNet prompt templates of CLIP.

The templates are the 80 prompts OpenAI published with CLIP for zero-shot ImageNet; every paper of
the SCLIP lineage encodes each class name with all of them: each template's text embedding is
L2-normalised, the 80 are averaged, and the mean is L2-normalised again
(:func:`average_template_embeddings`). ``{}`` marks where the class name goes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

IMAGENET_TEMPLATES: tuple[str, ...] = (
    "a bad photo of a {}.",
    "a photo of many {}.",
    "a sculpture of a {}.",
    "a photo of the hard to see {}.",
    "a low resolution photo of the {}.",
    "a rendering of a {}.",
    "graffiti of a {}.",
    "a bad photo of the {}.",
    "a cropped photo of the {}.",
    "a tattoo of a {}.",
    "the embroidered {}.",
    "a photo of a hard to see {}.",
    "a bright photo of a {}.",
    "a photo of a clean {}.",
    "a photo of a dirty {}.",
    "a dark photo of the {}.",
    "a drawing of a {}.",
    "a photo of my {}.",
    "the plastic {}.",
    "a photo of the cool {}.",
    "a close-up photo of a {}.",
    "a black and white photo of the {}.",
    "a painting of the {}.",
    "a painting of a {}.",
    "a pixelated photo of the {}.",
    "a sculpture of the {}.",
    "a bright photo of the {}.",
    "a cropped photo of a {}.",
    "a plastic {}.",
    "a photo of the dirty {}.",
    "a jpeg corrupted photo of a {}.",
    "a blurry photo of the {}.",
    "a photo of the {}.",
    "a good photo of the {}.",
    "a rendering of the {}.",
    "a {} in a video game.",
    "a photo of one {}.",
    "a doodle of a {}.",
    "a close-up photo of the {}.",
    "a photo of a {}.",
    "the origami {}.",
    "the {} in a video game.",
    "a sketch of a {}.",
    "a doodle of the {}.",
    "a origami {}.",
    "a low resolution photo of a {}.",
    "the toy {}.",
    "a rendition of the {}.",
    "a photo of the clean {}.",
    "a photo of a large {}.",
    "a rendition of a {}.",
    "a photo of a nice {}.",
    "a photo of a weird {}.",
    "a blurry photo of a {}.",
    "a cartoon {}.",
    "art of a {}.",
    "a sketch of the {}.",
    "a embroidered {}.",
    "a pixelated photo of a {}.",
    "itap of the {}.",
    "a jpeg corrupted photo of the {}.",
    "a good photo of a {}.",
    "a plushie {}.",
    "a photo of the nice {}.",
    "a photo of the small {}.",
    "a photo of the weird {}.",
    "the cartoon {}.",
    "art of the {}.",
    "a drawing of the {}.",
    "a photo of the large {}.",
    "a black and white photo of a {}.",
    "the plushie {}.",
    "a dark photo of a {}.",
    "itap of a {}.",
    "graffiti of the {}.",
    "a toy {}.",
    "itap of my {}.",
    "a photo of a cool {}.",
    "a photo of a small {}.",
    "a tattoo of the {}.",
)


def fill_templates(name: str, templates: Sequence[str] = IMAGENET_TEMPLATES) -> list[str]:
    """Every template with ``name`` inserted: ``"a photo of a {}."`` -> ``"a photo of a cat."``."""
    if not name.strip():
        raise ValueError("a class name must not be empty")
    return [template.format(name) for template in templates]


def average_template_embeddings(embeddings: np.ndarray) -> np.ndarray:
    """Normalise each template embedding, average over templates, normalise the mean.

    Args:
        embeddings: ``(T, D)`` or ``(N, T, D)`` float text embeddings (``T`` templates).

    Returns:
        ``(D,)`` or ``(N, D) float32`` unit vectors.

    Raises:
        ValueError: a zero embedding or a zero mean (no direction to normalise).
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    if emb.ndim not in (2, 3):
        raise ValueError(f"embeddings must be (T, D) or (N, T, D), got shape {emb.shape}")
    norms = np.linalg.norm(emb, axis=-1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("a template embedding is the zero vector")
    mean = (emb / norms).mean(axis=-2)
    mean_norm = np.linalg.norm(mean, axis=-1, keepdims=True)
    if np.any(mean_norm == 0):
        raise ValueError("the template embeddings average to zero")
    return (mean / mean_norm).astype(np.float32)


def encode_names(clip, names: Sequence[str], templates: Sequence[str] = IMAGENET_TEMPLATES,
                 *, max_prompts: int = 1024) -> np.ndarray:
    """Template-averaged text embeddings of ``names`` with an open_clip model.

    Args:
        clip: a :class:`langseg.models.gem.ClipModel` (model, tokenizer, device).
        names: ``Q`` class names (synonyms flattened, see :mod:`langseg.classnames`).
        max_prompts: prompts per text-encoder pass (whole names of ``len(templates)`` prompts
            each; at least one name per pass). Only memory and speed depend on it.

    Returns:
        ``(Q, D) float32`` unit vectors.
    """
    import torch

    if not names:
        raise ValueError("encode_names needs at least one name")
    per_pass = max(1, max_prompts // len(templates))
    out = []
    with torch.inference_mode():
        for start in range(0, len(names), per_pass):
            chunk = names[start:start + per_pass]
            prompts = [p for name in chunk for p in fill_templates(name, templates)]
            emb = clip.model.encode_text(clip.tokenizer(prompts).to(clip.device))
            out.append(emb.float().cpu().numpy().reshape(len(chunk), len(templates), -1))
    return average_template_embeddings(np.concatenate(out))
