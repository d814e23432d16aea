#!/usr/bin/env python3
"""Assembles the kernels of a lowered module with ptxas and reports them.

Reads MLIR from chunkkv-gpu-pipeline with format=isa (gpu.binary ops holding
PTX) on stdin or from a file, runs `ptxas -v` on each kernel for --arch, and
prints one Markdown table row per kernel: registers, shared memory, spill
bytes, stack. Exits non-zero when ptxas rejects a kernel.

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


def kernels(mlir: str):
    """(kernel name, PTX) of every gpu.binary object in the module."""
    for match in re.finditer(r'assembly = "((?:[^"\\]|\\.)*)"', mlir):
        ptx = unescape(match.group(1))
        for name in re.findall(r"\.visible \.entry (\w+)\(", ptx):
            yield name, ptx


def module_arguments(description):
    """A parser with what every report over a lowered module takes: the
    input, --arch and --ptxas."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("input", nargs="?", help="lowered MLIR (default: stdin)")
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--ptxas", default="ptxas")
    return parser


def read_kernels(args, only=None):
    """(name, PTX) of the input's kernels (those named `only`, if given);
    exits when there are none."""
    mlir = open(args.input).read() if args.input else sys.stdin.read()
    found = [(name, ptx) for name, ptx in kernels(mlir) if not only or name == only]
    if not found:
        sys.exit("no such PTX in the input: lower with chunkkv-gpu-pipeline format=isa")
    return found


def main():
    parser = module_arguments(__doc__.split("\n")[0])
    parser.add_argument("--save-ptx", help="also write each kernel's PTX here")
    args = parser.parse_args()
    found = read_kernels(args)
    print("| kernel | registers | shared memory (bytes) | spill stores/loads (bytes) | stack (bytes) |")
    print("|---|---|---|---|---|")
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, ptx) in enumerate(found):
            path = os.path.join(args.save_ptx or tmp, f"{index:02d}_{name}.ptx")
            if args.save_ptx:
                os.makedirs(args.save_ptx, exist_ok=True)
            with open(path, "w") as f:
                f.write(ptx)
            run = subprocess.run([args.ptxas, "-v", f"-arch={args.arch}", path,
                                  "-o", os.devnull], capture_output=True, text=True)
            if run.returncode:
                print(f"ptxas rejected {name}:\n{run.stderr}", file=sys.stderr)
                status = 1
                continue
            info = run.stderr
            registers = re.search(r"Used (\d+) registers", info)
            shared = re.search(r"(\d+) bytes smem", info)
            spills = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", info)
            stack = re.search(r"(\d+) bytes stack frame", info)
            print(f"| {name} | {registers.group(1) if registers else '?'} | "
                  f"{shared.group(1) if shared else 0} | "
                  f"{spills.group(1) if spills else '?'}/{spills.group(2) if spills else '?'} | "
                  f"{stack.group(1) if stack else '?'} |")
    return status


if __name__ == "__main__":
    sys.exit(main())
