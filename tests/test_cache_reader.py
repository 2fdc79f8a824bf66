"""langseg.cache.reader: every refusal's full message, arrays other than ``sa``, manifests as
written by hand.

The messages are the user's only guide to what to do (delete the store, rerun a rule), so they
are compared whole, written out here by hand.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from langseg.cache import ArraySpec, CacheError, SACodec, open_store, sa_array_spec, write_store
from langseg.cache.reader import StoreReader
from langseg.synthetic import proxy_self_attention, segment_map

IDS = ["img_a", "img_b"]


def _sa(seed: int) -> np.ndarray:
    return proxy_self_attention(segment_map(4, 2, seed=seed), seed=seed)  # (16, 16)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A complete store: an fp16 SA array named ``attn`` (not ``sa``) and a float array."""
    path = tmp_path_factory.mktemp("reader") / "000.zarr"
    arrays = {"attn": sa_array_spec(16, SACodec.FP16_ZSTD),
              "cosines": ArraySpec(shape=(2,), dtype="float32")}
    with write_store(path, manifest={}, image_ids=IDS, arrays=arrays) as writer:
        for i in range(2):
            writer.write(i, attn=_sa(i), cosines=np.array([i, 0.5], np.float32))
    return path


def test_an_sa_array_of_another_name_is_read_by_its_name(store):
    reader = open_store(store, expected={})
    sa = reader.read("attn", 1)
    assert sa.shape == (16, 16) and sa.dtype == np.float32
    np.testing.assert_allclose(sa, _sa(1), atol=1e-3)
    assert reader.read_encoded_sa(0, "attn").row_scale is None  # fp16 keeps no row maxima


def test_refusals_of_a_reader_in_full(store):
    reader = open_store(store, expected={})
    with pytest.raises(ValueError) as info:
        reader.read("agg", 0)
    assert str(info.value) == f"cache store {store} has no array 'agg'; it has ['attn', 'cosines']"
    with pytest.raises(ValueError) as info:
        reader.read_encoded_sa(0, "cosines")
    assert str(info.value) == f"array 'cosines' of cache store {store} is not an SA array"
    with pytest.raises(CacheError) as info:
        reader.index_of("img_x")
    assert str(info.value) == (f"cache store {store} does not hold image 'img_x'; delete the "
                               "store and rerun the extraction rule that writes it")
    range_message = f"image index 2 out of range for cache store {store} with 2 images (0..1)"
    with pytest.raises(IndexError, match=f"^{re.escape(range_message)}$"):
        reader.read("cosines", 2)
    with pytest.raises(IndexError, match=f"^{re.escape(range_message)}$"):
        reader.read_encoded_sa(2, "attn")


def test_open_store_refusals_in_full(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        open_store(tmp_path / "none.zarr", expected={})
    assert str(info.value) == (
        f"cache store {tmp_path / 'none.zarr'} does not exist; run the extraction rule that "
        "writes it (snakemake builds it when a segment job needs it)")
    with pytest.raises(ValueError, match="^expected must be JSON data"):
        open_store(tmp_path, expected={"x": object()})


def test_float_chunk_with_inf_is_refused_in_full(tmp_path):
    import zarr

    path = tmp_path / "000.zarr"
    with write_store(path, manifest={}, image_ids=IDS,
                     arrays={"cosines": ArraySpec(shape=(2,), dtype="float32")}) as writer:
        for i in range(2):
            writer.write(i, cosines=np.zeros(2, np.float32))
    zarr.open_array(str(path / "cosines"), mode="r+")[1] = np.array([0.0, np.inf], np.float32)
    with pytest.raises(CacheError) as info:
        open_store(path, expected={}).read("cosines", 1)
    assert str(info.value) == (
        f"damaged cache store {path}: array 'cosines', image 'img_b' (index 1): it holds NaN "
        "or Inf values. Delete the store and rerun the extraction rule that writes it "
        "(snakemake --force <store>)")


def test_undecodable_chunk_names_the_error_type(tmp_path):
    path = tmp_path / "000.zarr"
    with write_store(path, manifest={}, image_ids=IDS[:1],
                     arrays={"cosines": ArraySpec(shape=(2,), dtype="float32")}) as writer:
        writer.write(0, cosines=np.zeros(2, np.float32))
    (chunk,) = [p for p in (path / "cosines" / "c").rglob("*") if p.is_file()]
    chunk.write_bytes(chunk.read_bytes()[:3])
    with pytest.raises(CacheError, match=r"its chunk c/0/0 cannot be decoded \(\w+Error: "):
        open_store(path, expected={}).read("cosines", 0)


def test_a_manifest_without_skipped_images_skips_none():
    manifest = {"image_ids": ["a"], "arrays": {"x": ArraySpec((2,), "float32").to_json()}}
    reader = StoreReader(None, None, manifest)
    assert reader.skipped == {} and reader.index_of("a") == 0


def _complete_store(path):
    with write_store(path, manifest={"a": 1, "b": 2}, image_ids=IDS[:1],
                     arrays={"cosines": ArraySpec(shape=(2,), dtype="float32")}) as writer:
        writer.write(0, cosines=np.zeros(2, np.float32))
    return path


def _edit_attributes(path, edit) -> None:
    """Rewrite the root attributes of a store through zarr (what a foreign writer could leave)."""
    import zarr

    group = zarr.open_group(str(path), mode="r+")
    attrs = group.attrs.asdict()
    edit(attrs)
    group.attrs.put(attrs)


def test_a_store_marked_incomplete_is_refused_even_with_a_manifest(tmp_path):
    path = _complete_store(tmp_path / "000.zarr")
    _edit_attributes(path, lambda attrs: attrs.update(complete=False))
    with pytest.raises(CacheError, match=f"^incomplete store {re.escape(str(path))}: "):
        open_store(path, expected={})


def test_other_formats_are_refused_in_full(tmp_path):
    path = _complete_store(tmp_path / "000.zarr")
    _edit_attributes(path, lambda attrs: attrs["langseg_cache"].update(format=1))
    with pytest.raises(CacheError) as info:
        open_store(path, expected={})
    assert str(info.value) == (f"cache store {path} has format 1, this langseg reads format 2; "
                               "delete the store and rerun the extraction rule")
    _edit_attributes(path, lambda attrs: attrs.pop("langseg_cache"))
    with pytest.raises(CacheError, match=r"has format None, this langseg reads format 2;"):
        open_store(path, expected={})


def test_stale_store_message_in_full(tmp_path):
    path = _complete_store(tmp_path / "000.zarr")
    with pytest.raises(CacheError) as info:
        open_store(path, expected={"a": 3, "b": 2, "c": 4})
    assert str(info.value) == (
        f"stale cache store {path}: a: cache has 1, config asks for 3; c: cache has no value, "
        "config asks for 4. Delete the store, or rerun the extraction rule that writes it "
        "(Snakemake reruns it by itself when the rule's params changed)")


def test_unreadable_or_absent_metadata_is_an_incomplete_store(tmp_path):
    path = tmp_path / "000.zarr"
    path.mkdir()
    with pytest.raises(CacheError, match=f"^incomplete store {re.escape(str(path))}: it has no"):
        open_store(path, expected={})
    (path / "zarr.json").write_text("{ not json")
    with pytest.raises(CacheError) as info:
        open_store(path, expected={})
    message = str(info.value)
    assert message.startswith(f"incomplete store {path}: it has no manifest")
    assert message.endswith(")") and " (" in message  # the zarr error, in brackets
