"""One image under the standard protocol: resize, windows, upsampling, PAMR, scores, methods.

``image_logits`` -> ``class_probabilities`` -> ``predict_methods``; the backend enters as a
:data:`~langseg.protocol.windows.PatchLogits` callable, so everything here is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from langseg.methods.diffseg import diffseg_clusters
from langseg.methods.inputs import attention_side
from langseg.methods.settings import DiffSegSettings, SpecClustSettings, SVDSolver
from langseg.methods.spectral import spectral_clusters
from langseg.params import Method
from langseg.protocol.pamr import pamr
from langseg.protocol.refine import (aggregate_probabilities, cluster_mean_probabilities,
                                     upsample_clusters)
from langseg.protocol.resize import normalise, rescale_size, resize_bilinear_uint8, resize_logits
from langseg.protocol.scoring import class_probabilities, predict_labels
from langseg.protocol.settings import BenchmarkSettings
from langseg.protocol.windows import PatchLogits, slide_logits

@dataclass(frozen=True)
class ClusterSettings:
    """The Method 3 clusterings' settings (config ``method_settings.specclust`` / ``diffseg``)."""

    specclust: SpecClustSettings = field(default_factory=SpecClustSettings)
    diffseg: DiffSegSettings = field(default_factory=DiffSegSettings)

    @classmethod
    def from_config(cls, method_settings: Mapping) -> ClusterSettings:
        """From config ``method_settings`` (other keys ignored); field errors name the key."""
        spec = dict(method_settings.get("specclust") or {})
        if "solver" in spec:
            spec["solver"] = SVDSolver(spec["solver"])
        return cls(SpecClustSettings(**spec),
                   DiffSegSettings(**dict(method_settings.get("diffseg") or {})))


#: Methods defined under the standard protocol (zero-shot ones; see docs/protocol.md).
STANDARD_METHODS = (Method.GEM, Method.AGGGEM, Method.SPECCLUST, Method.DIFFSEGCLUST)


def image_logits(image: np.ndarray, patch_logits: PatchLogits, settings: BenchmarkSettings, *,
                 use_pamr: bool = False) -> np.ndarray:
    """Per-name logits of one image at its original size.

    Args:
        image: ``(H, W, 3) uint8`` RGB as stored.
        patch_logits: the backend (window -> patch-grid logits).
        settings: short side, crop/stride, normalisation, PAMR values.
        use_pamr: refine the logits with PAMR guided by the resized image brought back to
            ``H x W`` (as SCLIP does).

    Returns:
        ``(Q, H, W) float32``.
    """
    height, width = image.shape[:2]
    new_h, new_w = rescale_size(height, width, settings.short_side, settings.max_long_side)
    pixels = normalise(resize_bilinear_uint8(image, new_h, new_w), settings.mean, settings.std)
    if settings.crop == 0:  # whole image: patch logits straight to the original size
        logits = resize_logits(patch_logits(pixels), height, width)
    else:
        logits = resize_logits(slide_logits(pixels, patch_logits, settings.crop,
                                            settings.stride), height, width)
    if use_pamr:
        guide = resize_logits(pixels, height, width)
        logits = pamr(guide, logits, iterations=settings.pamr_iterations,
                      dilations=settings.pamr_dilations)
    return logits


def image_probabilities(image: np.ndarray, patch_logits: PatchLogits, counts: Sequence[int],
                        settings: BenchmarkSettings, *, use_pamr: bool = False) -> np.ndarray:
    """``(K, H, W) float32`` class probabilities (softmax, max over synonyms)."""
    logits = image_logits(image, patch_logits, settings, use_pamr=use_pamr)
    return class_probabilities(logits, settings.logit_scale, counts)


def method_probabilities(method: Method, probs: np.ndarray, self_attention: np.ndarray | None,
                         clustering: ClusterSettings) -> np.ndarray:
    """The ``(K, H, W)`` scores a method thresholds and argmaxes (see langseg.protocol.refine)."""
    method = Method(method)
    if method not in STANDARD_METHODS:
        raise ValueError(f"method {method.value!r} is not defined under the standard protocol; "
                         f"allowed: {', '.join(m.value for m in STANDARD_METHODS)}")
    if method is Method.GEM:
        return probs
    if self_attention is None:
        raise ValueError(f"method {method.value!r} needs the SD self-attention")
    if method is Method.AGGGEM:
        return aggregate_probabilities(self_attention, probs)
    side = attention_side(self_attention)
    if method is Method.SPECCLUST:
        clusters = spectral_clusters(self_attention, clustering.specclust, side)
    else:
        clusters = diffseg_clusters(self_attention, clustering.diffseg, side)
    return cluster_mean_probabilities(upsample_clusters(clusters, *probs.shape[1:]), probs)


def predict_methods(methods: Sequence[Method], probs: np.ndarray,
                    self_attention: np.ndarray | None, settings: BenchmarkSettings,
                    clustering: ClusterSettings) -> Mapping[Method, np.ndarray]:
    """Labels of every method for one image: ``{method: (H, W) int64}``."""
    return {Method(m): predict_labels(method_probabilities(m, probs, self_attention, clustering),
                                      prob_thd=settings.prob_thd, area_thd=settings.area_thd)
            for m in methods}
