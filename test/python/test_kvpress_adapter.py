"""The kvpress adapter against kvpress's own ChunkKVPress (skipped without
kvpress and torch)."""

import pytest

torch = pytest.importorskip("torch")
kvpress = pytest.importorskip("kvpress")

from chunkkv.kvpress_adapter import ChunkKVCompiledPress  # noqa: E402


class _Attention(torch.nn.Module):
    """A minimal Llama-style attention module: what SnapKV reads from one."""

    def __init__(self, hidden=64, heads=4, kv_heads=2, head_dim=16):
        super().__init__()
        self.config = type("Config", (), {"num_attention_heads": heads,
                                          "num_key_value_heads": kv_heads})()
        self.head_dim = head_dim
        self.q_proj = torch.nn.Linear(hidden, heads * head_dim, bias=False)


def test_matches_kvpress_chunkkv_press():
    from kvpress import ChunkKVPress, SnapKVPress

    torch.manual_seed(0)
    module = _Attention()
    T = 300
    hidden = torch.randn(1, T, 64)
    keys, values = torch.randn(1, 2, T, 16), torch.randn(1, 2, T, 16)
    angle = torch.arange(T)[:, None] * (10000.0 ** (-torch.arange(8) / 8))[None]
    cos = torch.cat([angle.cos()] * 2, -1)[None]
    sin = torch.cat([angle.sin()] * 2, -1)[None]
    kwargs = {"position_embeddings": (cos, sin)}
    ours = ChunkKVCompiledPress(compression_ratio=0.5).compress(module, hidden, keys, values,
                                                                None, kwargs)
    theirs = ChunkKVPress(press=SnapKVPress(compression_ratio=0.5), chunk_length=20).compress(
        module, hidden, keys, values, None, kwargs)
    assert ours[0].shape == theirs[0].shape
    torch.testing.assert_close(ours[0], theirs[0])
