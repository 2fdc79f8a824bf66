"""Aggregation formulas of langseg.attention on small hand-made maps (docs/spec.md §1.4, §3.2)."""

import math

import pytest
import torch

from langseg.attention import (aggregate_cross_attention, aggregate_self_attention,
                               average_label_tokens, cross_attention_weights, gt_aggregation,
                               map_resolution, nearest_query_index, self_attention_weights)


def test_layer_weights_sd15():
    res = [64, 64, 32, 32, 16, 16, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64]
    # sum of resolutions = 5*64 + 5*32 + 5*16 + 8 = 568
    assert self_attention_weights(res)[0] == pytest.approx(64 / 568)
    assert self_attention_weights(res)[6] == pytest.approx(8 / 568)
    # (64/r): 5*1 + 5*2 + 5*4 + 8 = 43
    ca = cross_attention_weights(res)
    assert ca[0] == pytest.approx(1 / 43) and ca[6] == pytest.approx(8 / 43)
    assert sum(ca) == pytest.approx(1.0) and sum(self_attention_weights(res)) == pytest.approx(1)


def test_nearest_query_index_by_hand():
    # res 2 -> 4, f = 2: row y of the 4x4 grid takes coarse row y // 2
    expected = [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]
    assert nearest_query_index(2, 4).tolist() == expected
    with pytest.raises(ValueError, match="divide"):
        nearest_query_index(3, 4)


def test_single_resolution_sa_is_unchanged():
    sa = torch.rand(16, 16)
    sa = sa / sa.sum(1, keepdim=True)
    assert torch.allclose(aggregate_self_attention([sa]), sa, atol=1e-7)
    # two equal layers at the same resolution: weights 1/2 + 1/2
    assert torch.allclose(aggregate_self_attention([sa, sa]), sa, atol=1e-7)


def test_sa_two_resolutions_by_hand():
    # layer A at r=2: every query attends only to key (0, 0) -> row [1, 0, 0, 0].
    # Bilinear 2->4 (align_corners=False) of [1, 0] along one axis gives [1, .75, .25, 0];
    # the 2-D key map is the outer product, sum (1+.75+.25)^2 = 4 -> normalised entries /4.
    # layer B at r=4: uniform 1/16. Weights r/sum: A 2/6, B 4/6.
    a = torch.zeros(4, 4)
    a[:, 0] = 1.0
    b = torch.full((16, 16), 1 / 16)
    out = aggregate_self_attention([a, b])
    assert out.shape == (16, 16) and out.dtype == torch.float32
    line = torch.tensor([1.0, 0.75, 0.25, 0.0])
    up = (line[:, None] * line[None, :]).reshape(-1) / 4
    expected_row = up * 2 / 6 + torch.full((16,), 1 / 16) * 4 / 6
    assert torch.allclose(out, expected_row.expand(16, 16), atol=1e-7)
    assert out[0, 0].item() == pytest.approx(0.25 * 2 / 6 + 1 / 16 * 4 / 6)  # 0.125
    assert out[5, 1].item() == pytest.approx(0.1875 * 2 / 6 + 1 / 16 * 4 / 6)
    assert torch.allclose(out.sum(1), torch.ones(16))


def test_sa_query_axis_nearest_expansion():
    # r=2 layer whose query q attends only to key q; fine query (y, x) must copy the row of
    # coarse query (y//2)*2 + x//2 after key upsampling (single layer at r=2 plus a tiny r=4).
    a = torch.eye(4)
    b = torch.full((16, 16), 1 / 16)
    out = aggregate_self_attention([a, b])
    idx = nearest_query_index(2, 4)
    for q in range(16):
        assert torch.equal(out[q], out[int(torch.nonzero(idx == idx[q])[0])])
    assert not torch.equal(out[0], out[2])  # coarse rows 0 and 1 differ


