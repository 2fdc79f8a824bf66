"""Segment images with your own class names: the workflow's model and method calls, in memory.

:class:`ImageSegmenter` loads the models ONCE, then runs each image through exactly the calls of
the workflow's stages: the extraction functions of :mod:`langseg.models` with the workflow's
default extraction settings (as :mod:`langseg.pipeline.extract` calls them), then
:func:`langseg.methods.segment_image` (as :mod:`langseg.pipeline.segment`). The difference is
that nothing is cached: the tensors go straight from the model to the method. For a dataset
image with the dataset's class names and settings, the labels equal the workflow's
(``tests/test_cli.py::test_same_labels_as_the_workflow``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from langseg.params import Device, Fidelity, Method, Preset

#: Text-side backends: name -> function ``(models, image, names) -> (C, g, g) float32`` cosines.
#: A new CLIP backend is one entry here (the command line offers every key as ``--backend``).
BACKENDS: dict[str, Callable] = {}


def _gem_backend(clip, image, names: Sequence[str]) -> np.ndarray:
    from langseg.models import gem_cosines

    return gem_cosines(clip, [image], list(names))[0]


BACKENDS["gem"] = _gem_backend
DEFAULT_BACKEND = "gem"


def _quiet(_: str) -> None:
    """Default ``step`` callback: no progress display."""


@dataclass(frozen=True)
class ModelOptions:
    """Which weights to load and where: ``sd_path``/``sd_config``/``clip_path`` only for
    ``Preset.REAL`` (``None``: the defaults of :mod:`langseg.models.loading`)."""

    preset: Preset
    device: Device = Device.AUTO
    sd_path: Path | None = None
    sd_config: Path | None = None
    clip_path: Path | None = None


class ImageSegmenter:
    """Loaded models plus one method and one class list; :meth:`segment` one image at a time.

    Args:
        method: a method that needs no ground truth (``not method.uses_ground_truth``).
        classes: one tuple of names per class (synonyms: the class scores the max over its
            names after the softmax, see :mod:`langseg.classnames`).
        settings: ``MethodSettings`` (temperature, background rule, output size, ...).
        models: which weights; loaded in the constructor (CLIP always, SD if the method needs
            self-attention).
        fidelity, seed: as the workflow's ``fidelity`` and ``extraction.sd.seed``.
        backend: a key of :data:`BACKENDS`.
        say: receives one line per model loaded (progress for the user).
    """

    def __init__(self, method: Method, classes: Sequence[Sequence[str]], settings, *,
                 models: ModelOptions, fidelity: Fidelity = Fidelity.REPORT, seed: int = 0,
                 backend: str = DEFAULT_BACKEND, say: Callable[[str], object] = print) -> None:
        from langseg import models as model_code
        from langseg.models.loading import resolve_device

        if method.uses_ground_truth:
            raise ValueError(f"{method.value} needs ground-truth classes; it runs in the workflow")
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.method, self.settings, self.fidelity, self.seed = method, settings, fidelity, seed
        self.classes = tuple(tuple(names) for names in classes)
        self.names = [name for names in self.classes for name in names]
        self.backend = BACKENDS[backend]
        self.device = str(resolve_device(models.device))
        say(f"loading {models.preset.value} CLIP ({backend}) on {self.device}")
        self.clip = model_code.load_clip(models.preset, clip_path=models.clip_path,
                                         device=self.device)
        self.sd = None
        if method.needs_self_attention:
            say(f"loading {models.preset.value} Stable Diffusion on {self.device}")
            self.sd = model_code.load_sd(models.preset, sd_path=models.sd_path,
                                         sd_config=models.sd_config, device=self.device)

    def inputs(self, image, step: Callable[[str], object] = _quiet) -> object:
        """``ImageInputs`` of one RGB ``PIL.Image.Image``: cosines ``(sum names, g, g)``, the
        ``(N, N)`` self-attention if needed, ``name_counts`` when a class has synonyms.
        ``step`` receives the name of each stage as it starts (progress display)."""
        from langseg.methods import ImageInputs
        from langseg.models import extract_self_attention

        step("CLIP patch-text cosines")
        cosines = self.backend(self.clip, image, self.names)
        attention = None
        if self.sd is not None:
            step("Stable Diffusion self-attention")
            attention = extract_self_attention(self.sd, [image], seed=self.seed,
                                               fidelity=self.fidelity)[0]
        counts = tuple(len(names) for names in self.classes)
        grouped = counts if any(c > 1 for c in counts) else None
        return ImageInputs(cosines=cosines, self_attention=attention, name_counts=grouped)

    def segment(self, image, step: Callable[[str], object] = _quiet) -> np.ndarray:
        """``(S, S) int16`` labels of one RGB image, ``S = settings.output_size``; value ``k`` is
        class ``k`` (with the background rule: 0 = background, class ``k`` is ``k + 1``).
        ``step``: as in :meth:`inputs`."""
        from langseg.methods import segment_image

        inputs = self.inputs(image, step)
        step(self.method.value)
        return segment_image(self.method, inputs, self.settings)
