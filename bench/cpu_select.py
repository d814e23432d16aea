#!/usr/bin/env python3
"""CPU selection benchmark: chunkkv-run's kernel against the NumPy reference.

For B=1, Hq=32, Hkv=8, D=128, C=10, w=32, keep 10 % (paper policy), f32, and
T in {4096, 16384, 32768}, prints side by side, in the same run:
  - the median kernel time of chunkkv-run (score + select + compact K and V,
    excluding file I/O and JIT), over 5 runs in one process;
  - the median time of the vectorised float32 NumPy reference doing the same
    work (reference.compress_layer), and the ratio;
  - the GFLOP/s of the QK^T work (2 * Hq * w * T * D flops) in chunkkv's
    kernel next to NumPy's own matmul of the same shape;
  - chunkkv-run's peak RSS against its input + output bytes.

Usage: python3 bench/cpu_select.py [--build build] [--lengths 4096,16384,32768]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
from chunkkv import reference as R  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (B, CHUNK, D, HKV, HQ, KEEP, REPEAT, WINDOW,  # noqa: E402
                    median_seconds, torch_eager_seconds)


def run_chunkkv(binary, folder):
    """Median kernel seconds of one chunkkv-run with --repeat."""
    args = [binary, "--q", f"{folder}/q.npy", "--k", f"{folder}/k.npy", "--v",
            f"{folder}/v.npy", "--out", f"{folder}/out", "--chunk-size", str(CHUNK),
            "--window", str(WINDOW), "--keep-ratio", str(KEEP), "--timing",
            "--repeat", str(REPEAT)]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"chunkkv-run failed: {result.stderr}")
    fields = dict(line.split(": ", 1) for line in result.stdout.strip().splitlines())
    return float(fields["kernel_seconds_median"])


def peak_rss(binary, folder):
    """Peak resident memory of one chunkkv-run (repeat 1), in bytes."""
    args = [binary, "--q", f"{folder}/q.npy", "--k", f"{folder}/k.npy", "--v",
            f"{folder}/v.npy", "--out", f"{folder}/out", "--chunk-size", str(CHUNK),
            "--window", str(WINDOW), "--keep-ratio", str(KEEP)]
    pid = os.fork()
    if pid == 0:
        os.execv(binary, args)
    _, status, usage = os.wait4(pid, 0)
    if status:
        sys.exit("chunkkv-run failed")
    return usage.ru_maxrss * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--lengths", default="4096,16384,32768")
    args = parser.parse_args()
    binary = os.path.join(args.build, "bin", "chunkkv-run")
    policy = R.Policy(chunk=CHUNK, window=WINDOW, keep_ratio=KEEP)
    rng = np.random.default_rng(0)
    print(f"B={B} Hq={HQ} Hkv={HKV} D={D} C={CHUNK} w={WINDOW} keep={KEEP} f32, "
          f"median of {REPEAT}")
    header = ("T", "chunkkv s", "numpy s", "numpy/chunkkv", "torch s",
              "chunkkv QK GF/s", "np.matmul GF/s", "peak RSS / (in+out)")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for T in (int(t) for t in args.lengths.split(",")):
        q = rng.standard_normal((B, HQ, WINDOW, D), dtype=np.float32)
        k = rng.standard_normal((B, HKV, T, D), dtype=np.float32)
        v = rng.standard_normal((B, HKV, T, D), dtype=np.float32)
        with tempfile.TemporaryDirectory() as folder:
            for name, array in (("q", q), ("k", k), ("v", v)):
                np.save(f"{folder}/{name}.npy", array)
            kernel = run_chunkkv(binary, folder)
            rss = peak_rss(binary, folder)
        reference = median_seconds(
            lambda: R.compress_layer(q, k, v, None, policy, dtype=np.float32))
        torch_s = torch_eager_seconds(q, k, v, policy)
        qk = q.reshape(HKV, HQ // HKV * WINDOW, D)
        kt = np.ascontiguousarray(k[0].transpose(0, 2, 1))
        matmul = median_seconds(lambda: np.matmul(qk, kt))
        flops = 2.0 * B * HQ * WINDOW * T * D
        io_bytes = 3 * k.nbytes + q.nbytes  # q, k, v in; k, v out (+ small)
        print(f"| {T} | {kernel:.4f} | {reference:.4f} | {reference / kernel:.2f}x | "
              f"{'n/a' if torch_s is None else f'{torch_s:.4f}'} | "
              f"{flops / kernel / 1e9:.1f} | {flops / matmul / 1e9:.1f} | "
              f"{rss / (io_bytes + k.nbytes):.2f} |")


if __name__ == "__main__":
    main()
