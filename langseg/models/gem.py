"""GEM moved to :mod:`langseg.models.backends.gem`; these names stay importable from here."""

from langseg.models.backends.base import (
                                          OPENAI_MEAN,
                                          OPENAI_STD,
                                          PROMPT_TEMPLATE,
                                          ClipModel,
                                          preprocess_clip_images,
)
from langseg.models.backends.gem import (
                                          GEM_DEPTH,
                                          GEM_RESOLUTION,
                                          GEMBackend,
                                          encode_class_prompts,
                                          gem_cosines,
                                          gem_visual_tokens,
                                          resample_positional_embedding,
                                          self_self_attention,
)

__all__ = ["GEM_DEPTH", "GEM_RESOLUTION", "OPENAI_MEAN", "OPENAI_STD", "PROMPT_TEMPLATE",
           "ClipModel", "GEMBackend", "encode_class_prompts", "gem_cosines", "gem_visual_tokens",
           "preprocess_clip_images", "resample_positional_embedding", "self_self_attention"]
