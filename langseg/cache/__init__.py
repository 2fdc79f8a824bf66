"""Zarr v3 cache stores with manifests, and storage codecs for self-attention maps.

See :mod:`langseg.cache.store` (layout, completeness, concurrency), :mod:`langseg.cache.codecs`
(SA codecs and the default) and :mod:`langseg.cache.manifest` (what is compared, what recorded).
"""

from langseg.cache.codecs import (DEFAULT_SA_CODEC, EncodedSA, SACodec, decode_sa, encode_sa)
from langseg.cache.errors import CacheError
from langseg.cache.manifest import manifest_differences, package_versions
from langseg.cache.reader import StoreReader, open_store
from langseg.cache.store import (SA_NAME, ArraySpec, Compression, StoreWriter, sa_array_spec,
                                 write_store)

__all__ = [
    "DEFAULT_SA_CODEC", "SA_NAME", "ArraySpec", "CacheError", "Compression", "EncodedSA",
    "SACodec", "StoreReader", "StoreWriter", "decode_sa", "encode_sa", "manifest_differences",
    "open_store", "package_versions", "sa_array_spec", "write_store",
]
