"""Stable Diffusion 1.5 attention capture and the two extraction passes (docs/spec.md §1.1-1.3).

Capture: :class:`AttentionCaptureProcessor`, installed on every attention layer through
``unet.set_attn_processor``, computes attention like diffusers' classic ``AttnProcessor``
(``softmax(scale * Q K^T)`` materialised explicitly, with the module's scale, mask and upcast
flags, in blocks of query rows), returns the same layer output (bit-identical on CPU), and
stores only the head average of the probabilities of each layer.

Passes: image -> 512x512 bicubic -> VAE posterior mean x scaling factor -> ``add_noise`` with
seeded Gaussian noise at timestep ``t`` -> one UNet pass (no classifier-free guidance).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from langseg.attention import aggregate_cross_attention, aggregate_self_attention, gt_aggregation
from langseg.models.prompts import PromptChunk, plan_gt_prompts
from langseg.params import Fidelity, gt_pass_timestep
from langseg.schemas import schema_default

SD_INPUT_SIZE = 512
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# defaults from the config schema (their one home): 100 for the empty-prompt pass (GEM-based
# methods, both fidelities), 101 for AggSD as coded (training_step's default)
SA_TIMESTEP = schema_default("extraction", "sd", "sa_timestep")
AGGSD_REPORT_TIMESTEP = schema_default("extraction", "sd", "gt_timestep")


@dataclass
class SDModels:
    """Loaded SD components; ``device``/``dtype`` are where and how they run."""

    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler: Any
    device: Any
    dtype: Any
    identity: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GTAttention:
    """AggSD attention of one image (contract of the ``sd_gt`` cache).

    Attributes:
        agg: ``(N, 1+K) float32`` = ``(SA / colsum(SA))^T @ CA[:, [SOS, c_1..c_K]]``.
        ca_colsum: ``(1+K,) float32`` pixel sums of those CA columns (for ``ca_norm``).
        class_names: the ``K`` prompted class names, in column order.
    """

    agg: np.ndarray
    ca_colsum: np.ndarray
    class_names: tuple[str, ...]


class AttentionStore:
    """Head-averaged attention of the layers of one UNet pass, in forward order."""

    def __init__(self) -> None:
        self.self_maps: dict[str, Any] = {}
        self.cross_maps: dict[str, Any] = {}

    def clear(self) -> None:
        self.self_maps.clear()
        self.cross_maps.clear()


CPU_CHUNK_BYTES = 8 << 20  # score block per step on CPU: stays in cache (3x faster than whole)
GPU_CHUNK_BYTES = 2 << 30


class AttentionCaptureProcessor:
    """diffusers attention processor that records head-averaged probabilities.

    Same maths as ``diffusers.models.attention_processor.AttnProcessor`` (``baddbmm`` with
    ``alpha = attn.scale``, the module's ``upcast_attention``/``upcast_softmax`` and mask, softmax
    over keys, ``bmm`` with the values), evaluated in blocks of query rows so that the scores
    stay in cache on CPU. The probabilities of each block are averaged over heads at once into
    ``(B, Q, K)`` float32; all heads of a layer are never held. Self- (``attn1``) and cross-
    (``attn2``) layers go to separate dicts of the store; ``capture_cross=False`` skips cross.
    """

    def __init__(self, store: AttentionStore, name: str, *, capture_cross: bool = True) -> None:
        self.store = store
        self.name = name
        self.capture_cross = capture_cross

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                 temb=None, *args, **kwargs):
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        input_ndim = hidden_states.ndim
        if input_ndim == 4:
            batch, channel, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch, channel, height * width).transpose(1, 2)
        is_cross = encoder_hidden_states is not None
        context = hidden_states if not is_cross else encoder_hidden_states
        batch, seq_len, _ = context.shape
        attention_mask = attn.prepare_attention_mask(attention_mask, seq_len, batch)
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        if is_cross and attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        key = attn.head_to_batch_dim(attn.to_k(context))
        value = attn.head_to_batch_dim(attn.to_v(context))
        keep = not is_cross or self.capture_cross
        out, mean = _attend_and_average(attn, query, key, value, attention_mask, keep=keep)
        if keep:
            (self.store.cross_maps if is_cross else self.store.self_maps)[self.name] = mean
        out = attn.to_out[1](attn.to_out[0](attn.batch_to_head_dim(out)))
        if input_ndim == 4:
            out = out.transpose(-1, -2).reshape(batch, channel, height, width)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


def _attend_and_average(attn, query, key, value, mask, *, keep: bool):
    """``softmax(scale Q K^T [+ mask]) V`` and the head mean of the probabilities.

    Args:
        query: ``(B*heads, Q, d)``; key, value: ``(B*heads, K, d)`` (batch-major heads).
        mask: ``None`` or additive ``(B*heads, 1 or Q, K)``.

    The softmax and the head mean run in float32 also for float16/bfloat16 models (the
    probabilities are cast to the value dtype only for the product with the values).

    Returns:
        ``out (B*heads, Q, d)`` in the value dtype and ``mean (B, Q, K) float32`` (``None`` if
        not keep).
    """
    import torch

    if attn.upcast_attention:
        query, key = query.float(), key.float()
    bh, n_q, _ = query.shape
    n_k = key.shape[1]
    budget = GPU_CHUNK_BYTES if query.device.type == "cuda" else CPU_CHUNK_BYTES
    rows = max(1, budget // (bh * n_k * 4))  # the probabilities are float32
    key_t = key.transpose(-1, -2)
    out = torch.empty(bh, n_q, value.shape[-1], dtype=value.dtype, device=value.device)
    mean = torch.empty(bh // attn.heads, n_q, n_k, dtype=torch.float32, device=query.device) \
        if keep else None
    for start in range(0, n_q, rows):
        block = slice(start, min(start + rows, n_q))
        q = query[:, block]
        if mask is None:
            scores = torch.baddbmm(torch.empty(bh, q.shape[1], n_k, dtype=q.dtype,
                                               device=q.device), q, key_t, beta=0,
                                   alpha=attn.scale)
        else:
            m = mask if mask.shape[1] == 1 else mask[:, block]
            scores = torch.baddbmm(m, q, key_t, beta=1, alpha=attn.scale)
        probs32 = scores.softmax(dim=-1, dtype=torch.float32)  # float32 whatever the model dtype
        del scores
        out[:, block] = torch.bmm(probs32.to(value.dtype), value)
        if keep:
            mean[:, block] = probs32.view(-1, attn.heads, *probs32.shape[1:]).mean(dim=1)
    return out, mean


@contextmanager
def capturing(unet, *, capture_cross: bool = True):
    """Install capture processors on every attention layer; restore the old ones on exit.

    Yields:
        the :class:`AttentionStore` filled by each UNet forward inside the block.
    """
    store = AttentionStore()
    previous = dict(unet.attn_processors)
    unet.set_attn_processor({
        name: AttentionCaptureProcessor(store, name.removesuffix(".processor"),
                                        capture_cross=capture_cross)
        for name in previous
    })
    try:
        yield store
    finally:
        unet.set_attn_processor(dict(previous))


def preprocess_images(images: Sequence, fidelity: Fidelity):
    """PIL images -> ``(B, 3, 512, 512) float32`` VAE input (bicubic resize, no crop).

    ``report``: ImageNet-normalised (the quirk of docs/spec.md §1.2); ``corrected``: ``2x - 1`` in
    ``[-1, 1]``.
    """
    import torch
    from PIL import Image

    arrays = []
    for img in images:
        rgb = img.convert("RGB").resize((SD_INPUT_SIZE, SD_INPUT_SIZE), Image.BICUBIC)
        arrays.append(np.asarray(rgb, dtype=np.float32) / 255.0)
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    if Fidelity(fidelity) is Fidelity.REPORT:
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (x - mean) / std
    return x * 2.0 - 1.0


def encode_latents(sd: SDModels, pixels):
    """``(B, 3, 512, 512)`` -> ``(B, 4, 64, 64)`` posterior mean x ``scaling_factor``.

    Returns the latents in the model dtype on ``sd.device``.
    """
    x = pixels.to(sd.device, sd.dtype)
    return sd.vae.encode(x).latent_dist.mean * sd.vae.config.scaling_factor


def noisy_latents(sd: SDModels, latents, timestep: int, seed: int):
    """``add_noise`` at ``timestep`` with noise from a generator seeded ``seed`` for EVERY image.

    The generator lives on the latents' device, as coded (CPU and CUDA draws differ).
    """
    import torch

    if not 0 <= timestep < sd.scheduler.config.num_train_timesteps:
        raise ValueError(f"timestep must be in [0, {sd.scheduler.config.num_train_timesteps}), "
                         f"got {timestep}")
    noise = []
    for _ in range(latents.shape[0]):
        gen = torch.Generator(device=latents.device).manual_seed(seed)
        noise.append(torch.randn(latents.shape[1:], generator=gen, dtype=latents.dtype,
                                 device=latents.device))
    steps = torch.full((latents.shape[0],), timestep, dtype=torch.long, device=latents.device)
    noisy = sd.scheduler.add_noise(latents, torch.stack(noise), steps)
    return sd.scheduler.scale_model_input(noisy, timestep), steps


def encode_prompts(sd: SDModels, token_ids: Sequence[Sequence[int]]):
    """Unpadded token ids, one equal-length sequence per image -> ``(B, L, D)`` text-encoder
    ``last_hidden_state`` (model dtype)."""
    import torch

    if len({len(ids) for ids in token_ids}) != 1:
        raise ValueError("prompts batched together must have the same number of tokens")
    ids = torch.tensor([list(t) for t in token_ids], dtype=torch.long, device=sd.device)
    return sd.text_encoder(ids)[0].to(sd.dtype)


def run_pass(sd: SDModels, latents, token_ids: Sequence[Sequence[int]], *, timestep: int,
             seed: int, capture_cross: bool) -> tuple[list[list], list[list]]:
    """One captured UNet pass for a batch of clean latents, one prompt per image.

    Args:
        latents: ``(B, 4, h, w)`` clean latents (model dtype, on ``sd.device``).
        token_ids: ``B`` unpadded token id sequences of equal length ``L``.

    Returns:
        ``(self_maps, cross_maps)``: per image, the list of per-layer head-averaged maps
        ``(Q_l, Q_l)`` / ``(Q_l, L)`` in forward order (cross lists empty if not captured).
    """
    import torch

    if len(token_ids) != latents.shape[0]:
        raise ValueError(f"{latents.shape[0]} latents but {len(token_ids)} prompts")
    with torch.inference_mode():
        noisy, steps = noisy_latents(sd, latents, timestep, seed)
        context = encode_prompts(sd, token_ids)
        with capturing(sd.unet, capture_cross=capture_cross) as store:
            sd.unet(noisy, steps, encoder_hidden_states=context)
    n = latents.shape[0]
    self_maps = [[m[i] for m in store.self_maps.values()] for i in range(n)]
    cross_maps = [[m[i] for m in store.cross_maps.values()] for i in range(n)]
    return self_maps, cross_maps


def _check_batch_size(size: int) -> int:
    if size < 1:
        raise ValueError(f"batch_size must be >= 1, got {size}")
    return size


def _batches(items: Sequence, size: int):
    _check_batch_size(size)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def self_attention_batch(sd: SDModels, pixels, *, timestep: int = SA_TIMESTEP,
                         seed: int = 0) -> list:
    """Aggregated empty-prompt self-attention of one batch, left on the model's device.

    Args:
        pixels: ``(B, 3, 512, 512)`` float32 VAE input from :func:`preprocess_images` (any
            device; pinned host memory makes the copy asynchronous on CUDA).
        timestep, seed: as in :func:`extract_self_attention`.

    Returns:
        ``B`` tensors ``(N, N) float32`` on ``sd.device``; each row sums to 1.
    """
    import torch

    empty = list(sd.tokenizer("")["input_ids"])
    with torch.inference_mode():
        latents = encode_latents(sd, pixels)
    self_maps, _ = run_pass(sd, latents, [empty] * latents.shape[0], timestep=timestep,
                            seed=seed, capture_cross=False)
    with torch.inference_mode():
        return [aggregate_self_attention(maps) for maps in self_maps]


def extract_self_attention(sd: SDModels, images: Sequence, *, timestep: int = SA_TIMESTEP,
                           seed: int = 0, fidelity: Fidelity = Fidelity.REPORT,
                           batch_size: int = 1) -> np.ndarray:
    """Empty-prompt (2 tokens, unpadded) self-attention of each image (docs/spec.md §1.1-1.4).

    Args:
        images: PIL images (any size; resized to 512x512 bicubic).
        timestep: noise level of the single UNet pass (100 as coded).
        seed: seed of the noise generator, re-seeded for every image.
        fidelity: VAE input as coded (``report``) or in [-1, 1] (``corrected``).
        batch_size: images per UNet pass.

    Returns:
        ``(B, N, N) float32``, ``N = 4096`` for SD 1.5 at 512 input; each row sums to 1.
        (The extraction stage uses :func:`self_attention_batch`, which leaves the maps on the
        device for encoding there.)
    """
    fidelity = Fidelity(fidelity)
    images = list(images)
    if not images:
        raise ValueError("extract_self_attention needs at least one image")
    out = None
    for start in range(0, len(images), _check_batch_size(batch_size)):
        chunk = images[start:start + batch_size]
        maps = self_attention_batch(sd, preprocess_images(chunk, fidelity), timestep=timestep,
                                    seed=seed)
        if out is None:
            n = maps[0].shape[0]
            out = np.empty((len(images), n, n), dtype=np.float32)
        for j, sa in enumerate(maps):
            out[start + j] = sa.cpu().numpy()
    return out


def _chunk_columns(sa_layers, ca_layers, chunk: PromptChunk, *, first: bool):
    """``(agg, colsum)`` columns ``[SOS (first chunk only), classes of the chunk]``."""
    sa = aggregate_self_attention(sa_layers)
    ca = aggregate_cross_attention(ca_layers, chunk.label_indices)
    cols = ([0] if first else []) + list(chunk.class_columns)
    agg, colsum = gt_aggregation(sa, ca[:, cols])
    return agg.cpu(), colsum.cpu()


def _merge_chunks(plan: Sequence[PromptChunk], parts: Sequence[tuple], names) -> GTAttention:
    """Place every chunk's columns at ``1 + class slot``; SOS from the first chunk."""
    import torch

    n = parts[0][0].shape[0]
    agg = torch.empty(n, 1 + len(names), dtype=torch.float32)
    colsum = torch.empty(1 + len(names), dtype=torch.float32)
    for c, (chunk, (part_agg, part_sum)) in enumerate(zip(plan, parts)):
        dest = ([0] if c == 0 else []) + [1 + s for s in chunk.class_slots]
        agg[:, dest] = part_agg
        colsum[dest] = part_sum
    return GTAttention(agg.numpy(), colsum.numpy(), tuple(names))


