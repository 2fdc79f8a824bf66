"""The 80 ImageNet templates and their averaging (hand-derived values, fake encoder)."""

import numpy as np
import pytest

from langseg.models.templates import (IMAGENET_TEMPLATES, average_template_embeddings,
                                      encode_names, fill_templates)


def test_eighty_distinct_templates_each_with_one_slot():
    assert len(IMAGENET_TEMPLATES) == 80 and len(set(IMAGENET_TEMPLATES)) == 80
    assert all(t.count("{}") == 1 for t in IMAGENET_TEMPLATES)
    assert "a photo of a {}." in IMAGENET_TEMPLATES
    assert fill_templates("cat")[IMAGENET_TEMPLATES.index("a photo of a {}.")] == \
        "a photo of a cat."


def test_average_normalises_each_then_the_mean():
    # (3, 4) -> (0.6, 0.8); (0, 2) -> (0, 1); mean (0.3, 0.9) -> / sqrt(0.9)
    out = average_template_embeddings(np.array([[3.0, 4.0], [0.0, 2.0]]))
    np.testing.assert_allclose(out, [0.3 / np.sqrt(0.9), 0.9 / np.sqrt(0.9)], rtol=1e-6)
    assert out.dtype == np.float32


def test_average_batched_and_zero_errors():
    emb = np.array([[[1.0, 0.0], [0.0, 5.0]], [[2.0, 0.0], [4.0, 0.0]]])
    out = average_template_embeddings(emb)
    np.testing.assert_allclose(out, [[np.sqrt(0.5), np.sqrt(0.5)], [1.0, 0.0]], rtol=1e-6)
    with pytest.raises(ValueError, match="zero vector"):
        average_template_embeddings(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="average to zero"):
        average_template_embeddings(np.array([[1.0, 0.0], [-1.0, 0.0]]))


def test_encode_names_with_a_fake_clip():
    torch = pytest.importorskip("torch")

    class Tokenizer:
        def __call__(self, texts):
            return torch.tensor([[len(t), t.count("a")] for t in texts], dtype=torch.float32)

    class Model:
        def encode_text(self, tokens):
            return tokens * 2.0

    class Clip:
        model, tokenizer, device = Model(), Tokenizer(), "cpu"

    names = ["cat", "dog house", "ox"]
    out = encode_names(Clip(), names)
    np.testing.assert_array_equal(encode_names(Clip(), names, max_prompts=100), out)  # 1 a pass
    for row, name in zip(out, names):
        vectors = np.array([[2.0 * len(t), 2.0 * t.count("a")] for t in fill_templates(name)])
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        mean = vectors.mean(axis=0)
        np.testing.assert_allclose(row, mean / np.linalg.norm(mean), rtol=1e-5)
