"""cmake --install gives a CMake package that a project outside the tree uses
(find_package(ChunkKV)): test/install/consumer, built and run here."""

import os
import shutil
import subprocess

import pytest

from conftest import BUILD_DIR, ROOT


def test_installed_package_builds_a_consumer(tmp_path):
    if not os.path.exists(os.path.join(BUILD_DIR, "lib", "libChunkKVCAPI.so")):
        pytest.skip("chunkkv is not built")
    if "asan" in os.path.basename(os.path.normpath(BUILD_DIR)):
        pytest.skip("the consumer links the uninstrumented build")
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", str(prefix)], check=True,
                   capture_output=True)
    for tool in ("chunkkv-opt", "chunkkv-run"):
        assert (prefix / "bin" / tool).exists()
    assert (prefix / "lib" / "cmake" / "chunkkv" / "ChunkKVConfig.cmake").exists()
    consumer = tmp_path / "consumer"
    configure = ["cmake", "-G", "Ninja", "-S", os.path.join(ROOT, "test", "install", "consumer"),
                 "-B", str(consumer), f"-DCMAKE_PREFIX_PATH={prefix}"]
    if shutil.which("clang++-22"):
        configure += ["-DCMAKE_C_COMPILER=clang-22", "-DCMAKE_CXX_COMPILER=clang++-22"]
    subprocess.run(configure, check=True, capture_output=True)
    subprocess.run(["ninja", "-C", str(consumer)], check=True, capture_output=True)
    capi = subprocess.run([str(consumer / "capi-consumer")], capture_output=True, text=True)
    assert capi.returncode == 0 and "capi: lowered to LLVM" in capi.stdout, capi.stdout
    dialect = subprocess.run([str(consumer / "dialect-consumer")], capture_output=True,
                             text=True)
    assert dialect.returncode == 0, dialect.stderr
    assert "dialect: kvpress keeps 5 of 10 chunks" in dialect.stdout
    installed_opt = subprocess.run([str(prefix / "bin" / "chunkkv-opt"),
                                    os.path.join(ROOT, "examples", "select_and_compact.mlir")],
                                   capture_output=True, text=True)
    assert installed_opt.returncode == 0, installed_opt.stderr
