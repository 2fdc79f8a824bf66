"""GEM over a small random open_clip CLIP, checked against a step-by-step re-derivation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from langseg.models.gem import (ClipModel, gem_cosines, gem_visual_tokens,
                                preprocess_clip_images, resample_positional_embedding)
from langseg.models.presets import build_random_clip
from langseg.params import Preset


@pytest.fixture(scope="module")
def tiny_clip():
    import open_clip

    torch.set_num_threads(1)
    model = build_random_clip(Preset.TINY, seed=0)
    # random LayerNorm/proj init is too regular to catch mix-ups: perturb every parameter
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    return ClipModel(model, open_clip.get_tokenizer("ViT-B-16-quickgelu"), torch.device("cpu"))


def _ln(x, sd, prefix):
    return F.layer_norm(x, x.shape[-1:], sd[prefix + ".weight"], sd[prefix + ".bias"])


def _explicit_gem(sd, pixels, n_layers, depth, heads, grid):
    """GEM written out from state_dict tensors with plain torch ops (docs/spec.md §2)."""
    patch = sd["conv1.weight"]
    x = F.conv2d(pixels, patch, stride=patch.shape[-1])  # (B, C, g, g)
    b, c = x.shape[:2]
    x = x.reshape(b, c, -1).permute(0, 2, 1)
    pos = sd["positional_embedding"]
    g0 = int((pos.shape[0] - 1) ** 0.5)
    grid_pos = pos[1:].reshape(1, g0, g0, c).permute(0, 3, 1, 2)
    grid_pos = F.interpolate(grid_pos, size=(grid, grid), mode="bicubic", antialias=True,
                             align_corners=False).permute(0, 2, 3, 1).reshape(-1, c)
    x = torch.cat([sd["class_embedding"].expand(b, 1, c), x], 1)
    x = x + torch.cat([pos[:1], grid_pos])
    x = _ln(x, sd, "ln_pre")
    hd = c // heads
    g = None
    for i in range(n_layers):
        p = f"transformer.resblocks.{i}."
        h = _ln(x, sd, p + "ln_1")
        qkv = h @ sd[p + "attn.in_proj_weight"].T + sd[p + "attn.in_proj_bias"]
        q, k, v = [t.reshape(b, -1, heads, hd).transpose(1, 2) for t in qkv.chunk(3, dim=-1)]
        attn = torch.softmax(q @ k.transpose(-1, -2) / hd ** 0.5, dim=-1) @ v
        wo, bo = sd[p + "attn.out_proj.weight"], sd[p + "attn.out_proj.bias"]
        a_ori = attn.transpose(1, 2).reshape(b, -1, c) @ wo.T + bo
        if i >= n_layers - (depth - 1):
            g = x if g is None else g
            inv_temp = h.norm(dim=-1).mean(dim=1)[:, None, None, None] / hd ** 0.5
            total = torch.zeros_like(v)
            for z in (v, k, q):
                zn = z / z.norm(dim=-1, keepdim=True)
                z1 = torch.softmax(zn @ zn.transpose(-1, -2) * inv_temp, dim=-1) @ zn
                z1 = z1 / z1.norm(dim=-1, keepdim=True)
                total = total + torch.softmax(z1 @ z1.transpose(-1, -2) * inv_temp, -1) @ v
            g = g + (total / 3).transpose(1, 2).reshape(b, -1, c) @ wo.T + bo
        x = x + a_ori
        m = _ln(x, sd, p + "ln_2") @ sd[p + "mlp.c_fc.weight"].T + sd[p + "mlp.c_fc.bias"]
        m = m * torch.sigmoid(1.702 * m)  # QuickGELU
        x = x + m @ sd[p + "mlp.c_proj.weight"].T + sd[p + "mlp.c_proj.bias"]
    return _ln(g, sd, "ln_post") @ sd["proj"], _ln(x, sd, "ln_post") @ sd["proj"]


def test_gem_equals_explicit_rederivation(tiny_clip):
    visual = tiny_clip.model.visual
    sd = {k: v.detach() for k, v in visual.state_dict().items()}
    pixels = torch.randn(2, 3, 448, 448, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        gem, ori = gem_visual_tokens(visual, pixels, depth=7)
    exp_gem, exp_ori = _explicit_gem(sd, pixels, n_layers=8, depth=7,
                                     heads=visual.transformer.resblocks[0].attn.num_heads,
                                     grid=28)
    assert gem.shape == (2, 1 + 28 * 28, 32)
    assert torch.allclose(gem, exp_gem, atol=1e-4, rtol=1e-4)
    assert torch.allclose(ori, exp_ori, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(gem, ori, atol=1e-2)


def test_ori_stream_equals_open_clip_dense_output(tiny_clip):
    visual = tiny_clip.model.visual
    pixels = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    visual.output_tokens = True
    try:
        with torch.inference_mode():
            pooled, tokens = visual(pixels)
            _, ori = gem_visual_tokens(visual, pixels, depth=3)
    finally:
        visual.output_tokens = False
    assert torch.allclose(ori[:, 1:], tokens @ visual.proj, atol=1e-5)
    assert torch.allclose(ori[:, 0], pooled, atol=1e-5)


def test_positional_embedding_resample():
    pos = torch.arange(5 * 3, dtype=torch.float32).reshape(5, 3)  # CLS + 2x2 grid, width 3
    assert resample_positional_embedding(pos, (2, 2), (2, 2)) is pos
    out = resample_positional_embedding(pos, (4, 4), (2, 2))
    assert out.shape == (17, 3) and torch.equal(out[0], pos[0])


def test_gem_cosines_are_normalised_patch_text_similarities(tiny_clip):
    rng = np.random.default_rng(0)
    images = [Image.fromarray((rng.random((60, 90, 3)) * 255).astype(np.uint8))
              for _ in range(2)]
    names = ["cat", "tv/monitor", "dining table"]
    cos = gem_cosines(tiny_clip, images, names, batch_size=2)
    assert cos.shape == (2, 3, 28, 28) and cos.dtype == np.float32
    assert np.abs(cos).max() <= 1.0 + 1e-6
    with torch.inference_mode():
        gem, _ = gem_visual_tokens(tiny_clip.model.visual, preprocess_clip_images(images[:1]))
        tokens = tiny_clip.tokenizer([f"a photo of a {n}." for n in names])
        text = F.normalize(tiny_clip.model.encode_text(tokens), dim=-1)
    feat = F.normalize(gem[0, 1:], dim=-1)  # (784, D), patch n -> (n // 28, n % 28)
    np.testing.assert_allclose(cos[0, 1, 3, 5], float(feat[3 * 28 + 5] @ text[1]), atol=1e-5)
    single = gem_cosines(tiny_clip, images[1:], names)
    np.testing.assert_allclose(single[0], cos[1], atol=1e-5)  # batching does not change results


def test_gem_rejects_bad_arguments(tiny_clip):
    img = [Image.new("RGB", (32, 32))]
    with pytest.raises(ValueError, match="depth"):
        gem_cosines(tiny_clip, img, ["cat"], depth=10)
    with pytest.raises(ValueError, match="multiple of the patch"):
        gem_cosines(tiny_clip, img, ["cat"], resolution=450)
    with pytest.raises(ValueError, match="at least one class"):
        gem_cosines(tiny_clip, img, [])


@pytest.mark.slow
def test_gem_vit_b16_quickgelu_full_size():
    """ViT-B/16 (12 layers, 12 heads, width 768) at 448: GEM equals the re-derivation."""
    model = build_random_clip(Preset.SD15_RANDOM, seed=0)
    visual = model.visual
    sd = {k: v.detach() for k, v in visual.state_dict().items()}
    pixels = torch.randn(1, 3, 448, 448, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        gem, ori = gem_visual_tokens(visual, pixels, depth=7)
    exp_gem, exp_ori = _explicit_gem(sd, pixels, n_layers=12, depth=7, heads=12, grid=28)
    assert gem.shape == (1, 785, 512)
    assert torch.allclose(gem, exp_gem, atol=1e-3, rtol=1e-3)
    assert torch.allclose(ori, exp_ori, atol=1e-3, rtol=1e-3)
