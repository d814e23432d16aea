#!/usr/bin/env python3
"""Compile time on the 32-layer Llama-3-8B-shaped module, per pass
(chunkkv-opt -mlir-timing): chunkkv-compress (KV-cache detection,
compression insertion, index reuse), then chunkkv-cpu-pipeline. Prints the
total, the chunkkv-compress stages and the passes that take the most,
median of 3 runs.

Usage: python3 bench/compile_time.py [--build build] [--module examples/llama3_8b_32layer.mlir]
"""

import argparse
import collections
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--module", default=os.path.join(ROOT, "examples",
                                                         "llama3_8b_32layer.mlir"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compress", default="policy=paper keep-ratio=0.1 reuse=2",
                        help="options of chunkkv-compress")
    args = parser.parse_args()
    passes = [f"-chunkkv-compress={args.compress}", "-chunkkv-cpu-pipeline"]
    times = collections.defaultdict(list)
    for _ in range(args.runs):
        result = subprocess.run([os.path.join(args.build, "bin", "chunkkv-opt"), args.module,
                                 *passes, "-mlir-timing", "-o", os.devnull],
                                capture_output=True, text=True)
        if result.returncode:
            sys.exit(result.stderr)
        for line in result.stderr.splitlines():
            match = re.match(r"\s*([0-9.]+) \(\s*[0-9.]+%\)\s+(\S.*)$", line)
            if match:
                times[match.group(2).strip()].append(float(match.group(1)))
    medians = {name: statistics.median(v) for name, v in times.items()}
    total = medians.pop("Total")
    print(f"{os.path.basename(args.module)}: chunkkv-opt {' '.join(passes)}, "
          f"median of {args.runs}")
    print("| pass | seconds | share |")
    print("|---|---|---|")
    for name, seconds in sorted(medians.items(), key=lambda item: -item[1])[:12]:
        print(f"| {name} | {seconds:.3f} | {100 * seconds / total:.1f} % |")
    print(f"| **total** | {total:.3f} | 100 % |")
    stages = ["ChunkKVDetectKVCachePass", "ChunkKVInsertCompressionPass",
              "ChunkKVReuseIndicesPass"]
    compress = sum(medians.get(name, 0) for name in stages)
    print("chunkkv-compress: " + ", ".join(
        f"{name} {medians.get(name, 0):.3f} s" for name in stages) +
        f"; {compress:.3f} s in all ({100 * compress / total:.1f} % of the total)")


if __name__ == "__main__":
    main()
