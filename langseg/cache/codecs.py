"""Storage codecs for self-attention (SA) maps: ``(N, N)`` row-stochastic, peaked rows.

Every codec turns a float SA map into an :class:`EncodedSA` (a compact ``values`` array plus
optional per-row scales) and back. Every decoder returns ``(N, N) float32`` whose rows are
RE-NORMALISED to sum to 1, so a decoded map is row-stochastic again whatever the rounding did.

Codecs (sizes and agreement measured by ``benchmarks/bench_cache.py``):

* ``fp16-zstd``: float16 values, lossless blosc-zstd (level 3, byte shuffle) in the store.
  Positive entries that float16 would round to 0 (below 3e-8) are stored as its smallest
  subnormal 6e-8 instead, so an entry that is > 0 stays > 0 (the support is kept, see below).
* ``u8-rowmax``: ``round(255 * p / rowmax)`` as uint8 plus the float32 row maxima; linear steps,
  absolute error <= rowmax / 510. Entries below rowmax / 510 decode to 0 (the support is lost).
* ``u8-sqrt``: companded uint8: ``c = round(254 * sqrt(p / rowmax))``, stored as ``c + 1`` for
  ``p > 0`` and 0 for ``p == 0``; decodes ``(c / 254)^2 * rowmax``, and ``c == 0`` (entries below
  ``rowmax * 3.9e-6``) to ``rowmax * (0.25 / 254)^2``. Absolute error <= rowmax / 254 at the row
  maximum, finer in the tail; the support is kept exactly.
* ``u8-pow0.6``: as ``u8-sqrt`` with exponent 0.6 instead of 0.5 (entries below
  ``rowmax * 3.1e-5`` share the lowest positive code); absolute error <= rowmax / 305 at the
  row maximum: a coarser tail, smaller stores.
* ``u8-pow0.75``, ``u8-pow1``: exponents 0.75 and 1 (``u8-pow1`` is linear like ``u8-rowmax``
  but keeps the support); ever coarser tails, smaller stores on maps with a noisy floor.
* ``u8-pow0.85-mass`` (the default): exponent 0.85 (17/20), and the lowest positive code is
  decoded from the row's remaining MASS instead of a fixed quarter step: an SA row sums to 1, so
  its floor entries (ratio below ``(0.5 / 254)^(20/17)``, about 6.5e-4 of the row maximum) share
  ``(1 - sum of the other decoded entries) / (number of floor entries)``, clipped to
  ``[hi / 1024, hi]`` with ``hi`` the floor's upper bound (:func:`mass_floor_values`). A fixed
  floor value inflates the tail of a peaked row (thousands of entries near 1e-8 decoded as
  1e-4 of the maximum), which the row renormalisation then takes from the peak; the mass rule
  keeps the tail's total. Same encoder as the other companded codecs, so the GPU writes the
  same bytes as numpy.

Exact companding: the code of a ratio ``x = p / rowmax`` (float32) is ``rint(254 * x^e)``
evaluated EXACTLY: ``e = a / b`` is rational, so ``code >= k`` iff ``x^a >= ((2k - 1) / 508)^b``
decided in integer arithmetic once per codec (:func:`code_thresholds`: the smallest float32 ``x``
of each code). Encoding then only compares ``x`` with 254 float32 thresholds, which numpy
(:func:`encode_sa`) and torch on any device (:func:`encode_sa_tensor`) do bit-identically;
no ``pow`` of a maths library (whose last bit differs between CPUs, GPUs and SIMD paths) is
involved. Exact ties (e.g. ``x = 0.75`` in ``u8-pow1``) round half to even, as ``rint``. Stores written by the earlier
``np.power`` encoder decode the same way; its codes differed only where ``np.power`` was off by
an ulp at a code boundary.

Support: the report's DiffSeg port takes ``log`` of the maps without an epsilon, so a map with a
single zero entry gets a NaN KL and drops out of the merging. With a codec that flushes small
positive entries to 0 (``u8-rowmax``) every map holds zeros and DiffSegClust fails; the other
codecs map zero to zero and positive to positive. Numpy, and torch inside the ``*_tensor``
functions (imported there); no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from torch import Tensor


class SACodec(str, Enum):
    """How SA maps are stored (config ``cache.sa_codec``; ``default`` picks DEFAULT_SA_CODEC)."""

    FP16_ZSTD = "fp16-zstd"
    U8_ROWMAX = "u8-rowmax"
    U8_SQRT = "u8-sqrt"
    U8_POW06 = "u8-pow0.6"
    U8_POW075 = "u8-pow0.75"
    U8_POW1 = "u8-pow1"
    U8_POW085_MASS = "u8-pow0.85-mass"

    @classmethod
    def parse(cls, name: SACodec | str) -> SACodec:
        """The codec called ``name``; ``"default"`` gives :data:`DEFAULT_SA_CODEC`.

        Raises:
            ValueError: naming the allowed codec names.
        """
        if isinstance(name, cls):
            return name
        if name == "default":
            return DEFAULT_SA_CODEC
        try:
            return cls(name)
        except ValueError:
            allowed = ", ".join(["default", *(codec.value for codec in cls)])
            raise ValueError(f"unknown SA codec {name!r}; allowed: {allowed}") from None


# Chosen on the hard set (benchmarks/bench_cache.py --set hard, docs/performance.md): the only
# codec measured at <= 4 MiB per image on average with every method reading the SA agreeing with
# float32 SA on >= 99.9 % of the pixels of every image (u8-pow0.6: 4.83 MiB; u8-pow0.75: 4.19
# MiB; u8-pow1: 3.45 MiB but GrabCut 98.4 %, 99.78 % even with the mass floor).
DEFAULT_SA_CODEC = SACodec.U8_POW085_MASS

_COMPANDING_EXPONENT = {SACodec.U8_SQRT: Fraction(1, 2), SACodec.U8_POW06: Fraction(3, 5),
                        SACodec.U8_POW075: Fraction(3, 4), SACodec.U8_POW1: Fraction(1),
                        SACodec.U8_POW085_MASS: Fraction(17, 20)}
_MASS_FLOOR = frozenset({SACodec.U8_POW085_MASS})  # floor code decoded from the row's mass
_MASS_FLOOR_MIN = 1.0 / 1024  # lowest floor value, as a fraction of the floor's upper bound
_LEVELS = 254  # companded codes c in [0, 254], stored as c + 1; code 0 = exact zero
_FP16_MIN_NORMAL = np.float32(2.0**-14)  # below it float16 is subnormal: k * 2^-24, k < 1024
_ROW_SUM_TOLERANCE = 1e-3


@dataclass(frozen=True)
class EncodedSA:
    """An encoded SA map.

    Attributes:
        codec: how ``values`` were made.
        values: ``(N, N)`` float16 (``fp16-zstd``) or uint8 (the ``u8-*`` codecs).
        row_scale: ``(N,) float32`` row maxima of the input (``u8-*``), ``None`` for fp16.
    """

    codec: SACodec
    values: np.ndarray
    row_scale: np.ndarray | None


def values_dtype(codec: SACodec) -> np.dtype:
    """The dtype of :attr:`EncodedSA.values` for ``codec``."""
    return np.dtype(np.float16) if codec is SACodec.FP16_ZSTD else np.dtype(np.uint8)


def has_row_scale(codec: SACodec) -> bool:
    """Whether ``codec`` stores per-row float32 maxima next to the values."""
    return codec is not SACodec.FP16_ZSTD


def check_sa(sa: np.ndarray) -> None:
    """Raise ValueError unless ``sa`` is a square float map, finite, >= 0, rows summing to 1."""
    if not isinstance(sa, np.ndarray) or sa.ndim != 2 or sa.shape[0] != sa.shape[1]:
        shape = getattr(sa, "shape", type(sa).__name__)
        raise ValueError(f"SA must be a square (N, N) numpy array, got {shape}")
    if not np.issubdtype(sa.dtype, np.floating):
        raise ValueError(f"SA must be float32 or float64, got {sa.dtype}")
    if not np.all(np.isfinite(sa)) or sa.min() < 0:
        raise ValueError("SA must be finite and non-negative (attention probabilities)")
    sums = sa.sum(axis=1, dtype=np.float64)
    worst = float(np.abs(sums - 1.0).max())
    if worst > _ROW_SUM_TOLERANCE:
        raise ValueError(f"SA rows (queries) must sum to 1 within {_ROW_SUM_TOLERANCE}; "
                         f"the worst row is off by {worst:.3g}")


def float16_keeping_support(values: np.ndarray) -> np.ndarray:
    """Round float32 values >= 0 to float16 (nearest, ties to even), but store positive values
    that would round to 0 as the smallest subnormal 2^-24 (about 6e-8).

    numpy's own cast is slow (about 1 s for 4096^2) when many results are subnormal, so
    subnormal results are computed as their bit patterns ``rint(p * 2^24)`` instead.

    Returns:
        ``values.shape`` float16.
    """
    normal = np.maximum(values, _FP16_MIN_NORMAL).astype(np.float16).view(np.uint16)
    subnormal = np.minimum(np.rint(values * np.float32(2.0**24)), 1024).astype(np.uint16)
    subnormal[(subnormal == 0) & (values > 0)] = 1  # 1024 is 2^-14's bit pattern: exact
    return np.where(values < _FP16_MIN_NORMAL, subnormal, normal).view(np.float16)


@cache
def code_thresholds(codec: SACodec) -> np.ndarray:
    """``(254,) float32``: entry ``k - 1`` is the smallest float32 ratio whose code is >= ``k``.

    The companded code of a ratio ``x`` in ``[0, 1]`` is ``rint(254 * x^e)``; with ``e = a / b``
    it is >= ``k`` iff ``x^a >= ((2k - 1) / 508)^b`` (``>`` for odd ``k``: an exact tie rounds half
    to even, like ``rint``), decided exactly on the float32 bit patterns (binary search; positive
    floats are ordered like their bit patterns).
    """
    exponent = _COMPANDING_EXPONENT.get(codec)
    if exponent is None:
        raise ValueError(f"codec {codec.value} is not a companded uint8 codec")
    a, b = exponent.numerator, exponent.denominator
    one = int(np.float32(1.0).view(np.uint32))
    out = np.empty(_LEVELS, dtype=np.uint32)
    for k in range(1, _LEVELS + 1):
        bound = Fraction(2 * k - 1, 2 * _LEVELS) ** b
        lo, hi = 0, one  # code(bits lo) < k <= code(bits hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            x = Fraction(float(np.uint32(mid).view(np.float32)))
            power = x**a
            at_least_k = power > bound or (power == bound and k % 2 == 0)  # ties: half to even
            lo, hi = (lo, mid) if at_least_k else (mid, hi)
        out[k - 1] = hi
    return out.view(np.float32)


def encode_sa(sa: np.ndarray, codec: SACodec | str) -> EncodedSA:
    """Encode one SA map.

    Args:
        sa: ``(N, N)`` float32/float64, finite, >= 0, rows sum to 1 (within 1e-3).
        codec: a :class:`SACodec` or its name (``"default"`` allowed).

    Returns:
        The :class:`EncodedSA`; ``values`` has ``sa``'s shape.
    """
    codec = SACodec.parse(codec)
    check_sa(sa)
    sa32 = np.asarray(sa, dtype=np.float32)
    if codec is SACodec.FP16_ZSTD:
        return EncodedSA(codec, float16_keeping_support(sa32), None)
    row_max = sa32.max(axis=1)  # > 0: a row summing to 1 has a positive entry
    ratio = sa32 / row_max[:, None]  # in [0, 1]
    if codec is SACodec.U8_ROWMAX:
        return EncodedSA(codec, np.rint(ratio * np.float32(255)).astype(np.uint8), row_max)
    codes = np.searchsorted(code_thresholds(codec), ratio, side="right").astype(np.uint8)
    codes += np.uint8(1)
    codes[sa32 == 0] = 0
    return EncodedSA(codec, codes, row_max)


def check_sa_tensor(sa: Tensor) -> None:
    """:func:`check_sa` for a float tensor ``(..., N, N)`` on any device (one map or a batch)."""
    import torch

    if not isinstance(sa, torch.Tensor) or sa.ndim < 2 or sa.shape[-1] != sa.shape[-2]:
        raise ValueError(f"SA must be square (..., N, N), got {getattr(sa, 'shape', sa)}")
    if not sa.is_floating_point():
        raise ValueError(f"SA must be a float tensor, got {sa.dtype}")
    bad = (~torch.isfinite(sa)).any() | (sa < 0).any()
    worst = (sa.sum(dim=-1, dtype=torch.float64) - 1.0).abs().max()
    if bool(bad):
        raise ValueError("SA must be finite and non-negative (attention probabilities)")
    if float(worst) > _ROW_SUM_TOLERANCE:
        raise ValueError(f"SA rows (queries) must sum to 1 within {_ROW_SUM_TOLERANCE}; "
                         f"the worst row is off by {float(worst):.3g}")


def float16_keeping_support_tensor(values: Tensor) -> Tensor:
    """:func:`float16_keeping_support` in torch, bit-identical; returns float16 of the same shape."""
    import torch

    normal = values.clamp(min=float(_FP16_MIN_NORMAL)).to(torch.float16).view(torch.int16)
    subnormal = torch.round(values * 2.0**24).clamp(max=1024).to(torch.int16)
    subnormal = torch.where((subnormal == 0) & (values > 0), 1, subnormal).to(torch.int16)
    return torch.where(values < float(_FP16_MIN_NORMAL), subnormal, normal).view(torch.float16)


def encode_sa_tensor(sa: Tensor, codec: SACodec | str, *, check: bool = True):
    """:func:`encode_sa` in torch on the tensor's device, byte-identical to it.

    Args:
        sa: ``(..., N, N)`` float32 (other float dtypes are cast to float32 first), rows sum to 1.
        codec: as in :func:`encode_sa`.
        check: validate ``sa`` (:func:`check_sa_tensor`) first.

    Returns:
        ``(values, row_scale)`` tensors on ``sa``'s device: ``values (..., N, N)`` float16 or
        uint8, ``row_scale (..., N) float32`` (``None`` for ``fp16-zstd``).
    """
    import torch

    codec = SACodec.parse(codec)
    if check:
        check_sa_tensor(sa)
    sa32 = sa.to(torch.float32)
    if codec is SACodec.FP16_ZSTD:
        return float16_keeping_support_tensor(sa32), None
    row_max = sa32.amax(dim=-1)
    ratio = sa32 / row_max.unsqueeze(-1)
    if codec is SACodec.U8_ROWMAX:
        return torch.round(ratio * 255.0).to(torch.uint8), row_max
    bounds = torch.from_numpy(code_thresholds(codec)).to(ratio.device)
    codes = torch.bucketize(ratio, bounds, right=True).to(torch.uint8) + 1
    return codes.masked_fill_(sa32 == 0, 0), row_max


def decode_table(codec: SACodec) -> np.ndarray:
    """``(256,) float32``: the value of each uint8 code as a fraction of the row maximum."""
    if codec is SACodec.U8_ROWMAX:
        return (np.arange(256) / 255.0).astype(np.float32)
    if codec not in _COMPANDING_EXPONENT:
        raise ValueError(f"codec {codec.value} has no uint8 decode table")
    inverse = 1.0 / float(_COMPANDING_EXPONENT[codec])
    table = np.empty(256, dtype=np.float64)
    table[0] = 0.0
    table[1] = (0.25 / _LEVELS) ** inverse  # c == 0: entries below half a step; a quarter step
    table[2:] = (np.arange(1, _LEVELS + 1) / _LEVELS) ** inverse
    return table.astype(np.float32)


def mass_floor_values(rest: np.ndarray, n_floor: np.ndarray, row_max: np.ndarray,
                      codec: SACodec) -> np.ndarray:
    """The decoded value of the floor entries of each row, from the mass the row has left.

    Args:
        rest: ``(R,) float64`` sum of each row's decoded non-floor entries.
        n_floor: ``(R,) int`` entries of each row with the lowest positive code.
        row_max: ``(R,) float32`` row maxima.
        codec: a companded codec.

    Returns:
        ``(R,) float32``: ``(1 - rest) / n_floor``, clipped to ``[hi / 1024, hi]`` where
        ``hi = t * row_max`` and ``t`` is the smallest ratio of the next code
        (:func:`code_thresholds`), so the value stays > 0 and inside the floor's range; rows
        without floor entries get ``hi`` (unused).
    """
    share = (1.0 - rest) / np.maximum(n_floor, 1)
    high = float(code_thresholds(codec)[0]) * row_max.astype(np.float64)
    return np.clip(share, high * _MASS_FLOOR_MIN, high).astype(np.float32)


def _fill_floor_from_mass(probs: np.ndarray, floor: np.ndarray, row_max: np.ndarray,
                          codec: SACodec) -> None:
    """Set the floor entries of ``probs (N, N) float32`` (in place) by :func:`mass_floor_values`."""
    n_floor = floor.sum(axis=1)
    table_floor = decode_table(codec)[1] * row_max.astype(np.float32)  # what probs holds there
    rest = probs.sum(axis=1, dtype=np.float64) - n_floor * table_floor.astype(np.float64)
    fill = mass_floor_values(rest, n_floor, row_max, codec)
    np.copyto(probs, fill[:, None], where=floor)


def decode_sa(encoded: EncodedSA) -> np.ndarray:
    """Decode an :class:`EncodedSA`.

    Returns:
        ``(N, N) float32``, >= 0, rows re-normalised to sum to 1 (row-stochastic again).
    """
    codec = SACodec.parse(encoded.codec)
    values = encoded.values
    if values.ndim != 2 or values.dtype != values_dtype(codec):
        raise ValueError(f"{codec.value} values must be 2-D {values_dtype(codec)}, "
                         f"got {values.dtype} {values.shape}")
    if codec is SACodec.FP16_ZSTD:
        probs = values.astype(np.float32)
    else:
        if encoded.row_scale is None or encoded.row_scale.shape != values.shape[:1]:
            raise ValueError(f"{codec.value} needs row_scale of shape {values.shape[:1]}")
        probs = decode_table(codec)[values]
        probs *= encoded.row_scale.astype(np.float32)[:, None]
        if codec in _MASS_FLOOR:
            _fill_floor_from_mass(probs, values == 1, encoded.row_scale, codec)
    sums = probs.sum(axis=1, dtype=np.float64, keepdims=True)
    probs *= (1.0 / sums).astype(np.float32)
    return probs
