"""Loading SD 1.5 and MetaCLIP for every preset, offline; weight checks; model identity.

``real`` weights are never downloaded:
* SD 1.5: a local diffusers folder (``StableDiffusionPipeline.save_pretrained`` layout or the
  ``hf download`` snapshot: ``unet/ vae/ text_encoder/ tokenizer/ scheduler/``), or a
  single ``.safetensors``/``.ckpt`` checkpoint plus ``sd_config``, a local diffusers folder with
  (at least) the component configs, because ``from_single_file`` otherwise fetches them online.
* MetaCLIP ViT-B/16: a checkpoint file (``b16_400m.pt`` or ``open_clip_model.safetensors``)
  passed to open_clip as ``pretrained``, or, with no path, the Hugging Face cache entry of the
  ``metaclip_400m`` tag (found with ``try_to_load_from_cache``, nothing is fetched).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from langseg.models.backends.base import ClipModel
from langseg.models.presets import (CLIP_ARCHITECTURES, SD_ARCHITECTURES, build_random_clip,
                                    build_random_sd_components)
from langseg.models.sd import SDModels
from langseg.params import Device, Preset

SD_REPO = "stable-diffusion-v1-5/stable-diffusion-v1-5"
CLIP_MODEL = "ViT-B-16-quickgelu"
CLIP_TAG = "metaclip_400m"
CLIP_HF_REPO = "timm/vit_base_patch16_clip_224.metaclip_400m"
CLIP_HF_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
CLIP_FOLDER_CONFIG = "open_clip_config.json"  # open_clip's ``local-dir:`` folder layout
SD_COMPONENTS = {  # subfolder -> files one of which must exist
    "unet": ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
             "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin"),
    "vae": ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
            "diffusion_pytorch_model.bin", "diffusion_pytorch_model.fp16.bin"),
    "text_encoder": ("model.safetensors", "model.fp16.safetensors", "pytorch_model.bin",
                     "pytorch_model.fp16.bin"),
    "tokenizer": ("vocab.json", "tokenizer.json"),
    "scheduler": ("scheduler_config.json",),
}
# The files load_sd reads from a diffusers folder (about 4.3 GB; the repository holds ~40 GB).
SD_FILES = ("model_index.json", "scheduler/scheduler_config.json", "tokenizer/*",
            "*/config.json", "unet/diffusion_pytorch_model.safetensors",
            "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors")
SD_HOWTO = (f"hf download {SD_REPO} " + " ".join(f"--include '{f}'" for f in SD_FILES)
            + " --local-dir <path> (about 4.3 GB), then set models.sd_path to <path>")
CLIP_HOWTO = (f"hf download {CLIP_HF_REPO} open_clip_model.safetensors --local-dir <dir> and set "
              f"models.clip_path to <dir>/open_clip_model.safetensors (or run it without "
              f"--local-dir to fill the Hugging Face cache and leave models.clip_path null); the "
              f"original b16_400m.pt from https://dl.fbaipublicfiles.com/MMPT/metaclip/ works too")


def resolve_device(device: Device | str = Device.AUTO):
    """``auto`` -> CUDA when available else CPU; ``cuda`` without a GPU is an error."""
    import torch

    try:
        device = Device(device)
    except ValueError:
        raise ValueError(f"device must be one of {[d.value for d in Device]}, got {device!r}") \
            from None
    if device is Device.CUDA and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but no CUDA GPU is visible to torch; "
                         "use device 'auto' or 'cpu'")
    if device is Device.AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device.value)


def _missing_sd_parts(folder: Path) -> list[str]:
    missing = []
    for sub, names in SD_COMPONENTS.items():
        if not any((folder / sub / n).is_file() for n in names):
            missing.append(f"{sub}/{names[0]}")
    return missing


def _check_sd(sd_path, sd_config) -> None:
    if sd_path is None:
        raise FileNotFoundError(f"preset 'real' needs Stable Diffusion 1.5 weights: {SD_HOWTO}")
    path = Path(sd_path)
    if path.is_file():
        if path.suffix not in (".safetensors", ".ckpt"):
            raise ValueError(f"SD checkpoint {path} must be a .safetensors or .ckpt file")
        if sd_config is None or not Path(sd_config).is_dir():
            raise FileNotFoundError(
                f"single-file SD checkpoint {path} needs models.sd_config: a local diffusers "
                f"folder of {SD_REPO} with at least the component configs (found: {sd_config})")
        return
    if not path.is_dir():
        raise FileNotFoundError(f"SD 1.5 weights not found at {path}: {SD_HOWTO}")
    missing = _missing_sd_parts(path)
    if missing:
        raise FileNotFoundError(f"SD 1.5 folder {path} lacks {', '.join(missing)}: {SD_HOWTO}")


def clip_checkpoint(clip_path=None) -> Path:
    """The MetaCLIP checkpoint: ``clip_path`` (a file, or an open_clip folder with
    ``open_clip_config.json`` and weights), or the HF cache file of ``metaclip_400m``."""
    if clip_path is not None:
        path = Path(clip_path)
        if path.is_dir():
            if not (path / CLIP_FOLDER_CONFIG).is_file():
                raise FileNotFoundError(f"CLIP folder {path} lacks {CLIP_FOLDER_CONFIG} (an open_clip "
                                        f"folder holds it and the weights): {CLIP_HOWTO}")
            return path
        if not path.is_file():
            raise FileNotFoundError(f"MetaCLIP checkpoint not found at {path}: {CLIP_HOWTO}")
        return path
    from huggingface_hub import try_to_load_from_cache

    for name in CLIP_HF_FILES:
        found = try_to_load_from_cache(CLIP_HF_REPO, name)
        if isinstance(found, str):
            return Path(found)
    raise FileNotFoundError(f"no MetaCLIP ({CLIP_TAG}) weights: models.clip_path is unset and "
                            f"the Hugging Face cache has no {CLIP_HF_REPO}: {CLIP_HOWTO}")


def check_weights(preset: Preset | str, sd_path=None, clip_path=None, *, sd_config=None) -> None:
    """Fail before any work when ``real`` weights are missing; random presets need none.

    Raises:
        FileNotFoundError: naming the expected file or folder and how to obtain it, for every
            missing model (SD and CLIP) in one message.
        ValueError: an SD checkpoint file of another type than .safetensors/.ckpt.
    """
    if Preset(preset) is not Preset.REAL:
        return
    problems = []
    for check, args in ((_check_sd, (sd_path, sd_config)), (clip_checkpoint, (clip_path,))):
        try:
            check(*args)
        except FileNotFoundError as error:
            problems.append(str(error))
    if len(problems) == 1:
        raise FileNotFoundError(problems[0])
    if problems:
        raise FileNotFoundError("missing model weights (both): "
                                + " ".join(f"({k}) {p};" for k, p in enumerate(problems, 1)))


_SAMPLE_BYTES = 1 << 20  # file identity: first and last MiB


def file_identity(path: str | Path) -> dict:
    """Cheap content identity of one weight file: size, mtime and a hash of its ends.

    Returns:
        ``{"path", "bytes", "mtime_ns", "sha256_ends"}``: ``sha256_ends`` hashes the first and
        the last MiB (the whole file when smaller than 2 MiB): a ``.safetensors`` header with
        the first tensors, or a torch zip file's central directory with every member's CRC-32.
    """
    path = Path(path)
    stat = path.stat()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        if stat.st_size <= 2 * _SAMPLE_BYTES:
            digest.update(handle.read())
        else:
            digest.update(handle.read(_SAMPLE_BYTES))
            handle.seek(stat.st_size - _SAMPLE_BYTES)
            digest.update(handle.read(_SAMPLE_BYTES))
    return {"path": str(path), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "sha256_ends": digest.hexdigest()[:16]}


def _folder_files(folder: Path) -> list[Path]:
    """Every file under ``folder`` except hidden ones (e.g. ``.cache/`` of huggingface-cli)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(
        part.startswith(".") for part in p.relative_to(folder).parts))


