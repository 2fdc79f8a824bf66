"""Model code: SD 1.5 attention capture, dense CLIP backends (GEM, ...) over open_clip, presets and weight loading.

The only package that builds networks; importing it does not import torch (submodules do).
"""

from langseg.models.backends import ClipModel, backend_cosines, make_backend
from langseg.models.backends.gem import gem_cosines
from langseg.models.loading import check_weights, load_clip, load_sd, model_identity
from langseg.models.sd import (
    GTAttention,
    SDModels,
    extract_gt_attention,
    extract_self_attention,
)

__all__ = [
    "ClipModel", "GTAttention", "SDModels", "backend_cosines", "check_weights",
    "extract_gt_attention", "extract_self_attention", "gem_cosines", "load_clip", "load_sd",
    "make_backend", "model_identity",
]
