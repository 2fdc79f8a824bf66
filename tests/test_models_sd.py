"""SD capture, passes and prompt/token mapping on the tiny preset (real diffusers classes)."""

import numpy as np
import pytest
import torch
from PIL import Image

from langseg.attention import aggregate_cross_attention, aggregate_self_attention, gt_aggregation
from langseg.models.presets import build_random_sd_components, offline_clip_tokenizer
from langseg.models.prompts import find_all_occurrences, plan_gt_prompts, report_prompt
from langseg.models.sd import (SDModels, capturing, extract_gt_attention, extract_self_attention,
                               noisy_latents, preprocess_images, run_pass)
from langseg.params import Fidelity, Preset


@pytest.fixture(scope="module")
def tiny_sd():
    torch.set_num_threads(1)
    return SDModels(**build_random_sd_components(Preset.TINY, seed=0),
                    device=torch.device("cpu"), dtype=torch.float32)


@pytest.fixture(scope="module")
def tokenizer():
    return offline_clip_tokenizer()


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(0)
    return Image.fromarray((rng.random((96, 128, 3)) * 255).astype(np.uint8))


def _unet_inputs(sd, n_tokens=5, seed=0, batch=1):
    gen = torch.Generator().manual_seed(seed)
    latents = torch.randn(batch, 4, 64, 64, generator=gen)
    context = torch.randn(batch, n_tokens, sd.unet.config.cross_attention_dim, generator=gen)
    return latents, torch.full((batch,), 100), context


