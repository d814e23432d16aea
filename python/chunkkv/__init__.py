"""chunkkv: ChunkKV KV-cache compression for MLIR compiler stacks."""

from . import reference  # noqa: F401

__all__ = ["reference"]