def sd_weights_identity(sd_path, sd_config=None) -> list[dict]:
    """:func:`file_identity` of every file of the SD weights (folder, or checkpoint + config).

    Weights and configs both count: a changed ``unet/config.json`` changes the model too.
    """
    _check_sd(sd_path, sd_config)
    path = Path(sd_path)
    folder = path if path.is_dir() else Path(sd_config)
    files = [p for p in _folder_files(folder)  # the pipeline's parts only, e.g. not a README
             if p.name == "model_index.json" or p.relative_to(folder).parts[0] in SD_COMPONENTS]
    return [file_identity(p) for p in ([] if path.is_dir() else [path]) + files]


def clip_weights_identity(clip_path=None) -> list[dict]:
    """:func:`file_identity` of the MetaCLIP checkpoint (:func:`clip_checkpoint`), or of every
    file of an open_clip folder."""
    path = clip_checkpoint(clip_path)
    return [file_identity(p) for p in (_folder_files(path) if path.is_dir() else [path])]


def _weight_variant(folder: Path, sub: str) -> str | None:
    names = SD_COMPONENTS[sub]
    plain = [n for n in names if ".fp16." not in n]
    return None if any((folder / sub / n).is_file() for n in plain) else "fp16"


def _load_real_sd_components(sd_path, sd_config, dtype) -> dict[str, Any]:
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    path = Path(sd_path)
    if path.is_file():
        pipe = StableDiffusionPipeline.from_single_file(
            str(path), config=str(sd_config), local_files_only=True, torch_dtype=dtype,
            safety_checker=None)
        return dict(unet=pipe.unet, vae=pipe.vae, text_encoder=pipe.text_encoder,
                    tokenizer=pipe.tokenizer, scheduler=pipe.scheduler)
    kw = dict(local_files_only=True, torch_dtype=dtype)
    return dict(
        unet=UNet2DConditionModel.from_pretrained(
            path, subfolder="unet", variant=_weight_variant(path, "unet"), **kw),
        vae=AutoencoderKL.from_pretrained(
            path, subfolder="vae", variant=_weight_variant(path, "vae"), **kw),
        text_encoder=CLIPTextModel.from_pretrained(
            path, subfolder="text_encoder", variant=_weight_variant(path, "text_encoder"), **kw),
        tokenizer=CLIPTokenizer.from_pretrained(path, subfolder="tokenizer",
                                                local_files_only=True),
        scheduler=PNDMScheduler.from_pretrained(path, subfolder="scheduler",
                                                local_files_only=True),
    )


