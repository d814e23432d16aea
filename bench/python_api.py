#!/usr/bin/env python3
"""CPU selection through the Python API (chunkkv.compress) against the NumPy
reference and, where installed, PyTorch CPU eager; optional plot.

B=1, Hq=32, Hkv=8, D=128, C=10, w=32, keep 10 % (paper), f32, T in
{4096, 16384, 32768} by default. Each implementation does score + select +
compact of K and V; chunkkv's kernel is compiled before timing (the first
call per shape compiles it, ~0.2 s). Medians of 5, ratios from the same run.

Usage: python3 bench/python_api.py [--lengths 4096,16384,32768] [--plot out.png]
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import chunkkv  # noqa: E402
from chunkkv import reference as R  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (B, CHUNK, D, HKV, HQ, KEEP, REPEAT, WINDOW,  # noqa: E402
                    median_seconds, torch_eager_seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="4096,16384,32768")
    parser.add_argument("--plot", help="write a PNG of time vs T (needs matplotlib)")
    args = parser.parse_args()
    policy = R.Policy(chunk=CHUNK, window=WINDOW, keep_ratio=KEEP)
    rng = np.random.default_rng(0)
    rows = []
    print(f"B={B} Hq={HQ} Hkv={HKV} D={D} C={CHUNK} w={WINDOW} keep={KEEP} f32, median of {REPEAT}")
    print("| T | chunkkv.compress s | numpy s | numpy/chunkkv | torch s | torch/chunkkv |")
    print("|---|---|---|---|---|---|")
    for T in (int(t) for t in args.lengths.split(",")):
        q = rng.standard_normal((B, HQ, WINDOW, D), dtype=np.float32)
        k = rng.standard_normal((B, HKV, T, D), dtype=np.float32)
        v = rng.standard_normal((B, HKV, T, D), dtype=np.float32)
        chunkkv.compress(q, k, v, policy=policy)  # compiles the kernel
        ours = median_seconds(lambda: chunkkv.compress(q, k, v, policy=policy))
        numpy_s = median_seconds(lambda: R.compress_layer(q, k, v, None, policy,
                                                          dtype=np.float32))
        torch_s = torch_eager_seconds(q, k, v, policy)
        rows.append((T, ours, numpy_s, torch_s))
        torch_text = "n/a | n/a" if torch_s is None else f"{torch_s:.4f} | {torch_s / ours:.2f}x"
        print(f"| {T} | {ours:.4f} | {numpy_s:.4f} | {numpy_s / ours:.2f}x | {torch_text} |")
    if args.plot:
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot")
            return
        lengths = [r[0] for r in rows]
        plt.figure(figsize=(6, 4))
        plt.plot(lengths, [r[1] for r in rows], "o-", label="chunkkv.compress (JIT, 1 core)")
        plt.plot(lengths, [r[2] for r in rows], "s-", label="NumPy reference (float32)")
        if all(r[3] is not None for r in rows):
            plt.plot(lengths, [r[3] for r in rows], "^-", label="PyTorch eager (CPU)")
        plt.xlabel("prompt length T")
        plt.ylabel("seconds (median of 5)")
        plt.xscale("log", base=2)
        plt.yscale("log")
        plt.title("ChunkKV score + select + compact, one layer")
        plt.legend()
        plt.grid(True, alpha=0.3)
        plt.tight_layout()
        plt.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
