"""Closed choices shared by the package, the workflow and the CLI.

Every choice a user can make in ``config.yaml`` that has a fixed set of values is an Enum
here; the JSON schema of the workflow lists the same values (a test keeps them in sync).
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


class Method(str, Enum):
    """Segmentation methods of the report (Table 2 / Table 4 names, lower case)."""

    GEM = "gem"  # Method 1: argmax of CA_CLIP
    GEMW = "gemw"  # Method 1 restricted to the image's ground-truth classes
    AGGGEM = "agggem"  # Method 2: (SA / colsum(SA))^T @ CA_CLIP
    AGGGEMW = "agggemw"  # Method 2 restricted to ground-truth classes
    AGGSD = "aggsd"  # Method 2 on SD cross-attention, GT-class prompt (WSSS)
    DIFFSEGCLUST = "diffsegclust"  # Method 3: DiffSeg clusters labelled by CA_CLIP
    SPECCLUST = "specclust"  # Method 3: spectral clusters of SA labelled by CA_CLIP
    GTCLUST = "gtclust"  # Method 3 on ground-truth segments (oracle clusters)
    GRABCUT = "grabcut"  # the report's failed graph-cut variant, done properly
    AGGSD_ZS = "aggsd-zs"  # AggSD prompted with the classes a CLIP backend predicts (zero-shot)

    @property
    def needs_self_attention(self) -> bool:
        """Whether the method reads the empty-prompt SD self-attention cache (``sd_sa``)."""
        return self in {Method.AGGGEM, Method.AGGGEMW, Method.DIFFSEGCLUST, Method.SPECCLUST,
                        Method.GRABCUT}

    @property
    def needs_gem(self) -> bool:
        """Whether the method reads a CLIP backend's patch-text cosines (``gem`` or another)."""
        return self not in {Method.AGGSD, Method.AGGSD_ZS}

    @property
    def needs_sd_gt(self) -> bool:
        """Whether the method reads the GT-prompt SD pass (``sd_gt``)."""
        return self is Method.AGGSD

    @property
    def needs_sd_zs(self) -> bool:
        """Whether the method reads the SD pass prompted with a backend's classes (``sd_zs``)."""
        return self is Method.AGGSD_ZS

    @property
    def uses_backend(self) -> bool:
        """Whether the method's result depends on the CLIP backend (one run per backend)."""
        return self.needs_gem or self.needs_sd_zs

    @property
    def needs_sd(self) -> bool:
        """Whether the method reads an SD cache (``sd_sa``, ``sd_gt`` or ``sd_zs``): needs the SD
        weights."""
        return self.needs_self_attention or self.needs_sd_gt or self.needs_sd_zs

    @property
    def uses_ground_truth(self) -> bool:
        """Whether the method sees ground-truth classes or segments (not zero-shot)."""
        return self in {Method.GEMW, Method.AGGGEMW, Method.AGGSD, Method.GTCLUST}


class Fidelity(str, Enum):
    """``report`` reproduces the report's code and its quirks; ``corrected`` fixes them."""

    REPORT = "report"
    CORRECTED = "corrected"


def gt_pass_timestep(fidelity: Fidelity | str, *, sa_timestep: int, gt_timestep: int) -> int:
    """Timestep of the GT-prompt SD pass (AggSD), the one home of this rule.

    ``report``: ``gt_timestep`` (101 as coded: ``training_step``'s default); ``corrected``: the
    empty-prompt pass's ``sa_timestep`` (100), so both SD passes see the same noise level.
    """
    return gt_timestep if Fidelity(fidelity) is Fidelity.REPORT else sa_timestep


class Preset(str, Enum):
    """Model presets: ``tiny`` and ``sd15-random`` use seeded random weights."""

    TINY = "tiny"
    SD15_RANDOM = "sd15-random"
    REAL = "real"


class DatasetKind(str, Enum):
    """On-disk dataset layouts langseg reads (the demo is written in the VOC2012 layout)."""

    VOC2012 = "voc2012"
    CONTEXT = "context"
    COCOSTUFF = "cocostuff"
    CITYSCAPES = "cityscapes"


class Benchmark(str, Enum):
    """The eight benchmarks of the standard (SCLIP-lineage) protocol, in mmsegmentation layouts."""

    VOC21 = "voc21"  # PASCAL VOC 2012 val, 20 objects + background
    VOC20 = "voc20"  # the same images and masks, background ignored (reduce_zero_label)
    CONTEXT60 = "context60"  # PASCAL Context val, 59 classes + background
    CONTEXT59 = "context59"  # the same, background ignored (reduce_zero_label)
    COCO_OBJECT = "coco_object"  # COCO 2017 val, 80 things + background (from COCO-Stuff maps)
    COCO_STUFF171 = "coco_stuff171"  # COCO-Stuff 164k, full 5000-image val, 171 classes
    CITYSCAPES19 = "cityscapes19"  # Cityscapes val, 19 trainIds
    ADE20K = "ade20k"  # ADE20K (SceneParsing) val, 150 classes (reduce_zero_label)


class Protocol(str, Enum):
    """How a dataset entry is evaluated: the report's protocol or the field's standard one."""

    REPORT = "report"
    STANDARD = "standard"


class Device(str, Enum):
    """Where extraction runs: ``auto`` picks CUDA when available."""

    AUTO = "auto"
    CPU = "cpu"
    CUDA = "cuda"


def parse_choice(choices: type[E], value: E | str, what: str) -> E:
    """``value`` as a member of the Enum ``choices``; ValueError naming ``what`` and listing the
    allowed values otherwise."""
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(member.value for member in choices)
        raise ValueError(f"unknown {what} {value!r}; allowed: {allowed}") from None
