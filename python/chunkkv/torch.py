"""ChunkKV on CUDA buffers through libchunkkv_cuda.so (ctypes, no build step).

`compress(q, k, v, ...)` takes PyTorch CUDA tensors and returns what
`chunkkv.compress` returns, computed by the kernels that chunkkv-gpu-pipeline
compiled ahead of time. The library holds a fixed set of variants (policy,
element type, layout, head dimension; see `variants()`); batch, heads,
capacity and lengths are free. `select_pointers` is the same call on raw
device pointers, for callers without PyTorch.

The library is found through $CHUNKKV_CUDA_LIBRARY, the package's `_lib`
folder, or ../build/lib of a source checkout.
"""

import ctypes
import functools
import os
from typing import Optional, Union

from . import reference
from ._native import find_library
from .api import ChunkKVError, Compressed, _as_policy

LIBRARY_NAME = "libchunkkv_cuda.so"
ELEMENT_TYPES = {"float32": 0, "float16": 1, "bfloat16": 2}
LAYOUTS = {"bhsd": 0, "bshd": 1}


class CudaPolicy(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_char_p), ("chunk", ctypes.c_int64),
                ("window", ctypes.c_int64), ("pool", ctypes.c_int64),
                ("aggregate", ctypes.c_char_p), ("budget", ctypes.c_int64),
                ("keep_ratio", ctypes.c_double), ("compression_ratio", ctypes.c_double)]


class SelectArgs(ctypes.Structure):
    _fields_ = [("element_type", ctypes.c_int), ("layout", ctypes.c_int),
                ("batch", ctypes.c_int64), ("query_heads", ctypes.c_int64),
                ("kv_heads", ctypes.c_int64), ("capacity", ctypes.c_int64),
                ("head_dim", ctypes.c_int64),
                ("queries", ctypes.c_void_p), ("keys", ctypes.c_void_p),
                ("values", ctypes.c_void_p), ("lengths", ctypes.c_void_p),
                ("chunk_scores", ctypes.c_void_p), ("num_score_chunks", ctypes.c_int64),
                ("chunk_ids", ctypes.c_void_p), ("max_selected", ctypes.c_int64),
                ("kept_lengths", ctypes.c_void_p),
                ("keys_out", ctypes.c_void_p), ("values_out", ctypes.c_void_p),
                ("keys_out_lengths", ctypes.c_void_p),
                ("values_out_lengths", ctypes.c_void_p), ("stream", ctypes.c_void_p)]


_library = None


def library():
    """The loaded CUDA library; raises ChunkKVError naming where it looked."""
    global _library
    if _library is not None:
        return _library
    lib = ctypes.CDLL(find_library(LIBRARY_NAME, "CHUNKKV_CUDA_LIBRARY",
                                   "build chunkkv where ptxas exists, or set "
                                   "CHUNKKV_CUDA_LIBRARY"))
    lib.chunkkv_cuda_select.restype = ctypes.c_int
    lib.chunkkv_cuda_select.argtypes = [ctypes.POINTER(CudaPolicy),
                                        ctypes.POINTER(SelectArgs)]
    lib.chunkkv_cuda_select_variant.restype = ctypes.c_int
    lib.chunkkv_cuda_select_variant.argtypes = [ctypes.c_char_p, ctypes.POINTER(CudaPolicy),
                                                ctypes.POINTER(SelectArgs)]
    lib.chunkkv_cuda_last_error.restype = ctypes.c_char_p
    lib.chunkkv_cuda_variants.restype = ctypes.c_char_p
    _library = lib
    return lib


def variants() -> str:
    """The compiled variants, one per line."""
    return library().chunkkv_cuda_variants().decode()


# Policies are frozen dataclasses: a layer's calls reuse one structure and
# one pair of output sizes instead of building them again each time (a
# few microseconds of Python per call, next to kernels of tens).
@functools.lru_cache(maxsize=64)
def _cuda_policy(policy: reference.Policy) -> CudaPolicy:
    def ratio(value):
        return -1.0 if value is None else float(value)
    return CudaPolicy(policy.policy.encode(), policy.chunk, policy.window, policy.pool,
                      policy.aggregate.encode(),
                      -1 if policy.budget is None else int(policy.budget),
                      ratio(policy.keep_ratio), ratio(policy.compression_ratio))


@functools.lru_cache(maxsize=256)
def output_sizes(policy: reference.Policy, capacity: int):
    """(chunk-score slots, chosen-id slots) for caches of `capacity` rows."""
    n_max = max(policy.num_chunks(capacity), 1)
    return n_max, max(policy.max_selected(n_max), 1)