_VOLATILE_CONFIG_KEYS = {"transformers_version", "torch_dtype", "dtype", "architectures",
                         "output_hidden_states", "return_dict"}


def _architecture(config: dict) -> dict:
    """Config without bookkeeping keys (``_name_or_path``, library versions, dtype)."""
    return {k: v for k, v in config.items()
            if not k.startswith("_") and k not in _VOLATILE_CONFIG_KEYS}


def _digest(obj) -> str:
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _config_dict(config) -> dict:
    return config.to_dict() if hasattr(config, "to_dict") else dict(config)


def _files_identity(paths) -> list[dict]:
    return [{"path": str(p), "bytes": p.stat().st_size}
            for p in sorted(paths) if p.is_file()]


def load_sd(preset: Preset | str, *, sd_path=None, sd_config=None,
            device: Device | str = Device.AUTO, dtype=None, seed: int = 0) -> SDModels:
    """SD 1.5 components for a preset, in eval mode, on ``device``.

    ``dtype`` defaults to float16 on CUDA and float32 on CPU. Random presets use ``seed``.
    """
    import torch

    preset = Preset(preset)
    dev = resolve_device(device)
    dtype = dtype or (torch.float16 if dev.type == "cuda" else torch.float32)
    if preset is Preset.REAL:
        _check_sd(sd_path, sd_config)
        parts = _load_real_sd_components(sd_path, sd_config, dtype)
        root = Path(sd_path)
        files = [root] if root.is_file() else [p for p in root.glob("*/*") if p.suffix in
                                                (".safetensors", ".bin")]
        identity = {"files": _files_identity(files)}
    else:
        parts = build_random_sd_components(preset, seed=seed)
        identity = {"seed": seed}
    for name in ("unet", "vae", "text_encoder"):
        module = parts[name].to(dev)
        if module.dtype != dtype:
            module = module.to(dtype)
        parts[name] = module.eval().requires_grad_(False)
    identity.update(
        preset=preset.value, dtype=str(dtype).removeprefix("torch."),
        config_sha256={n: _digest(_architecture(_config_dict(parts[n].config)))
                       for n in ("unet", "vae", "text_encoder", "scheduler")})
    return SDModels(**parts, device=dev, dtype=dtype, identity=identity)


