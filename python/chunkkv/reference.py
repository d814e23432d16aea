"""NumPy reference of ChunkKV selection (docs/semantics.md).

Both policies, vectorised over heads, window queries, tokens and chunks; the
only Python loops run over the sequences of a batch (each sequence is selected
on its own) and over layers.

Arrays:
  q        [B, Hq, w, D]   window queries (after RoPE)
  k, v     [B, Hkv, S, D]  caches in "bhsd" layout, or [B, S, Hkv, D] ("bshd")
  lengths  [B]             valid length of each sequence (defaults to S)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional, Sequence

import numpy as np

PAPER = "paper"
KVPRESS = "kvpress"

_DEFAULTS = {
    PAPER: dict(chunk=10, window=32, pool=1, aggregate="sum"),
    KVPRESS: dict(chunk=20, window=64, pool=5, aggregate="mean"),
}


@dataclasses.dataclass(frozen=True)
class Policy:
    """One ChunkKV configuration, named as in docs/semantics.md."""

    policy: str = PAPER
    chunk: Optional[int] = None
    window: Optional[int] = None
    pool: Optional[int] = None
    aggregate: Optional[str] = None
    budget: Optional[int] = None
    keep_ratio: Optional[float] = None
    compression_ratio: Optional[float] = None
    reuse: int = 1

    def __post_init__(self):
        if self.policy not in _DEFAULTS:
            raise ValueError(f"policy must be 'paper' or 'kvpress', got {self.policy!r}")
        for name, value in _DEFAULTS[self.policy].items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        self.validate()

    @classmethod
    def from_params(cls, params: dict) -> "Policy":
        """Builds a policy from a golden case's `params` (extra keys ignored)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in fields})

    def validate(self) -> None:
        if self.chunk <= 0:
            raise ValueError(f"chunk size must be > 0, got {self.chunk}")
        if self.window <= 0:
            raise ValueError(f"window must be > 0, got {self.window}")
        if self.pool < 1 or self.pool % 2 == 0:
            raise ValueError(f"pooling kernel must be odd and >= 1, got {self.pool}")
        if self.aggregate not in ("sum", "mean"):
            raise ValueError(f"aggregate must be 'sum' or 'mean', got {self.aggregate!r}")
        if self.reuse < 1:
            raise ValueError(f"reuse interval must be >= 1, got {self.reuse}")
        given = [n for n in ("budget", "keep_ratio", "compression_ratio")
                 if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("expected exactly one of budget, keep_ratio or "
                             f"compression_ratio, got {given}")
        if self.policy == KVPRESS:
            if self.compression_ratio is None:
                raise ValueError("the kvpress policy takes compression_ratio")
            if not 0.0 <= self.compression_ratio < 1.0:
                raise ValueError("compression_ratio must be in [0, 1)")
            if self.aggregate != "mean":
                raise ValueError("the kvpress policy aggregates chunks by mean")
        else:
            if self.compression_ratio is not None:
                raise ValueError("the paper policy takes budget or keep_ratio")
            if self.budget is not None and self.budget < self.window:
                raise ValueError(f"budget ({self.budget}) must be >= window ({self.window})")
            if self.keep_ratio is not None and not 0.0 < self.keep_ratio <= 1.0:
                raise ValueError("keep_ratio must be in (0, 1]")

    # Formulas of docs/semantics.md -------------------------------------

    def num_chunks(self, length: int) -> int:
        """Chunks tiling the scored range of a sequence of length T."""
        scored = length if self.policy == KVPRESS else max(length - self.window, 0)
        return -(-scored // self.chunk)

    def token_budget(self, length: int) -> int:
        """The paper policy's budget L for a sequence of length T."""
        if self.budget is not None:
            return self.budget
        return int(math.floor(self.keep_ratio * length + 0.5))

    def keeps_whole(self, length: int) -> bool:
        if length <= self.window:
            return True
        if self.policy == KVPRESS:
            return length < self.chunk or self.compression_ratio == 0.0
        return length <= self.token_budget(length)

    def num_selected(self, length: int) -> int:
        """Chunks chosen for a sequence that is not kept whole."""
        n = self.num_chunks(length)
        if self.policy == KVPRESS:
            return min(n, max(1, int(n * (1 - self.compression_ratio))))
        budget = self.token_budget(length)
        if budget <= self.window:
            return 0
        return min(n, (budget - self.window) // self.chunk)

    def max_selected(self, num_score_chunks: int) -> int:
        """Static size of topk_chunks' chunk-id result for `n` score slots."""
        if self.policy == KVPRESS:
            if num_score_chunks == 0:
                return 0
            return min(num_score_chunks,
                       max(1, int(num_score_chunks * (1 - self.compression_ratio))))
        longest = num_score_chunks * self.chunk + self.window
        budget = self.token_budget(longest)
        if budget <= self.window:
            return 0
        return min(num_score_chunks, (budget - self.window) // self.chunk)


# Helpers -----------------------------------------------------------------

def to_bhsd(cache: np.ndarray, layout: str = "bhsd") -> np.ndarray:
    if layout == "bhsd":
        return cache
    if layout == "bshd":
        return cache.transpose(0, 2, 1, 3)
    raise ValueError(f"layout must be 'bhsd' or 'bshd', got {layout!r}")


def _lengths(lengths, batch: int, capacity: int) -> np.ndarray:
    if lengths is None:
        return np.full(batch, capacity, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.shape != (batch,):
        raise ValueError(f"lengths must have shape [{batch}], got {list(lengths.shape)}")
    if np.any(lengths < 0) or np.any(lengths > capacity):
        raise ValueError(f"lengths must lie in [0, {capacity}], got {lengths.tolist()}")
    return lengths


def _check_shapes(q: np.ndarray, k: np.ndarray, policy: Policy) -> None:
    if q.ndim != 4 or k.ndim != 4:
        raise ValueError("q must be [B, Hq, w, D] and k [B, Hkv, S, D]")
    batch, q_heads, window, dim = q.shape
    if k.shape[0] != batch or k.shape[3] != dim:
        raise ValueError(f"q {list(q.shape)} and k {list(k.shape)} disagree on B or D")
    if k.shape[1] == 0 or q_heads % k.shape[1] != 0:
        raise ValueError(f"Hq ({q_heads}) must be a multiple of Hkv ({k.shape[1]})")
    if window != policy.window:
        raise ValueError(f"q holds {window} window queries, the policy's window is {policy.window}")


def avg_pool(x: np.ndarray, kernel: int) -> np.ndarray:
    """avg_pool1d along the last axis: stride 1, zero padding kernel//2,
    divisor `kernel` (PyTorch's defaults)."""
    if kernel == 1:
        return x
    pad = kernel // 2
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)])
    csum = np.cumsum(padded, axis=-1)
    csum = np.concatenate([np.zeros_like(csum[..., :1]), csum], axis=-1)
    return (csum[..., kernel:] - csum[..., :-kernel]) / kernel


def window_probabilities(q_seq: np.ndarray, k_seq: np.ndarray, scale: float,
                         dtype=np.float64) -> np.ndarray:
    """Causal softmax of one sequence's window queries over its valid keys.

    q_seq [Hq, w, D], k_seq [Hkv, T, D] -> prob [Hkv, G, w, T]."""
    q_heads, window, dim = q_seq.shape
    kv_heads, length, _ = k_seq.shape
    groups = q_heads // kv_heads
    qg = q_seq.astype(dtype).reshape(kv_heads, groups, window, dim)
    logits = np.matmul(qg, k_seq.astype(dtype)[:, None].swapaxes(-1, -2)) * dtype(scale)
    prefix = length - window
    visible = np.arange(length)[None, :] <= prefix + np.arange(window)[:, None]
    logits = np.where(visible, logits, -np.inf)
    logits -= logits.max(axis=-1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=-1, keepdims=True)
    return logits


def _chunk_reduce(s: np.ndarray, chunk: int, mean: bool) -> np.ndarray:
    """Sum (or mean) of s over consecutive chunks; the last may be partial."""
    n = -(-s.shape[-1] // chunk)
    padded = np.zeros(n * chunk, dtype=s.dtype)
    padded[: s.shape[-1]] = s
    sums = padded.reshape(n, chunk).sum(axis=-1)
    if not mean:
        return sums
    sizes = np.full(n, chunk, dtype=s.dtype)
    if n:
        sizes[-1] = s.shape[-1] - (n - 1) * chunk
    return sums / sizes


# The three ops -------------------------------------------------------------

def chunk_scores(q, k, lengths=None, policy: Policy = Policy(budget=512),
                 scale: Optional[float] = None, layout: str = "bhsd",
                 dtype=np.float64) -> np.ndarray:
    """chunk_score: [B, n_max] scores, -inf past each sequence's chunks."""
    k = to_bhsd(np.asarray(k), layout)
    q = np.asarray(q)
    _check_shapes(q, k, policy)
    batch, _, window, dim = q.shape
    capacity = k.shape[2]
    lengths = _lengths(lengths, batch, capacity)
    scale = 1.0 / math.sqrt(dim) if scale is None else scale
    n_max = policy.num_chunks(capacity)
    scores = np.full((batch, n_max), -np.inf, dtype=dtype)

    if policy.policy == PAPER:
        for b, length in enumerate(lengths):
            prefix = length - window
            if prefix <= 0:
                continue
            prob = window_probabilities(q[b], k[b, :, :length], scale, dtype)
            tok = avg_pool(prob[..., :prefix].sum(axis=2), policy.pool)  # [Hkv, G, P]
            s = tok.mean(axis=1).sum(axis=0)
            cs = _chunk_reduce(s, policy.chunk, policy.aggregate == "mean")
            scores[b, : cs.shape[0]] = cs
        return scores

    # kvpress: the window's score depends on the maximum over the whole batch.
    per_seq = {}
    for b, length in enumerate(lengths):
        prefix = length - window
        if prefix <= 0:
            continue
        prob = window_probabilities(q[b], k[b, :, :length], scale, dtype)
        tok = avg_pool(prob[..., :prefix].mean(axis=2), policy.pool)
        per_seq[b] = tok.mean(axis=1)  # t[g, j], [Hkv, P]
    if not per_seq:
        return scores
    top = max(t.max() for t in per_seq.values())
    kv_heads = k.shape[1]
    for b, t in per_seq.items():
        s = np.concatenate([t.sum(axis=0),
                            np.full(window, kv_heads * (top + 1), dtype=dtype)])
        cs = _chunk_reduce(s, policy.chunk, mean=True)
        scores[b, : cs.shape[0]] = cs
    return scores


def topk_chunks(scores, lengths, policy: Policy):
    """topk_chunks: (chunk ids [B, k_max] ascending, -1 padded; kept lengths [B])."""
    scores = np.asarray(scores)
    batch, n_max = scores.shape
    lengths = _lengths(lengths, batch, np.iinfo(np.int64).max)
    k_max = policy.max_selected(n_max)
    ids = np.full((batch, k_max), -1, dtype=np.int64)
    kept = lengths.copy()
    for b, length in enumerate(lengths):
        length = int(length)
        if policy.keeps_whole(length):
            continue
        n = policy.num_chunks(length)
        count = policy.num_selected(length)
        # Stable sort on the negated scores: equal scores keep index order,
        # so the lower chunk index wins a tie.
        order = np.argsort(-scores[b, :n], kind="stable")
        chosen = np.sort(order[:count])
        ids[b, :count] = chosen
        sizes = np.minimum(policy.chunk, _scored_length(policy, length) - chosen * policy.chunk)
        kept[b] = sizes.sum() + (policy.window if policy.policy == PAPER else 0)
    return ids, kept


def _scored_length(policy: Policy, length: int) -> int:
    return length if policy.policy == KVPRESS else length - policy.window


def kept_positions(chunk_ids, lengths, policy: Policy) -> list:
    """Kept positions of each sequence, ascending."""
    out = []
    for ids, length in zip(np.asarray(chunk_ids), np.asarray(lengths)):
        length = int(length)
        if policy.keeps_whole(length):
            out.append(np.arange(length, dtype=np.int64))
            continue
        chosen = np.zeros(policy.num_chunks(length), dtype=bool)
        chosen[ids[ids >= 0]] = True
        scored = _scored_length(policy, length)
        keep = chosen[np.arange(scored) // policy.chunk]
        positions = np.nonzero(keep)[0]
        if policy.policy == PAPER:
            positions = np.concatenate([positions, np.arange(scored, length)])
        out.append(positions.astype(np.int64))
    return out


def compact(cache, chunk_ids, lengths, policy: Policy, layout: str = "bhsd"):
    """compact: (cache with kept rows first, same shape; new lengths)."""
    cache = np.asarray(cache)
    view = to_bhsd(cache, layout)
    out = view.copy()
    positions = kept_positions(chunk_ids, lengths, policy)
    for b, pos in enumerate(positions):
        out[b, :, : pos.shape[0]] = view[b][:, pos]
    new_lengths = np.array([p.shape[0] for p in positions], dtype=np.int64)
    return to_bhsd(out, layout), new_lengths


# Whole-layer and multi-layer drivers ---------------------------------------

@dataclasses.dataclass
class Selection:
    scores: np.ndarray          # [B, n_max]
    chunk_ids: np.ndarray       # [B, k_max]
    kept_lengths: np.ndarray    # [B]
    positions: list             # per sequence, ascending


def select(q, k, lengths=None, policy: Policy = Policy(budget=512),
           scale: Optional[float] = None, layout: str = "bhsd",
           dtype=np.float64) -> Selection:
    """chunk_score + topk_chunks of one layer."""
    k = np.asarray(k)
    batch = k.shape[0]
    capacity = to_bhsd(k, layout).shape[2]
    lengths = _lengths(lengths, batch, capacity)
    scores = chunk_scores(q, k, lengths, policy, scale, layout, dtype)
    ids, kept = topk_chunks(scores, lengths, policy)
    return Selection(scores, ids, kept, kept_positions(ids, lengths, policy))


def compress_layer(q, k, v, lengths=None, policy: Policy = Policy(budget=512),
                   scale: Optional[float] = None, layout: str = "bhsd",
                   dtype=np.float64):
    """Score, select and compact one layer: (selection, k', v', new lengths)."""
    sel = select(q, k, lengths, policy, scale, layout, dtype)
    lengths = _lengths(lengths, np.asarray(k).shape[0], to_bhsd(np.asarray(k), layout).shape[2])
    kc, new_lengths = compact(k, sel.chunk_ids, lengths, policy, layout)
    vc, _ = compact(v, sel.chunk_ids, lengths, policy, layout)
    return sel, kc, vc, new_lengths


def leader(layer: int, interval: int) -> int:
    """The layer whose selection `layer` reuses: floor(l / N) * N."""
    if interval < 1:
        raise ValueError(f"reuse interval must be >= 1, got {interval}")
    return (layer // interval) * interval


def compress_layers(qs: Sequence, ks: Sequence, vs: Sequence, lengths=None,
                    policy: Policy = Policy(budget=512),
                    scale: Optional[float] = None, layout: str = "bhsd"):
    """Layer-wise index reuse: only leader layers score and select; every
    layer compacts its own caches with its leader's chunk ids.

    Returns (selections by leader layer, compacted ks, compacted vs, lengths)."""
    if not len(qs) == len(ks) == len(vs):
        raise ValueError("qs, ks and vs must hold one entry per layer")
    batch = np.asarray(ks[0]).shape[0]
    capacity = to_bhsd(np.asarray(ks[0]), layout).shape[2]
    lengths = _lengths(lengths, batch, capacity)
    selections, out_k, out_v, new_lengths = {}, [], [], None
    for layer in range(len(ks)):
        lead = leader(layer, policy.reuse)
        if lead not in selections:
            selections[lead] = select(qs[lead], ks[lead], lengths, policy, scale, layout)
        ids = selections[lead].chunk_ids
        kc, new_lengths = compact(ks[layer], ids, lengths, policy, layout)
        vc, _ = compact(vs[layer], ids, lengths, policy, layout)
        out_k.append(kc)
        out_v.append(vc)
    return selections, out_k, out_v, new_lengths