def select_pointers(policy: reference.Policy, element_type: str, layout: str, batch: int,
                    query_heads: int, kv_heads: int, capacity: int, head_dim: int,
                    pointers: dict, stream: Optional[int] = None,
                    variant: Optional[str] = None) -> None:
    """chunkkv_cuda_select on device pointers. `pointers` maps the names of
    SelectArgs' buffers (queries, keys, values, lengths, chunk_scores,
    chunk_ids, kept_lengths, keys_out, values_out, keys_out_lengths,
    values_out_lengths) to addresses; sizes follow output_sizes(). `variant`
    names the compiled variant to run (chunkkv_cuda_select_variant; the
    only way to run an alternate), else the one matching the policy runs.
    With a `stream` (a CUstream, e.g. torch's `cuda_stream`) the call returns
    once the work is queued on it, as PyTorch's ops do: synchronise the
    stream before reading the outputs on the host. Without one the call
    returns when the work is done."""
    if element_type not in ELEMENT_TYPES:
        raise ChunkKVError(f"element type must be one of {list(ELEMENT_TYPES)}, "
                           f"got {element_type!r}")
    if layout not in LAYOUTS:
        raise ChunkKVError(f"layout must be 'bhsd' or 'bshd', got {layout!r}")
    n_max, k_max = output_sizes(policy, capacity)
    args = SelectArgs(element_type=ELEMENT_TYPES[element_type], layout=LAYOUTS[layout],
                      batch=batch, query_heads=query_heads, kv_heads=kv_heads,
                      capacity=capacity, head_dim=head_dim, num_score_chunks=n_max,
                      max_selected=k_max, stream=stream)
    for name, address in pointers.items():
        setattr(args, name, address)
    lib = library()
    if variant is None:
        status = lib.chunkkv_cuda_select(ctypes.byref(_cuda_policy(policy)), ctypes.byref(args))
    else:
        status = lib.chunkkv_cuda_select_variant(variant.encode(),
                                                 ctypes.byref(_cuda_policy(policy)),
                                                 ctypes.byref(args))
    if status:
        raise ChunkKVError(lib.chunkkv_cuda_last_error().decode())


def compress(q, k, v, lengths=None, policy: Union[reference.Policy, str, dict] = "paper",
             layout: str = "bhsd", inplace: bool = False, **policy_params) -> Compressed:
    """Scores, selects and compacts one layer's caches on the GPU.

    q [B, Hq, w, D], k and v [B, Hkv, S, D] ("bhsd") or [B, S, Hkv, D]
    ("bshd"): CUDA tensors of one dtype (float32, float16, bfloat16);
    `lengths` [B] (default S). With `inplace=True` k and v are compacted in
    place and returned. Runs on the current CUDA stream and waits for it."""
    for name, tensor in (("q", q), ("k", k), ("v", v)):
        if not type(tensor).__module__.startswith("torch") or tensor.device.type != "cuda":
            raise ChunkKVError(f"{name} must be a PyTorch CUDA tensor")
    import torch

    policy = _as_policy(policy, policy_params)
    if not (q.dtype == k.dtype == v.dtype):
        raise ChunkKVError(f"q, k and v must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    element_type = str(q.dtype).replace("torch.", "")
    if element_type not in ELEMENT_TYPES:
        raise ChunkKVError(f"unsupported dtype {q.dtype} (expected float32, float16 or bfloat16)")
    if q.dim() != 4 or k.dim() != 4 or v.shape != k.shape:
        raise ChunkKVError(f"expected q [B, Hq, w, D] and k, v of one rank-4 shape; got "
                           f"q {list(q.shape)}, k {list(k.shape)}, v {list(v.shape)}")
    if layout not in LAYOUTS:
        raise ChunkKVError(f"layout must be 'bhsd' or 'bshd', got {layout!r}")
    batch, kv_heads, capacity, head_dim = (
        (k.shape[0], k.shape[2], k.shape[1], k.shape[3]) if layout == "bshd" else k.shape)
    if q.shape[0] != batch or q.shape[3] != head_dim or q.shape[2] != policy.window:
        raise ChunkKVError(f"q {list(q.shape)} does not match k {list(k.shape)} and the "
                           f"window {policy.window}")
    if inplace and not (k.is_contiguous() and v.is_contiguous()):
        raise ChunkKVError("inplace=True needs contiguous k and v")
    device = k.device
    q, k_in, v_in = q.contiguous(), k.contiguous(), v.contiguous()
    if lengths is None:
        lens = torch.full((batch,), capacity, dtype=torch.int64, device=device)
    else:
        lens = torch.as_tensor(lengths, dtype=torch.int64, device=device).contiguous()
        if tuple(lens.shape) != (batch,):
            raise ChunkKVError(f"lengths must have shape [{batch}], got {list(lens.shape)}")
    n_max, k_max = output_sizes(policy, capacity)
    scores = torch.empty((batch, n_max), dtype=torch.float32, device=device)
    ids = torch.empty((batch, k_max), dtype=torch.int64, device=device)
    kept = torch.empty(batch, dtype=torch.int64, device=device)
    k_out = k_in if inplace else torch.empty_like(k_in)
    v_out = v_in if inplace else torch.empty_like(v_in)
    k_lengths = torch.empty(batch, dtype=torch.int64, device=device)
    v_lengths = torch.empty(batch, dtype=torch.int64, device=device)
    stream = torch.cuda.current_stream(device)
    select_pointers(policy, element_type, layout, batch, q.shape[1], kv_heads, capacity,
                    head_dim,
                    dict(queries=q.data_ptr(), keys=k_in.data_ptr(), values=v_in.data_ptr(),
                         lengths=lens.data_ptr(), chunk_scores=scores.data_ptr(),
                         chunk_ids=ids.data_ptr(), kept_lengths=kept.data_ptr(),
                         keys_out=k_out.data_ptr(), values_out=v_out.data_ptr(),
                         keys_out_lengths=k_lengths.data_ptr(),
                         values_out_lengths=v_lengths.data_ptr()),
                    stream=stream.cuda_stream)
    host_ids, host_lengths = ids.cpu().numpy(), lens.clamp(0, capacity).cpu().numpy()
    positions = reference.kept_positions(host_ids, host_lengths, policy)
    return Compressed(positions, k_lengths, k_out, v_out, ids, scores)


def is_available() -> bool:
    """True when the library loads and a CUDA driver and device exist."""
    try:
        lib = library()
    except ChunkKVError:
        return False
    runtime = ctypes.CDLL(os.path.join(os.path.dirname(lib._name),
                                       "libchunkkv_cuda_runtime.so"))
    return bool(runtime.chunkkvCudaAvailable())
