"""langseg.attention: refusals name the problem, and the index and shape rules at their edges.

Complements tests/test_attention.py (exact values against diffusers) with the boundary cases a
mutation tool flips: token position 0 is valid, a non-square SA is refused even when the CA
columns fit, every message names what was wrong.
"""

from __future__ import annotations

import pytest
import torch

from langseg.attention import (aggregate_cross_attention, aggregate_self_attention,
                               average_label_tokens, gt_aggregation, nearest_query_index)


def test_average_label_tokens_accepts_position_zero_by_hand():
    layer = torch.tensor([[1.0, 3.0, 8.0], [2.0, 4.0, 0.0]])
    out = average_label_tokens(layer, [[0, 1]])
    assert out.tolist() == [[2.0, 3.0, 8.0], [3.0, 4.0, 0.0]]
    out = average_label_tokens(layer, [[2], [1, 2]])  # a single token is its own mean
    assert out.tolist() == [[1.0, 5.5, 8.0], [2.0, 2.0, 0.0]]


def test_average_label_tokens_refusals():
    layer = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="^a label has no token positions; every label needs at least one$"):
        average_label_tokens(layer, [[]])
    with pytest.raises(ValueError, match=r"token positions \[-1\] outside \[0, 3\)"):
        average_label_tokens(layer, [[-1]])
    with pytest.raises(ValueError, match=r"token positions \[1, 3\] outside \[0, 3\)"):
        average_label_tokens(layer, [[1, 3]])


def test_map_shape_refusals_name_the_map():
    with pytest.raises(ValueError, match=r"self-attention map 1 has shape \(4, 3\); expected"):
        aggregate_self_attention([torch.full((4, 4), 0.25), torch.full((4, 3), 0.25)])
    with pytest.raises(ValueError, match=r"cross-attention map 0 has shape \(4,\); expected"):
        aggregate_cross_attention([torch.zeros(4)])
    with pytest.raises(ValueError, match="no self-attention maps"):
        aggregate_self_attention([])


def test_cross_attention_token_count_comes_from_the_maps():
    maps = [torch.rand(16, 3), torch.rand(4, 3)]
    assert tuple(aggregate_cross_attention(maps).shape) == (16, 3)
    with pytest.raises(ValueError, match="differ in token count"):
        aggregate_cross_attention([torch.rand(16, 3), torch.rand(4, 2)])


def test_gt_aggregation_refuses_a_non_square_sa():
    with pytest.raises(ValueError, match=r"expected SA \(N, N\) and CA \(N, M\); got \(4, 6\)"):
        gt_aggregation(torch.rand(4, 6), torch.rand(4, 2))
    with pytest.raises(ValueError, match="expected SA"):
        gt_aggregation(torch.rand(4, 4), torch.rand(4))
    with pytest.raises(ValueError, match="expected SA"):
        gt_aggregation(torch.rand(4, 4), torch.rand(3, 2))


def test_gt_aggregation_by_hand_in_float32():
    sa = torch.tensor([[0.5, 0.5], [0.25, 0.75]], dtype=torch.float64)
    ca = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    agg, colsum = gt_aggregation(sa, ca)
    # colsum(SA) = [0.75, 1.25]; agg[i, k] = sum_j SA[j, i] CA[j, k] / colsum[i]
    want = [[0.5 / 0.75, 0.25 * 2 / 0.75], [0.5 / 1.25, 0.75 * 2 / 1.25]]
    assert agg.dtype == torch.float32 and colsum.dtype == torch.float32
    assert agg.flatten().tolist() == pytest.approx(sum(want, []), rel=1e-6)
    assert colsum.tolist() == pytest.approx([1.0, 2.0])


def test_nearest_query_index_is_int64_by_hand():
    idx = nearest_query_index(2, 4)  # f = 2: rows y // 2, columns x // 2 of the 2 x 2 grid
    assert idx.dtype == torch.int64
    assert idx.tolist() == [0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3]


def test_self_attention_of_float64_maps_is_float32_by_hand():
    # layer r=2 (weight 2/3) given row-stochastic; layer r=1 (weight 1/3): its single key,
    # upsampled to 2 x 2, is constant, so its normalised row is 1/4 everywhere, copied to all rows
    fine = torch.tensor([[0.5, 0.5, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0],
                         [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 1.0]], dtype=torch.float64)
    out = aggregate_self_attention([fine, torch.tensor([[1.0]], dtype=torch.float64)])
    assert out.dtype == torch.float32
    want = [[2 / 3 * v + 1 / 3 * 0.25 for v in row] for row in fine.tolist()]
    assert out.flatten().tolist() == pytest.approx(sum(want, []), rel=1e-6)


def test_single_cross_attention_layer_is_its_own_aggregate():
    layer = torch.tensor([[0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.5, 0.0, 0.5], [0.2, 0.6, 0.2]],
                         dtype=torch.float64)
    out = aggregate_cross_attention([layer])  # one layer: weight 1, no resampling
    assert out.dtype == torch.float32
    assert out.flatten().tolist() == pytest.approx(layer.flatten().tolist(), rel=1e-6)
    out = aggregate_cross_attention([layer], [[1, 2]])  # token 1 <- mean of tokens 1 and 2
    assert out[:, 1].tolist() == pytest.approx([0.45, 0.35, 0.25, 0.4], rel=1e-6)
