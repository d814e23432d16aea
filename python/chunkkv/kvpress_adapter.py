"""ChunkKV through chunkkv's compiled kernels, as a kvpress press.

`ChunkKVCompiledPress` has the `compress(module, hidden_states, keys, values,
attentions, kwargs)` method of kvpress's `ChunkKVPress(SnapKVPress(...))` and
computes the same selection (the `kvpress` policy of docs/semantics.md) with
`chunkkv.compress`. It needs torch; with kvpress installed it is a kvpress
`BasePress`, so kvpress's pipelines and hooks accept it:

    from chunkkv.kvpress_adapter import ChunkKVCompiledPress
    press = ChunkKVCompiledPress(compression_ratio=0.5)
    pipe(context, question=question, press=press)
"""

from __future__ import annotations

import dataclasses

from . import reference
from .api import compress

try:  # kvpress is optional
    from kvpress.presses.base_press import BasePress as _Base
except ImportError:  # pragma: no cover - depends on the environment
    _Base = object


def window_queries(module, hidden_states, window: int, position_embeddings):
    """The last `window` queries of a Llama-style attention `module`, after
    RoPE, as [B, Hq, w, D] (what SnapKV computes)."""
    import torch

    bsz = hidden_states.shape[0]
    heads = module.config.num_attention_heads
    head_dim = module.head_dim
    queries = module.q_proj(hidden_states[:, -window:])
    queries = queries.view(bsz, window, heads, head_dim).transpose(1, 2)
    cos, sin = position_embeddings
    cos, sin = cos[:, -window:].unsqueeze(1), sin[:, -window:].unsqueeze(1)
    half = head_dim // 2
    rotated = torch.cat([-queries[..., half:], queries[..., :half]], dim=-1)
    return queries * cos + rotated * sin


@dataclasses.dataclass
class ChunkKVCompiledPress(_Base):
    """kvpress's ChunkKVPress(SnapKVPress) with chunkkv's CPU kernels."""

    compression_ratio: float = 0.0
    chunk_length: int = 20
    window_size: int = 64
    kernel_size: int = 5

    def policy(self) -> reference.Policy:
        return reference.Policy("kvpress", chunk=self.chunk_length, window=self.window_size,
                                pool=self.kernel_size,
                                compression_ratio=self.compression_ratio)

    def compress(self, module, hidden_states, keys, values, attentions, kwargs):
        """keys, values [B, Hkv, T, D] -> the kept rows, as kvpress returns them."""
        import torch

        if self.compression_ratio == 0:
            return keys, values
        queries = window_queries(module, hidden_states, self.window_size,
                                 kwargs["position_embeddings"])
        device, dtype = keys.device, keys.dtype
        cpu = [t.detach().to("cpu", torch.float32).contiguous()
               for t in (queries, keys, values)]
        out = compress(*cpu, policy=self.policy())
        kept = int(out.lengths.max())
        if int(out.lengths.min()) != kept:
            raise ValueError("sequences of one batch kept different lengths; kvpress "
                             "needs one length per batch")
        return (out.keys[:, :, :kept].to(device, dtype),
                out.values[:, :, :kept].to(device, dtype))