def test_captured_maps_equal_explicit_softmax(tiny_sd):
    # batch of 2 different inputs: checks that heads are averaged per image (batch-major heads)
    latents, t, context = _unet_inputs(tiny_sd, batch=2)
    inputs = {}

    def grab(name):
        def hook(module, args, kwargs):
            inputs[name] = (args[0] if args else kwargs["hidden_states"],
                            kwargs.get("encoder_hidden_states"))
        return hook

    attn_modules = {n: m for n, m in tiny_sd.unet.named_modules() if n.endswith(("attn1", "attn2"))}
    handles = [m.register_forward_pre_hook(grab(n), with_kwargs=True)
               for n, m in attn_modules.items()]
    try:
        with torch.inference_mode(), capturing(tiny_sd.unet) as store:
            tiny_sd.unet(latents, t, encoder_hidden_states=context)
    finally:
        for h in handles:
            h.remove()
    captured = {**store.self_maps, **store.cross_maps}
    assert set(captured) == set(attn_modules)
    resolutions = {int(m.shape[1] ** 0.5) for m in store.self_maps.values()}
    assert {64, 32, 16} <= resolutions and len(store.self_maps) == len(store.cross_maps)
    for name, module in attn_modules.items():
        hidden, ctx = inputs[name]
        ctx = hidden if ctx is None else ctx
        q = module.to_q(hidden)
        k = module.to_k(ctx)
        b, n, c = q.shape
        heads = module.heads
        q = q.reshape(b, n, heads, c // heads).transpose(1, 2)
        k = k.reshape(b, k.shape[1], heads, c // heads).transpose(1, 2)
        probs = torch.softmax(q @ k.transpose(-1, -2) * (c // heads) ** -0.5, dim=-1)
        assert torch.allclose(captured[name], probs.mean(dim=1), atol=1e-6), name
        assert torch.allclose(captured[name].sum(-1), torch.ones(b, n), atol=1e-5)
    assert not torch.allclose(captured[name][0], captured[name][1])


def test_capture_output_equals_default_processors(tiny_sd):
    from diffusers.models.attention_processor import AttnProcessor

    latents, t, context = _unet_inputs(tiny_sd, seed=1)
    with torch.inference_mode():
        default = tiny_sd.unet(latents, t, encoder_hidden_states=context).sample
        previous = dict(tiny_sd.unet.attn_processors)
        tiny_sd.unet.set_attn_processor(AttnProcessor())
        classic = tiny_sd.unet(latents, t, encoder_hidden_states=context).sample
        tiny_sd.unet.set_attn_processor(previous)
        with capturing(tiny_sd.unet) as store:
            captured = tiny_sd.unet(latents, t, encoder_hidden_states=context).sample
    assert store.self_maps
    assert torch.equal(captured, classic)  # same maths, same kernels
    assert torch.allclose(captured, default, atol=1e-4)  # SDPA: same maths, other kernel
    assert all(type(p).__name__ != "AttentionCaptureProcessor"
               for p in tiny_sd.unet.attn_processors.values())  # restored


def test_noise_follows_scaled_linear_schedule(tiny_sd):
    # alpha_bar_100 = 0.894223 (scaled_linear 0.00085..0.012, 1000 steps, docs/spec.md §1.2)
    z0 = torch.ones(2, 4, 8, 8)
    noisy, steps = noisy_latents(tiny_sd, z0, 100, seed=3)
    eps = torch.randn(4, 8, 8, generator=torch.Generator().manual_seed(3))
    expected = 0.894223 ** 0.5 * z0 + (1 - 0.894223) ** 0.5 * eps
    assert torch.allclose(noisy, expected.expand(2, -1, -1, -1), atol=1e-5)
    assert steps.tolist() == [100, 100]
    with pytest.raises(ValueError, match="timestep"):
        noisy_latents(tiny_sd, z0, 1000, seed=0)


def test_preprocess_fidelity():
    white = Image.new("RGB", (20, 10), (255, 255, 255))
    report = preprocess_images([white], Fidelity.REPORT)
    corrected = preprocess_images([white], Fidelity.CORRECTED)
    assert report.shape == (1, 3, 512, 512)
    # ImageNet normalisation of 1.0: (1 - 0.485) / 0.229 = 2.2489
    assert report[0, 0, 0, 0].item() == pytest.approx((1 - 0.485) / 0.229, rel=1e-5)
    assert torch.allclose(corrected, torch.ones_like(corrected))


def test_extract_self_attention(tiny_sd, image):
    sa = extract_self_attention(tiny_sd, [image, image], batch_size=2)
    assert sa.shape == (2, 4096, 4096) and sa.dtype == np.float32
    assert np.allclose(sa.sum(-1), 1.0, atol=1e-4)
    np.testing.assert_allclose(sa[0], sa[1], atol=1e-6)  # same image, same noise seed
    other = extract_self_attention(tiny_sd, [image], fidelity=Fidelity.CORRECTED)
    assert not np.allclose(other[0], sa[0])


def test_extract_gt_attention_matches_explicit(tiny_sd, image):
    names = ["cat", "hot dog", "dog"]
    result = extract_gt_attention(tiny_sd, [image], [names])[0]
    assert result.agg.shape == (4096, 4) and result.ca_colsum.shape == (4,)
    assert result.class_names == tuple(names)
    # explicit: one pass at t=101 (report), columns SOS + first token of each label
    chunk = plan_gt_prompts(tiny_sd.tokenizer, names, Fidelity.REPORT)[0]
    with torch.inference_mode():
        from langseg.models.sd import encode_latents
        latents = encode_latents(tiny_sd, preprocess_images([image], Fidelity.REPORT))
    sa_l, ca_l = run_pass(tiny_sd, latents, [chunk.token_ids], timestep=101, seed=0,
                          capture_cross=True)
    sa = aggregate_self_attention(sa_l[0])
    ca = aggregate_cross_attention(ca_l[0], chunk.label_indices)
    cols = [0] + [lids[0] for lids in chunk.label_indices]
    agg = (sa / sa.sum(0)).T @ ca[:, cols]
    np.testing.assert_allclose(result.agg, agg.numpy(), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(result.ca_colsum, ca[:, cols].sum(0).numpy(), rtol=1e-5)
    assert np.allclose(gt_aggregation(sa, ca[:, cols])[0].numpy(), result.agg, atol=1e-6)


def test_report_prompt_strings():
    assert report_prompt(["cat"]) == "A photo of cat"
    assert report_prompt(["cat", "dog"]) == "A photo of cat, and dog"
    assert report_prompt(["cat", "dog", "sofa"]) == "A photo of cat, dog, and sofa"
    with pytest.raises(ValueError):
        report_prompt([])


def test_find_all_occurrences():
    assert find_all_occurrences([0, 5, 7, 9, 5, 7], [5, 7]) == [1, 2, 4, 5]
    assert find_all_occurrences([0, 5, 7], [8]) == []


def test_token_mapping_report_vs_corrected(tokenizer):
    # "A photo of hot dog, and dog": SOS=0 a=1 photo=2 of=3 hot=4 dog=5 ,=6 and=7 dog=8 EOS=9
    report = plan_gt_prompts(tokenizer, ["hot dog", "dog"], Fidelity.REPORT)
    assert len(report) == 1 and len(report[0].token_ids) == 10
    assert report[0].label_indices == ((4, 5), (5, 8))  # "dog" matched inside "hot dog" too
    assert report[0].class_columns == (4, 5)
    corrected = plan_gt_prompts(tokenizer, ["hot dog", "dog"], Fidelity.CORRECTED)
    assert corrected[0].label_indices == ((4, 5), (8,))
    assert corrected[0].class_columns == (4, 8)
    single = plan_gt_prompts(tokenizer, ["tv/monitor"], Fidelity.CORRECTED)[0]
    assert single.label_indices == ((4, 5, 6),)  # tv / monitor


def test_overlong_prompt_report_fails_corrected_splits(tokenizer):
    names = [f"potted plant {w}" for w in ("red", "blue", "green", "white", "black")] * 6
    with pytest.raises(ValueError, match=r"tokens, more than .*77"):
        plan_gt_prompts(tokenizer, names, Fidelity.REPORT)
    chunks = plan_gt_prompts(tokenizer, names, Fidelity.CORRECTED)
    assert len(chunks) >= 2
    assert [s for c in chunks for s in c.class_slots] == list(range(len(names)))
    for c in chunks:
        assert len(c.token_ids) <= 77 and c.token_ids[0] == 49406 and c.token_ids[-1] == 49407
        for slot, lids in zip(c.class_slots, c.label_indices):
            label = tokenizer(names[slot], add_special_tokens=False)["input_ids"]
            assert [c.token_ids[i] for i in lids] == label


def test_extract_gt_attention_splits_in_corrected_mode(tiny_sd, image):
    names = [f"potted plant {w}" for w in ("red", "blue", "green", "white", "black")] * 5
    res = extract_gt_attention(tiny_sd, [image], [names], fidelity=Fidelity.CORRECTED)[0]
    assert res.agg.shape == (4096, 1 + len(names)) and np.isfinite(res.agg).all()
    # repeated names in the same chunk are distinct tokens -> distinct columns
    assert not np.allclose(res.agg[:, 1], res.agg[:, 6])
    with pytest.raises(ValueError, match="77"):
        extract_gt_attention(tiny_sd, [image], [names], fidelity=Fidelity.REPORT)


@pytest.mark.slow
def test_sd15_random_layer_layout_and_sa():
    """Full SD 1.5 architecture: 16 self + 16 cross layers at the spec's resolutions."""
    from langseg.models import load_sd

    sd = load_sd(Preset.SD15_RANDOM, device="cpu")
    latents = torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(0))
    empty = list(sd.tokenizer("")["input_ids"])
    self_maps, cross_maps = run_pass(sd, latents, [empty], timestep=100, seed=0,
                                     capture_cross=True)
    res = [int(m.shape[0] ** 0.5) for m in self_maps[0]]
    assert res == [64, 64, 32, 32, 16, 16, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64]
    assert [m.shape[1] for m in cross_maps[0]] == [2] * 16
    sa = aggregate_self_attention(self_maps[0])
    assert sa.shape == (4096, 4096) and torch.allclose(sa.sum(1), torch.ones(4096), atol=1e-4)
