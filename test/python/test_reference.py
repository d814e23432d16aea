"""The NumPy reference against the golden cases and hand-computed examples."""

import json
import os

import numpy as np
import pytest

from chunkkv import reference as R
from conftest import GOLDEN_DIR

CASES = json.load(open(os.path.join(GOLDEN_DIR, "cases.json")))


def load_case(name):
    folder = os.path.join(GOLDEN_DIR, name)
    expected = json.load(open(os.path.join(folder, "expected.json")))
    arrays = {n: np.load(os.path.join(folder, f"{n}.npy")) for n in ("q", "k", "v")}
    return arrays, expected


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    arrays, expected = load_case(name)
    params = expected["params"]
    policy = R.Policy.from_params(params)
    sel = R.select(arrays["q"], arrays["k"], params["lengths"], policy)
    for b, positions in enumerate(expected["kept_positions"]):
        np.testing.assert_array_equal(sel.positions[b], positions)
    np.testing.assert_array_equal(sel.kept_lengths, expected["kept_lengths"])
    for b, scores in enumerate(expected["chunk_scores"]):
        np.testing.assert_allclose(sel.scores[b, : len(scores)], scores, rtol=1e-6, atol=0)
        assert np.all(np.isneginf(sel.scores[b, len(scores):]))


@pytest.mark.parametrize("name", CASES)
def test_golden_compaction(name):
    arrays, expected = load_case(name)
    params = expected["params"]
    policy = R.Policy.from_params(params)
    _, kc, vc, lengths = R.compress_layer(arrays["q"], arrays["k"], arrays["v"],
                                         params["lengths"], policy)
    np.testing.assert_array_equal(lengths, expected["kept_lengths"])
    for b, positions in enumerate(expected["kept_positions"]):
        n = len(positions)
        np.testing.assert_array_equal(kc[b, :, :n], arrays["k"][b][:, positions])
        np.testing.assert_array_equal(vc[b, :, :n], arrays["v"][b][:, positions])


@pytest.mark.parametrize("name", CASES)
def test_golden_float32_within_conformance_tolerance(name):
    arrays, expected = load_case(name)
    params = expected["params"]
    policy = R.Policy.from_params(params)
    scores = R.chunk_scores(arrays["q"], arrays["k"], params["lengths"], policy,
                            dtype=np.float32)
    for b, ref in enumerate(expected["chunk_scores"]):
        np.testing.assert_allclose(scores[b, : len(ref)], ref, rtol=1e-4)


def one_head(keys, window=1):
    """q = ones [1, 1, w, 1], k = keys as [1, 1, T, 1]: logits equal the keys
    (scale 1), so softmax weights are proportional to exp(keys)."""
    keys = np.asarray(keys, dtype=np.float64)
    q = np.ones((1, 1, window, 1))
    k = keys.reshape(1, 1, -1, 1)
    return q, k


def test_hand_computed_paper_selection():
    # Softmax weights proportional to 1..5: chunks [0,2) and [2,4) score
    # 3/15 and 7/15; a budget of 3 with w = 1 and C = 2 keeps one chunk.
    q, k = one_head(np.log([1, 2, 3, 4, 5]))
    policy = R.Policy(chunk=2, window=1, budget=3)
    sel = R.select(q, k, None, policy, scale=1.0)
    np.testing.assert_allclose(sel.scores[0], [3 / 15, 7 / 15], rtol=1e-12)
    np.testing.assert_array_equal(sel.chunk_ids, [[1]])
    np.testing.assert_array_equal(sel.positions[0], [2, 3, 4])
    assert sel.kept_lengths.tolist() == [3]


def test_ties_go_to_the_lower_chunk_index():
    q, k = one_head(np.zeros(7))
    policy = R.Policy(chunk=2, window=1, budget=3)
    sel = R.select(q, k, None, policy, scale=1.0)
    np.testing.assert_allclose(sel.scores[0], [2 / 7] * 3)
    np.testing.assert_array_equal(sel.chunk_ids, [[0]])
    np.testing.assert_array_equal(sel.positions[0], [0, 1, 6])


