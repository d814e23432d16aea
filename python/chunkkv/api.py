"""The Python API: compile MLIR with the chunkkv passes, compress KV caches
with the JIT-compiled CPU kernels."""

from __future__ import annotations

import ctypes
import dataclasses
import math
import threading
from typing import Optional, Union

import numpy as np

from . import reference
from ._native import ChunkKVError, Policy as _CPolicy, Shape as _CShape, library, take_string

_ELEMENT_TYPES = {np.dtype(np.float32): 0, np.dtype(np.float16): 1}


def _bfloat16():
    try:
        import ml_dtypes
    except ImportError:
        return None
    return np.dtype(ml_dtypes.bfloat16)


_context_lock = threading.Lock()
_context = None


def compile(module: str, pipeline: str = "") -> str:  # noqa: A001 (the API's name)
    """Parses `module`, runs the textual pass `pipeline` (for example
    "builtin.module(chunkkv-detect-kv-cache)"; empty: verify only) and
    returns the printed result. Raises ChunkKVError with the diagnostics."""
    global _context
    if not isinstance(module, str) or not isinstance(pipeline, str):
        raise TypeError("module and pipeline must be str")
    lib = library()
    output, error = ctypes.c_void_p(), ctypes.c_void_p()
    # One MLIR context for the process; it is not used from two threads at once.
    with _context_lock:
        if _context is None:
            _context = lib.chunkkvContextCreate()
        status = lib.chunkkvCompile(_context, module.encode(), pipeline.encode(),
                                    ctypes.byref(output), ctypes.byref(error))
    if status:
        raise ChunkKVError(take_string(error))
    return take_string(output)


@dataclasses.dataclass
class Compressed:
    """What compress returns (arrays of the input's kind: NumPy or torch)."""
    kept_positions: list   # per sequence, ascending int64
    lengths: object        # [B] int64
    keys: object           # compacted k, same shape; rows past a length are zero
    values: object         # compacted v
    chunk_ids: object      # [B, k] int64, -1 padded
    scores: object         # [B, n] float32 chunk scores


class _KernelCache:
    """Compiled kernels by (policy, shape); compiling takes ~0.2 s."""

    def __init__(self):
        self._kernels = {}
        self._lock = threading.Lock()

    def get(self, policy: reference.Policy, shape: tuple, element_type: int, bshd: bool,
            scale: Optional[float]):
        key = (policy, shape, element_type, bshd, scale)
        with self._lock:
            if key not in self._kernels:
                self._kernels[key] = _compile_kernel(policy, shape, element_type, bshd, scale)
            return self._kernels[key]


def _compile_kernel(policy, shape, element_type, bshd, scale):
    lib = library()
    c_policy = _CPolicy(
        policy.policy.encode(), policy.chunk, policy.window, policy.pool,
        policy.aggregate.encode(), -1 if policy.budget is None else policy.budget,
        math.nan if policy.keep_ratio is None else policy.keep_ratio,
        math.nan if policy.compression_ratio is None else policy.compression_ratio)
    batch, query_heads, kv_heads, capacity, head_dim = shape
    c_shape = _CShape(element_type, int(bshd), batch, query_heads, kv_heads, capacity,
                      head_dim, math.nan if scale is None else scale)
    error = ctypes.c_void_p()
    handle = lib.chunkkvSelectKernelCreate(ctypes.byref(c_policy), ctypes.byref(c_shape),
                                           ctypes.byref(error))
    if not handle:
        raise ChunkKVError(take_string(error))
    n, k = ctypes.c_int64(), ctypes.c_int64()
    lib.chunkkvSelectKernelSizes(handle, ctypes.byref(n), ctypes.byref(k))
    return _Kernel(handle, n.value, k.value)


class _Kernel:
    def __init__(self, handle, num_scores, max_chosen):
        self.handle, self.num_scores, self.max_chosen = handle, num_scores, max_chosen

    def __del__(self):
        if self.handle:
            library().chunkkvSelectKernelDestroy(self.handle)
            self.handle = None


_kernels = _KernelCache()


def _as_policy(policy, overrides) -> reference.Policy:
    if isinstance(policy, reference.Policy):
        if overrides:
            return dataclasses.replace(policy, **overrides)
        return policy
    if isinstance(policy, str):
        return reference.Policy(policy, **overrides)
    if isinstance(policy, dict):
        return reference.Policy.from_params({**policy, **overrides})
    raise TypeError("policy must be a reference.Policy, 'paper', 'kvpress' or a dict")


def _to_numpy(array, name):
    """(array as a C-contiguous NumPy array, converter back to the input kind)."""
    if type(array).__module__.startswith("torch"):
        import torch
        if array.device.type != "cpu":
            raise ChunkKVError(f"{name} is on {array.device}; device='cpu' needs CPU tensors")
        if array.dtype == torch.bfloat16:
            bf16 = _bfloat16()
            if bf16 is None:
                raise ChunkKVError("bfloat16 tensors need the ml_dtypes package")
            data = array.contiguous().view(torch.int16).numpy().view(bf16)
            return data, lambda a: torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
        return np.ascontiguousarray(array.numpy()), torch.from_numpy
    return np.ascontiguousarray(array), (lambda a: a)


