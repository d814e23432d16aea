"""Configuration of a generated Llama-style decoder."""

from __future__ import annotations

import dataclasses

FORMS = ("tensor", "memref")
LAYOUTS = ("bhsd", "bshd")
QK_FORMS = ("batch_matmul", "generic")
SOFTMAX_FORMS = ("linalg", "decomposed")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Sizes and IR forms of a generated decoder module.

    layers L, hidden size E, query heads Hq, kv heads Hkv, head dim D, cache
    capacity S, batch B, prompt length T (prefill), MLP size F."""

    layers: int = 2
    hidden: int = 64
    q_heads: int = 4
    kv_heads: int = 2
    head_dim: int = 16
    capacity: int = 64
    batch: int = 2
    prompt: int = 16
    mlp: int = 128
    rope_theta: float = 10000.0
    eps: float = 1e-5
    form: str = "tensor"
    layer_loop: bool = False
    layout: str = "bhsd"
    qk: str = "batch_matmul"
    softmax: str = "linalg"
    seed: int = 0

    def __post_init__(self):
        checks = [
            (self.form in FORMS, f"form must be one of {FORMS}"),
            (self.layout in LAYOUTS, f"layout must be one of {LAYOUTS}"),
            (self.qk in QK_FORMS, f"qk must be one of {QK_FORMS}"),
            (self.softmax in SOFTMAX_FORMS, f"softmax must be one of {SOFTMAX_FORMS}"),
            (min(self.layers, self.hidden, self.q_heads, self.kv_heads, self.head_dim,
                 self.capacity, self.batch, self.prompt, self.mlp) >= 1,
             "every size must be >= 1"),
            (self.q_heads % self.kv_heads == 0, "q_heads must be a multiple of kv_heads"),
            (self.head_dim % 2 == 0, "head_dim must be even (RoPE rotates halves)"),
            (self.prompt <= self.capacity, "prompt must fit the cache capacity"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)

    @property
    def group(self) -> int:
        return self.q_heads // self.kv_heads

    def cache_shape(self, stacked: bool = False):
        """One layer's cache, [B, Hkv, S, D] or [B, S, Hkv, D]; with `stacked`,
        the [L, ...] cache of the layer-loop form."""
        B, H, S, D = self.batch, self.kv_heads, self.capacity, self.head_dim
        shape = (B, H, S, D) if self.layout == "bhsd" else (B, S, H, D)
        return ((self.layers,) + shape) if stacked else shape

    def weight_shapes(self):
        """Name and shape of each per-layer weight, in argument order."""
        E, F = self.hidden, self.mlp
        q, kv = self.q_heads * self.head_dim, self.kv_heads * self.head_dim
        return [("attn_norm", (E,)), ("wq", (E, q)), ("wk", (E, kv)), ("wv", (E, kv)),
                ("wo", (q, E)), ("mlp_norm", (E,)), ("w_gate", (E, F)),
                ("w_up", (E, F)), ("w_down", (F, E))]
