"""Random-weight model presets: ``tiny`` (CI-sized) and ``sd15-random`` (full SD 1.5 / ViT-B/16).

Both use the real library classes (diffusers UNet2DConditionModel, AutoencoderKL, PNDMScheduler;
transformers CLIPTextModel with a CLIPTokenizer built offline from open_clip's bundled BPE; an
open_clip CLIP through its factory with config overrides), seeded, built in-process, no download.
The ``tiny`` SD keeps the real latent geometry (512 input -> 64x64 latent, self-attention
4096x4096) with attention at 64, 32, 16 and 8 (same block layout as SD 1.5, tiny widths).
"""

from __future__ import annotations

import gzip
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langseg.params import Preset

SCHEDULER_CONFIG: dict[str, Any] = {
    "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "skip_prk_steps": True, "steps_offset": 1,
    "set_alpha_to_one": False,
}

_DOWN = ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",)
_UP = ("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3


@dataclass(frozen=True)
class SDArchitecture:
    """Configs (plain dicts, hashed into ``model_identity``) of the SD components."""

    unet: dict
    vae: dict
    text: dict


@dataclass(frozen=True)
class ClipArchitecture:
    """open_clip model name plus the config overrides passed to ``create_model``."""

    model_name: str
    overrides: dict


SD_ARCHITECTURES: dict[Preset, SDArchitecture] = {
    Preset.TINY: SDArchitecture(
        unet=dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=1,
                  block_out_channels=(32, 32, 64, 64), down_block_types=_DOWN, up_block_types=_UP,
                  cross_attention_dim=32, attention_head_dim=2, norm_num_groups=8),
        vae=dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
                 block_out_channels=(16, 16, 32, 32), norm_num_groups=8, sample_size=512,
                 down_block_types=("DownEncoderBlock2D",) * 4,
                 up_block_types=("UpDecoderBlock2D",) * 4, scaling_factor=0.18215),
        text=dict(vocab_size=49408, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, max_position_embeddings=77, hidden_act="quick_gelu",
                  projection_dim=32, bos_token_id=49406, eos_token_id=49407, pad_token_id=49407),
    ),
    Preset.SD15_RANDOM: SDArchitecture(
        unet=dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
                  block_out_channels=(320, 640, 1280, 1280), down_block_types=_DOWN,
                  up_block_types=_UP, cross_attention_dim=768, attention_head_dim=8,
                  norm_num_groups=32, norm_eps=1e-5, flip_sin_to_cos=True, freq_shift=0),
        vae=dict(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
                 block_out_channels=(128, 256, 512, 512), norm_num_groups=32, sample_size=512,
                 down_block_types=("DownEncoderBlock2D",) * 4,
                 up_block_types=("UpDecoderBlock2D",) * 4, scaling_factor=0.18215),
        text=dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                  num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
                  projection_dim=768, bos_token_id=49406, eos_token_id=49407, pad_token_id=49407),
    ),
}

CLIP_ARCHITECTURES: dict[Preset, ClipArchitecture] = {
    Preset.TINY: ClipArchitecture("ViT-B-16-quickgelu", dict(
        embed_dim=32,
        vision_cfg=dict(image_size=224, layers=8, width=64, head_width=32, patch_size=16),
        text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2, layers=2),
    )),
    Preset.SD15_RANDOM: ClipArchitecture("ViT-B-16-quickgelu", {}),
    Preset.REAL: ClipArchitecture("ViT-B-16-quickgelu", {}),
}


def offline_clip_tokenizer():
    """SD's CLIP tokenizer (openai/clip-vit-large-patch14 BPE) built from open_clip's bundled BPE.

    The vocabulary is open_clip's with the special tokens renamed to the HF spelling; the merges
    are the 48894 lines after the header of ``bpe_simple_vocab_16e6.txt.gz``. Ids equal
    open_clip's; SD pads with 49407 (``<|endoftext|>``).
    """
    from open_clip.tokenizer import SimpleTokenizer, default_bpe
    from transformers import CLIPTokenizer

    renamed = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    vocab = {renamed.get(k, k): v for k, v in SimpleTokenizer().encoder.items()}
    with gzip.open(default_bpe(), "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77,
                         pad_token="<|endoftext|>")


def build_random_sd_components(preset: Preset, *, seed: int = 0) -> dict[str, Any]:
    """Seeded random SD components of a random preset (``tiny`` or ``sd15-random``), fp32 CPU.

    Returns:
        dict with ``unet``, ``vae``, ``text_encoder``, ``tokenizer``, ``scheduler`` (eval mode).
    """
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    if preset not in SD_ARCHITECTURES:
        raise ValueError(f"preset {preset.value!r} has no random weights; use 'tiny' or "
                         "'sd15-random'")
    arch = SD_ARCHITECTURES[preset]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(**arch.unet)
        vae = AutoencoderKL(**arch.vae)
        text_encoder = CLIPTextModel(CLIPTextConfig(**arch.text))
    for module in (unet, vae, text_encoder):
        module.eval().requires_grad_(False)
    return dict(unet=unet, vae=vae, text_encoder=text_encoder,
                tokenizer=offline_clip_tokenizer(), scheduler=PNDMScheduler(**SCHEDULER_CONFIG))


def build_random_clip(preset: Preset, *, seed: int = 0):
    """Seeded random open_clip CLIP of a random preset, built with ``open_clip.create_model``."""
    import open_clip
    import torch

    if preset not in (Preset.TINY, Preset.SD15_RANDOM):
        raise ValueError(f"preset {preset.value!r} has no random weights; use 'tiny' or "
                         "'sd15-random'")
    arch = CLIP_ARCHITECTURES[preset]
    with torch.random.fork_rng(devices=[]), _quiet_random_init_warning():
        torch.manual_seed(seed)
        model = open_clip.create_model(arch.model_name, pretrained=None, **arch.overrides)
    return model.eval().requires_grad_(False)


@contextmanager
def _quiet_random_init_warning():
    """Hide open_clip's "No pretrained weights loaded" warning: random weights are the point."""
    root = logging.getLogger()

    def hide(record: logging.LogRecord) -> bool:
        return "No pretrained weights loaded" not in record.getMessage()

    root.addFilter(hide)
    try:
        yield
    finally:
        root.removeFilter(hide)
