"""The standard protocol's per-benchmark values, read from ``settings.yaml`` (one versioned file).

:func:`benchmark_settings` returns a frozen :class:`BenchmarkSettings` for one preset (``sclip``,
``proxyclip``, ``clearclip``) and benchmark; the YAML names the source of every value.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from langseg.params import Benchmark

SETTINGS_PATH = Path(__file__).with_name("settings.yaml")
_KEYS = ("short_side", "crop", "stride", "logit_scale", "prob_thd", "area_thd")


class ProtocolPreset(str, Enum):
    """Which paper's harness values to use (see ``settings.yaml`` for the sources)."""

    SCLIP = "sclip"
    PROXYCLIP = "proxyclip"
    CLEARCLIP = "clearclip"


@dataclass(frozen=True)
class BenchmarkSettings:
    """Every per-benchmark value of one preset, plus the shared constants.

    Attributes:
        short_side: ``S``; the image is rescaled so its short side is ``S`` (long side <= 2048).
        crop, stride: sliding window side and step in resized pixels; ``crop == 0``: whole image.
        logit_scale: class probabilities are ``softmax(logit_scale * cosine)``.
        prob_thd: top probability below this -> class 0 (``0`` = off).
        area_thd: classes 1.. with less than this share of the non-background prediction are
            dropped (``None`` = off).
        mean, std: per-channel normalisation of 0-255 RGB values.
        max_long_side: the long-side bound of the rescale (2048).
        pamr_iterations, pamr_dilations: PAMR's settings when it is enabled.
        version: the settings file's version; source: where the values come from.
    """

    short_side: int
    crop: int
    stride: int
    logit_scale: float
    prob_thd: float
    area_thd: float | None
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    max_long_side: int
    pamr_iterations: int
    pamr_dilations: tuple[int, ...]
    version: int
    source: str

    def __post_init__(self) -> None:
        if self.short_side < 1 or self.crop < 0 or (self.crop and self.stride < 1):
            raise ValueError(f"bad window settings: short_side {self.short_side}, crop "
                             f"{self.crop}, stride {self.stride}")
        if not 0 <= self.prob_thd <= 1 or (self.area_thd is not None
                                           and not 0 <= self.area_thd <= 1):
            raise ValueError(f"thresholds must be in [0, 1]: prob_thd {self.prob_thd}, "
                             f"area_thd {self.area_thd}")


@functools.cache
def _load(path: str) -> dict:
    import yaml

    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def settings_version(path: Path | str = SETTINGS_PATH) -> int:
    """The ``version`` of the settings file."""
    return int(_load(str(path))["version"])


def benchmark_settings(preset: ProtocolPreset | str, benchmark: Benchmark | str, *,
                       path: Path | str = SETTINGS_PATH) -> BenchmarkSettings:
    """The values of ``preset`` for ``benchmark``.

    Raises:
        ValueError: unknown preset or benchmark (lists the allowed ones), or a preset entry with
            missing keys.
    """
    data = _load(str(path))
    try:
        preset = ProtocolPreset(preset)
    except ValueError:
        raise ValueError(f"unknown protocol preset {preset!r}; allowed: "
                         f"{', '.join(p.value for p in ProtocolPreset)}") from None
    benchmark = Benchmark(benchmark)
    entry = data["presets"][preset.value]
    values = entry["benchmarks"].get(benchmark.value)
    if values is None or set(values) != set(_KEYS):
        raise ValueError(f"{path}: preset {preset.value} needs keys {list(_KEYS)} for "
                         f"{benchmark.value}, got {sorted(values or {})}")
    return BenchmarkSettings(
        short_side=int(values["short_side"]), crop=int(values["crop"]),
        stride=int(values["stride"]), logit_scale=float(values["logit_scale"]),
        prob_thd=float(values["prob_thd"]),
        area_thd=None if values["area_thd"] is None else float(values["area_thd"]),
        mean=tuple(data["normalisation"]["mean"]), std=tuple(data["normalisation"]["std"]),
        max_long_side=int(data["max_long_side"]),
        pamr_iterations=int(data["pamr"]["iterations"]),
        pamr_dilations=tuple(int(d) for d in data["pamr"]["dilations"]),
        version=int(data["version"]), source=str(entry["source"]))
