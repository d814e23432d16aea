"""docs/gpu.md's tables of registers and shared memory per kernel are what
scripts/kernel_resources.py reports for the kernels as they are built now;
and the parts of ptx_report.py those numbers rest on: a kernel's launches
in the host code, and the blocks that fit on one SM."""

import os
import re
import shutil
import sys

import pytest

from conftest import ROOT, tool

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import kernel_resources  # noqa: E402
import ptx_report  # noqa: E402

DOC = os.path.join(ROOT, "docs", "gpu.md")


def documented_tables():
    text = open(DOC).read()
    found = re.search(r"<!-- kernel_resources\.py -->\n(.*?)<!-- end kernel_resources\.py -->",
                      text, re.S)
    assert found, "docs/gpu.md has no kernel_resources.py markers"
    return found.group(1)


def test_the_documented_tables_are_the_kernels_as_built():
    ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
    if not os.path.exists(ptxas):
        pytest.skip("no ptxas")
    built = kernel_resources.tables(tool("chunkkv-opt"), ptxas)
    assert documented_tables() == built, (
        "docs/gpu.md's kernel tables differ from the kernels: put the output of "
        "`python3 scripts/kernel_resources.py` between its kernel_resources.py markers "
        "and say in the text around them what changed")


# Two host functions, each with its own constants (SSA names repeat across
# functions): the first launches with constant sizes, the second with a
# block size computed at run time and no dynamic shared memory.
HOST = """
  llvm.func @select() {
    %12 = llvm.mlir.constant(22016 : i32) : i32
    %13 = llvm.mlir.constant(128 : index) : i64
    %20 = llvm.mlir.constant(1 : index) : i64
    gpu.launch_func <%0 : !llvm.ptr> @stats::@stats blocks in (%1, %2, %3) threads in (%13, %20, %20) : i64 dynamic_shared_memory_size %12 args(%4 : i64)
    llvm.return
  }
  llvm.func @select_inplace(%arg0: i64) {
    %13 = llvm.mlir.constant(1 : index) : i64
    %14 = llvm.mul %arg0, %13 : i64
    gpu.launch_func <%0 : !llvm.ptr> @stats_0::@stats blocks in (%1, %2, %3) threads in (%14, %13, %13) : i64 args(%4 : i64)
    llvm.return
  }
"""


def test_launches_take_constants_of_their_own_function():
    assert ptx_report.launches(HOST) == {("stats", "stats"): {(128, 22016)},
                                         ("stats_0", "stats"): {(None, 0)}}


@pytest.mark.parametrize("arch,registers,threads,shared,blocks", [
    # The single-pass statistics kernel: four blocks on sm_90 (registers and
    # shared memory both allow four), three on sm_80's 164 KiB.
    ("sm_90", 128, 128, 24832 + 22016, 4),
    ("sm_80", 128, 128, 24832 + 22016, 3),
    # 168 registers: 5376 per warp, three warps per sub-partition.
    ("sm_90", 168, 128, 25088 + 21504, 3),
    ("sm_90", 211, 128, 25088 + 21504, 2),
    ("sm_90a", 167, 128, 25088 + 44032, 3),
    # Eight warps of 128 registers, 115712 bytes a block: two.
    ("sm_90", 128, 256, 115712, 2),
    # Threads: a block of 1024 with few registers, two per SM.
    ("sm_90", 32, 1024, 128, 2),
    ("sm_75", 32, 128, 0, None),
])
def test_blocks_per_sm(arch, registers, threads, shared, blocks):
    assert ptx_report.blocks_per_sm(arch, registers, threads, shared) == blocks
