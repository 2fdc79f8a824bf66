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
        "n": ArraySpec(shape=(2,), dtype="int16", codec=Compression.NONE)})

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
