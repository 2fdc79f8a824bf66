"""Zarr v3 cache stores: one directory ``{shard}.zarr`` per shard, written by one job.

Layout: every array holds one image per chunk, ``chunks = (1, *per-image shape)``, no zarr
shards. A plain array ``name`` is stored losslessly at ``name``; an SA array is encoded with its
:class:`~langseg.cache.codecs.SACodec` into ``name/values`` ``(n, N, N)`` and, for the ``u8-*``
codecs, ``name/row_scale`` ``(n, N) float32``.

Integrity: every chunk carries a CRC32C checksum (zarr's ``crc32c`` codec, last in the codec
chain), so a truncated or altered chunk fails to decode; every chunk is written even when it
equals the fill value (``write_empty_chunks``), so a chunk file that is absent means damage, and
:class:`~langseg.cache.reader.StoreReader` refuses it instead of returning the fill value.

Completeness: the root attributes get ``manifest`` and ``complete: true`` LAST, in
:meth:`StoreWriter.close`, after every image of every array was written (zarr's local store
writes each chunk and each metadata file to a temporary file and renames it). A store without
them was interrupted, and :func:`open_store` refuses it.

Concurrency: different processes may write different stores at the same time. Two processes
writing different images of ONE store are NOT supported (each writer must see all images before
it may mark the store complete); the workflow never does that. Files other than zarr's inside
the directory (Snakemake's ``.snakemake_timestamp``) are ignored.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from langseg.cache.codecs import EncodedSA, SACodec, encode_sa, has_row_scale, values_dtype
from langseg.cache.errors import CacheError
from langseg.cache.manifest import RESERVED_KEYS, package_versions, to_json

FORMAT_VERSION = 2  # 2: crc32c in every codec chain, every chunk written
SA_NAME = "sa"  # the array read by StoreReader.read_sa / written by StoreWriter.write_sa
_LAYOUT_KEY = "langseg_cache"
_SNAKEMAKE_FILES = {".snakemake_timestamp"}


class Compression(str, Enum):
    """Lossless compression of plain (non-SA) arrays."""

    NONE = "none"
    BLOSC_ZSTD = "blosc-zstd"  # blosc zstd level 3, byte shuffle


@dataclass(frozen=True)
class ArraySpec:
    """One array of a store, per image.

    Attributes:
        shape: the per-image shape (the store holds ``(n_images, *shape)``).
        dtype: numpy dtype name of what :meth:`StoreReader.read` returns (``"float32"``, ...).
        codec: :class:`Compression` for plain arrays; an :class:`SACodec` for SA maps, which then
            must be ``(N, N)`` ``float32``.
    """

    shape: tuple[int, ...]
    dtype: str
    codec: SACodec | Compression = Compression.BLOSC_ZSTD

    def __post_init__(self) -> None:
        shape = tuple(self.shape)
        if not shape or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                                for s in shape):
            raise ValueError(f"ArraySpec.shape must be positive integers, got {self.shape!r}")
        object.__setattr__(self, "shape", shape)
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            raise ValueError(f"ArraySpec.dtype {self.dtype!r} is not a numpy dtype") from None
        if dtype.kind not in "biuf":
            raise ValueError(f"ArraySpec.dtype must be a bool/int/float dtype, got {dtype}")
        if not isinstance(self.codec, (SACodec, Compression)):
            raise ValueError(f"ArraySpec.codec must be an SACodec or a Compression, "
                             f"got {self.codec!r}")
        if self.is_sa and (len(shape) != 2 or shape[0] != shape[1] or dtype != np.float32):
            raise ValueError(f"an SA array must be (N, N) float32, got {shape} {dtype}")

    @property
    def is_sa(self) -> bool:
        """Whether the array is an SA map stored with an :class:`SACodec`."""
        return isinstance(self.codec, SACodec)

    def to_json(self) -> dict:
        """The spec as JSON data (recorded in the manifest)."""
        return {"shape": list(self.shape), "dtype": np.dtype(self.dtype).name,
                "codec": self.codec.value, "kind": "sa" if self.is_sa else "plain"}

    @classmethod
    def from_json(cls, data: Mapping) -> ArraySpec:
        """Inverse of :meth:`to_json`."""
        kind = SACodec if data["kind"] == "sa" else Compression
        return cls(shape=tuple(data["shape"]), dtype=data["dtype"], codec=kind(data["codec"]))


def sa_array_spec(n_pixels: int, codec: SACodec | str = "default") -> ArraySpec:
    """The spec of an ``(N, N)`` SA array; ``codec`` is a name from ``cache.sa_codec``."""
    return ArraySpec(shape=(n_pixels, n_pixels), dtype="float32", codec=SACodec.parse(codec))


def _compressors(codec: SACodec | Compression, dtype: np.dtype) -> list:
    """The bytes-to-bytes codecs of an array: compression (if any), then a CRC32C checksum."""
    from zarr.codecs import BloscCodec, Crc32cCodec, ZstdCodec

    if codec is Compression.NONE:
        return [Crc32cCodec()]
    if dtype == np.uint8:
        return [ZstdCodec(level=3), Crc32cCodec()]
    return [BloscCodec(cname="zstd", clevel=3, shuffle="shuffle"), Crc32cCodec()]


def _zarr_arrays(spec: ArraySpec, name: str, n_images: int) -> dict[str, tuple]:
    """zarr path -> (shape, dtype, codec) of the arrays that store ``spec``."""
    if not spec.is_sa:
        return {name: ((n_images, *spec.shape), np.dtype(spec.dtype), spec.codec)}
    parts = {f"{name}/values": ((n_images, *spec.shape), values_dtype(spec.codec), spec.codec)}
    if has_row_scale(spec.codec):
        parts[f"{name}/row_scale"] = ((n_images, spec.shape[0]), np.dtype(np.float32),
                                      spec.codec)
    return parts


def _remove_old_store(path: Path) -> None:
    """Delete a previous store at ``path``; refuse to delete anything that is not one."""
    if not path.exists():
        return
    if not path.is_dir():
        raise ValueError(f"cannot create cache store {path}: a file of that name exists")
    entries = {entry.name for entry in path.iterdir()}
    if entries and "zarr.json" not in entries and not entries <= _SNAKEMAKE_FILES:
        raise ValueError(f"cannot create cache store {path}: the directory exists and is not a "
                         "zarr store; move it away or delete it")
    shutil.rmtree(path)


def _check_write_args(manifest: Mapping, image_ids: Sequence[str],
                      arrays: Mapping[str, ArraySpec]) -> None:
    if not isinstance(manifest, Mapping):
        raise ValueError(f"manifest must be a mapping, got {type(manifest).__name__}")
    reserved = sorted(set(manifest) & set(RESERVED_KEYS))
    if reserved:
        raise ValueError(f"manifest keys {reserved} are reserved; the store writes them itself")
    ids = list(image_ids)
    if not ids or not all(isinstance(i, str) and i for i in ids) or len(set(ids)) != len(ids):
        raise ValueError("image_ids must be a non-empty sequence of distinct non-empty strings")
    if not arrays:
        raise ValueError("arrays must name at least one array")
    for name, spec in arrays.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"array name {name!r} must be a Python identifier")
        if not isinstance(spec, ArraySpec):
            raise ValueError(f"arrays[{name!r}] must be an ArraySpec, got {type(spec).__name__}")


def write_store(path, *, manifest: Mapping, image_ids: Sequence[str],
                arrays: Mapping[str, ArraySpec]) -> StoreWriter:
    """Create a fresh store at ``path`` (removing an old or partial one) and return its writer.

    Args:
        path: the store directory (``.../{shard}.zarr``); its parent is created if missing.
        manifest: JSON data (extraction parameters, model identity); must not use the keys
            ``image_ids``, ``arrays``, ``versions``, ``skipped``, which the writer adds.
        image_ids: the images of the store, in order; index ``i`` of every array is image ``i``.
        arrays: array name -> :class:`ArraySpec` (per-image shape, dtype, codec).

    Returns:
        A :class:`StoreWriter`; the store is complete only after :meth:`StoreWriter.close`.
    """
    import zarr

    _check_write_args(manifest, image_ids, arrays)
    full = to_json(dict(manifest), "manifest")
    full["image_ids"] = list(image_ids)
    full["arrays"] = {name: spec.to_json() for name, spec in arrays.items()}
    full["versions"] = package_versions()
    path = Path(path)
    _remove_old_store(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = {"format": FORMAT_VERSION, "n_images": len(full["image_ids"]),
              "arrays": full["arrays"]}
    root = zarr.open_group(str(path), mode="w-", zarr_format=3,
                           attributes={_LAYOUT_KEY: layout, "complete": False})
    zarrs = {}  # opened once: write_empty_chunks is a runtime setting of the array object
    for name, spec in arrays.items():
        for zpath, (shape, dtype, codec) in _zarr_arrays(spec, name, len(image_ids)).items():
            zarrs[zpath] = root.create_array(zpath, shape=shape, chunks=(1, *shape[1:]), dtype=dtype,
                              compressors=_compressors(codec, dtype), fill_value=0,
                              config={"write_empty_chunks": True})
    return StoreWriter(path, root, full, dict(arrays), zarrs)


class StoreWriter:
    """Writes the images of one store; :meth:`close` marks it complete. Not thread-safe."""

    def __init__(self, path: Path, root, manifest: dict, arrays: dict[str, ArraySpec],
                 zarrs: dict) -> None:
        self.path = path
        self._zarrs = zarrs
        self.image_ids: tuple[str, ...] = tuple(manifest["image_ids"])
        self.arrays = arrays
        self._root = root
        self._manifest = manifest
        self._missing = {(name, i) for name in arrays for i in range(len(self.image_ids))}
        self._skipped: dict[str, str] = {}
        self._closed = False

    def write(self, index: int, **arrays: np.ndarray) -> None:
        """Write image ``index`` of the named arrays (any subset; SA arrays are encoded).

        Each value must have its spec's per-image shape and exactly its dtype (SA: any float
        dtype, rows summing to 1, or an :class:`EncodedSA` made with the array's codec, e.g. on
        the GPU by :func:`~langseg.cache.codecs.encode_sa_tensor`).
        """
        chunks = self.encode_chunks(index, **arrays)
        self.put_chunks(index, chunks)
        self.mark_written(index, arrays)

    def encode_chunks(self, index: int, **arrays) -> dict[str, np.ndarray]:
        """Check and encode image ``index`` of the named arrays (as :meth:`write`, no I/O).

        Returns:
            zarr array path -> the image's chunk, ``(1, *shape)``, in the array's dtype.
        """
        if self._closed:
            raise CacheError(f"cache store {self.path} is closed; write before close()")
        _check_index(index, len(self.image_ids), self.path)
        chunks = {}
        for name, value in arrays.items():
            spec = self._spec(name)
            if spec.is_sa:
                encoded = (_checked_encoded(name, value, spec) if isinstance(value, EncodedSA)
                           else encode_sa(np.asarray(value), spec.codec))
                chunks.update(_sa_chunks(name, encoded, spec.shape))
            else:
                chunks[name] = _checked_value(name, value, spec)[None]
        return chunks

    def put_chunks(self, index: int, chunks: Mapping[str, np.ndarray]) -> None:
        """Write chunks from :meth:`encode_chunks` into image ``index`` (this process)."""
        for zpath, chunk in chunks.items():
            self._zarrs[zpath][index:index + 1] = chunk  # a whole chunk: zarr copies nothing

    def mark_written(self, index: int, names) -> None:
        """Record that the arrays ``names`` of image ``index`` are in the store (after a write
        of their chunks, here or in another process: :mod:`langseg.cache.writer`)."""
        self._missing.difference_update((name, index) for name in names)

    def skip(self, index: int, reason: str) -> None:
        """Leave image ``index`` out on purpose (e.g. its file cannot be decoded).

        Its arrays stay unwritten; the manifest's ``skipped`` maps its id to ``reason`` and
        readers refuse to read it, naming the reason.
        """
        if self._closed:
            raise CacheError(f"cache store {self.path} is closed; skip before close()")
        _check_index(index, len(self.image_ids), self.path)
        self._skipped[self.image_ids[index]] = str(reason)
        self._missing -= {(name, index) for name in self.arrays}

    def write_sa(self, index: int, sa: np.ndarray) -> None:
        """Encode and write the ``(N, N)`` SA map of image ``index`` into the ``sa`` array."""
        self.write(index, **{SA_NAME: sa})

    def _spec(self, name: str) -> ArraySpec:
        if name not in self.arrays:
            raise ValueError(f"cache store {self.path} has no array {name!r}; "
                             f"it has {sorted(self.arrays)}")
        return self.arrays[name]

    def close(self) -> None:
        """Write the manifest and ``complete: true`` (last); idempotent.

        Raises:
            CacheError: when some image of some array was never written (store left incomplete).
        """
        if self._closed:
            return
        if self._missing:
            name, index = min(self._missing)
            raise CacheError(f"cache store {self.path} is missing {len(self._missing)} "
                             f"array images, e.g. {name!r} of image {self.image_ids[index]!r}; "
                             "it stays incomplete")
        manifest = dict(self._manifest, skipped=dict(self._skipped))
        self._root.attrs.update({"manifest": manifest, "complete": True})
        self._closed = True

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()  # on an exception the store stays incomplete (no manifest)
        return False


def _check_index(index: int, n_images: int, path: Path) -> None:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"image index must be an integer, got {type(index).__name__}")
    if not 0 <= index < n_images:
        raise IndexError(f"image index {index} out of range for cache store {path} "
                         f"with {n_images} images (0..{n_images - 1})")


def _checked_value(name: str, value, spec: ArraySpec) -> np.ndarray:
    value = np.asarray(value)
    if value.shape != spec.shape or value.dtype != np.dtype(spec.dtype):
        raise ValueError(f"array {name!r} expects {np.dtype(spec.dtype)} {spec.shape} per "
                         f"image, got {value.dtype} {value.shape}")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ValueError(f"array {name!r}: refusing to store NaN or Inf values")
    return value


def _sa_chunks(name: str, encoded: EncodedSA, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The ``(1, ...)`` chunks of one encoded SA map: ``values`` and, for ``u8-*``, ``row_scale``."""
    if encoded.values.shape != shape:
        raise ValueError(f"array {name!r} expects SA of shape {shape}, "
                         f"got {encoded.values.shape}")
    chunks = {f"{name}/values": encoded.values[None]}
    if encoded.row_scale is not None:
        chunks[f"{name}/row_scale"] = encoded.row_scale[None]
    return chunks


def _checked_encoded(name: str, encoded: EncodedSA, spec: ArraySpec) -> EncodedSA:
    n = spec.shape[0]
    scale_shape = (n,) if has_row_scale(spec.codec) else None
    got_scale = None if encoded.row_scale is None else encoded.row_scale.shape
    if (encoded.codec is not spec.codec or encoded.values.dtype != values_dtype(spec.codec)
            or got_scale != scale_shape
            or (encoded.row_scale is not None and encoded.row_scale.dtype != np.float32)):
        raise ValueError(f"array {name!r} stores {spec.codec.value} ({values_dtype(spec.codec)} "
                         f"values, row_scale {scale_shape}); got {encoded.codec.value} "
                         f"{encoded.values.dtype} values, row_scale {got_scale}")
    return encoded
