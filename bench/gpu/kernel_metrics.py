"""One selection per kernel form between cudaProfilerStart and Stop, for
Nsight Compute's hardware counters.

bench_gpu.py times each form; this says why a form takes its time: run
under `ncu --profile-from-start off`, only these calls' kernels are
profiled (each once), with the sections run.sh asks for (speed of light,
memory and compute workload, warp states, occupancy): whether the
statistics kernel is bound by DRAM, shared memory, issue or the tensor
cores, in each form. The benchmark's shape at B = 1, T = 131072.

  ncu --profile-from-start off --section SpeedOfLight ... \\
    python3 bench/gpu/kernel_metrics.py [--tests tests.json] [FORM ...]

FORMs are alternates' suffixes (`rowtiles2_min3`, `wgmma_long`, ...), run
after the default; with --tests (test_gpu.py's JSON) a form with a failed
case is left out, the default too, as in bench_gpu.py, and with --after
(bench_gpu.py's JSON) a form that hung in the benchmark.
"""

import argparse
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_gpu import HKV, HQ, D, VARIANT, WINDOW, alternate, kernels_only  # noqa: E402
from chunkkv import torch as chunkkv_torch  # noqa: E402
from test_gpu import untimed_forms  # noqa: E402
from watchdog import stopped_variants  # noqa: E402

LENGTH = 131072


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("forms", nargs="*", help="alternates' suffixes besides the default")
    parser.add_argument("--tests", help="test_gpu.py's JSON: leave out the forms that failed there")
    parser.add_argument("--after", metavar="JSON",
                        help="bench_gpu.py's JSON: leave out the forms that hung there")
    args = parser.parse_args()

    names = [VARIANT] + [f"{VARIANT}_{form}" for form in args.forms]
    untimed = untimed_forms(names, args.tests, default=VARIANT) if args.tests else {}
    untimed.update({name: "hung in the benchmark"
                    for name in stopped_variants(args.after) if name in names})
    for name, why in sorted(untimed.items()):
        print(f"{name}: {why}, not profiled")
    names = [name for name in names if name not in untimed]

    torch.manual_seed(0)
    q = torch.randn(1, HQ, WINDOW, D, dtype=torch.float16, device="cuda")
    k = torch.randn(1, HKV, LENGTH, D, dtype=torch.float16, device="cuda")
    v = torch.randn_like(k)
    for name in names:
        run = kernels_only(q, k, v, alternate(name))
        try:
            # Unprofiled: the profiled call then finds the pool's memory and
            # its kernels' shared-memory allowance in place.
            run()
            torch.cuda.synchronize()
            print(f"profiling {name}", flush=True)
            torch.cuda.profiler.start()
            run()
            torch.cuda.synchronize()
        except chunkkv_torch.ChunkKVError as e:
            print(f"{name}: {e}", flush=True)
        finally:
            torch.cuda.profiler.stop()


if __name__ == "__main__":
    main()