def extract_gt_attention(sd: SDModels, images: Sequence,
                         class_names_per_image: Sequence[Sequence[str]], *,
                         timestep: int | None = None, seed: int = 0,
                         fidelity: Fidelity = Fidelity.REPORT,
                         batch_size: int = 1) -> list[GTAttention]:
    """AggSD pass with the prompt of each image's GT class names (docs/spec.md §1.3, §3.2).

    ``timestep`` defaults to 101 (``report``, as coded) or 100 (``corrected``). Over-long prompts
    (> 77 tokens) fail in ``report`` mode and are split in ``corrected`` mode: the SOS column
    comes from the first chunk's pass, each class column from the pass of the chunk holding the
    class (with that pass's own SA). Prompts with equal token counts share a UNet batch.

    Args:
        images: PIL images.
        class_names_per_image: per image its ``K >= 1`` GT class names, in label-id order
            (the report's order; background excluded), verbatim dataset strings.
        timestep, seed, fidelity, batch_size: as in :func:`extract_self_attention`.

    Returns:
        per image a :class:`GTAttention`: ``agg (N, 1+K) float32``, ``ca_colsum (1+K,)
        float32``; column 0 is the start token (the VOC background score), then the classes.
    """
    import torch

    fidelity = Fidelity(fidelity)
    if len(images) != len(class_names_per_image):
        raise ValueError(f"{len(images)} images but {len(class_names_per_image)} class lists")
    if timestep is None:
        timestep = gt_pass_timestep(fidelity, sa_timestep=SA_TIMESTEP,
                                    gt_timestep=AGGSD_REPORT_TIMESTEP)
    plans = [plan_gt_prompts(sd.tokenizer, names, fidelity) for names in class_names_per_image]
    with torch.inference_mode():
        latents = torch.cat([encode_latents(sd, preprocess_images(b, fidelity))
                             for b in _batches(list(images), batch_size)])
    jobs = sorted(((i, c) for i, plan in enumerate(plans) for c in range(len(plan))),
                  key=lambda job: len(plans[job[0]][job[1]].token_ids))
    parts: dict[tuple[int, int], tuple] = {}
    for group in _equal_length_groups(jobs, plans, batch_size):
        chunks = [plans[i][c] for i, c in group]
        idx = torch.tensor([i for i, _ in group], device=latents.device)
        self_maps, cross_maps = run_pass(sd, latents.index_select(0, idx),
                                         [ch.token_ids for ch in chunks], timestep=timestep,
                                         seed=seed, capture_cross=True)
        for job, chunk, sa, ca in zip(group, chunks, self_maps, cross_maps):
            parts[job] = _chunk_columns(sa, ca, chunk, first=job[1] == 0)
    return [_merge_chunks(plans[i], [parts[(i, c)] for c in range(len(plans[i]))],
                          class_names_per_image[i]) for i in range(len(images))]


def _equal_length_groups(jobs, plans, batch_size: int):
    """Consecutive jobs whose prompts have equal token counts, at most ``batch_size`` each."""
    group: list = []
    for job in jobs:
        length = len(plans[job[0]][job[1]].token_ids)
        if group and (len(group) == batch_size
                      or len(plans[group[0][0]][group[0][1]].token_ids) != length):
            yield group
            group = []
        group.append(job)
    if group:
        yield group
