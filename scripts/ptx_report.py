#!/usr/bin/env python3
"""Assembles the kernels of a lowered module with ptxas and reports them.

Reads MLIR from chunkkv-gpu-pipeline with format=isa (gpu.binary ops holding
PTX) on stdin or from a file, runs `ptxas -v` on each kernel for --arch, and
prints one Markdown table row per kernel: registers, static shared memory,
spill bytes, stack, threads per block (the PTX's `.maxntid`, else the
module's launches), the dynamic shared memory its launches ask for and the
blocks that fit on one SM of --arch (registers, shared memory, threads);
"?" where a launch's block or dynamic size is no constant. Exits non-zero
when ptxas rejects a kernel. docs/gpu.md's tables of registers and shared
memory come from here (test/python/test_kernel_resources.py holds them to
it).

  chunkkv-opt m.mlir -chunkkv-gpu-pipeline="chip=sm_90 format=isa" |
    python3 scripts/ptx_report.py --arch sm_90 [--ptxas PATH] [--save-ptx DIR]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile


def unescape(text: str) -> str:
    """MLIR string attribute escapes (\\XX hex, \\\\, \\") to bytes."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "\\":
            nxt = text[i + 1]
            if nxt in '\\"':
                out += nxt.encode()
                i += 2
            else:
                out.append(int(text[i + 1:i + 3], 16))
                i += 3
        else:
            out += text[i].encode()
            i += 1
    return out.decode()


def binaries(mlir: str):
    """(gpu.binary symbol, kernel name, PTX) of every gpu.binary object in
    the module."""
    pattern = r'gpu\.binary @(\w+) .*?assembly = "((?:[^"\\]|\\.)*)"'
    for match in re.finditer(pattern, mlir):
        ptx = unescape(match.group(2))
        for name in re.findall(r"\.visible \.entry (\w+)\(", ptx):
            yield match.group(1), name, ptx


def kernels(mlir: str):
    """(kernel name, PTX) of every gpu.binary object in the module."""
    for _, name, ptx in binaries(mlir):
        yield name, ptx


def launches(mlir: str):
    """{(binary, kernel): set of (threads per block, dynamic shared memory
    bytes)} of the host functions' gpu.launch_func ops, each value an
    llvm.mlir.constant of the same function or None where it is another."""
    found = {}
    constants = {}
    for line in mlir.splitlines():
        if re.match(r"\s*llvm\.func ", line):
            constants = {}
        constant = re.match(r"\s*(%\w+) = llvm\.mlir\.constant\((-?\d+) : \w+\)", line)
        if constant:
            constants[constant.group(1)] = int(constant.group(2))
        launch = re.search(r"gpu\.launch_func .*?@(\w+)::@(\w+)", line)
        if not launch:
            continue
        block = re.search(r"threads in \((%\w+), (%\w+), (%\w+)\)", line)
        threads = None
        if block and all(v in constants for v in block.groups()):
            threads = 1
            for v in block.groups():
                threads *= constants[v]
        size = re.search(r"dynamic_shared_memory_size (%\w+)", line)
        dynamic = constants.get(size.group(1)) if size else 0
        found.setdefault(launch.groups(), set()).add((threads, dynamic))
    return found


# What one SM holds, per chip (sm_90a is an sm_90 with more instructions):
# registers (four sub-partitions of 16384, allocated per warp in units of
# 256), shared memory (each block takes 1 KiB more than it asks for,
# reserved by the system), threads and blocks.
SM_LIMITS = {
    "sm_80": dict(shared=167936, threads=2048, blocks=32),
    "sm_90": dict(shared=233472, threads=2048, blocks=32),
}


def blocks_per_sm(arch, registers, threads, shared):
    """Blocks of `threads` threads with `registers` each and `shared` bytes
    of shared memory that fit on one SM of `arch`; None for another arch."""
    limits = SM_LIMITS.get(arch.removesuffix("a"))
    if limits is None:
        return None
    warps = -(-threads // 32)
    registers_per_warp = -(-max(registers, 1) * 32 // 256) * 256
    by_registers = 4 * (16384 // registers_per_warp) // warps
    by_shared = limits["shared"] // (shared + 1024)
    return min(by_registers, by_shared, limits["threads"] // threads, limits["blocks"])


def report(mlir: str, arch: str, ptxas: str = "ptxas", save_ptx=None):
    """One dict per kernel of the module, in order: name, registers, shared
    (static bytes), spill_stores, spill_loads, stack, threads (per block),
    dynamic (shared memory bytes its launches ask for), blocks_per_sm (None
    where a number is unknown: a block size or dynamic size that is no
    constant); or, where ptxas rejected the kernel, name and rejected
    (ptxas's message)."""
    launched = launches(mlir)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, (binary, name, ptx) in enumerate(binaries(mlir)):
            path = os.path.join(save_ptx or tmp, f"{index:02d}_{name}.ptx")
            if save_ptx:
                os.makedirs(save_ptx, exist_ok=True)
            with open(path, "w") as f:
                f.write(ptx)
            run = subprocess.run([ptxas, "-v", f"-arch={arch}", path, "-o", os.devnull],
                                 capture_output=True, text=True)
            if run.returncode:
                rows.append(dict(name=name, rejected=run.stderr))
                continue
            info = run.stderr

            def number(pattern, group=1, default=None):
                found = re.search(pattern, info)
                return int(found.group(group)) if found else default

            spills = r"(\d+) bytes spill stores, (\d+) bytes spill loads"
            row = dict(name=name, registers=number(r"Used (\d+) registers"),
                       shared=number(r"(\d+) bytes smem", default=0),
                       spill_stores=number(spills, 1), spill_loads=number(spills, 2),
                       stack=number(r"(\d+) bytes stack frame"))
            # Threads and dynamic shared memory as the module launches the
            # kernel (known only when every launch agrees), the PTX's
            # .maxntid where it has one.
            threads, dynamic = (next(iter(launched[binary, name]))
                                if len(launched.get((binary, name), ())) == 1
                                else (None, None))
            maxntid = re.search(r"\.maxntid (\d+), (\d+), (\d+)", ptx)
            if maxntid:
                threads = (int(maxntid.group(1)) * int(maxntid.group(2))
                           * int(maxntid.group(3)))
            row.update(threads=threads, dynamic=dynamic)
            row["blocks_per_sm"] = (
                blocks_per_sm(arch, row["registers"], threads, row["shared"] + dynamic)
                if None not in (row["registers"], threads, dynamic) else None)
            rows.append(row)
    return rows


def module_arguments(description):
    """A parser with what every report over a lowered module takes: the
    input, --arch and --ptxas."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("input", nargs="?", help="lowered MLIR (default: stdin)")
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--ptxas", default="ptxas")
    return parser


def read_module(args):
    """The input's text; exits when it holds no kernel's PTX."""
    mlir = open(args.input).read() if args.input else sys.stdin.read()
    if next(kernels(mlir), None) is None:
        sys.exit("no such PTX in the input: lower with chunkkv-gpu-pipeline format=isa")
    return mlir


def read_kernels(args, only=None):
    """(name, PTX) of the input's kernels (those named `only`, if given);
    exits when there are none."""
    found = [(name, ptx) for name, ptx in kernels(read_module(args))
             if not only or name == only]
    if not found:
        sys.exit("no such PTX in the input: lower with chunkkv-gpu-pipeline format=isa")
    return found


def main():
    parser = module_arguments(__doc__.split("\n")[0])
    parser.add_argument("--save-ptx", help="also write each kernel's PTX here")
    args = parser.parse_args()
    mlir = read_module(args)
    print("| kernel | registers | shared memory (bytes) | spill stores/loads (bytes) "
          "| stack (bytes) | threads | dynamic shared memory (bytes) | blocks per SM |")
    print("|---|---|---|---|---|---|---|---|")
    status = 0

    def shown(value):
        return "?" if value is None else value

    for row in report(mlir, args.arch, args.ptxas, args.save_ptx):
        if "rejected" in row:
            print(f"ptxas rejected {row['name']}:\n{row['rejected']}", file=sys.stderr)
            status = 1
            continue
        print(f"| {row['name']} | {shown(row['registers'])} | {row['shared']} | "
              f"{shown(row['spill_stores'])}/{shown(row['spill_loads'])} | "
              f"{shown(row['stack'])} | {shown(row['threads'])} | "
              f"{shown(row['dynamic'])} | "
              f"{shown(row['blocks_per_sm'])} |")
    return status


if __name__ == "__main__":
    sys.exit(main())
