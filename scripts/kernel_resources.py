#!/usr/bin/env python3
"""Registers, shared memory and blocks per SM of the library's kernels, the
tables of docs/gpu.md.

Lowers variants of runtime/variants.py with chunkkv-gpu-pipeline (format=isa
and each variant's own options, as `variants.py --pipeline-options` gives
them), assembles their kernels with ptxas (ptx_report.py) and prints two
Markdown tables: every kernel of the benchmark's variant for sm_90 and
sm_80, then the score kernels of each other form of that configuration (the
library's alternates and the f32 cache) for the chip each is built for.
Where a kernel appears more than once with different numbers (the selection
out of place, then in place), a cell lists them in that order. docs/gpu.md
holds this output between its `kernel_resources.py` markers, and
test/python/test_kernel_resources.py checks that it still does.

  python3 scripts/kernel_resources.py [--opt build/bin/chunkkv-opt] [--ptxas ptxas]
"""

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "runtime"))
import variants  # noqa: E402
from ptx_report import report  # noqa: E402

BENCHMARK = "paper_c10_w32_r01_f16_bhsd_d128"
# The benchmark's configuration with an f32 cache: the FMA score kernels.
F32_FORM = "paper_c10_w32_r01_f32_bhsd_d128"


def pipeline_options(name, chip):
    """chunkkv-gpu-pipeline's options for variant `name`, and the chip its
    kernels are for (a variant's own `chip=` comes last and wins)."""
    extra = variants.ALTERNATES[name][1] if name in variants.ALTERNATES else ""
    options = f"chip={chip} format=isa {extra}".strip()
    return options, re.findall(r"\bchip=(\w+)", options)[-1]


def resources(name, chip, opt, ptxas):
    """ptx_report.report's rows for the kernels of variant `name`."""
    options, arch = pipeline_options(name, chip)
    lowered = subprocess.run([opt, f"-chunkkv-gpu-pipeline={options}"],
                             input=variants.module(name), capture_output=True,
                             text=True)
    if lowered.returncode:
        sys.exit(f"chunkkv-opt failed on {name} ({options}):\n{lowered.stderr}")
    rows = report(lowered.stdout, arch, ptxas)
    for row in rows:
        if "rejected" in row:
            sys.exit(f"ptxas rejected {row['name']} of {name} ({arch}):\n{row['rejected']}")
    return rows, arch


def by_kernel(rows):
    """{kernel: its rows, in order}, kernels in the order they first appear."""
    grouped = {}
    for row in rows:
        grouped.setdefault(row["name"], []).append(row)
    return grouped


def cell(rows, value):
    """`value(row)` of each row, the distinct ones in order, joined."""
    seen = []
    for row in rows:
        if value(row) not in seen:
            seen.append(value(row))
    return ", ".join("?" if v is None else str(v) for v in seen)


def shared(row):
    if row["dynamic"] is None:
        return f"{row['shared']} + ?"
    return f"{row['shared']} + {row['dynamic']}" if row["dynamic"] else str(row["shared"])


def spills(row):
    return row["spill_stores"] + row["spill_loads"]


def benchmark_table(opt, ptxas):
    sm90 = by_kernel(resources(BENCHMARK, "sm_90", opt, ptxas)[0])
    sm80 = by_kernel(resources(BENCHMARK, "sm_80", opt, ptxas)[0])
    lines = ["| kernel | registers, sm_90 | registers, sm_80 | shared memory, static + "
             "dynamic (bytes) | threads | blocks per SM, sm_90 / sm_80 | spills (bytes) |",
             "|---|---|---|---|---|---|---|"]
    for kernel, rows in sm90.items():
        both = rows + sm80[kernel]
        lines.append(
            f"| `{kernel}` | {cell(rows, lambda r: r['registers'])} | "
            f"{cell(sm80[kernel], lambda r: r['registers'])} | {cell(both, shared)} | "
            f"{cell(both, lambda r: r['threads'])} | "
            f"{cell(rows, lambda r: r['blocks_per_sm'])} / "
            f"{cell(sm80[kernel], lambda r: r['blocks_per_sm'])} | {cell(both, spills)} |")
    return lines


def forms_table(opt, ptxas):
    """The score kernels of the benchmark configuration's other forms; an
    alternate that only launches differently (dependent-launches) has the
    default's kernels and is left out."""
    forms = [name for name, (base, options) in variants.ALTERNATES.items()
             if base == BENCHMARK
             and re.sub(r"\bdependent-launches=\w+", "", options).strip()]
    lines = ["| form | chip | kernel | registers | shared memory, static + dynamic "
             "(bytes) | threads | blocks per SM | spills (bytes) |",
             "|---|---|---|---|---|---|---|---|"]
    for name in forms + [F32_FORM]:
        rows, arch = resources(name, "sm_90", opt, ptxas)
        form = name[len(BENCHMARK) + 1:] if name.startswith(BENCHMARK + "_") else name
        for kernel, group in by_kernel(rows).items():
            if not kernel.startswith("chunkkv_score_"):
                continue
            lines.append(
                f"| `{form}` | {arch} | `{kernel}` | {cell(group, lambda r: r['registers'])} | "
                f"{cell(group, shared)} | {cell(group, lambda r: r['threads'])} | "
                f"{cell(group, lambda r: r['blocks_per_sm'])} | {cell(group, spills)} |")
    return lines


def tables(opt, ptxas):
    """Both tables, as docs/gpu.md holds them."""
    return "\n".join(benchmark_table(opt, ptxas) + [""] + forms_table(opt, ptxas)) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opt", default=os.path.join(ROOT, "build", "bin", "chunkkv-opt"))
    parser.add_argument("--ptxas", default="ptxas")
    args = parser.parse_args()
    sys.stdout.write(tables(args.opt, args.ptxas))


if __name__ == "__main__":
    main()
