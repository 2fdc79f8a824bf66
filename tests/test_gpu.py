"""CUDA path (marked ``gpu``; skipped without a CUDA device): device codecs, fp16 capture,
pinned staging and the pipelined SA extraction. Run with ``python -m pytest -m gpu``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from langseg.cache import SACodec, encode_sa, open_store
from langseg.synthetic import hard_scene, proxy_self_attention, segment_map

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.fixture(scope="module")
def maps() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    raw = (10.0 ** rng.uniform(-12, 0, (256, 256))).astype(np.float32)
    raw[rng.random((256, 256)) < 0.05] = 0
    raw[:, 0] = 1.0
    return [proxy_self_attention(segment_map(16, 3, seed=0), seed=0),
            hard_scene("flat-noisy", 32, seed=1)[1],
            raw / raw.sum(axis=1, keepdims=True, dtype=np.float32)]


@pytest.mark.parametrize("codec", list(SACodec))
def test_cuda_encoding_is_byte_identical_to_numpy(codec, maps):
    from langseg.cache.codecs import encode_sa_tensor

    for sa in maps:
        expected = encode_sa(sa, codec)
        values, scale = encode_sa_tensor(torch.from_numpy(sa).cuda(), codec)
        assert values.is_cuda
        np.testing.assert_array_equal(values.cpu().numpy().view(np.uint8),
                                      expected.values.view(np.uint8))
        if scale is not None:
            np.testing.assert_array_equal(scale.cpu().numpy(), expected.row_scale)


def test_pinned_staging_copies_after_ready():
    from langseg.cache.writer import stage_on_host

    device = torch.arange(1 << 20, device="cuda", dtype=torch.int32)
    (host, none), ready = stage_on_host([device, None])
    ready()
    assert host.is_pinned() and none is None
    assert torch.equal(host, device.cpu())


@pytest.fixture(scope="module")
def tiny_cuda():
    from langseg.models import load_sd

    return load_sd("tiny", device="cuda")


def _images(n: int):
    from PIL import Image

    rng = np.random.default_rng(0)
    return [Image.fromarray((rng.random((96, 128, 3)) * 255).astype(np.uint8)) for _ in range(n)]


def test_fp16_capture_gives_row_stochastic_sa_close_to_float32(tiny_cuda):
    from langseg.models import load_sd
    from langseg.models.sd import preprocess_images, self_attention_batch

    assert tiny_cuda.dtype == torch.float16
    pixels = preprocess_images(_images(2), "report")
    low = self_attention_batch(tiny_cuda, pixels)
    full = self_attention_batch(load_sd("tiny", device="cuda", dtype=torch.float32), pixels)
    for a, b in zip(low, full):
        assert a.dtype == torch.float32 and a.is_cuda
        assert torch.isfinite(a).all() and (a > 0).all()
        torch.testing.assert_close(a.sum(1), torch.ones_like(a[:, 0]), atol=1e-4, rtol=0)
        assert float(((a - b).abs().amax(1) / b.amax(1)).max()) < 2e-2


def test_pipelined_cuda_sa_job_writes_the_device_encoding(tmp_path, tiny_cuda):
    from langseg.models.sd import preprocess_images, self_attention_batch
    from langseg.params import Device
    from langseg.pipeline.extract import RuntimeOptions, open_job, run_job

    images = _images(3)
    paths = []
    for i, image in enumerate(images):
        paths.append(tmp_path / f"{i}.png")
        image.save(paths[-1])
    params = {"source": "sd_sa", "timestep": 100, "seed": 0, "fidelity": "report",
              "sa_codec": "default", "models": {"preset": "tiny", "sd_path": None,
                                                "sd_config": None}}
    runtime = RuntimeOptions(device=Device.CUDA, batch_size=3, threads=2)
    store = tmp_path / "s.zarr"
    job = open_job(params, ["a", "b", "c"], [None] * 3, store, runtime, model=tiny_cuda)
    run_job(job, paths, 3, desc="gpu test")
    reader = open_store(store, expected={"extraction": params})
    reference = self_attention_batch(tiny_cuda, preprocess_images(images, "report"))
    for k, sa in enumerate(reference):
        expected = encode_sa(sa.cpu().numpy(), "default")
        got = reader.read_encoded_sa(k)
        # the same batch on the same GPU: equal codes (allow a handful of boundary flips in
        # case the GPU's reductions are not deterministic)
        assert np.mean(got.values != expected.values) < 1e-4
        np.testing.assert_allclose(got.row_scale, expected.row_scale, rtol=1e-3)


def test_cuda_upsampling_of_the_key_axis_matches_the_cpu_call():
    from langseg.attention import upsample_key_axis

    gen = torch.Generator().manual_seed(0)
    for r in (32, 16, 8):
        layer = torch.rand(r * r, r * r, generator=gen) ** 4
        layer = layer / layer.sum(1, keepdim=True)
        on_cuda = upsample_key_axis(layer.cuda(), r, 64)
        assert on_cuda.is_cuda and on_cuda.is_contiguous()
        torch.testing.assert_close(on_cuda.cpu(), upsample_key_axis(layer, r, 64),
                                   rtol=1e-6, atol=1e-12)