def load_clip(preset: Preset | str, *, clip_path=None, model_name: str = CLIP_MODEL,
              device: Device | str = Device.AUTO, seed: int = 0) -> ClipModel:
    """open_clip CLIP for GEM (fp32, eval) and its tokenizer.

    ``real``: ``model_name`` (default ``ViT-B-16-quickgelu``) with the checkpoint from
    :func:`clip_checkpoint`, loaded by ``open_clip.create_model(..., pretrained=<file>)``.
    """
    import open_clip

    preset = Preset(preset)
    dev = resolve_device(device)
    if preset is Preset.REAL:
        ckpt = clip_checkpoint(clip_path)
        if ckpt.is_dir():  # open_clip's own folder layout: config + weights
            model_name = f"local-dir:{ckpt}"
            model = open_clip.create_model(model_name).eval()
            files = _folder_files(ckpt)
        else:
            model = open_clip.create_model(model_name, pretrained=str(ckpt)).eval()
            files = [ckpt]
        identity = {"files": _files_identity(files)}
        overrides: dict = {}
    else:
        model = build_random_clip(preset, seed=seed)
        model_name = CLIP_ARCHITECTURES[preset].model_name
        overrides = CLIP_ARCHITECTURES[preset].overrides
        identity = {"seed": seed}
    model = model.to(dev).requires_grad_(False)
    shapes = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    identity.update(preset=preset.value, model_name=model_name, dtype="float32",
                    config_sha256=_digest({"name": model_name, "overrides": overrides,
                                           "shapes": shapes}))
    return ClipModel(model, open_clip.get_tokenizer(model_name), dev, identity)


def model_identity(*models: SDModels | ClipModel) -> dict:
    """JSON-able description of loaded models for cache manifests.

    Args:
        models: any of a :class:`SDModels` and a :class:`ClipModel`, in any order.

    Returns:
        ``{"sd": {...}, "clip": {...}}`` (keys only for the models given): preset, weight files
        with sizes (``real``) or seed (random), architecture config hashes, dtype.
    """
    out: dict = {}
    for model in models:
        if isinstance(model, SDModels):
            key = "sd"
        elif isinstance(model, ClipModel):
            key = "clip"
        else:
            raise ValueError(f"model_identity takes SDModels or ClipModel, got {type(model)}")
        if key in out:
            raise ValueError(f"model_identity got two {key} models")
        out[key] = dict(model.identity)
    if not out:
        raise ValueError("model_identity needs at least one of an SDModels and a ClipModel")
    return out


__all__ = ["SD_ARCHITECTURES", "check_weights", "clip_checkpoint", "clip_weights_identity",
           "file_identity", "load_clip", "load_sd", "model_identity", "resolve_device",
           "sd_weights_identity"]
