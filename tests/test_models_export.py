"""export-preset: the tiny preset's weights in the layouts the real preset loads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from langseg.cli import main
from langseg.models import load_clip, load_sd
from langseg.models.export import export_preset
from langseg.models.loading import clip_weights_identity, sd_weights_identity
from langseg.models.presets import build_random_clip, build_random_sd_components
from langseg.params import Preset


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export_preset("tiny", tmp_path_factory.mktemp("weights") / "tiny")


def _same_state(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_real_preset_loads_the_exported_tiny_weights_exactly(exported):
    assert json.loads((exported.sd_path / "model_index.json").read_text())["unet"]
    sd = load_sd("real", sd_path=exported.sd_path, device="cpu")
    ref = build_random_sd_components(Preset.TINY, seed=0)
    for part in ("unet", "vae", "text_encoder"):
        assert _same_state(getattr(sd, part), ref[part]), part
    clip = load_clip("real", clip_path=exported.clip_path, device="cpu")
    assert _same_state(clip.model, build_random_clip(Preset.TINY, seed=0))
    tokens = clip.tokenizer(["a photo of a cat"])
    assert np.array_equal(tokens.numpy(), load_clip("tiny", device="cpu").tokenizer(
        ["a photo of a cat"]).numpy())


def test_other_seed_over_the_same_paths_changes_the_weights_identity(tmp_path):
    first = export_preset("tiny", tmp_path / "w", seed=0)
    sd_before = sd_weights_identity(first.sd_path)
    clip_before = clip_weights_identity(first.clip_path)
    assert all(entry["path"].startswith(str(first.sd_path)) for entry in sd_before)
    assert not any("open_clip" in entry["path"] for entry in sd_before)  # CLIP is not SD
    assert main(["export-preset", "tiny", str(tmp_path / "w"), "--seed", "1"]) == 0
    sd_after = sd_weights_identity(first.sd_path)
    assert [e["path"] for e in sd_after] == [e["path"] for e in sd_before]
    unet = [(b, a) for b, a in zip(sd_before, sd_after) if "unet/diffusion" in b["path"]]
    assert unet and unet[0][0]["bytes"] == unet[0][1]["bytes"]  # same size, same paths
    assert unet[0][0]["sha256_ends"] != unet[0][1]["sha256_ends"]
    assert clip_weights_identity(first.clip_path) != clip_before


def test_export_refuses_the_real_preset_and_a_file(tmp_path):
    with pytest.raises(ValueError, match="no random weights"):
        export_preset("real", tmp_path / "w")
    (tmp_path / "f").write_text("x")
    assert main(["export-preset", "tiny", str(tmp_path / "f")]) == 2
