#!/usr/bin/env python3
"""Machine code (SASS) of the kernels of a lowered module, loop by loop.

Reads MLIR from chunkkv-gpu-pipeline with format=isa on stdin or from a file
(like ptx_report.py), assembles each kernel with ptxas for --arch and
disassembles it with cuobjdump. For every innermost loop of a kernel (a
backward branch and the code it jumps back over) it prints the static
instruction count, the instructions of one iteration along the shortest and
the longest path through the loop's forward branches, its global loads and
how many times it waits for them (loads in flight until one's result is
read: ptxas may place loads just before their use, whatever their order in
the PTX), and the most frequent opcodes along the shortest. PTX counts
(emulated_profile.py) miss what ptxas does: a 64-bit add is two
instructions, a non-flushing ex2 four, address arithmetic folds into loads;
one iteration's SASS count is what a warp scheduler issues.

  chunkkv-opt m.mlir -chunkkv-gpu-pipeline="chip=sm_90 format=isa" |
    python3 scripts/sass_report.py --arch sm_90 [--kernel NAME] [--opcodes 12]

cuobjdump (which runs nvdisasm) is part of the CUDA toolkit; where the
toolkit lacks them, `pip install nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm`
provides both (found automatically).
"""

import collections
import glob
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ptx_report import module_arguments, read_kernels  # noqa: E402

INSTRUCTION = re.compile(r"/\*([0-9a-f]{4,})\*/\s+([^;]*?)\s*;")
Instruction = collections.namedtuple("Instruction",
                                     "address opcode predicated target writes reads",
                                     defaults=((), ()))
REGISTER = re.compile(r"\bR(\d+)(?:\.64)?\b")
# Opcodes without a destination register: every register operand is read.
NO_DESTINATION = {"STG", "STS", "STL", "ST", "RED", "BRA", "BAR", "EXIT", "LDGSTS",
                  "DEPBAR", "LDGDEPBAR", "NOP", "MEMBAR", "WARPSYNC", "RET"}


def registers(operand, width=1):
    """The register numbers an operand names: `width` from its first (a load's
    destination of .64 or .128), or a pair where it says .64."""
    found = set()
    for match in REGISTER.finditer(operand):
        first = int(match.group(1))
        count = width if width > 1 else (2 if match.group(0).endswith(".64") else 1)
        found.update(range(first, first + count))
    return found


def parse(sass):
    """The instructions of a cuobjdump -sass listing of one kernel."""
    code = []
    for match in INSTRUCTION.finditer(sass):
        words = match.group(2).split()
        predicated = words[0].startswith("@")
        opcode = words[1 if predicated else 0].split(".")[0]
        target = None
        if opcode == "BRA":
            jump = re.search(r"0x([0-9a-f]+)", " ".join(words[2 if predicated else 1:]))
            target = int(jump.group(1), 16) if jump else None
        full = words[1 if predicated else 0]
        operands = [o.strip() for o in " ".join(words[2 if predicated else 1:]).split(",")]
        writes, reads = frozenset(), set()
        if predicated:
            reads |= registers(words[0])
        if opcode in NO_DESTINATION or not operands or not operands[0]:
            reads |= set().union(*(registers(o) for o in operands))
        else:
            width = {"64": 2, "128": 4}.get(full.split(".")[-1], 1)
            writes = frozenset(registers(operands[0], width))
            reads |= set().union(*(registers(o) for o in operands[1:]))
        code.append(Instruction(int(match.group(1), 16), opcode, predicated, target,
                                writes, frozenset(reads)))
    return code


def load_waits(code, path):
    """Global-memory round trips of one iteration along `path`: issue in
    order, every global load (LDG) in flight until an instruction reads what
    one of them loads, which waits for all loads issued so far (they return
    about together). Loads that ptxas schedules just before their use, as it
    may whatever the PTX order, show here as one wait each."""
    pending, waits = set(), 0
    for i in path:
        instr = code[i]
        if pending & instr.reads:
            waits += 1
            pending.clear()
        pending -= instr.writes
        if instr.opcode == "LDG":
            pending |= instr.writes
    return waits


