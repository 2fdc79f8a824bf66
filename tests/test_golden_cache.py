"""Golden codes of the SA codecs, worked out by hand (the default suite's check of the constants).

Row ``[0.5, 0.3, 0.2, 0]`` has row maximum 0.5 and ratios ``[1, 0.6, 0.4, 0]``:

* ``u8-pow0.6``: ``254 * 0.6^0.6 = 254 * 0.73602 = 186.95 -> 187``, ``254 * 0.4^0.6 = 254 *
  0.57708 = 146.58 -> 147``; stored ``+1``: ``[255, 188, 148, 0]``.
* ``u8-sqrt``: ``254 * 0.77460 = 196.75 -> 197``, ``254 * 0.63246 = 160.64 -> 161``:
  ``[255, 198, 162, 0]`` (so an exponent of 0.5 in place of 0.6 cannot pass the first test).
* ``u8-rowmax``: ``255 * [1, 0.6, 0.4, 0] = [255, 153, 102, 0]``.
"""

from __future__ import annotations

import numpy as np
import pytest

from langseg.cache import SACodec, decode_sa, encode_sa
from langseg.cache.codecs import decode_table


def _sa(first_row: list[float]) -> np.ndarray:
    """``(4, 4) float32``: ``first_row`` and three rolled copies (every row sums to 1)."""
    return np.stack([np.roll(first_row, k) for k in range(4)]).astype(np.float32)


ROW = [0.5, 0.3, 0.2, 0.0]


@pytest.mark.parametrize(("codec", "codes"), [
    (SACodec.U8_POW06, [255, 188, 148, 0]),
    (SACodec.U8_SQRT, [255, 198, 162, 0]),
    (SACodec.U8_ROWMAX, [255, 153, 102, 0]),
])
def test_uint8_codes_by_hand(codec, codes):
    encoded = encode_sa(_sa(ROW), codec)
    np.testing.assert_array_equal(encoded.values[0], codes)
    np.testing.assert_array_equal(encoded.values[1], np.roll(codes, 1))  # per row, not global
    np.testing.assert_array_equal(encoded.row_scale, [0.5] * 4)


@pytest.mark.parametrize(("codec", "inverse"), [(SACodec.U8_POW06, 1 / 0.6),
                                                (SACodec.U8_SQRT, 2.0)])
def test_companded_decoding_by_hand(codec, inverse):
    """Decode ``(c / 254)^(1/exponent) * rowmax``, then renormalise the row."""
    encoded = encode_sa(_sa(ROW), codec)
    codes = encoded.values[0].astype(np.float64)
    raw = [0.0 if c == 0 else ((c - 1) / 254) ** inverse * 0.5 for c in codes]
    want = np.array(raw) / sum(raw)
    np.testing.assert_allclose(decode_sa(encoded)[0], want, atol=1e-6)
    assert abs(want[1] - 0.3) < 2e-3  # the round trip is close to the input ...
    assert np.abs(decode_sa(encoded)[0] - ROW).max() > 1e-5  # ... but not the identity


def test_pow06_table_entries_by_hand():
    table = decode_table(SACodec.U8_POW06)
    assert table[0] == 0.0
    assert table[1] == pytest.approx((0.25 / 254) ** (1 / 0.6), rel=1e-6)  # 9.7e-6
    assert table[2] == pytest.approx((1 / 254) ** (1 / 0.6), rel=1e-6)  # 9.9e-5
    assert table[188] == pytest.approx((187 / 254) ** (1 / 0.6), rel=1e-6)  # 0.60011
    assert table[255] == 1.0
    rowmax = decode_table(SACodec.U8_ROWMAX)
    assert rowmax[153] == pytest.approx(0.6, rel=1e-7)


def test_tiny_entries_get_the_lowest_positive_code_and_zero_stays_zero():
    # 1e-6 / 0.999999: pow0.6 gives 254 * 2.5e-4 = 0.06 -> c = 0 -> code 1; rowmax rounds to 0
    sa = _sa([1e-6, 0.0, 0.999999, 0.0])
    assert encode_sa(sa, SACodec.U8_POW06).values[0].tolist() == [1, 0, 255, 0]
    assert encode_sa(sa, SACodec.U8_ROWMAX).values[0].tolist() == [0, 0, 255, 0]
    floor = (0.25 / 254) ** (1 / 0.6)
    np.testing.assert_allclose(decode_sa(encode_sa(sa, SACodec.U8_POW06))[0],
                               [floor / (1 + floor), 0, 1 / (1 + floor), 0], rtol=1e-5)


def test_fp16_values_by_hand():
    encoded = encode_sa(_sa(ROW), SACodec.FP16_ZSTD)
    # float16 nearest: 0.3 -> 0.300048828125 (0x34CD), 0.2 -> 0.199951171875 (0x3266)
    assert encoded.values[0].view(np.uint16).tolist() == [0x3800, 0x34CD, 0x3266, 0]
    total = 0.5 + 0.300048828125 + 0.199951171875
    np.testing.assert_allclose(decode_sa(encoded)[0],
                               [0.5 / total, 0.300048828125 / total, 0.199951171875 / total, 0],
                               rtol=1e-7)


