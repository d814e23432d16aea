# -*- Python -*-
# lit configuration of the chunkkv regression tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "CHUNKKV"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "python", "golden", "CMakeLists.txt"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.chunkkv_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
llvm_config.use_default_substitutions()
llvm_config.with_system_environment(["ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"])
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.chunkkv_tools_dir, config.llvm_tools_dir]
tools = ["chunkkv-opt", "chunkkv-run", "chunkkv-capi-test", "mlir-runner", "mlir-opt"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# In the sanitizer build, libraries are instrumented and cannot be loaded
# into Debian's uninstrumented tools (mlir-opt plugins).
if config.chunkkv_sanitize:
    config.available_features.add("asan")

# The plugin that upstream mlir-opt loads.
config.substitutions.append(
    ("%chunkkv_plugin", os.path.join(config.chunkkv_obj_root, "lib", "libChunkKVPlugin.so")))

# The Python package (model generator) and where it finds the tools.
config.substitutions.append(("%python", config.python_executable))
config.environment["PYTHONPATH"] = os.path.join(config.chunkkv_src_root, "python")
config.environment["CHUNKKV_BUILD_DIR"] = config.chunkkv_obj_root

# GPU checks that need no GPU: ptxas assembles the generated PTX; the CUDA
# runtime library is built where cuda.h exists. A GPU itself is never
# assumed here (bench/gpu/run.sh runs the executed GPU tests).
config.substitutions.append(("%chunkkv_src", config.chunkkv_src_root))
if config.chunkkv_ptxas and os.path.exists(config.chunkkv_ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.chunkkv_ptxas))
if config.chunkkv_cuda_include and "NOTFOUND" not in config.chunkkv_cuda_include:
    config.available_features.add("cuda-runtime")
    config.substitutions.append(
        ("%chunkkv_cuda_runtime",
         os.path.join(config.chunkkv_obj_root, "lib", "libchunkkv_cuda_runtime.so")))
if os.path.exists("/dev/nvidia0"):
    config.available_features.add("cuda-device")

# Runtime libraries of mlir-runner for the executed tests.
llvm_lib_dir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
for name in ("mlir_runner_utils", "mlir_c_runner_utils"):
    config.substitutions.append(
        ("%" + name, os.path.join(llvm_lib_dir, "lib" + name + ".so")))