def test_causal_mask_of_the_window():
    # w = 2, T = 4: query 0 sits at position 2 and sees keys 0..2 (1/3 each),
    # query 1 sees all four (1/4 each); prefix tokens score 1/3 + 1/4.
    q, k = one_head(np.zeros(4), window=2)
    policy = R.Policy(chunk=1, window=2, budget=3)
    scores = R.chunk_scores(q, k, None, policy, scale=1.0)
    np.testing.assert_allclose(scores[0], [7 / 12, 7 / 12])


def test_avg_pool_matches_torch_defaults():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(R.avg_pool(x, 3), [1.0, 2.0, 3.0, 4.0, 3.0])
    np.testing.assert_allclose(R.avg_pool(x, 5), [6 / 5, 10 / 5, 15 / 5, 14 / 5, 12 / 5])
    np.testing.assert_array_equal(R.avg_pool(x, 1), x)


def test_mean_aggregate_divides_the_partial_chunk_by_its_size():
    # Uniform weights over T = 6 with w = 1: five prefix tokens of 1/6 each,
    # chunks of 2 -> sizes 2, 2, 1.
    q, k = one_head(np.zeros(6))
    summed = R.chunk_scores(q, k, None, R.Policy(chunk=2, window=1, budget=3), scale=1.0)
    mean = R.chunk_scores(q, k, None, R.Policy(chunk=2, window=1, budget=3, aggregate="mean"),
                          scale=1.0)
    np.testing.assert_allclose(summed[0], [2 / 6, 2 / 6, 1 / 6])
    np.testing.assert_allclose(mean[0], [1 / 6, 1 / 6, 1 / 6])


def test_group_mean_then_head_sum():
    # Hq = 4, Hkv = 2 (G = 2). Head 0 of group 0 looks at token 0 only, head 1
    # of group 0 spreads evenly; group 1 looks at token 1 only.
    big = 50.0
    q = np.zeros((1, 4, 1, 2))
    q[0, 0, 0] = [1, 0]
    q[0, 2, 0] = [0, 1]
    q[0, 3, 0] = [0, 1]
    k = np.zeros((1, 2, 3, 2))
    k[0, 0, 0] = [big, 0]
    k[0, 1, 1] = [0, big]
    policy = R.Policy(chunk=1, window=1, budget=2)
    scores = R.chunk_scores(q, k, None, policy, scale=1.0)
    # group 0: mean(1, 1/3) on token 0, mean(0, 1/3) on token 1;
    # group 1: token 1 gets 1 (both heads).
    np.testing.assert_allclose(scores[0], [2 / 3, 1 / 6 + 1], atol=1e-12)


def test_paper_keeps_short_sequences_whole():
    policy = R.Policy(chunk=4, window=8, budget=20)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((3, 2, 8, 4))
    k = rng.standard_normal((3, 1, 40, 4))
    sel = R.select(q, k, [8, 20, 40], policy)
    np.testing.assert_array_equal(sel.positions[0], np.arange(8))
    np.testing.assert_array_equal(sel.positions[1], np.arange(20))
    assert (sel.chunk_ids[:2] == -1).all()
    # T = 40: P = 32, k = (20 - 8) // 4 = 3 chunks + the window.
    assert sel.kept_lengths.tolist() == [8, 20, 20]
    assert (sel.chunk_ids[2] >= 0).all()
    np.testing.assert_array_equal(sel.positions[2][-8:], np.arange(32, 40))


def test_keep_ratio_rounds_half_up():
    policy = R.Policy(chunk=10, window=32, keep_ratio=0.2)
    assert policy.token_budget(300) == 60
    assert policy.token_budget(302) == 60  # 60.4 + 0.5 -> 60
    assert policy.token_budget(303) == 61  # 60.6 + 0.5 -> 61
    assert policy.max_selected(27) == 2


def test_kvpress_chunk_count_in_double():
    policy = R.Policy("kvpress", compression_ratio=0.9)
    assert policy.num_selected(200) == 1     # n = 10: 0.999.. -> max(1, 0)
    assert policy.num_selected(1000) == 4    # n = 50: 50 * 0.0999.. = 4.99.. -> 4
    assert policy.max_selected(10) == 1
    assert R.Policy("kvpress", compression_ratio=0.0).keeps_whole(500)


