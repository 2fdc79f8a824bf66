"""Segmentation methods of the report: pure numpy / torch-CPU functions, no I/O, no models.

Entry point :func:`segment_image`; hyperparameters :class:`MethodSettings`; per-image inputs
:class:`ImageInputs`. Importing this package does not import torch (it is imported inside the
functions that resample with it).
"""

from langseg.methods.inputs import ImageInputs, SDGroundTruthAttention
from langseg.methods.segment import segment_image, segment_image_methods
from langseg.methods.settings import (DiffSegSettings, GrabCutSettings, GrabCutUnary,
                                      MethodSettings, SpecClustSettings, SVDSolver,
                                      default_temperature)

__all__ = [
    "DiffSegSettings",
    "GrabCutSettings",
    "GrabCutUnary",
    "ImageInputs",
    "MethodSettings",
    "SDGroundTruthAttention",
    "SVDSolver",
    "SpecClustSettings",
    "default_temperature",
    "segment_image",
    "segment_image_methods",
]