def compress(q, k, v, lengths=None, policy: Union[reference.Policy, str, dict] = "paper",
             device: str = "cpu", layout: str = "bhsd", scale: Optional[float] = None,
             **policy_params) -> Compressed:
    """Scores, selects and compacts one layer's caches with ChunkKV.

    q [B, Hq, w, D], k and v [B, Hkv, S, D] (layout "bhsd") or [B, S, Hkv, D]
    ("bshd"), f32/f16/bf16 NumPy arrays or CPU torch tensors; `lengths` [B]
    (default S). The policy is a reference.Policy, a kind with parameters as
    keywords (`compress(q, k, v, policy="paper", budget=512)`), or a dict of
    the golden cases' `params`. device="cuda" takes CUDA tensors and runs the
    kernels of libchunkkv_cuda.so (chunkkv.torch.compress)."""
    if device == "cuda":
        if scale is not None:
            raise ChunkKVError("device='cuda' uses the default scale 1/sqrt(D)")
        from . import torch as cuda
        return cuda.compress(q, k, v, lengths, policy, layout=layout, **policy_params)
    if device != "cpu":
        raise ChunkKVError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if layout not in ("bhsd", "bshd"):
        raise ChunkKVError(f"layout must be 'bhsd' or 'bshd', got {layout!r}")
    policy = _as_policy(policy, {k_: v_ for k_, v_ in policy_params.items()
                                 if k_ != "lengths"})
    (qa, _), (ka, back), (va, _) = (_to_numpy(x, n) for x, n in ((q, "q"), (k, "k"), (v, "v")))
    if qa.ndim != 4 or ka.ndim != 4 or va.shape != ka.shape:
        raise ChunkKVError(f"expected q [B, Hq, w, D] and k, v of one rank-4 shape; got "
                           f"q {list(qa.shape)}, k {list(ka.shape)}, v {list(va.shape)}")
    if not (qa.dtype == ka.dtype == va.dtype):
        raise ChunkKVError(f"q, k and v must share a dtype, got {qa.dtype}, {ka.dtype}, {va.dtype}")
    types = dict(_ELEMENT_TYPES)
    if _bfloat16() is not None:
        types[_bfloat16()] = 2
    if qa.dtype not in types:
        raise ChunkKVError(f"unsupported dtype {qa.dtype} (expected float32, float16 or bfloat16)")
    bshd = layout == "bshd"
    batch, kv_heads, capacity, head_dim = (ka.shape[0], ka.shape[2], ka.shape[1], ka.shape[3]) \
        if bshd else ka.shape
    if qa.shape[0] != batch or qa.shape[3] != head_dim:
        raise ChunkKVError(f"q {list(qa.shape)} does not match k {list(ka.shape)} in B or D")
    if qa.shape[2] != policy.window:
        raise ChunkKVError(f"q holds {qa.shape[2]} window queries, the policy's window is "
                           f"{policy.window}")
    if qa.shape[1] % kv_heads:
        raise ChunkKVError(f"Hq ({qa.shape[1]}) must be a multiple of Hkv ({kv_heads})")
    if lengths is None:
        lens = np.full(batch, capacity, dtype=np.int64)
    else:
        lens = np.ascontiguousarray(_to_numpy(lengths, "lengths")[0], dtype=np.int64)
        if lens.shape != (batch,):
            raise ChunkKVError(f"lengths must have shape [{batch}], got {list(lens.shape)}")

    kernel = _kernels.get(policy, (batch, qa.shape[1], kv_heads, capacity, head_dim),
                          types[qa.dtype], bshd, scale)
    scores = np.zeros((batch, kernel.num_scores), np.float32)
    ids = np.zeros((batch, kernel.max_chosen), np.int64)
    kept = np.zeros(batch, np.int64)
    new_lengths = np.zeros(batch, np.int64)
    k_out, v_out = np.zeros_like(ka), np.zeros_like(va)
    error = ctypes.c_void_p()
    pointer = lambda a: a.ctypes.data_as(ctypes.c_void_p)  # noqa: E731
    status = library().chunkkvSelectKernelRun(
        kernel.handle, pointer(qa), pointer(ka), pointer(va), pointer(lens), pointer(scores),
        pointer(ids), pointer(kept), pointer(k_out), pointer(v_out), pointer(new_lengths),
        ctypes.byref(error))
    if status:
        raise ChunkKVError(take_string(error))
    positions = []
    for b in range(batch):
        out = np.zeros(max(int(lens[b]), 1), np.int64)
        count = library().chunkkvSelectKernelKeptPositions(
            kernel.handle, int(lens[b]), pointer(ids[b]), pointer(out))
        positions.append(out[:count])
    return Compressed(positions, back(new_lengths), back(k_out), back(v_out), back(ids),
                      back(scores))
