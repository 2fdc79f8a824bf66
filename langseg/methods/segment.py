"""One entry point for every method: ``segment_image(method, inputs, settings)``.

Resolution chains as coded (docs/spec.md §2, §7 item 12):

* GEM, GEMW, GTClust, DiffSegClust, SpecClust: raw cosines ``g -> 64`` bilinear (GEM's own
  output size) ``-> S`` bilinear, then softmax (+ VOC background) at ``S``.
* AggGEM, AggGEMW, GrabCut: cosines ``g -> r`` bilinear, probabilities at ``r`` (the SA grid,
  64 for SD), AGG at ``r``, bicubic-antialiased ``r -> S``, argmax.
* AggSD: the cached AGG of the GT-prompt pass, ``ca_norm`` / min-max, bicubic-aa ``r -> S``.

Channel ``c`` of the class scores is label id ``c`` (VOC: channel 0 = background), so argmax
channels are label-space ids. ``segment_image_methods`` shares the intermediates (probability
maps, AGG) between several methods of one image.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from langseg.methods.aggregation import aggregate, minmax_quirk, normalise_columns
from langseg.methods.diffseg import diffseg_clusters
from langseg.methods.graphcut import graphcut_labels
from langseg.methods.inputs import ImageInputs, attention_side
from langseg.methods.labelling import label_clusters
from langseg.methods.probabilities import (allowed_channels, argmax_channels,
                                           class_probabilities, mask_channels)
from langseg.methods.resize import resize_bicubic_aa, resize_bilinear
from langseg.methods.settings import GrabCutUnary, MethodSettings
from langseg.methods.spectral import spectral_clusters
from langseg.params import Method

GEM_MAP_SIZE = 64  # GEM's forward resizes the 28x28 cosines to 64x64 (docs/spec.md §2)


class _ImageState:
    """Lazily computed intermediates of one image, shared between methods."""

    def __init__(self, inputs: ImageInputs, settings: MethodSettings) -> None:
        self.inputs = inputs
        self.settings = settings
        self.size = settings.output_size

    def probabilities(self, cosines: np.ndarray) -> np.ndarray:
        """Class probabilities (+ VOC background) of ``cosines (C, h, w)``."""
        s = self.settings
        return class_probabilities(cosines, s.temperature, voc_background=s.voc_background,
                                   background_offset=s.background_offset,
                                   name_counts=self.inputs.name_counts)

    @cached_property
    def side(self) -> int:
        return attention_side(self.inputs.self_attention)

    @cached_property
    def probs_output(self) -> np.ndarray:
        """``(C', S, S) float32`` class probabilities at the output size (Method 1/3)."""
        cos = resize_bilinear(self.inputs.cosines, GEM_MAP_SIZE)
        return self.probabilities(resize_bilinear(cos, self.size))

    @cached_property
    def cosines_attention(self) -> np.ndarray:
        """``(C, r, r) float32`` raw cosines at the attention grid."""
        return resize_bilinear(self.inputs.cosines, self.side)

    @cached_property
    def probs_attention(self) -> np.ndarray:
        """``(C', r, r) float32`` class probabilities at the attention grid (Method 2)."""
        return self.probabilities(self.cosines_attention)

    @cached_property
    def agg_all(self) -> np.ndarray:
        """``(C', r, r) float32`` AGG of all class probabilities (AggGEM)."""
        probs = self.probs_attention
        scores = probs.reshape(len(probs), -1).T  # (N, C')
        return aggregate(self.inputs.self_attention, scores).T.reshape(probs.shape)

    @cached_property
    def allowed(self) -> np.ndarray:
        """Channels of the image's GT classes (+ background on VOC)."""
        n_channels = self.inputs.n_classes + int(self.settings.voc_background)
        return allowed_channels(self.inputs.gt, n_channels,
                                voc_background=self.settings.voc_background)

    def upsampled_argmax(self, maps: np.ndarray, channels: np.ndarray) -> np.ndarray:
        """Argmax over ``channels`` of ``maps (C, r, r)`` upsampled bicubic-aa to ``S``."""
        if len(channels) == 0:
            return np.zeros((self.size, self.size), dtype=np.int64)
        upsampled = resize_bicubic_aa(maps[channels], self.size)
        return np.asarray(channels)[upsampled.argmax(axis=0)]


def _agggemw_non_voc(state: _ImageState) -> np.ndarray:
    """AggGEMW outside VOC: filter the cosines (-100), softmax, AGG, argmax over ALL channels.

    Channels whose probability is exactly 0 everywhere have AGG exactly 0 (also after ca_norm
    and upsampling); they are represented by one zero channel placed at the first such id, so
    the argmax (first max wins) equals the one over all ``C`` channels.
    """
    if state.inputs.name_counts is not None:
        raise ValueError("agggemw without the background rule masks cosine channels by class "
                         "id; it takes one name per class (name_counts=None)")
    masked = mask_channels(state.cosines_attention, state.allowed)
    probs = state.probabilities(masked)
    flat = probs.reshape(len(probs), -1)
    live = np.flatnonzero(np.any(flat != 0, axis=1))
    agg = aggregate(state.inputs.self_attention, flat[live].T,
                    ca_norm=state.settings.agggemw_ca_norm)
    maps = agg.T.reshape((len(live),) + probs.shape[1:])
    dead = np.setdiff1d(np.arange(len(probs)), live)
    if dead.size == 0:
        return state.upsampled_argmax(maps, np.arange(len(live)))
    order = np.searchsorted(live, dead[0])
    stack = np.insert(maps, order, 0.0, axis=0)
    ids = np.insert(live, order, dead[0])
    return ids[state.upsampled_argmax(stack, np.arange(len(ids)))]


def _aggsd(state: _ImageState) -> np.ndarray:
    """AggSD: ca_norm / min-max of the cached AGG, argmax over [SOS (VOC)] + GT classes.

    Column 0 (SOS) is VOC's background (label 0); columns 1..K are ``class_ids``. Without
    the background the channels are only the K classes (none: every pixel 0, as coded).
    """
    sd, s = state.inputs.sd_gt, state.settings
    agg = np.asarray(sd.agg, dtype=np.float32)
    side = math.isqrt(agg.shape[0])
    if side * side != agg.shape[0]:
        raise ValueError(f"sd_gt.agg must have N = r*r rows, got {agg.shape[0]}")
    if s.aggsd_ca_norm:
        agg = normalise_columns(agg, sd.ca_colsum)
    if s.aggsd_minmax:
        agg = minmax_quirk(agg)
    maps = agg.T.reshape(-1, side, side)  # (1+K, r, r)
    column_labels = np.concatenate([[0], np.asarray(sd.class_ids, dtype=np.int64)])
    channels = np.arange(len(maps)) if s.voc_background else np.arange(1, len(maps))
    return column_labels[state.upsampled_argmax(maps, channels)]


def _grabcut(state: _ImageState) -> np.ndarray:
    s = state.settings
    scores = state.agg_all if s.grabcut.unary is GrabCutUnary.AGG else state.probs_attention
    return graphcut_labels(scores, state.inputs.self_attention, s.grabcut, state.size)


_RUNNERS = {
    Method.GEM: lambda st: argmax_channels(st.probs_output),
    Method.GEMW: lambda st: argmax_channels(st.probs_output, st.allowed),
    Method.AGGGEM: lambda st: st.upsampled_argmax(st.agg_all, np.arange(len(st.agg_all))),
    # VOC (background rule on): GT filter on AGG of all classes; others: filter before softmax
    Method.AGGGEMW: lambda st: (st.upsampled_argmax(st.agg_all, st.allowed)
                                if st.settings.voc_background else _agggemw_non_voc(st)),
    Method.AGGSD: _aggsd,
    Method.GTCLUST: lambda st: label_clusters(np.asarray(st.inputs.gt), st.probs_output),
    Method.DIFFSEGCLUST: lambda st: label_clusters(
        diffseg_clusters(st.inputs.self_attention, st.settings.diffseg, st.size),
        st.probs_output),
    Method.SPECCLUST: lambda st: label_clusters(
        spectral_clusters(st.inputs.self_attention, st.settings.specclust, st.size),
        st.probs_output),
    Method.GRABCUT: _grabcut,
}


def _required(method: Method) -> list[tuple[str, str]]:
    """(ImageInputs field, where it comes from) that ``method`` needs."""
    needs = []
    if method.needs_gem:
        needs.append(("cosines", "the gem cache"))
    if method.needs_self_attention:
        needs.append(("self_attention", "the sd_sa cache"))
    if method in {Method.GEMW, Method.AGGGEMW, Method.GTCLUST}:
        needs.append(("gt", "the prepared ground truth"))
    if method.needs_sd_gt:
        needs.append(("sd_gt", "the sd_gt cache"))
    return needs


def _check_inputs(method: Method, inputs: ImageInputs, settings: MethodSettings) -> None:
    for name, source in _required(method):
        if getattr(inputs, name) is None:
            raise ValueError(f"method {method.value!r} needs ImageInputs.{name} (from {source}),"
                             f" but it is None")
    size = settings.output_size
    if method in {Method.GEMW, Method.AGGGEMW, Method.GTCLUST} and \
            np.shape(inputs.gt) != (size, size):
        raise ValueError(f"gt must be ({size}, {size}) (output_size), got {np.shape(inputs.gt)}")


def segment_image_methods(methods: Sequence[Method], inputs: ImageInputs,
                          settings: MethodSettings) -> dict[Method, np.ndarray]:
    """Run several methods on one image, computing shared intermediates once.

    Returns:
        ``{method: (S, S) int16}`` label maps in the dataset's label space.
    """
    methods = [Method(m) for m in methods]
    for method in methods:
        _check_inputs(method, inputs, settings)
    state = _ImageState(inputs, settings)
    return {m: _RUNNERS[m](state).astype(np.int16) for m in methods}


def segment_image(method: Method, inputs: ImageInputs, settings: MethodSettings) -> np.ndarray:
    """Segment one image with ``method``.

    Args:
        method: one of :class:`langseg.params.Method`.
        inputs: what the method needs (see ``Method.needs_*``); GEMW, AggGEMW and GTClust
            also need ``gt`` of shape ``(S, S)``.
        settings: hyperparameters; ``S = settings.output_size``.

    Returns:
        ``(S, S) int16`` label map in the dataset's label space.

    Raises:
        ValueError: a needed input is missing or has the wrong shape.
    """
    return segment_image_methods([method], inputs, settings)[Method(method)]