def test_kvpress_window_outscores_the_prefix():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((1, 2, 64, 8))
    k = rng.standard_normal((1, 1, 200, 8))
    policy = R.Policy("kvpress", compression_ratio=0.5)
    sel = R.select(q, k, None, policy)
    n = policy.num_chunks(200)
    assert n == 10
    # Chunks 7, 8, 9 cover [140, 200): they hold window positions [136, 200)
    # only from 140 on, so each scores above every prefix-only chunk.
    prefix_only = sel.scores[0, :6]
    assert (sel.scores[0, 7:] > prefix_only.max()).all()
    assert {7, 8, 9} <= set(sel.chunk_ids[0].tolist())
    assert sel.kept_lengths[0] == 5 * 20


def test_bshd_layout_matches_bhsd():
    rng = np.random.default_rng(2)
    q = rng.standard_normal((2, 4, 8, 16))
    k = rng.standard_normal((2, 2, 100, 16))
    v = rng.standard_normal((2, 2, 100, 16))
    policy = R.Policy(chunk=5, window=8, budget=38)
    lengths = [100, 71]
    sel_a, kc_a, vc_a, len_a = R.compress_layer(q, k, v, lengths, policy)
    sel_b, kc_b, vc_b, len_b = R.compress_layer(q, k.transpose(0, 2, 1, 3),
                                                v.transpose(0, 2, 1, 3), lengths,
                                                policy, layout="bshd")
    np.testing.assert_array_equal(sel_a.chunk_ids, sel_b.chunk_ids)
    np.testing.assert_array_equal(kc_a, kc_b.transpose(0, 2, 1, 3))
    np.testing.assert_array_equal(vc_a, vc_b.transpose(0, 2, 1, 3))
    np.testing.assert_array_equal(len_a, len_b)


def test_layer_reuse_uses_the_leader_selection():
    assert [R.leader(layer, 2) for layer in range(5)] == [0, 0, 2, 2, 4]
    assert [R.leader(layer, 1) for layer in range(3)] == [0, 1, 2]
    rng = np.random.default_rng(3)
    layers = 3
    qs = [rng.standard_normal((1, 2, 4, 8)) for _ in range(layers)]
    ks = [rng.standard_normal((1, 1, 60, 8)) for _ in range(layers)]
    vs = [rng.standard_normal((1, 1, 60, 8)) for _ in range(layers)]
    policy = R.Policy(chunk=4, window=4, budget=16, reuse=2)
    selections, out_k, _, lengths = R.compress_layers(qs, ks, vs, None, policy)
    assert sorted(selections) == [0, 2]
    leader_positions = selections[0].positions[0]
    np.testing.assert_array_equal(out_k[1][0, :, : len(leader_positions)],
                                  ks[1][0][:, leader_positions])
    own = R.select(qs[1], ks[1], None, policy)
    assert not np.array_equal(own.chunk_ids, selections[0].chunk_ids)
    assert lengths.tolist() == [16]


@pytest.mark.parametrize("kwargs, message", [
    (dict(budget=16), "budget \\(16\\) must be >= window \\(32\\)"),
    (dict(chunk=0, budget=64), "chunk size must be > 0"),
    (dict(pool=2, budget=64), "pooling kernel must be odd"),
    (dict(budget=64, keep_ratio=0.5), "exactly one of"),
    (dict(policy="kvpress", budget=64), "takes compression_ratio"),
    (dict(policy="kvpress", compression_ratio=0.5, aggregate="sum"), "by mean"),
    (dict(policy="snapkv", budget=64), "policy must be"),
])
def test_policy_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        R.Policy(**kwargs)


def test_shape_errors():
    policy = R.Policy(chunk=2, window=2, budget=4)
    with pytest.raises(ValueError, match="multiple of Hkv"):
        R.chunk_scores(np.zeros((1, 3, 2, 4)), np.zeros((1, 2, 10, 4)), None, policy)
    with pytest.raises(ValueError, match="window queries"):
        R.chunk_scores(np.zeros((1, 2, 3, 4)), np.zeros((1, 2, 10, 4)), None, policy)
    with pytest.raises(ValueError, match="lengths must lie"):
        R.chunk_scores(np.zeros((1, 2, 2, 4)), np.zeros((1, 2, 10, 4)), [11], policy)
