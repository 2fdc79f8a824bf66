"""Write a random preset's weights in the layouts the ``real`` preset loads (no download).

``export_preset("tiny", DIR, seed=N)`` writes

* ``DIR/`` a diffusers folder (``StableDiffusionPipeline.save_pretrained``: ``model_index.json``,
  ``unet/ vae/ text_encoder/ tokenizer/ scheduler/``, safetensors), usable as ``models.sd_path``;
* ``DIR/open_clip/`` an open_clip folder (``open_clip_config.json`` with the model config and
  ``open_clip_model.safetensors``), usable as ``models.clip_path``.

So a ``preset: real`` run exercises the real loading path on CI-sized weights, and exporting
another seed over the same paths simulates weights replaced in place.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path

from langseg.models.presets import (
    CLIP_ARCHITECTURES,
    build_random_clip,
    build_random_sd_components,
)
from langseg.params import Preset

CLIP_SUBFOLDER = "open_clip"


@dataclass(frozen=True)
class ExportedWeights:
    """Where :func:`export_preset` wrote the weights (the two ``models`` config paths)."""

    sd_path: Path
    clip_path: Path


def _merged(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _export_sd(preset: Preset, folder: Path, seed: int) -> None:
    from diffusers import StableDiffusionPipeline

    parts = build_random_sd_components(preset, seed=seed)
    pipe = StableDiffusionPipeline(**parts, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)


def _export_clip(preset: Preset, folder: Path, seed: int) -> None:
    import open_clip
    from safetensors.torch import save_file

    arch = CLIP_ARCHITECTURES[preset]
    model_cfg = _merged(open_clip.get_model_config(arch.model_name), arch.overrides)
    model = build_random_clip(preset, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    (folder / "open_clip_config.json").write_text(
        json.dumps({"model_cfg": model_cfg, "preprocess_cfg": {}}, indent=2) + "\n",
        encoding="utf-8")


def export_preset(preset: Preset | str, out_dir, *, seed: int = 0) -> ExportedWeights:
    """Write the seeded random weights of ``preset`` under ``out_dir`` (see module docstring).

    Existing files of the same names are overwritten (other files are left alone).

    Raises:
        ValueError: ``preset`` has no random weights (``real``), or ``out_dir`` is a file.
    """
    preset = Preset(preset)
    if preset not in CLIP_ARCHITECTURES or preset is Preset.REAL:
        raise ValueError(f"preset {preset.value!r} has no random weights to export; use 'tiny' "
                         "or 'sd15-random'")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"cannot export into {out}: it is a file")
    out.mkdir(parents=True, exist_ok=True)
    _export_sd(preset, out, seed)
    _export_clip(preset, out / CLIP_SUBFOLDER, seed)
    return ExportedWeights(sd_path=out, clip_path=out / CLIP_SUBFOLDER)
