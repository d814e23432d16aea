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
    """Rotary embedding of x [B, T, H, D] at positions [T] (rotate-half)."""
    half = x.shape[-1] // 2
    inv_freq = theta ** (-2.0 * np.arange(half) / x.shape[-1])
    angle = positions[:, None] * inv_freq[None, :]
    cos = np.concatenate([np.cos(angle)] * 2, axis=-1)[None, :, None, :]
    sin = np.concatenate([np.sin(angle)] * 2, axis=-1)[None, :, None, :]
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def _to_bhsd(cache, layout):
    return cache if layout == "bhsd" else cache.transpose(0, 2, 1, 3)


def attention_layer(config, x, weights, k_cache, v_cache, position):
    """One decoder layer on x [B, T, E] whose first token sits at `position`.

    Writes the new keys and values into copies of the caches at
    [position, position + T) and attends causally over the cache. Returns
    (x', k_cache', v_cache', q after RoPE [B, Hq, T, D])."""
    B, T, _ = x.shape
    Hq, Hkv, D = config.q_heads, config.kv_heads, config.head_dim
    positions = position + np.arange(T)
    h = rms_norm(x, weights["attn_norm"], config.eps)
    q = rope((h @ weights["wq"]).reshape(B, T, Hq, D), positions, config.rope_theta)
    k = rope((h @ weights["wk"]).reshape(B, T, Hkv, D), positions, config.rope_theta)
    v = (h @ weights["wv"]).reshape(B, T, Hkv, D)
    k_cache, v_cache = k_cache.copy(), v_cache.copy()
    if config.layout == "bhsd":
        k_cache[:, :, position:position + T] = k.transpose(0, 2, 1, 3)
        v_cache[:, :, position:position + T] = v.transpose(0, 2, 1, 3)
    else:
        k_cache[:, position:position + T] = k
        v_cache[:, position:position + T] = v
    keys = np.repeat(_to_bhsd(k_cache, config.layout), config.group, axis=1)
    values = np.repeat(_to_bhsd(v_cache, config.layout), config.group, axis=1)
    qh = q.transpose(0, 2, 1, 3)
    scores = qh @ keys.transpose(0, 1, 3, 2) / np.sqrt(D)
    visible = np.arange(config.capacity)[None, :] <= positions[:, None]
    scores = np.where(visible, scores, -np.inf)
    scores = scores - scores.max(-1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(-1, keepdims=True)
    attn = (probs @ values).transpose(0, 2, 1, 3).reshape(B, T, Hq * D)
    x = x + attn @ weights["wo"]
    h = rms_norm(x, weights["mlp_norm"], config.eps)
    gate = h @ weights["w_gate"]
    x = x + (gate / (1.0 + np.exp(-gate)) * (h @ weights["w_up"])) @ weights["w_down"]
    return x, k_cache, v_cache, qh


def run(config, hidden, k_caches, v_caches, weights, position=0):
    """Every layer from `position`: (hidden out, k caches, v caches, queries)."""
    x = np.asarray(hidden, np.float64)
    ks, vs, queries = [], [], []
    for layer in range(config.layers):
        x, k, v, q = attention_layer(config, x, {n: w.astype(np.float64) for n, w in
                                                 weights[layer].items()},
                                     np.asarray(k_caches[layer], np.float64),
                                     np.asarray(v_caches[layer], np.float64), position)
        ks.append(k)
        vs.append(v)
        queries.append(q)
    return x, ks, vs, queries


def prefill(config, hidden, k_caches, v_caches, weights):
    """hidden [B, T, E] at positions [0, T)."""
    return run(config, hidden, k_caches, v_caches, weights, 0)[:3]


def decode(config, hidden, position, k_caches, v_caches, weights):
    """hidden [B, 1, E] at `position`."""
    return run(config, hidden, k_caches, v_caches, weights, position)[:3]
