"""Model code: SD 1.5 attention capture, GEM over open_clip CLIP, presets and weight loading.

The only package that builds networks; importing it does not import torch (submodules do).
"""

from langseg.models.gem import ClipModel, gem_cosines
from langseg.models.loading import check_weights, load_clip, load_sd, model_identity
from langseg.models.sd import GTAttention, SDModels, extract_gt_attention, extract_self_attention

__all__ = [
    "ClipModel", "GTAttention", "SDModels", "check_weights", "extract_gt_attention",
    "extract_self_attention", "gem_cosines", "load_clip", "load_sd", "model_identity",
]
