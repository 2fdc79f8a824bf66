"""Dense CLIP backends: exactness against the official code's outputs, registry, text cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langseg.models.backends import (
    backend_cosines,
    backend_names,
    backend_settings,
    make_backend,
    text_embeddings,
)

FIXTURES = Path(__file__).parent / "fixtures" / "backends"
OFFICIAL = ["clearclip", "gem", "maskclip", "naclip", "sclip"]


@pytest.fixture(scope="module")
def fixture_visual():
    """open_clip (installed version) ViT with the fixture's random weights loaded strictly."""
    import open_clip
    import torch

    model = open_clip.create_model(
        "ViT-B-16-quickgelu", pretrained=None, embed_dim=16,
        vision_cfg={"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
        text_cfg={"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1})
    with np.load(FIXTURES / "weights.npz") as data:
        model.visual.load_state_dict({k: torch.from_numpy(data[k]) for k in data.files})
    return model.visual.eval()


@pytest.mark.parametrize("name", OFFICIAL)
def test_backend_matches_official_code(name, fixture_visual):
    import torch

    backend = make_backend(name, {"depth": 3} if name == "gem" else {})
    with np.load(FIXTURES / "inputs.npz") as inputs, np.load(FIXTURES / f"{name}.npz") as want:
        assert set(inputs.files) == set(want.files) == {"native", "square48", "rect48x64"}
        for key in inputs.files:
            with torch.no_grad():
                got = backend.visual_tokens(fixture_visual, torch.from_numpy(inputs[key]))
            got = got.numpy()
            expected = want[key]
            if expected.shape[1] == got.shape[1] - 1:  # ClearCLIP's code returns patches only
                got = got[:, 1:]
            assert got.shape == expected.shape, key
            np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0, err_msg=f"{name} {key}")


def test_backends_differ_from_each_other(fixture_visual):
    import torch

    with np.load(FIXTURES / "inputs.npz") as inputs:
        pixels = torch.from_numpy(inputs["square48"])
    with torch.no_grad():
        outs = {n: make_backend(n).visual_tokens(fixture_visual, pixels) for n in OFFICIAL
                if n != "gem"}
    names = sorted(outs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not torch.allclose(outs[a], outs[b], atol=1e-4), (a, b)


def test_registry_lists_every_module_and_refuses_unknown():
    assert backend_names() == OFFICIAL
    assert backend_settings("naclip") == {"resolution": 448, "gaussian_std": 5.0}
    assert backend_settings("gem") == {"resolution": 448, "depth": 7}
    with pytest.raises(ValueError, match="unknown CLIP backend 'nope'.*sclip"):
        make_backend("nope")
    with pytest.raises(ValueError, match="no setting.*'depth'.*allowed"):
        make_backend("sclip", {"depth": 3})
    with pytest.raises(ValueError, match="gaussian_std"):
        make_backend("naclip", {"gaussian_std": 0})


def test_naclip_bias_is_gaussian_of_grid_distance():
    from langseg.models.backends.naclip import neighbourhood_bias

    bias = neighbourhood_bias((2, 3), 5.0).numpy()
    assert bias.shape == (7, 7)
    assert np.all(bias[0] == 0) and np.all(bias[:, 0] == 0)
    # token 1 = (0,0), token 6 = (1,2): squared distance 1 + 4
    assert bias[1, 6] == pytest.approx(np.exp(-5 / 50), abs=1e-7)
    assert np.allclose(bias[1:, 1:], bias[1:, 1:].T) and np.allclose(np.diag(bias)[1:], 1)


class CountingTextSide:
    __qualname__ = "CountingTextSide"

    def __init__(self):
        self.calls = 0

    def __call__(self, clip, names):
        import torch

        self.calls += 1
        return torch.eye(len(names), 32)[:, :32]


def test_text_embeddings_are_computed_once_per_class_list():
    from langseg.models.loading import load_clip

    clip = load_clip("tiny", device="cpu")
    side = CountingTextSide()
    a = text_embeddings(clip, ["cat", "dog"], side)
    b = text_embeddings(clip, ("cat", "dog"), side)
    assert a is b and side.calls == 1
    text_embeddings(clip, ["dog", "cat"], side)
    assert side.calls == 2


def test_backend_cosines_shape_and_range():
    from PIL import Image

    from langseg.models.loading import load_clip

    clip = load_clip("tiny", device="cpu")
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (40, 50, 3), dtype=np.uint8))] * 3
    for name in backend_names():
        cos = backend_cosines(clip, make_backend(name, {"resolution": 64}), images,
                              ["a", "b"], batch_size=2)
        assert cos.shape == (3, 2, 4, 4) and cos.dtype == np.float32
        assert np.all(np.abs(cos) <= 1 + 1e-6)
        np.testing.assert_allclose(cos[0], cos[2], atol=1e-6)  # batching does not mix images
    with pytest.raises(ValueError, match="multiple of the patch size"):
        backend_cosines(clip, make_backend("sclip", {"resolution": 50}), images, ["a"])