def test_store_compressors_by_array_kind(tmp_path):
    """uint8 SA codes: zstd level 3; float arrays: blosc zstd level 3 with byte shuffle;
    Compression.NONE: no compressor (what bench_cache.py measured the sizes with); every chain
    ends with a CRC32C checksum (a damaged chunk fails to decode)."""
    import zarr

    from langseg.cache import ArraySpec, Compression, sa_array_spec, write_store

    path = tmp_path / "s.zarr"
    write_store(path, manifest={"extraction": {}}, image_ids=["a"], arrays={
        "sa": sa_array_spec(4, "u8-pow0.6"), "fp": sa_array_spec(4, "fp16-zstd"),
        "f": ArraySpec(shape=(2,), dtype="float32"),
        "n": ArraySpec(shape=(2,), dtype="int16", codec=Compression.NONE),
        "i8": ArraySpec(shape=(2,), dtype="int8")})  # 1-byte items: zarr would pick bitshuffle

    def described(name):
        return [(type(c).__name__, getattr(c, "level", None), str(getattr(c, "cname", "")),
                 getattr(c, "clevel", None), str(getattr(c, "shuffle", "")))
                for c in zarr.open_array(path / name).compressors]

    blosc = ("BloscCodec", None, "BloscCname.zstd", 3, "BloscShuffle.shuffle")
    crc = ("Crc32cCodec", None, "", None, "")
    assert described("sa/values") == [("ZstdCodec", 3, "", None, ""), crc]
    assert described("sa/row_scale") == [blosc, crc]
    assert described("fp/values") == [blosc, crc]
    assert described("f") == [blosc, crc]
    assert described("n") == [crc]
    assert described("i8") == [blosc, crc]


def test_decode_refusals_in_full():
    from langseg.cache import EncodedSA

    codes = np.full((4, 4), 255, np.uint8)
    with pytest.raises(ValueError, match=r"^fp16-zstd values must be 2-D float16, got uint8 "
                                         r"\(4, 4\)$"):
        decode_sa(EncodedSA(SACodec.FP16_ZSTD, codes, None))
    with pytest.raises(ValueError, match=r"^u8-pow0.6 values must be 2-D uint8, got uint8 \(4,\)$"):
        decode_sa(EncodedSA(SACodec.U8_POW06, codes[0], np.ones(1, np.float32)))
    for scale in (None, np.ones(3, np.float32), np.ones((4, 1), np.float32)):
        with pytest.raises(ValueError, match=r"^u8-pow0.6 needs row_scale of shape \(4,\)$"):
            decode_sa(EncodedSA(SACodec.U8_POW06, codes, scale))
    with pytest.raises(ValueError, match="^codec fp16-zstd has no uint8 decode table$"):
        decode_table(SACodec.FP16_ZSTD)


def test_code_zero_decodes_to_zero_whatever_the_memory_held():
    for codec in (SACodec.U8_SQRT, SACodec.U8_POW06):
        garbage = np.full(256, 7.0)  # freed just before: a fresh table may reuse its memory
        del garbage
        assert decode_table(codec)[0] == 0.0


def test_renormalisation_multiplies_by_the_float32_reciprocal_of_the_float64_sum():
    from langseg.cache import EncodedSA

    # row 0: 1 + 2^-24 is exact in float64 but rounds to 1 in float32; 1 / (1 + 2^-24) rounds
    # to 1 - 2^-24 in float32, so the row becomes [1 - 2^-24, 2^-24 (1 - 2^-24), 0, 0]
    # row 1: k / 1024, k = 850, 637, 511, 270 (exact in float16), sum 2268 / 1024: each value
    # is float32(float32(k / 1024) * float32(1024 / 2268)), one rounding per step
    values = np.array([[1.0, 2.0**-24, 0, 0], [850 / 1024, 637 / 1024, 511 / 1024, 270 / 1024],
                       [0.25] * 4, [0.25] * 4], dtype=np.float16)
    decoded = decode_sa(EncodedSA(SACodec.FP16_ZSTD, values, None))
    assert decoded[0].tolist() == [1 - 2.0**-24, 2.0**-24 * (1 - 2.0**-24), 0.0, 0.0]
    inv = np.float32(1024 / 2268)
    assert decoded[1].tolist() == [float(np.float32(k / 1024) * inv) for k in (850, 637, 511, 270)]


def test_mass_floor_shares_the_rest_of_the_row_by_hand():
    from langseg.cache import EncodedSA
    from langseg.cache.codecs import mass_floor_values

    # u8-pow0.85-mass, floor top t = (1/508)^(20/17) = 6.5559e-4 of the row maximum m.
    # row 0: codes (255, 1, 1, 1), m = float32(0.999997): the top entry decodes to m, the three
    # floor entries share 1 - m = 3.0e-6, 1.0e-6 each (inside [t m / 1024, t m] = [6.4e-7,
    # 6.6e-4]); the row sums to 1 and the renormalisation keeps it.
    # row 1: codes (255, 1, 0, 0), same m: the one floor entry takes all of 1 - m.
    m = float(np.float32(0.999997))
    values = np.array([[255, 1, 1, 1], [255, 1, 0, 0], [255, 0, 0, 0], [0, 0, 0, 255]], np.uint8)
    scale = np.array([m, m, 1.0, 1.0], np.float32)
    decoded = decode_sa(EncodedSA(SACodec.U8_POW085_MASS, values, scale))
    np.testing.assert_allclose(decoded[0], [m] + [(1 - m) / 3] * 3, rtol=1e-6, atol=0)
    np.testing.assert_allclose(decoded[1], [m, 1 - m, 0, 0], rtol=1e-6, atol=0)
    # the share is float32 and clipped to the floor's top: 0.5 > t * 1
    top = (1 / 508) ** (20 / 17)
    share = mass_floor_values(np.array([0.5]), np.array([1]), np.array([1.0], np.float32),
                              SACodec.U8_POW085_MASS)
    assert share.dtype == np.float32 and share.tolist() == pytest.approx([top], rel=1e-6)
