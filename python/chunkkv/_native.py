"""Loads libChunkKVCAPI.so (the C API, include/chunkkv-c/ChunkKV.h) with ctypes."""

from __future__ import annotations

import ctypes
import os

LIBRARY_NAME = "libChunkKVCAPI.so"


class ChunkKVError(RuntimeError):
    """An error reported by chunkkv (its message holds the diagnostics)."""


class Policy(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_char_p), ("chunk", ctypes.c_int64),
                ("window", ctypes.c_int64), ("pool", ctypes.c_int64),
                ("aggregate", ctypes.c_char_p), ("budget", ctypes.c_int64),
                ("keep_ratio", ctypes.c_double), ("compression_ratio", ctypes.c_double)]


class Shape(ctypes.Structure):
    _fields_ = [("element_type", ctypes.c_int), ("bshd", ctypes.c_int),
                ("batch", ctypes.c_int64), ("query_heads", ctypes.c_int64),
                ("kv_heads", ctypes.c_int64), ("capacity", ctypes.c_int64),
                ("head_dim", ctypes.c_int64), ("scale", ctypes.c_float)]


def find_library(name: str, variable: str, hint: str) -> str:
    """Path of a bundled library: $variable, the package's _lib folder, or
    $CHUNKKV_BUILD_DIR/lib (default ../build/lib of a source checkout).
    Raises ChunkKVError naming where it looked and `hint`."""
    here = os.path.dirname(os.path.abspath(__file__))
    build = os.environ.get("CHUNKKV_BUILD_DIR", os.path.join(here, "..", "..", "build"))
    tried = [p for p in (os.environ.get(variable), os.path.join(here, "_lib", name),
                         os.path.join(build, "lib", name)) if p]
    path = next((p for p in tried if os.path.exists(p)), None)
    if path is None:
        raise ChunkKVError(f"{name} not found (looked at {', '.join(tried)}); {hint}")
    return os.path.abspath(path)


_library = None


def library():
    """The loaded C API; raises ChunkKVError naming where it looked."""
    global _library
    if _library is not None:
        return _library
    lib = ctypes.CDLL(find_library(LIBRARY_NAME, "CHUNKKV_LIBRARY",
                                   "build chunkkv and reinstall the package, or set "
                                   "CHUNKKV_LIBRARY"))
    p, i64, i64p = ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)
    err = ctypes.POINTER(ctypes.c_void_p)
    signatures = {
        "chunkkvFree": (None, [p]),
        "chunkkvContextCreate": (p, []),
        "chunkkvContextDestroy": (None, [p]),
        "chunkkvCompile": (ctypes.c_int, [p, ctypes.c_char_p, ctypes.c_char_p, err, err]),
        "chunkkvSelectKernelCreate": (p, [ctypes.POINTER(Policy), ctypes.POINTER(Shape), err]),
        "chunkkvSelectKernelDestroy": (None, [p]),
        "chunkkvSelectKernelSizes": (None, [p, i64p, i64p]),
        "chunkkvSelectKernelRun": (ctypes.c_int, [p, p, p, p, p, p, p, p, p, p, p, err]),
        "chunkkvSelectKernelKeptPositions": (i64, [p, i64, p, p]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    _library = lib
    return lib


def take_string(pointer: ctypes.c_void_p) -> str:
    """Copies a string the C API returned, then frees it."""
    if not pointer.value:
        return ""
    text = ctypes.string_at(pointer.value).decode("utf-8", "replace")
    library().chunkkvFree(pointer)
    return text
