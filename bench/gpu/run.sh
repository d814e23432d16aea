#!/usr/bin/env bash
# Every GPU check of chunkkv, for a machine with a GPU, CUDA, PyTorch and
# Python but no LLVM/MLIR. Build here first (bash scripts/build.sh
# chunkkv_cuda), then run from the repository root with the two libraries
# carried along:
#   build/lib/libchunkkv_cuda.so build/lib/libchunkkv_cuda_runtime.so
# Results go to $OUT (default /tmp/chunkkv-gpu). Under 5 minutes on an H100.
# Steps: tests, memcheck, benchmark, Nsight Compute counters (docs/gpu.md).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/chunkkv-gpu}
mkdir -p "$OUT"
export CHUNKKV_CUDA_LIBRARY=$PWD/build/lib/libchunkkv_cuda.so
status=0

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"

echo "== integration tests (golden, 200 random and the long cases)"
timeout 150 python3 bench/gpu/test_gpu.py --random 200 --json "$OUT/tests.json" \
  > "$OUT/tests.log" 2>&1 || status=1
grep -E "FAIL|GPU cases passed" "$OUT/tests.log" | tail -20
TESTS=$OUT/tests.json

# Every sm_90 form but _serial launches its kernels to overlap the previous
# one's end. If a variant failed where its _serial alternate passed, run
# everything again with the overlap off (the runtime's switch), so that the
# forms' tests and times still come out of this run.
if python3 bench/gpu/test_gpu.py --overlap-failed "$TESTS"; then
  echo "== failed only with overlapping launches: again, each kernel after the previous one"
  export CHUNKKV_CUDA_DEPENDENT_LAUNCHES=0
  TESTS=$OUT/tests-serial.json
  # Into the same log: no more than eight files come back from a lent GPU.
  echo "== again with CHUNKKV_CUDA_DEPENDENT_LAUNCHES=0" >> "$OUT/tests.log"
  timeout 150 python3 bench/gpu/test_gpu.py --random 200 --json "$TESTS" \
    >> "$OUT/tests.log" 2>&1 || status=1
  sed -n '/CHUNKKV_CUDA_DEPENDENT_LAUNCHES=0/,$p' "$OUT/tests.log" \
    | grep -E "FAIL|GPU cases passed" | tail -20
fi

echo "== compute-sanitizer memcheck"
SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
timeout 150 "$SANITIZER" --tool memcheck --error-exitcode 9 \
  python3 bench/gpu/test_gpu.py --quick > "$OUT/memcheck.log" 2>&1
echo "memcheck exit status: $?" | tee -a "$OUT/memcheck.log"
grep -E "ERROR SUMMARY|GPU cases passed" "$OUT/memcheck.log"

echo "== benchmark"
timeout 150 python3 bench/gpu/bench_gpu.py --profile --tests "$TESTS" \
  --json "$OUT/bench.json" 2>&1 | tee "$OUT/bench.log" \
  || status=1

echo "== kernel counters (Nsight Compute, where it runs)"
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu \
  2>/dev/null | head -1)
if [ -n "$NCU" ] && [ -x "$NCU" ]; then
  # The clocks as they are, as for the benchmark's times.
  timeout 120 "$NCU" --clock-control none --target-processes all --profile-from-start off \
    --section SpeedOfLight --section MemoryWorkloadAnalysis \
    --section ComputeWorkloadAnalysis --section WarpStateStats \
    --section Occupancy --section LaunchStats \
    python3 bench/gpu/kernel_metrics.py --tests "$TESTS" \
      rowtiles2_min3 warps8_long wgmma_long wgmma_rowtiles2_long \
    > "$OUT/ncu.txt" 2>&1
  echo "ncu exit status: $?" | tee -a "$OUT/ncu.txt"
  grep -E "^profiling|^  chunkkv_|Duration|DRAM Throughput|Compute \(SM\) Throughput|==ERROR==" \
    "$OUT/ncu.txt" | head -120
else
  echo "no ncu here: skipped"
fi
exit $status