def innermost_loops(code):
    """(first, last) instruction indices of each loop that contains no other:
    a backward branch at `last` to `first`."""
    index = {instr.address: i for i, instr in enumerate(code)}
    loops = [(index[instr.target], i) for i, instr in enumerate(code)
             if instr.target is not None and instr.target < instr.address
             and instr.target in index]
    return [(first, last) for first, last in loops
            if not any(first <= f and l <= last and (f, l) != (first, last)
                       for f, l in loops)]


def iteration_paths(code, first, last):
    """The instruction indices of one iteration from `first` to the back
    edge at `last`, along the shortest and the longest path (forward
    branches inside the loop; a branch out of it ends no iteration); None
    for both where no path gets there."""
    index = {code[i].address: i for i in range(first, last + 1)}
    shortest = {first: [first]}
    longest = {first: [first]}
    for i in range(first, last):
        if i not in shortest:
            continue
        instr = code[i]
        successors = []
        if instr.opcode == "BRA" and instr.target is not None:
            if instr.target in index and index[instr.target] > i:
                successors.append(index[instr.target])
            if instr.predicated:
                successors.append(i + 1)
        elif instr.opcode != "EXIT" or instr.predicated:
            successors.append(i + 1)
        for j in successors:
            if j not in shortest or len(shortest[i]) + 1 < len(shortest[j]):
                shortest[j] = shortest[i] + [j]
            if j not in longest or len(longest[i]) + 1 > len(longest[j]):
                longest[j] = longest[i] + [j]
    if last not in shortest:
        return None, None
    return shortest[last], longest[last]


def cuobjdump_path(given):
    if given:
        return given
    found = shutil.which("cuobjdump") or (
        "/usr/local/cuda/bin/cuobjdump" if os.path.exists("/usr/local/cuda/bin/cuobjdump")
        else None)
    if found:
        return found
    pattern = os.path.join(sysconfig.get_paths()["purelib"], "nvidia", "*", "bin", "cuobjdump")
    wheels = sorted(glob.glob(pattern))
    if wheels:
        return wheels[-1]
    sys.exit("no cuobjdump: install the CUDA toolkit's or `pip install "
             "nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm`, or pass --cuobjdump")


def report(name, code, opcodes):
    print(f"{name}: {len(code)} instructions")
    loops = innermost_loops(code)
    if not loops:
        return
    print("| loop (addresses) | instructions | one iteration: shortest / longest path "
          "| global loads / waits for them (shortest path) "
          "| most frequent opcodes (shortest path) |")
    print("|---|---|---|---|---|")
    for first, last in loops:
        body = code[first:last + 1]
        shortest, longest = iteration_paths(code, first, last)
        # A loop that ptxas enters in its middle has no path from its head.
        path = f"{len(shortest)} / {len(longest)}" if shortest else "entered mid-loop"
        walked = shortest or range(first, last + 1)
        counts = collections.Counter(code[i].opcode for i in walked)
        common = ", ".join(f"{op} {n}" for op, n in counts.most_common(opcodes))
        loads = f"{counts['LDG']} / {load_waits(code, walked)}"
        print(f"| {body[0].address:#06x}-{body[-1].address:#06x} | {len(body)} | "
              f"{path} | {loads} | {common} |")


def main():
    parser = module_arguments(__doc__.split("\n")[0])
    parser.add_argument("--cuobjdump", help="default: PATH, the toolkit, then pip's")
    parser.add_argument("--kernel", help="only kernels of this name")
    parser.add_argument("--opcodes", type=int, default=10,
                        help="opcodes listed per loop")
    args = parser.parse_args()
    found = read_kernels(args, only=args.kernel)
    cuobjdump = cuobjdump_path(args.cuobjdump)
    with tempfile.TemporaryDirectory() as tmp:
        for index, (name, ptx) in enumerate(found):
            source = os.path.join(tmp, f"{index}.ptx")
            cubin = os.path.join(tmp, f"{index}.cubin")
            with open(source, "w") as f:
                f.write(ptx)
            subprocess.run([args.ptxas, f"-arch={args.arch}", source, "-o", cubin], check=True)
            # cuobjdump runs the nvdisasm next to it (pip puts both in one
            # directory, which need not be on PATH).
            env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(cuobjdump))
                       + os.pathsep + os.environ.get("PATH", ""))
            sass = subprocess.run([cuobjdump, "-sass", cubin], check=True, env=env,
                                  capture_output=True, text=True).stdout
            report(name, parse(sass), args.opcodes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
