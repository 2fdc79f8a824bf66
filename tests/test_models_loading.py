"""Real-weights code path with tiny random models saved in the real on-disk formats."""

import json

import pytest
import torch

from langseg.models import check_weights, load_clip, load_sd, model_identity
from langseg.models.loading import clip_checkpoint, resolve_device
from langseg.models.presets import CLIP_ARCHITECTURES, build_random_clip
from langseg.params import Preset


@pytest.fixture(scope="module")
def tiny_sd():
    torch.set_num_threads(1)
    return load_sd(Preset.TINY, device="cpu")


@pytest.fixture(scope="module")
def sd_folder(tiny_sd, tmp_path_factory):
    root = tmp_path_factory.mktemp("sd15")
    for name in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        getattr(tiny_sd, name).save_pretrained(root / name)
    return root


def test_load_sd_from_diffusers_folder(tiny_sd, sd_folder):
    real = load_sd(Preset.REAL, sd_path=sd_folder, device="cpu")
    for name in ("unet", "vae", "text_encoder"):
        ours, theirs = getattr(real, name).state_dict(), getattr(tiny_sd, name).state_dict()
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[k], theirs[k]) for k in ours), name
    ids = real.tokenizer("A photo of cat, and dog")["input_ids"]
    assert ids == tiny_sd.tokenizer("A photo of cat, and dog")["input_ids"]
    assert real.scheduler.config.beta_schedule == "scaled_linear"
    ident = model_identity(real)["sd"]
    assert ident["preset"] == "real" and ident["dtype"] == "float32"
    files = {f["path"].split("/")[-2] for f in ident["files"]}
    assert {"unet", "vae", "text_encoder"} <= files and all(f["bytes"] > 0 for f in ident["files"])
    assert ident["config_sha256"]["unet"] == model_identity(tiny_sd)["sd"]["config_sha256"][
        "unet"]


def test_sd_folder_missing_parts(sd_folder, tmp_path):
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "vae").symlink_to(sd_folder / "vae")
    with pytest.raises(FileNotFoundError,
                       match=r"lacks unet/.*hf download stable-diffusion-v1-5/stable-diffusion-v1-5"):
        load_sd(Preset.REAL, sd_path=partial, device="cpu")
    with pytest.raises(FileNotFoundError, match="models.sd_path"):
        check_weights(Preset.REAL, None, None)
    with pytest.raises(FileNotFoundError, match="not found at"):
        check_weights(Preset.REAL, tmp_path / "nowhere", None)
    ckpt = tmp_path / "v1-5-pruned-emaonly.safetensors"
    ckpt.write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match="sd_config"):
        check_weights(Preset.REAL, ckpt, None)


def test_every_missing_weight_in_one_message(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        check_weights(Preset.REAL, tmp_path / "no_sd", tmp_path / "no_clip.pt")
    message = str(info.value)
    assert f"SD 1.5 weights not found at {tmp_path / 'no_sd'}" in message
    assert f"MetaCLIP checkpoint not found at {tmp_path / 'no_clip.pt'}" in message
    assert "hf download stable-diffusion-v1-5/stable-diffusion-v1-5 --include" in message
    assert "hf download timm/vit_base_patch16_clip_224.metaclip_400m" in message
    assert "huggingface-cli" not in message and "runwayml" not in message


def test_random_presets_need_no_weights():
    assert check_weights(Preset.TINY, None, None) is None
    assert check_weights("sd15-random", None, None) is None


@pytest.fixture(scope="module")
def tiny_clip_name(tmp_path_factory):
    """Register the tiny architecture under a model name, as a real config file would be."""
    import open_clip

    cfg = open_clip.get_model_config("ViT-B-16-quickgelu")
    cfg.update(CLIP_ARCHITECTURES[Preset.TINY].overrides)
    path = tmp_path_factory.mktemp("clipcfg") / "langseg-tiny-test.json"
    path.write_text(json.dumps(cfg))
    open_clip.add_model_config(path)
    return "langseg-tiny-test"


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_load_clip_from_checkpoint_file(tiny_clip_name, sd_folder, tmp_path, suffix):
    model = build_random_clip(Preset.TINY, seed=5)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    ckpt = tmp_path / f"b16_400m{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file
        save_file(state, ckpt)
    else:
        torch.save(state, ckpt)
    assert check_weights(Preset.REAL, sd_folder, ckpt) is None  # both present: passes
    clip = load_clip(Preset.REAL, clip_path=ckpt, model_name=tiny_clip_name, device="cpu")
    loaded = clip.model.state_dict()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    ident = model_identity(clip)["clip"]
    assert ident["files"] == [{"path": str(ckpt), "bytes": ckpt.stat().st_size}]
    assert ident["model_name"] == tiny_clip_name


def test_clip_missing_and_hf_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants as hf_constants

    with pytest.raises(FileNotFoundError, match="b16_400m.pt"):
        clip_checkpoint(tmp_path / "missing.pt")
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="Hugging Face cache"):
        clip_checkpoint(None)
    repo = tmp_path / "models--timm--vit_base_patch16_clip_224.metaclip_400m"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    snap = repo / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "open_clip_model.safetensors").write_bytes(b"weights")
    assert clip_checkpoint(None) == snap / "open_clip_model.safetensors"


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")
        assert resolve_device("auto").type == "cpu"


def test_model_identity_distinguishes_presets(tiny_sd):
    tiny = model_identity(tiny_sd)["sd"]
    assert tiny["preset"] == "tiny" and tiny["seed"] == 0
    with pytest.raises(ValueError, match="at least one"):
        model_identity()
    with pytest.raises(ValueError, match="two sd"):
        model_identity(tiny_sd, tiny_sd)
