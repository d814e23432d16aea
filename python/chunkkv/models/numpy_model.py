"""NumPy reference of the generated decoder: the same function from the same
weights, in float64."""

from __future__ import annotations

import numpy as np

from .config import ModelConfig


def init_weights(config: ModelConfig):
    """Seeded random weights: per layer, a dict name -> array (float32)."""
    rng = np.random.default_rng(config.seed)
    layers = []
    for _ in range(config.layers):
        weights = {}
        for name, shape in config.weight_shapes():
            if name.endswith("norm"):
                weights[name] = (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
            else:
                weights[name] = (rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32)
        layers.append(weights)
    return layers


def empty_caches(config: ModelConfig):
    """Zero K and V caches of every layer."""
    shape = config.cache_shape()
    return ([np.zeros(shape, np.float32) for _ in range(config.layers)],
            [np.zeros(shape, np.float32) for _ in range(config.layers)])


def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def rope(x, positions, theta):
    """Rotary embedding of x [B, T, H, D] at positions [T] or [B, T]
    (rotate-half)."""
    half = x.shape[-1] // 2
    inv_freq = theta ** (-2.0 * np.arange(half) / x.shape[-1])
    positions = np.broadcast_to(np.asarray(positions, np.float64), x.shape[:2])
    angle = positions[..., None] * inv_freq  # [B, T, half]
    cos = np.concatenate([np.cos(angle)] * 2, axis=-1)[:, :, None, :]
    sin = np.concatenate([np.sin(angle)] * 2, axis=-1)[:, :, None, :]
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def _to_bhsd(cache, layout):
    return cache if layout == "bhsd" else cache.transpose(0, 2, 1, 3)


def attention_layer(config, x, weights, k_cache, v_cache, positions, write_rows):
    """One decoder layer on x [B, T, E].

    Token t of sequence b sits at RoPE position positions[b, t]; its key and
    value are written to cache row write_rows[b] + t, and it sees the rows
    up to that one (rows past a sequence's valid keys are masked). Without
    compression write_rows equals positions[:, 0]; a compressed cache writes
    after its kept rows while RoPE keeps the true position. Returns
    (x', k_cache', v_cache', q after RoPE [B, Hq, T, D])."""
    B, T, _ = x.shape
    Hq, Hkv, D = config.q_heads, config.kv_heads, config.head_dim
    h = rms_norm(x, weights["attn_norm"], config.eps)
    q = rope((h @ weights["wq"]).reshape(B, T, Hq, D), positions, config.rope_theta)
    k = rope((h @ weights["wk"]).reshape(B, T, Hkv, D), positions, config.rope_theta)
    v = (h @ weights["wv"]).reshape(B, T, Hkv, D)
    k_cache, v_cache = k_cache.copy(), v_cache.copy()
    for b, row in enumerate(write_rows):
        rows = slice(int(row), int(row) + T)
        if config.layout == "bhsd":
            k_cache[b, :, rows] = k[b].transpose(1, 0, 2)
            v_cache[b, :, rows] = v[b].transpose(1, 0, 2)
        else:
            k_cache[b, rows] = k[b]
            v_cache[b, rows] = v[b]
    keys = np.repeat(_to_bhsd(k_cache, config.layout), config.group, axis=1)
    values = np.repeat(_to_bhsd(v_cache, config.layout), config.group, axis=1)
    qh = q.transpose(0, 2, 1, 3)
    scores = qh @ keys.transpose(0, 1, 3, 2) / np.sqrt(D)
    last_row = np.asarray(write_rows)[:, None] + np.arange(T)[None, :]  # [B, T]
    visible = np.arange(config.capacity)[None, None, :] <= last_row[:, :, None]
    scores = np.where(visible[:, None], scores, -np.inf)
    scores = scores - scores.max(-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(-1, keepdims=True)
    attn = (probs @ values).transpose(0, 2, 1, 3).reshape(B, T, Hq * D)
    x = x + attn @ weights["wo"]
    h = rms_norm(x, weights["mlp_norm"], config.eps)
    gate = h @ weights["w_gate"]
    x = x + (gate / (1.0 + np.exp(-gate)) * (h @ weights["w_up"])) @ weights["w_down"]
    return x, k_cache, v_cache, qh


def run(config, hidden, k_caches, v_caches, weights, positions, write_rows):
    """Every layer: (hidden out, k caches, v caches, queries per layer).
    `write_rows` is [B] for all layers or [L, B] per layer."""
    x = np.asarray(hidden, np.float64)
    rows = np.broadcast_to(np.asarray(write_rows), (config.layers, x.shape[0]))
    ks, vs, queries = [], [], []
    for layer in range(config.layers):
        x, k, v, q = attention_layer(config, x, {n: w.astype(np.float64) for n, w in
                                                 weights[layer].items()},
                                     np.asarray(k_caches[layer], np.float64),
                                     np.asarray(v_caches[layer], np.float64),
                                     positions, rows[layer])
        ks.append(k)
        vs.append(v)
        queries.append(q)
    return x, ks, vs, queries


def prefill(config, hidden, k_caches, v_caches, weights):
    """hidden [B, T, E] at positions [0, T)."""
    T = np.asarray(hidden).shape[1]
    zeros = np.zeros(np.asarray(hidden).shape[0], np.int64)
    return run(config, hidden, k_caches, v_caches, weights, np.arange(T), zeros)[:3]


def decode(config, hidden, position, k_caches, v_caches, weights):
    """hidden [B, 1, E] at `position` (one for all sequences, or [B])."""
    B = np.asarray(hidden).shape[0]
    position = np.broadcast_to(np.asarray(position, np.int64), (B,))
    return run(config, hidden, k_caches, v_caches, weights, position[:, None], position)[:3]


def prefill_compressed(config, hidden, prompt_lengths, k_caches, v_caches, weights, policy):
    """Prefill of right-padded prompts (sequence b holds prompt_lengths[b]
    tokens), then ChunkKV on every layer's caches with `policy` (its reuse
    interval included), as chunkkv-insert-compression is to compute it.

    Returns (hidden out, compacted k caches, compacted v caches, lengths
    [L, B]): each layer's caches hold their kept rows first."""
    from .. import reference

    x, ks, vs, queries = run(config, hidden, k_caches, v_caches, weights,
                             np.arange(np.asarray(hidden).shape[1]),
                             np.zeros(np.asarray(hidden).shape[0], np.int64))
    lengths = np.asarray(prompt_lengths, np.int64)
    window = policy.window
    selections, out_k, out_v, new_lengths = {}, [], [], []
    for layer in range(config.layers):
        leader = reference.leader(layer, policy.reuse)
        if leader not in selections:
            # The last `window` valid prompt rows of each sequence's queries.
            q = queries[leader]
            window_queries = np.stack([q[b, :, length - window:length]
                                       for b, length in enumerate(lengths)])
            selections[leader] = reference.select(window_queries, ks[leader], lengths, policy,
                                                  layout=config.layout)
        ids = selections[leader].chunk_ids
        k, k_lengths = reference.compact(ks[layer], ids, lengths, policy, config.layout)
        v, _ = reference.compact(vs[layer], ids, lengths, policy, config.layout)
        out_k.append(k)
        out_v.append(v)
        new_lengths.append(k_lengths)
    return x, out_k, out_v, np.stack(new_lengths)


def decode_compressed(config, hidden, positions, lengths, k_caches, v_caches, weights):
    """Decode on compressed caches: RoPE at the true `positions` [B]; the new
    token written at row lengths[l, b] of layer l and attending rows up to it.
    Returns (hidden out, k caches, v caches, lengths + 1)."""
    positions = np.asarray(positions, np.int64)
    x, ks, vs, _ = run(config, hidden, k_caches, v_caches, weights, positions[:, None],
                       np.asarray(lengths, np.int64))
    return x, ks, vs, np.asarray(lengths) + 1
