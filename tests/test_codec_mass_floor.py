"""The ``u8-pow0.85-mass`` SA codec: exponent 17/20 codes and the floor decoded from row mass.

Hand derivations (exponent e = 0.85, 254 levels, stored code = c + 1):

* the floor (stored code 1, c = 0) holds the ratios x = p / rowmax with 254 * x^e < 0.5, i.e.
  x < (1/508)^(1/e) = (1/508)^(20/17) = 6.5559e-4;
* its decoded value is ``(1 - sum of the row's other decoded entries) / (floor entries)``,
  clipped to ``[hi / 1024, hi]``, ``hi = 6.5559e-4 * rowmax``; then the row is renormalised.
"""

from __future__ import annotations

import numpy as np
import pytest

from langseg.cache import DEFAULT_SA_CODEC, EncodedSA, SACodec, decode_sa, encode_sa
from langseg.cache.codecs import encode_sa_tensor

CODEC = SACodec.U8_POW085_MASS
FLOOR_TOP = (1 / 508) ** (20 / 17)  # 6.5559e-4: the smallest ratio of code c = 1


def _square(rows: list[list[float]]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32)


def test_codes_by_hand():
    # row 0: x = 1, 0.3/0.6 = 0.5, 0.1/0.6 = 1/6, 0: 254 * 0.5^0.85 = 140.92 -> 141,
    # 254 * (1/6)^0.85 = 254 * 0.21806 = 55.39 -> 55; stored +1
    # row 1: x = 1, 4e-4 / 0.9995 = 4.002e-4 and 1e-4 / 0.9995 (both < 6.5559e-4: c = 0), 0
    sa = _square([[0.6, 0.3, 0.1, 0.0], [0.9995, 0.0004, 0.0001, 0.0],
                  [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 1.0]])
    encoded = encode_sa(sa, CODEC)
    assert encoded.values.tolist() == [[255, 142, 56, 0], [255, 1, 1, 0], [255] * 4,
                                       [0, 0, 0, 255]]
    np.testing.assert_array_equal(encoded.row_scale, sa.max(axis=1))


def test_floor_takes_the_mass_the_row_has_left():
    # row 1 above: the non-floor entry decodes to 1.0 * m, m = float32(0.9995) = 0.99949998;
    # the two floor entries share 1 - m = 5.00023e-4, i.e. 2.50012e-4 each (inside
    # [hi / 1024, hi], hi = 6.55e-4 * m); the row then sums to 1 and stays as it is.
    sa = _square([[0.6, 0.3, 0.1, 0.0], [0.9995, 0.0004, 0.0001, 0.0],
                  [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 1.0]])
    decoded = decode_sa(encode_sa(sa, CODEC))
    m = float(np.float32(0.9995))
    share = (1 - m) / 2
    np.testing.assert_allclose(decoded[1], [m, share, share, 0.0], rtol=1e-6, atol=0)
    # a fixed quarter-step floor (u8-pow0.75) decodes its floor entry (x = 1.0005e-4 < its
    # floor top (1/508)^(4/3) = 2.5e-4) as q = (0.25/254)^(4/3) = 9.79e-5 of the maximum; the
    # entry 4.002e-4 gets c = rint(254 * 4.002e-4^0.75) = rint(0.717) = 1, i.e. (1/254)^(4/3)
    q, one = (0.25 / 254) ** (4 / 3), (1 / 254) ** (4 / 3)
    quarter = decode_sa(encode_sa(sa, SACodec.U8_POW075))[1]
    np.testing.assert_allclose(quarter, np.array([1, one, q, 0]) / (1 + one + q), rtol=1e-5)


def test_floor_share_is_clipped_to_the_floor_range():
    # row 0: codes (255, 1, 1, 1), rowmax 0.5: the other entry decodes to 0.5, the three floor
    # entries would share 0.5 / 3 = 0.167, far above hi = 6.5559e-4 * 0.5 = 3.278e-4: clipped
    # to hi, then the row is renormalised: [0.5, hi, hi, hi] / (0.5 + 3 hi).
    # row 1: codes (255, 255, 1, 0), rowmax 0.6: 1 - 1.2 < 0, so the floor entry takes
    # hi / 1024 = 6.5559e-4 * 0.6 / 1024 = 3.841e-7 (> 0: the support is kept).
    values = np.array([[255, 1, 1, 1], [255, 255, 1, 0], [255, 0, 0, 0], [0, 0, 0, 255]],
                      dtype=np.uint8)
    scale = np.array([0.5, 0.6, 1.0, 1.0], dtype=np.float32)
    decoded = decode_sa(EncodedSA(CODEC, values, scale))
    hi = FLOOR_TOP * 0.5
    np.testing.assert_allclose(decoded[0], np.array([0.5, hi, hi, hi]) / (0.5 + 3 * hi),
                               rtol=1e-5)
    low = FLOOR_TOP * 0.6 / 1024
    np.testing.assert_allclose(decoded[1], np.array([0.6, 0.6, low, 0.0]) / (1.2 + low),
                               rtol=1e-5)
    assert decoded[1, 2] > 0


def test_peaked_rows_keep_their_tail_mass():
    # a peaked row-stochastic map with a tail of tiny entries: the decoded floor mass follows
    # the true one (within the rounding of the other entries), and the peak is kept to 1e-3
    rng = np.random.default_rng(0)
    n = 256
    logits = rng.normal(0.0, 1.0, (n, n)) - 30.0 * (rng.random((n, n)) < 0.9)
    logits[np.arange(n), np.arange(n)] = 12.0
    sa = np.exp(logits - logits.max(axis=1, keepdims=True))
    sa = (sa / sa.sum(axis=1, keepdims=True)).astype(np.float32)
    encoded = encode_sa(sa, CODEC)
    decoded = decode_sa(encoded)
    floor = encoded.values == 1
    assert floor.sum() > n * n // 2
    np.testing.assert_allclose(decoded.sum(axis=1), 1.0, atol=1e-5)
    assert ((decoded > 0) == (sa > 0)).all()
    np.testing.assert_allclose(np.diag(decoded), np.diag(sa), rtol=1e-3)
    true_tail = np.where(floor, sa, 0).sum(axis=1)
    decoded_tail = np.where(floor, decoded, 0).sum(axis=1)
    np.testing.assert_allclose(decoded_tail, true_tail, atol=2e-4)


def test_torch_encoder_writes_the_same_bytes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    sa = rng.random((2, 64, 64)) ** 8
    sa = (sa / sa.sum(axis=-1, keepdims=True)).astype(np.float32)
    values, scale = encode_sa_tensor(torch.from_numpy(sa), CODEC)
    for b in range(2):
        expected = encode_sa(sa[b], CODEC)
        np.testing.assert_array_equal(values[b].numpy(), expected.values)
        np.testing.assert_array_equal(scale[b].numpy(), expected.row_scale)


def test_is_the_default():
    assert DEFAULT_SA_CODEC is CODEC
    assert SACodec.parse("default") is CODEC
