"""Opening cache stores: refuse incomplete and stale ones, then read, check and decode images.

Every read is checked: a chunk file that is absent, a chunk whose CRC32C does not match or that
does not decode, a float array holding NaN or Inf, and a decoded self-attention with NaN, Inf or
an all-zero row raise :class:`CacheError` naming the store, the array and the image.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from langseg.cache.codecs import EncodedSA, decode_sa, has_row_scale
from langseg.cache.errors import CacheError
from langseg.cache.manifest import manifest_differences, to_json
from langseg.cache.store import FORMAT_VERSION, SA_NAME, ArraySpec, _check_index


def open_store(path, *, expected: Mapping) -> StoreReader:
    """Open a complete store whose manifest matches ``expected``.

    Args:
        path: the store directory.
        expected: JSON data the manifest must contain; only these keys are compared,
            recursively (e.g. ``{"extraction": {"timestep": 100, ...}}``). Package versions are
            recorded in the manifest but are not meant to be compared.

    Raises:
        FileNotFoundError: no directory at ``path``.
        CacheError: the store is incomplete (no manifest), in another format, or its manifest
            differs from ``expected`` (the message names each differing parameter).
    """
    import zarr

    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"cache store {path} does not exist; run the extraction rule "
                                "that writes it (snakemake builds it when a segment job needs it)")
    want = to_json(dict(expected), "expected")
    root = _open_root(path, zarr)
    attrs = root.attrs.asdict()
    if attrs.get("complete") is not True or "manifest" not in attrs:
        raise CacheError(_incomplete(path))
    layout = attrs.get("langseg_cache", {})
    if layout.get("format") != FORMAT_VERSION:
        raise CacheError(f"cache store {path} has format {layout.get('format')!r}, this langseg "
                         f"reads format {FORMAT_VERSION}; delete the store and rerun the "
                         "extraction rule")
    manifest = attrs["manifest"]
    differences = manifest_differences(want, manifest)
    if differences:
        raise CacheError(f"stale cache store {path}: " + "; ".join(differences) + ". Delete the "
                         "store, or rerun the extraction rule that writes it (Snakemake reruns it "
                         "by itself when the rule's params changed)")
    return StoreReader(path, root, manifest)


def _incomplete(path: Path) -> str:
    return (f"incomplete store {path}: it has no manifest (the job that wrote it was "
            f"interrupted). Delete it (rm -r {path}) or run `snakemake --force {path}`, then "
            "rerun; `snakemake --rerun-incomplete` helps only while the .snakemake/ folder of "
            "the interrupted run still exists")


def _open_root(path: Path, zarr):
    if not (path / "zarr.json").is_file():
        raise CacheError(_incomplete(path))
    try:
        return zarr.open_group(str(path), mode="r", zarr_format=3)
    except (FileNotFoundError, ValueError, KeyError) as err:
        raise CacheError(f"{_incomplete(path)} ({err})") from None


class StoreReader:
    """Reads the images of a complete, fresh store (see :func:`open_store`)."""

    def __init__(self, path: Path, root, manifest: dict) -> None:
        self.path = path
        self.manifest: dict = manifest
        self.image_ids: tuple[str, ...] = tuple(manifest["image_ids"])
        self.arrays: dict[str, ArraySpec] = {name: ArraySpec.from_json(data)
                                             for name, data in manifest["arrays"].items()}
        self.skipped: dict[str, str] = dict(manifest.get("skipped", {}))
        self._positions = {image_id: i for i, image_id in enumerate(self.image_ids)}
        self._root = root
        self._zarr_arrays: dict = {}

    def index_of(self, image_id: str) -> int:
        """Position of ``image_id`` in the store.

        Raises:
            CacheError: the store does not hold the image, or skipped it at extraction.
        """
        if image_id in self.skipped:
            raise CacheError(f"cache store {self.path} skipped image {image_id!r} at extraction: "
                             f"{self.skipped[image_id]}")
        if image_id not in self._positions:
            raise CacheError(f"cache store {self.path} does not hold image {image_id!r}; delete "
                             "the store and rerun the extraction rule that writes it")
        return self._positions[image_id]

    def __len__(self) -> int:
        return len(self.image_ids)

    def read(self, name: str, index: int) -> np.ndarray:
        """Image ``index`` of array ``name``: its spec's shape and dtype (SA: decoded, float32,
        rows summing to 1)."""
        spec = self._spec(name)
        _check_index(index, len(self.image_ids), self.path)
        if spec.is_sa:
            encoded = self.read_encoded_sa(index, name)
            self._check_sa(encoded.values, name, index)  # an all-zero row would decode to NaN
            sa = decode_sa(encoded)
            self._check_sa(sa, name, index)
            return sa
        return self._chunk(name, index)

    def read_sa(self, index: int) -> np.ndarray:
        """``(N, N) float32`` SA of image ``index``, rows sum to 1 (the ``sa`` array)."""
        return self.read(SA_NAME, index)

    def read_encoded_sa(self, index: int, name: str = SA_NAME) -> EncodedSA:
        """The stored (still encoded) SA of image ``index``."""
        spec = self._spec(name)
        if not spec.is_sa:
            raise ValueError(f"array {name!r} of cache store {self.path} is not an SA array")
        _check_index(index, len(self.image_ids), self.path)
        values = self._chunk(f"{name}/values", index)
        scale = None
        if has_row_scale(spec.codec):
            scale = self._chunk(f"{name}/row_scale", index)
        return EncodedSA(spec.codec, values, scale)

    def _damaged(self, zarr_path: str, index: int, problem: str) -> CacheError:
        return CacheError(
            f"damaged cache store {self.path}: array {zarr_path!r}, image "
            f"{self.image_ids[index]!r} (index {index}): {problem}. Delete the store and rerun "
            "the extraction rule that writes it (snakemake --force <store>)")

    def _chunk(self, zarr_path: str, index: int) -> np.ndarray:
        """The stored image ``index`` of a zarr array: present, checksum-verified and finite."""
        self.index_of(self.image_ids[index])  # refuses a skipped image
        array = self._zarr(zarr_path)
        key = array.metadata.encode_chunk_key((index,) + (0,) * (array.ndim - 1))
        if not (self.path / zarr_path / key).is_file():
            raise self._damaged(zarr_path, index, f"its chunk {key} is missing")
        try:
            value = np.asarray(array[index])
        except Exception as err:  # crc32c mismatch, truncated or undecodable chunk
            raise self._damaged(zarr_path, index, f"its chunk {key} cannot be decoded "
                                f"({type(err).__name__}: {err})") from err
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise self._damaged(zarr_path, index, "it holds NaN or Inf values")
        return value

    def _check_sa(self, sa: np.ndarray, name: str, index: int) -> None:
        """Refuse an (encoded or decoded) SA with NaN/Inf entries or an all-zero row."""
        if not np.isfinite(sa).all():
            raise self._damaged(name, index, "the self-attention holds NaN or Inf")
        zero_rows = np.flatnonzero(~(sa > 0).any(axis=1))
        if zero_rows.size:
            raise self._damaged(name, index, f"the self-attention has {zero_rows.size} "
                                f"all-zero rows (e.g. row {zero_rows[0]})")

    def _zarr(self, zarr_path: str):
        """The zarr array at ``zarr_path``, opened once."""
        if zarr_path not in self._zarr_arrays:
            self._zarr_arrays[zarr_path] = self._root[zarr_path]
        return self._zarr_arrays[zarr_path]

    def _spec(self, name: str) -> ArraySpec:
        if name not in self.arrays:
            raise ValueError(f"cache store {self.path} has no array {name!r}; "
                             f"it has {sorted(self.arrays)}")
        return self.arrays[name]