def test_average_label_tokens_sequential_overwrite():
    # columns [0.2, 0.5, 0.3, 0.1]; label A tokens [1, 2] -> col 1 = (0.5+0.3)/2 = 0.4;
    # label B tokens [2, 1] -> col 2 = (0.3 + 0.4 [overwritten])/2 = 0.35 (as coded)
    layer = torch.tensor([[0.2, 0.5, 0.3, 0.1]])
    out = average_label_tokens(layer, [[1, 2], [2, 1]])
    assert torch.allclose(out, torch.tensor([[0.2, 0.4, 0.35, 0.1]]))
    assert torch.equal(layer, torch.tensor([[0.2, 0.5, 0.3, 0.1]]))  # input untouched
    with pytest.raises(ValueError, match="outside"):
        average_label_tokens(layer, [[4]])


def test_ca_by_hand():
    # layer A at r=1: tokens [0.2, 0.5, 0.3]; label tokens [1, 2] -> [0.2, 0.4, 0.3];
    # upsampling a 1x1 map (bicubic, antialias) gives a constant 2x2 map.
    # layer B at r=2: token k of pixel p = values below. Weights (2/r)/sum: A 2/3, B 1/3.
    a = torch.tensor([[0.2, 0.5, 0.3]])
    b = torch.tensor([[0.1, 0.6, 0.3], [0.3, 0.3, 0.4], [0.5, 0.2, 0.3], [0.7, 0.1, 0.2]])
    out = aggregate_cross_attention([a, b], label_indices=[[1, 2]])
    b_avg = b.clone()
    b_avg[:, 1] = (b[:, 1] + b[:, 2]) / 2
    expected = torch.tensor([0.2, 0.4, 0.3]) * 2 / 3 + b_avg / 3
    assert out.shape == (4, 3) and out.dtype == torch.float32
    assert torch.allclose(out, expected, atol=1e-6)
    assert out[0, 1].item() == pytest.approx(0.4 * 2 / 3 + 0.45 / 3)


def test_ca_upsampling_matches_torch_bicubic_antialias():
    # single coarse layer + one fine layer of zeros: output = w_coarse * upsampled map
    coarse = torch.rand(4, 2)
    fine = torch.zeros(16, 2)
    out = aggregate_cross_attention([coarse, fine])
    up = torch.nn.functional.interpolate(coarse.T.reshape(1, 2, 2, 2), size=(4, 4),
                                         mode="bicubic", antialias=True, align_corners=False)
    # weights: (4/2)/(2+1) = 2/3 for the coarse layer
    assert torch.allclose(out, up.reshape(2, 16).T * 2 / 3, atol=1e-6)


def test_gt_aggregation_by_hand():
    # SA = [[.5, .5], [.25, .75]]; column sums [.75, 1.25]
    # T = SA^T with rows / colsum: [[.5, .25]/.75, [.5, .75]/1.25] = [[2/3, 1/3], [.4, .6]]
    # CA = [[1, 0], [0, 2]] -> agg = [[2/3, 2/3], [.4, 1.2]]; CA column sums [1, 2]
    sa = torch.tensor([[0.5, 0.5], [0.25, 0.75]])
    ca = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    agg, colsum = gt_aggregation(sa, ca)
    assert torch.allclose(agg, torch.tensor([[2 / 3, 2 / 3], [0.4, 1.2]]))
    assert torch.allclose(colsum, torch.tensor([1.0, 2.0]))


def test_gt_aggregation_matches_explicit_formula_and_ca_norm_commutes():
    sa = torch.rand(16, 16)
    sa = sa / sa.sum(1, keepdim=True)
    ca = torch.rand(16, 3)
    agg, colsum = gt_aggregation(sa, ca)
    explicit = torch.einsum("ji,jk->ik", sa, ca) / sa.sum(0)[:, None]
    assert torch.allclose(agg, explicit, atol=1e-6)
    normed, _ = gt_aggregation(sa, ca / (ca.sum(0) + 1e-10))
    assert torch.allclose(agg / (colsum + 1e-10), normed, atol=1e-6)


