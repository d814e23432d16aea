"""chunkkv: ChunkKV KV-cache compression for MLIR compiler stacks.

    import chunkkv
    text = chunkkv.compile(module_text, "builtin.module(chunkkv-detect-kv-cache)")
    out = chunkkv.compress(q, k, v, lengths, policy="paper", budget=512)

`chunkkv.reference` is the NumPy reference, `chunkkv.models` the decoder
generator. compile and compress use the C library libChunkKVCAPI.so.
"""

from . import models, reference
from ._native import ChunkKVError
from .api import Compressed, compile, compress

__all__ = ["ChunkKVError", "Compressed", "compile", "compress", "models", "reference"]
