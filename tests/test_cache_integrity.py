"""Damaged cache stores: missing, truncated or altered chunks and garbage values are refused.

Each test damages one file of a complete store the way a crashed disk, an interrupted copy or a
stray ``rm`` would, and checks the reader raises CacheError naming store, array and image instead
of returning zeros (the fill value) or NaN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from langseg.cache import (
    ArraySpec,
    CacheError,
    Compression,
    SACodec,
    open_store,
    sa_array_spec,
    write_store,
)
from langseg.synthetic import proxy_self_attention, segment_map

MANIFEST = {"extraction": {"source": "test"}}
IDS = ["img_a", "img_b", "img_c"]


def _sa(seed: int) -> np.ndarray:
    return proxy_self_attention(segment_map(8, 2, seed=seed), seed=seed)  # (64, 64)


def _store(path: Path, codec=SACodec.FP16_ZSTD) -> Path:
    arrays = {"sa": sa_array_spec(64, codec),
              "cosines": ArraySpec(shape=(3, 4, 4), dtype="float32"),
              "class_ids": ArraySpec(shape=(2,), dtype="int16", codec=Compression.NONE)}
    with write_store(path, manifest=MANIFEST, image_ids=IDS, arrays=arrays) as writer:
        for i in range(len(IDS)):
            writer.write_sa(i, _sa(i))
            writer.write(i, cosines=np.full((3, 4, 4), i + 0.5, np.float32),
                         class_ids=np.zeros(2, np.int16))  # equals the fill value
    return path


def _chunk(store: Path, array: str, index: int) -> Path:
    chunks = sorted((store / array / "c" / str(index)).rglob("*"))
    files = [p for p in chunks if p.is_file()]
    assert len(files) == 1, files
    return files[0]


def _damaged(store: Path, array: str, image: str) -> str:
    return rf"damaged cache store {store}.*array '{array}', image '{image}'"


@pytest.mark.parametrize("array", ["cosines", "class_ids"])
def test_missing_chunk_is_refused_not_read_as_fill_value(tmp_path, array):
    store = _store(tmp_path / "000.zarr")
    _chunk(store, array, 2).unlink()
    reader = open_store(store, expected=MANIFEST)
    np.testing.assert_array_equal(reader.read(array, 1), reader.read(array, 1))  # others fine
    with pytest.raises(CacheError, match=_damaged(store, array, "img_c") + ".*missing"):
        reader.read(array, 2)


def test_all_zero_image_is_stored_and_read_back(tmp_path):
    store = _store(tmp_path / "000.zarr")
    assert _chunk(store, "class_ids", 0).stat().st_size > 0  # written although all fill value
    ids = open_store(store, expected=MANIFEST).read("class_ids", 0)
    assert ids.dtype == np.int16 and ids.tolist() == [0, 0]


@pytest.mark.parametrize("codec", [SACodec.FP16_ZSTD, SACodec.U8_POW06])
def test_missing_sa_chunk_is_refused_not_nan(tmp_path, codec):
    store = _store(tmp_path / "000.zarr", codec)
    _chunk(store, "sa/values", 1).unlink()
    with pytest.raises(CacheError, match=_damaged(store, "sa/values", "img_b") + ".*missing"):
        open_store(store, expected=MANIFEST).read_sa(1)


def test_missing_row_scale_chunk_is_refused(tmp_path):
    store = _store(tmp_path / "000.zarr", SACodec.U8_SQRT)
    _chunk(store, "sa/row_scale", 0).unlink()
    with pytest.raises(CacheError, match=_damaged(store, "sa/row_scale", "img_a")):
        open_store(store, expected=MANIFEST).read_sa(0)


@pytest.mark.parametrize("array", ["cosines", "class_ids", "sa/values"])
def test_truncated_chunk_is_refused(tmp_path, array):
    store = _store(tmp_path / "000.zarr")
    chunk = _chunk(store, array, 0)
    chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    with pytest.raises(CacheError, match=_damaged(store, array, "img_a") + ".*cannot be decoded"):
        open_store(store, expected=MANIFEST).read(array.split("/")[0], 0)


@pytest.mark.parametrize("array", ["cosines", "class_ids", "sa/values"])
def test_altered_byte_fails_the_checksum(tmp_path, array):
    store = _store(tmp_path / "000.zarr")
    chunk = _chunk(store, array, 1)
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit, same length
    chunk.write_bytes(bytes(data))
    with pytest.raises(CacheError, match=_damaged(store, array, "img_b") + ".*cannot be decoded"):
        open_store(store, expected=MANIFEST).read(array.split("/")[0], 1)


def _overwrite(store: Path, array: str, index: int, value: np.ndarray) -> None:
    """Rewrite one image through zarr (valid checksum): damage the codec cannot see."""
    import zarr

    zarr.open_array(str(store / array), mode="r+")[index] = value


def test_sa_with_all_zero_row_is_refused(tmp_path):
    store = _store(tmp_path / "000.zarr")
    values = open_store(store, expected=MANIFEST).read_encoded_sa(0).values.copy()
    values[5] = 0
    _overwrite(store, "sa/values", 0, values)
    with pytest.raises(CacheError, match=_damaged(store, "sa", "img_a") + ".*all-zero rows"):
        open_store(store, expected=MANIFEST).read_sa(0)


def test_sa_with_nan_is_refused(tmp_path):
    store = _store(tmp_path / "000.zarr")
    values = open_store(store, expected=MANIFEST).read_encoded_sa(2).values.copy()
    values[3, 7] = np.nan
    _overwrite(store, "sa/values", 2, values)
    with pytest.raises(CacheError, match=_damaged(store, "sa/values", "img_c") + ".*NaN"):
        open_store(store, expected=MANIFEST).read_sa(2)


def test_float_array_with_inf_is_refused(tmp_path):
    store = _store(tmp_path / "000.zarr")
    _overwrite(store, "cosines", 1, np.full((3, 4, 4), np.inf, np.float32))
    with pytest.raises(CacheError, match=_damaged(store, "cosines", "img_b") + ".*NaN or Inf"):
        open_store(store, expected=MANIFEST).read("cosines", 1)


def test_writer_refuses_nan(tmp_path):
    arrays = {"cosines": ArraySpec(shape=(2,), dtype="float32")}
    writer = write_store(tmp_path / "s.zarr", manifest=MANIFEST, image_ids=["a"], arrays=arrays)
    with pytest.raises(ValueError, match="'cosines': refusing to store NaN"):
        writer.write(0, cosines=np.array([0.0, np.nan], np.float32))


def test_skipped_image_is_recorded_and_refused_on_read(tmp_path):
    arrays = {"cosines": ArraySpec(shape=(2,), dtype="float32")}
    with write_store(tmp_path / "s.zarr", manifest=MANIFEST, image_ids=IDS,
                     arrays=arrays) as writer:
        writer.write(0, cosines=np.ones(2, np.float32))
        writer.skip(1, "cannot decode b.jpg")
        writer.write(2, cosines=np.zeros(2, np.float32))
    reader = open_store(tmp_path / "s.zarr", expected=MANIFEST)
    assert reader.skipped == {"img_b": "cannot decode b.jpg"}
    assert reader.index_of("img_c") == 2
    assert reader.read("cosines", 2).tolist() == [0.0, 0.0]
    with pytest.raises(CacheError, match="skipped image 'img_b' at extraction: cannot decode"):
        reader.read("cosines", 1)
    with pytest.raises(CacheError, match="does not hold image 'img_x'"):
        reader.index_of("img_x")


def test_zero_row_scale_decodes_to_nan_and_is_refused_in_full(tmp_path):
    # a row maximum of 0 with positive codes decodes to 0 / 0 after the row renormalisation
    store = _store(tmp_path / "000.zarr", SACodec.U8_SQRT)
    scale = open_store(store, expected=MANIFEST).read_encoded_sa(1).row_scale.copy()
    scale[4] = 0.0
    _overwrite(store, "sa/row_scale", 1, scale)
    with pytest.raises(CacheError) as info, np.errstate(divide="ignore", invalid="ignore"):
        open_store(store, expected=MANIFEST).read_sa(1)
    assert str(info.value) == (
        f"damaged cache store {store}: array 'sa', image 'img_b' (index 1): the self-attention "
        "holds NaN or Inf. Delete the store and rerun the extraction rule that writes it "
        "(snakemake --force <store>)")