def test_invalid_inputs_are_rejected():
    with pytest.raises(ValueError, match="square"):
        map_resolution(15)
    with pytest.raises(ValueError, match="no self-attention"):
        aggregate_self_attention([])
    with pytest.raises(ValueError, match="token count"):
        aggregate_cross_attention([torch.rand(4, 3), torch.rand(16, 2)])
    with pytest.raises(ValueError, match="expected SA"):
        gt_aggregation(torch.rand(4, 4), torch.rand(3, 2))


def _naive_sa_float64(maps):
    """Reference: every layer upsampled, normalised and expanded to full size, summed in
    float64 in the given order (the definition before per-resolution grouping)."""
    big = max(math.isqrt(m.shape[0]) for m in maps)
    total = sum(math.isqrt(m.shape[0]) for m in maps)
    out = torch.zeros(big * big, big * big, dtype=torch.float64)
    for m in maps:
        r = math.isqrt(m.shape[0])
        layer = torch.nn.functional.interpolate(m.double().reshape(r * r, 1, r, r), size=(big, big),
                                                mode="bilinear", align_corners=False)
        layer = layer.reshape(r * r, -1)
        layer = layer / layer.sum(1, keepdim=True)
        f = big // r
        rows = [(y // f) * r + x // f for y in range(big) for x in range(big)]
        out += layer[rows] * r / total
    return out


def test_sa_grouped_by_resolution_equals_the_per_layer_sum():
    gen = torch.Generator().manual_seed(0)
    maps = []
    for r in (8, 4, 4, 2, 8, 4, 2, 1, 8):  # interleaved resolutions, as in the UNet
        m = torch.rand(r * r, r * r, generator=gen) ** 4
        maps.append(m / m.sum(1, keepdim=True))
    copies = [m.clone() for m in maps]
    out = aggregate_self_attention(maps)
    assert out.dtype == torch.float32 and out.shape == (64, 64)
    assert torch.allclose(out.double(), _naive_sa_float64(maps), rtol=1e-5, atol=1e-8)
    assert all(torch.equal(m, c) for m, c in zip(maps, copies))  # inputs untouched
    with pytest.raises(ValueError, match="does not divide"):
        aggregate_self_attention([torch.full((9, 9), 1 / 9), torch.full((16, 16), 1 / 16)])


@pytest.mark.parametrize(("r", "big"), [(32, 64), (8, 64), (3, 6), (1, 4)])
def test_upsampling_rows_as_channels_matches_the_row_by_row_call(r, big):
    from langseg.attention import _upsample_as_channels, upsample_key_axis

    gen = torch.Generator().manual_seed(r)
    layer = torch.rand(r * r, r * r, generator=gen) ** 3
    layer = layer / layer.sum(1, keepdim=True)
    rows = upsample_key_axis(layer, r, big)  # CPU: the report's call, bit for bit
    expected = torch.nn.functional.interpolate(layer.reshape(r * r, 1, r, r), size=(big, big),
                                               mode="bilinear", align_corners=False)
    assert torch.equal(rows, expected.reshape(r * r, big * big))
    channels = _upsample_as_channels(layer, r, big)
    assert channels.shape == (r * r, big * big) and channels.is_contiguous()
    torch.testing.assert_close(channels, rows, rtol=5e-7, atol=0)  # a few float32 ulps
    # by hand, r = 1: every output value is the single input value
    if r == 1:
        assert torch.equal(channels, torch.ones(1, big * big))


def test_upsampling_rows_as_channels_by_hand():
    from langseg.attention import _upsample_as_channels

    # one row, 2x2 keys [[0, 4], [8, 12]] -> 4x4, align_corners=False: source coordinate of
    # output x is (x + 0.5) / 2 - 0.5 clamped at 0, so columns 0,1,2,3 take 0, .25, .75, 1 of
    # the step from the left key to the right one
    layer = torch.tensor([[0.0, 4.0, 8.0, 12.0]])
    out = _upsample_as_channels(layer, 2, 4).reshape(4, 4)
    top = torch.tensor([0.0, 1.0, 3.0, 4.0])
    assert torch.equal(out[0], top) and torch.equal(out[3], top + 8)
    assert torch.equal(out[1], top + 2) and torch.equal(out[2], top + 6)
