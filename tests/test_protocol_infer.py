"""One image end to end under the standard protocol, with a fake backend and the tiny CLIP."""

import numpy as np
import pytest
import torch

from langseg.models.dense import patch_logits_fn
from langseg.models.gem import ClipModel, gem_visual_tokens
from langseg.models.presets import build_random_clip
from langseg.params import Method, Preset
from langseg.protocol.infer import (ClusterSettings, image_logits, image_probabilities,
                                    method_probabilities, predict_methods)
from langseg.protocol.resize import normalise, rescale_size, resize_bilinear_uint8, resize_logits
from langseg.protocol.settings import benchmark_settings
from langseg.protocol.windows import slide_logits


def _mean_patch(window):
    """Fake backend: channel 0 = mean red value, channel 1 = its negation; 2x2 patch grid."""
    value = float(window[0].mean())
    return np.array([[[value] * 2] * 2, [[-value] * 2] * 2], dtype=np.float32)


def test_image_logits_chain_resize_windows_upsample():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (30, 45, 3), dtype=np.uint8)
    settings = benchmark_settings("sclip", "voc20")
    small = settings.__class__(**{**settings.__dict__, "short_side": 20, "crop": 12,
                                  "stride": 6})
    out = image_logits(image, _mean_patch, small)
    h, w = rescale_size(30, 45, 20)
    pixels = normalise(resize_bilinear_uint8(image, h, w), small.mean, small.std)
    expected = resize_logits(slide_logits(pixels, _mean_patch, 12, 6), 30, 45)
    np.testing.assert_array_equal(out, expected)
    assert out.shape == (2, 30, 45)
    whole = small.__class__(**{**small.__dict__, "crop": 0})
    value = float(pixels[0].mean())
    np.testing.assert_allclose(image_logits(image, _mean_patch, whole)[0], value, rtol=1e-5)


def test_probabilities_and_methods_with_a_fake_backend():
    image = np.zeros((16, 16, 3), dtype=np.uint8)
    settings = benchmark_settings("sclip", "voc21")
    small = settings.__class__(**{**settings.__dict__, "short_side": 16, "crop": 8,
                                  "stride": 8})
    probs = image_probabilities(image, _mean_patch, [1, 1], small)
    # red channel of a black image is (0 - 122.771) / 68.501 = -1.79223... -> class 1 wins
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, rtol=1e-6)
    assert (probs[1] > probs[0]).all()
    sa = np.full((16, 16), 1 / 16, dtype=np.float32)
    labels = predict_methods([Method.GEM, Method.AGGGEM], probs, sa, small, ClusterSettings())
    assert labels[Method.GEM].tolist() == [[1] * 16] * 16
    np.testing.assert_array_equal(labels[Method.AGGGEM], labels[Method.GEM])
    with pytest.raises(ValueError, match="not defined under the standard protocol"):
        method_probabilities(Method.GTCLUST, probs, sa, ClusterSettings())
    with pytest.raises(ValueError, match="needs the SD self-attention"):
        method_probabilities(Method.SPECCLUST, probs, None, ClusterSettings())


def test_cluster_settings_from_config():
    settings = ClusterSettings.from_config({"specclust": {"n_clusters": 3, "solver": "full"},
                                            "temperature": 0.1})
    assert settings.specclust.n_clusters == 3 and settings.specclust.solver.value == "full"
    with pytest.raises(ValueError, match="specclust.n_clusters"):
        ClusterSettings.from_config({"specclust": {"n_clusters": 1}})


@pytest.fixture(scope="module")
def tiny_clip():
    import open_clip

    torch.set_num_threads(1)
    model = build_random_clip(Preset.TINY, seed=0)
    return ClipModel(model, open_clip.get_tokenizer("ViT-B-16-quickgelu"), torch.device("cpu"))


def test_gem_patch_logits_are_cosines_on_the_patch_grid(tiny_clip):
    rng = np.random.default_rng(1)
    dim = tiny_clip.model.visual.proj.shape[1]
    text = rng.normal(size=(3, dim)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    forward = patch_logits_fn(tiny_clip, text)
    window = rng.normal(size=(3, 40, 56)).astype(np.float32)
    out = forward(window)
    assert out.shape == (3, 2, 3) and np.abs(out).max() <= 1.0 + 1e-6
    np.testing.assert_array_equal(out, forward(window[:, :32, :48]))  # trailing pixels ignored
    with torch.inference_mode():
        tokens, _ = gem_visual_tokens(tiny_clip.model.visual,
                                      torch.from_numpy(window[:, :32, :48])[None])
    feats = tokens[0, 1:].numpy().astype(np.float64)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    np.testing.assert_allclose(out, (feats @ text.T).T.reshape(3, 2, 3), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="unknown backend"):
        patch_logits_fn(tiny_clip, text, backend="sclip")
