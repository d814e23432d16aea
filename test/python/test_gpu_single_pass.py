"""The single-pass chunk scores of chunkkv-lower-to-gpu, step for step in NumPy.

The GPU kernel that reads K once (paper policy on tensor cores) splits the
softmax of every window query into spans of keys, keeps per span a running
maximum shared by the steps of 32 keys, and adds each step's exponentials
into per-(query, span, chunk slot) partial sums with avg_pool1d weights; a
combine step gives every query its maximum and sum, and the chunk kernel
adds the partials over kv heads, queries and spans, each weighted by its
span's share 2^(span max - max) / sum of the softmax. This model
follows the same index arithmetic (slot numbering, the chunks a step or a
span can reach, the spans a chunk reads, the rescaling of a slot that two
steps add to) and must equal the reference's chunk scores; its asserts
check that every slot index stays inside the buffers the kernel allocates.
The kernel itself runs in bench/gpu/test_gpu.py, on a GPU or on the PTX
emulator (test_gpu_emulated.py).
"""

import math

import numpy as np
import pytest

from chunkkv import reference

STEP = 32  # keys per mma step (kMmaKeysPerStep)


def chunks_touched(keys, chunk, pool):
    return (keys - 1 + 2 * (pool // 2)) // chunk + 2


def pool_weight(t, chunk_start, prefix, chunk, pool):
    reach = pool // 2
    chunk_end = min(chunk_start + chunk, prefix)
    first = max(t - reach, chunk_start)
    last = min(t + reach, chunk_end - 1)
    return (last + 1 - first) / pool


def span_partials(x, span_start, span_end, prefix, chunk, pool, slots):
    """One row's span: (maximum, sum, chunk slots relative to the maximum).

    `x` holds the row's base-2 logits, -inf where a key is not visible."""
    reach = pool // 2
    running = -1e30
    total = 0.0
    slot_sums = np.zeros(slots)
    slot_max = np.full(slots, -1e30)
    span_first = max(span_start - reach, 0) // chunk
    for key0 in range(span_start, span_end, STEP):
        keys = x[key0:min(key0 + STEP, span_end)]
        new_max = max(running, keys.max())
        terms = np.exp2(keys - new_max)
        total = total * 2.0 ** (running - new_max) + terms.sum()
        running = new_max
        step_end = min(key0 + STEP, span_end, prefix)
        if key0 >= step_end:
            continue
        first = max(key0 - reach, 0) // chunk
        last = min(step_end - 1 + reach, prefix - 1) // chunk
        assert last - first < chunks_touched(STEP, chunk, pool)
        for c in range(first, last + 1):
            start = c * chunk
            lo, hi = max(key0, start - reach), min(step_end, start + chunk + reach)
            added = sum(terms[t - key0] * pool_weight(t, start, prefix, chunk, pool)
                        for t in range(lo, hi))
            slot = c - span_first
            assert 0 <= slot < slots
            slot_sums[slot] = slot_sums[slot] * 2.0 ** (slot_max[slot] - running) + added
            slot_max[slot] = running
    return running, total, slot_sums * np.exp2(slot_max - running)


def single_pass_scores(q, k, lengths, policy, span):
    batch, q_heads, window, dim = q.shape
    kv_heads, capacity = k.shape[1], k.shape[2]
    group = q_heads // kv_heads
    chunk, pool = policy.chunk, policy.pool
    reach = pool // 2
    slots = chunks_touched(span, chunk, pool)
    n_max = policy.num_chunks(capacity)
    scores = np.full((batch, n_max), -np.inf)
    log2_scale = math.log2(math.e) / math.sqrt(dim)
    for b, length in enumerate(lengths):
        prefix = length - window
        if prefix <= 0:
            continue
        spans = -(-length // span)
        weights = np.zeros((kv_heads, group * window, spans))
        partials = np.zeros((kv_heads, group * window, spans, slots))
        for h in range(kv_heads):
            for row in range(group * window):
                head, i = h * group + row // window, row % window
                x = (k[b, h, :length] @ q[b, head, i]) * log2_scale
                x[prefix + i + 1:] = -np.inf
                stats = []
                for s in range(spans):
                    start = s * span
                    m, l, p = span_partials(x, start, min(start + span, length),
                                            prefix, chunk, pool, slots)
                    stats.append((m, l))
                    partials[h, row, s] = p
                top = max(m for m, _ in stats)
                total = sum(l * 2.0 ** (m - top) for m, l in stats)
                for s, (m, l) in enumerate(stats):
                    weights[h, row, s] = 2.0 ** (m - top) / (group * total)
        for c in range(policy.num_chunks(length)):
            start = c * chunk
            first_key = max(start - reach, 0)
            last_key = min(start + chunk + reach, prefix)
            score = 0.0
            for s in range(first_key // span, (last_key - 1) // span + 1):
                slot = c - max(s * span - reach, 0) // chunk
                assert 0 <= slot < slots
                score += np.sum(weights[:, :, s] * partials[:, :, s, slot])
            if policy.aggregate == "mean":
                score /= min(start + chunk, prefix) - start
            scores[b, c] = score
    return scores


@pytest.mark.parametrize("chunk,pool,aggregate,span", [
    (10, 1, "sum", 352),
    (10, 1, "sum", 32),
    (3, 5, "sum", 64),
    (1, 3, "mean", 32),
    (7, 9, "mean", 96),
])
def test_single_pass_matches_reference(chunk, pool, aggregate, span):
    rng = np.random.default_rng(chunk * 100 + pool)
    batch, kv_heads, group, window, dim = 2, 2, 2, 4, 8
    capacity = 3 * span + 17
    q = rng.standard_normal((batch, kv_heads * group, window, dim)) * 2
    k = rng.standard_normal((batch, kv_heads, capacity, dim))
    lengths = np.array([capacity, span + 5])
    policy = reference.Policy(policy="paper", chunk=chunk, window=window, pool=pool,
                              aggregate=aggregate, keep_ratio=0.5)
    expected = reference.chunk_scores(q, k, lengths, policy)
    got = single_pass_scores(q, k, lengths, policy, span)
    finite = np.isfinite(expected)
    assert np.array_equal(finite, np.isfinite(got))
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-9)
