"""SA codecs: hand-computed encodings, round trips on proxy attention, input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from langseg.cache import DEFAULT_SA_CODEC, SACodec, decode_sa, encode_sa
from langseg.cache.codecs import decode_table
from langseg.synthetic import proxy_self_attention, segment_map


def _rolled(row: list[float]) -> np.ndarray:
    """A square map whose row i is ``row`` rolled by i (every row has the same values)."""
    return np.stack([np.roll(np.asarray(row, dtype=np.float32), i) for i in range(len(row))])


@pytest.fixture(scope="module")
def proxy_sa() -> np.ndarray:
    return proxy_self_attention(segment_map(16, 3, seed=0), seed=0)  # (256, 256)


def test_u8_rowmax_by_hand():
    sa = _rolled([0.5, 0.25, 0.25, 0.0])
    encoded = encode_sa(sa, SACodec.U8_ROWMAX)
    # p / rowmax * 255 = [255, 127.5, 127.5, 0]; rint rounds half to even -> 128
    np.testing.assert_array_equal(encoded.values[0], [255, 128, 128, 0])
    np.testing.assert_array_equal(encoded.row_scale, [0.5] * 4)
    # decode: [0.5, 0.5*128/255, same, 0] = [0.5, 0.250980, 0.250980, 0], sum 1.0019608
    # renormalised: [0.499022, 0.250489, 0.250489, 0]
    np.testing.assert_allclose(decode_sa(encoded)[0], [0.499022, 0.250489, 0.250489, 0.0],
                               atol=1e-6)


def test_u8_sqrt_by_hand_keeps_zero_and_tiny_entries():
    sa = _rolled([0.8, 0.2, 0.0, 0.0])
    encoded = encode_sa(sa, SACodec.U8_SQRT)
    # sqrt(p / 0.8) * 254 = [254, 127, 0, 0] -> stored +1 for p > 0, 0 for p == 0
    np.testing.assert_array_equal(encoded.values[0], [255, 128, 0, 0])
    # decode (c/254)^2 * 0.8 = [0.8, 0.2, 0, 0], already summing to 1
    np.testing.assert_allclose(decode_sa(encoded)[0], [0.8, 0.2, 0.0, 0.0], atol=1e-7)

    tiny = _rolled([1.0 - 1e-7, 1e-7, 0.0, 0.0])
    encoded = encode_sa(tiny, SACodec.U8_SQRT)
    # sqrt(1e-7) * 254 = 0.08 -> c = 0 -> code 1, decoded as rowmax * (0.25/254)^2 = 9.69e-7
    np.testing.assert_array_equal(encoded.values[0], [255, 1, 0, 0])
    floor = (0.25 / 254) ** 2
    np.testing.assert_allclose(decode_sa(encoded)[0],
                               [1 / (1 + floor), floor / (1 + floor), 0, 0], rtol=1e-5)


def test_fp16_keeps_entries_below_the_smallest_subnormal_positive():
    sa = _rolled([1.0 - 1e-9, 1e-9, 0.0, 0.0])
    encoded = encode_sa(sa, SACodec.FP16_ZSTD)
    # float16(1e-9) would be 0; it is stored as 2^-24 (bit pattern 0x0001); zero stays zero
    np.testing.assert_array_equal(encoded.values[0].view(np.uint16), [0x3C00, 0x0001, 0, 0])
    assert encoded.row_scale is None
    tiny = 2.0**-24
    np.testing.assert_allclose(decode_sa(encoded)[0], [1 / (1 + tiny), tiny / (1 + tiny), 0, 0],
                               rtol=1e-6)


def test_decode_tables_are_increasing_and_end_at_one():
    for codec in (SACodec.U8_ROWMAX, SACodec.U8_SQRT, SACodec.U8_POW06, SACodec.U8_POW075,
                  SACodec.U8_POW1):
        table = decode_table(codec)
        assert table[0] == 0 and table[-1] == pytest.approx(1.0)
        assert np.all(np.diff(table) > 0)


# per-row error bound as a fraction of the row maximum: half a quantisation step (fp16: 2^-11
# relative; u8-rowmax: 1/510; u8-sqrt: 2 sqrt(x) * 0.5/254 <= 1/254; u8-pow0.6:
# (1/0.6) x^(2/3) * 0.5/254 <= 1/305; u8-pow0.85-mass: (1/0.85) * 0.5/254 = 1/432) plus
# the row-sum change undone by the renormalisation
# (largest for u8-rowmax, which drops the tail, and for u8-pow1, whose tail is as coarse)
ERROR_BOUND = {SACodec.FP16_ZSTD: 1e-3, SACodec.U8_ROWMAX: 0.012, SACodec.U8_SQRT: 0.006,
               SACodec.U8_POW06: 0.006, SACodec.U8_POW075: 0.009, SACodec.U8_POW1: 0.015,
               SACodec.U8_POW085_MASS: 0.004}


@pytest.mark.parametrize("codec", list(SACodec))
def test_round_trip_on_proxy_attention(codec, proxy_sa):
    encoded = encode_sa(proxy_sa, codec.value)
    assert encoded.values.shape == proxy_sa.shape
    decoded = decode_sa(encoded)
    assert decoded.dtype == np.float32 and decoded.shape == proxy_sa.shape
    np.testing.assert_allclose(decoded.sum(axis=1), 1.0, atol=1e-5)
    row_error = np.abs(decoded - proxy_sa).max(axis=1) / proxy_sa.max(axis=1)
    assert row_error.max() <= ERROR_BOUND[codec]
    assert row_error.max() > 0  # lossy: a codec that stored nothing would not get here
    if codec is not SACodec.U8_ROWMAX:
        np.testing.assert_array_equal(decoded > 0, proxy_sa > 0)


def test_u8_rowmax_flushes_the_tail_to_zero(proxy_sa):
    decoded = decode_sa(encode_sa(proxy_sa, SACodec.U8_ROWMAX))
    below = proxy_sa < proxy_sa.max(axis=1, keepdims=True) / 510
    assert below.any() and np.all(decoded[below] == 0)


def test_float64_input_encodes_like_float32(proxy_sa):
    a = encode_sa(proxy_sa.astype(np.float64), SACodec.U8_SQRT)
    b = encode_sa(proxy_sa, SACodec.U8_SQRT)
    np.testing.assert_array_equal(a.values, b.values)


def test_codec_names():
    assert SACodec.parse("default") is DEFAULT_SA_CODEC
    assert SACodec.parse("u8-rowmax") is SACodec.U8_ROWMAX
    with pytest.raises(ValueError, match="unknown SA codec 'fp32-raw'; allowed: default, "
                                         "fp16-zstd, u8-rowmax, u8-sqrt, u8-pow0.6, "
                                         "u8-pow0.75, u8-pow1"):
        SACodec.parse("fp32-raw")
    with pytest.raises(ValueError, match="allowed"):
        encode_sa(np.eye(2, dtype=np.float32), "bf16")


@pytest.mark.parametrize("bad, message", [
    (np.ones((2, 3), np.float32) / 3, "square"),
    (np.eye(2, dtype=np.int64), "float32 or float64"),
    (np.array([[1.0, np.nan], [0.0, 1.0]], np.float32), "finite and non-negative"),
    (np.array([[1.5, -0.5], [0.0, 1.0]], np.float32), "finite and non-negative"),
    (np.array([[0.5, 0.4], [0.0, 1.0]], np.float32), "off by 0.1"),
])
def test_invalid_sa_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        encode_sa(bad, SACodec.FP16_ZSTD)


def test_float16_rounding_matches_numpy_except_the_kept_support():
    from langseg.cache.codecs import float16_keeping_support

    rng = np.random.default_rng(0)
    # magnitudes from 1e-12 (rounds to 0) through subnormals (< 2^-14 = 6.1e-5) to 1
    values = (10.0 ** rng.uniform(-12, 0, 20000)).astype(np.float32)
    values = np.concatenate([values, np.float32([0.0, 2.0**-25, 3 * 2.0**-25, 2.0**-14, 1.0])])
    ours = float16_keeping_support(values)
    numpy = values.astype(np.float16)
    flushed = (numpy == 0) & (values > 0)
    assert flushed.sum() > 1000  # the test exercises the kept support
    np.testing.assert_array_equal(ours[~flushed].view(np.uint16), numpy[~flushed].view(np.uint16))
    np.testing.assert_array_equal(ours[flushed].view(np.uint16), 1)  # 2^-24
    # 2^-25 is a tie between 0 and 2^-24: numpy rounds to even (0), we keep it positive;
    # 3 * 2^-25 ties between 2^-24 (odd) and 2^-23 (even): 2^-23, bit pattern 2
    np.testing.assert_array_equal(ours[-5:].view(np.uint16), [0, 1, 2, 0x0400, 0x3C00])


COMPANDED = {SACodec.U8_SQRT: 0.5, SACodec.U8_POW06: 0.6, SACodec.U8_POW075: 0.75,
             SACodec.U8_POW1: 1.0, SACodec.U8_POW085_MASS: 0.85}


@pytest.mark.parametrize("codec", list(COMPANDED))
def test_code_thresholds_are_the_exact_code_boundaries(codec):
    from langseg.cache.codecs import code_thresholds

    thresholds = code_thresholds(codec).astype(np.float64)
    below = np.nextafter(code_thresholds(codec), np.float32(0)).astype(np.float64)

    def code(x):  # float64 reference, exact at the ties 1/16, 9/16 (sqrt) and 1/4, 3/4 (linear)
        return np.rint(254 * x ** COMPANDED[codec])

    np.testing.assert_array_equal(code(thresholds), np.arange(1, 255))
    np.testing.assert_array_equal(code(below), np.arange(0, 254))


def test_companded_encoding_by_hand_at_a_boundary():
    from langseg.cache.codecs import code_thresholds

    t = code_thresholds(SACodec.U8_POW1)[127 - 1]  # smallest ratio with code 127: 253 / 508
    assert t == np.float32(253 / 508) or t == np.nextafter(np.float32(253 / 508), np.float32(1))
    row = np.float32([1.0, t, np.nextafter(t, np.float32(0)), 0.0])
    sa = _rolled(list(row / row.sum(dtype=np.float32)))
    encoded = encode_sa(sa, SACodec.U8_POW1)
    # ratios differ from ``row`` by the division's rounding; codes: 254 + 1, 127 + 1, 126 + 1, 0
    ratio = sa[0] / sa[0].max()
    assert encoded.values[0, 0] == 255 and encoded.values[0, 3] == 0
    assert set(encoded.values[0, 1:3]) <= {127, 128} and ratio[1] > ratio[2]


def _torch_encoded(sa: np.ndarray, codec: SACodec):
    import torch

    from langseg.cache.codecs import encode_sa_tensor

    values, scale = encode_sa_tensor(torch.from_numpy(sa), codec)
    return values.numpy(), None if scale is None else scale.numpy()


@pytest.mark.parametrize("codec", list(SACodec))
def test_torch_encoding_is_byte_identical_to_numpy(codec, proxy_sa):
    rng = np.random.default_rng(3)
    # a floor spanning every code and the fp16 subnormal range, exact zeros, ratios at thresholds
    raw = (10.0 ** rng.uniform(-12, 0, (256, 256))).astype(np.float32)
    raw[rng.random((256, 256)) < 0.05] = 0
    raw[:, 0] = 1.0
    if codec in COMPANDED:
        from langseg.cache.codecs import code_thresholds

        raw[:4, 1:255] = code_thresholds(codec)  # row max 1: ratio == threshold exactly
    for sa in (proxy_sa, raw / raw.sum(axis=1, keepdims=True, dtype=np.float32)):
        expected = encode_sa(sa, codec)
        values, scale = _torch_encoded(sa, codec)
        assert values.dtype == expected.values.dtype
        np.testing.assert_array_equal(values.view(np.uint8), expected.values.view(np.uint8))
        if expected.row_scale is None:
            assert scale is None
        else:
            np.testing.assert_array_equal(scale, expected.row_scale)


def test_torch_encoding_of_a_batch_equals_one_map_at_a_time(proxy_sa):
    import torch

    from langseg.cache.codecs import encode_sa_tensor

    batch = np.stack([proxy_sa, proxy_sa[::-1, ::-1].copy()])
    values, scale = encode_sa_tensor(torch.from_numpy(batch), DEFAULT_SA_CODEC)
    for b in range(2):
        expected = encode_sa(batch[b], DEFAULT_SA_CODEC)
        np.testing.assert_array_equal(values[b].numpy(), expected.values)
        np.testing.assert_array_equal(scale[b].numpy(), expected.row_scale)


@pytest.mark.parametrize("bad, message", [
    (np.ones((2, 3), np.float32) / 3, "square"),
    (np.array([[1.0, np.nan], [0.0, 1.0]], np.float32), "finite and non-negative"),
    (np.array([[0.5, 0.4], [0.0, 1.0]], np.float32), "off by 0.1"),
])
def test_invalid_sa_tensor_is_refused(bad, message):
    import torch

    from langseg.cache.codecs import encode_sa_tensor

    with pytest.raises(ValueError, match=message):
        encode_sa_tensor(torch.from_numpy(bad), SACodec.U8_POW06)


def test_tensor_check_refusals_in_full():
    import torch

    from langseg.cache.codecs import check_sa_tensor

    cases = [
        (np.zeros((2, 3), np.float32), "SA must be square (..., N, N), got (2, 3)"),
        (np.eye(2, dtype=np.float32), "SA must be square (..., N, N), got (2, 2)"),  # not torch
        ([[1.0]], "SA must be square (..., N, N), got [[1.0]]"),
        (torch.zeros(2, 3, 4), "SA must be square (..., N, N), got torch.Size([2, 3, 4])"),
        (torch.eye(2, dtype=torch.int64), "SA must be a float tensor, got torch.int64"),
        (torch.tensor([[1.0, float("inf")], [0.0, 1.0]]),
         "SA must be finite and non-negative (attention probabilities)"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError) as info:
            check_sa_tensor(bad)
        assert str(info.value) == message


def test_tensor_row_sums_are_exact_not_float32():
    import torch

    from langseg.cache.codecs import check_sa_tensor

    # float32 entries whose exact sums are 1.0009999871253967 (off by 9.99987e-4: accepted)
    # and 1.0010000169277191 (off by 1.0000169e-3: refused); summed in float32 they would
    # round to 1.0010000467 and 1.0009999275, the other way round
    near = [0.3118484914302826, 0.3451724052429199, 0.3439790904521942]
    over = [0.5664095282554626, 0.2663150727748871, 0.16827541589736938]
    assert math.fsum(near) == 1.0009999871253967 and math.fsum(over) == 1.0010000169277191
    check_sa_tensor(torch.tensor([near, near, near], dtype=torch.float32))
    with pytest.raises(ValueError, match="off by 0.001"):
        check_sa_tensor(torch.tensor([over, over, over], dtype=torch.float32))


def test_torch_encoding_of_float64_is_that_of_float32(proxy_sa):
    import torch

    from langseg.cache.codecs import encode_sa_tensor

    for codec in (SACodec.FP16_ZSTD, SACodec.U8_ROWMAX, SACodec.U8_POW06):
        values, scale = encode_sa_tensor(torch.from_numpy(proxy_sa.astype(np.float64)), codec)
        expected = encode_sa(proxy_sa, codec)
        np.testing.assert_array_equal(values.numpy(), expected.values)
        if scale is not None:
            assert scale.dtype == torch.float32
            np.testing.assert_array_equal(scale.numpy(), expected.row_scale)


def test_numpy_check_refusals_in_full():
    from langseg.cache.codecs import check_sa

    cases = [
        (np.zeros((2, 3), np.float32), "SA must be a square (N, N) numpy array, got (2, 3)"),
        ([[1.0]], "SA must be a square (N, N) numpy array, got list"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]),
         "SA must be finite and non-negative (attention probabilities)"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError) as info:
            check_sa(bad)
        assert str(info.value) == message


def test_numpy_row_sums_are_exact_not_float32():
    from langseg.cache.codecs import check_sa

    # the rows of test_tensor_row_sums_are_exact_not_float32
    near = [0.3118484914302826, 0.3451724052429199, 0.3439790904521942]
    over = [0.5664095282554626, 0.2663150727748871, 0.16827541589736938]
    check_sa(np.array([near, near, near], np.float32))
    with pytest.raises(ValueError, match="off by 0.001"):
        check_sa(np.array([over, over, over], np.float32))
