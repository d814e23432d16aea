#!/usr/bin/env bash
# Every GPU check of chunkkv, for a machine with a GPU, CUDA, PyTorch and
# Python but no LLVM/MLIR. Build here first (bash scripts/build.sh
# chunkkv_cuda), then run from the repository root with the two libraries
# carried along:
#   build/lib/libchunkkv_cuda.so build/lib/libchunkkv_cuda_runtime.so
# Results go to $OUT (default /tmp/chunkkv-gpu). Under 5 minutes on an H100.
# Steps: tests, benchmark, memcheck, Nsight Compute counters (docs/gpu.md).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=${OUT:-/tmp/chunkkv-gpu}
mkdir -p "$OUT"
export CHUNKKV_CUDA_LIBRARY=$PWD/build/lib/libchunkkv_cuda.so
status=0

# Every step's time limit comes out of one budget, so that hung kernels,
# faults and the runs that go on after them still end the script in under
# five minutes.
END=$((SECONDS + ${CHUNKKV_GPU_SECONDS:-285}))
# The seconds a step may take: at most $1, and what the budget has left.
# Never below 1: `timeout 0` would mean no limit at all.
limit() {
  local left=$((END - SECONDS))
  left=$((left < $1 ? left : $1))
  echo $((left < 1 ? 1 : left))
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"

# The integration tests into $1, each run with the time it may take (at
# most $2 seconds in all). A case that hangs or loses the CUDA context ends
# a run; the next one goes on without that case's variant (--resume), so
# that every other form is still tested. Into one log: no more than eight
# files come back from a lent GPU.
run_tests() {
  local json=$1 until=$((SECONDS + $2)) resume=() seconds tests_status
  rm -f "$json"
  while seconds=$(limit $((until - SECONDS))) && [ "$seconds" -gt 10 ]; do
    timeout "$seconds" python3 bench/gpu/test_gpu.py --random 200 --json "$json" \
      "${resume[@]}" >> "$OUT/tests.log" 2>&1
    tests_status=$?
    if [ ! -f "$json" ] || python3 bench/gpu/test_gpu.py --finished "$json"; then
      return $tests_status
    fi
    echo "== stopped before the last case: going on (--resume)" >> "$OUT/tests.log"
    resume=(--resume)
  done
  return 1
}

echo "== integration tests (golden, 200 random and the long cases)"
: > "$OUT/tests.log"
run_tests "$OUT/tests.json" 170 || status=1
grep -E "FAIL|GPU cases passed|going on" "$OUT/tests.log" | tail -20
TESTS=$OUT/tests.json

# Every sm_90 form but _serial launches its kernels to overlap the previous
# one's end. If a variant failed where its _serial alternate passed, run
# everything again with the overlap off (the runtime's switch), so that the
# forms' tests and times still come out of this run.
if python3 bench/gpu/test_gpu.py --overlap-failed "$TESTS"; then
  echo "== failed only with overlapping launches: again, each kernel after the previous one"
  export CHUNKKV_CUDA_DEPENDENT_LAUNCHES=0
  TESTS=$OUT/tests-serial.json
  echo "== again with CHUNKKV_CUDA_DEPENDENT_LAUNCHES=0" >> "$OUT/tests.log"
  run_tests "$TESTS" 120 || status=1
  sed -n '/CHUNKKV_CUDA_DEPENDENT_LAUNCHES=0/,$p' "$OUT/tests.log" \
    | grep -E "FAIL|GPU cases passed|going on" | tail -20
fi

echo "== benchmark"
# A form that hangs ends a run (exit status 3); the next goes on without it.
: > "$OUT/bench.log"
stopped_bench=$(mktemp)
after=()
bench_status=1
while [ "$(limit 150)" -gt 20 ]; do
  timeout "$(limit 150)" python3 bench/gpu/bench_gpu.py --profile --tests "$TESTS" \
    --json "$OUT/bench.json" "${after[@]}" 2>&1 | tee -a "$OUT/bench.log"
  bench_status=${PIPESTATUS[0]}
  [ "$bench_status" -eq 3 ] || break
  cp "$OUT/bench.json" "$stopped_bench"
  after=(--after "$stopped_bench")
done
[ "$bench_status" -eq 0 ] || status=1

echo "== compute-sanitizer memcheck"
# Without the variants that hung or lost the context in the tests: they
# would end this run too.
SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
if [ "$(limit 120)" -lt 20 ]; then
  echo "no time left for memcheck: skipped" | tee "$OUT/memcheck.log"
  status=1
else
  timeout "$(limit 120)" "$SANITIZER" --tool memcheck --error-exitcode 9 \
    python3 bench/gpu/test_gpu.py --quick --case-timeout 60 --skip-stopped "$TESTS" \
    > "$OUT/memcheck.log" 2>&1
  echo "memcheck exit status: $?" | tee -a "$OUT/memcheck.log"
  grep -E "ERROR SUMMARY|GPU cases passed|hung" "$OUT/memcheck.log"
fi

echo "== kernel counters (Nsight Compute, where it runs)"
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu \
  2>/dev/null | head -1)
if [ "$(limit 120)" -lt 30 ]; then
  echo "no time left for ncu: skipped"
elif [ -n "$NCU" ] && [ -x "$NCU" ]; then
  # The clocks as they are, as for the benchmark's times.
  timeout "$(limit 120)" "$NCU" --clock-control none --target-processes all \
    --profile-from-start off \
    --section SpeedOfLight --section MemoryWorkloadAnalysis \
    --section ComputeWorkloadAnalysis --section WarpStateStats \
    --section Occupancy --section LaunchStats \
    python3 bench/gpu/kernel_metrics.py --tests "$TESTS" --after "$OUT/bench.json" \
      rowtiles2_min3_long warps8_long wgmma_long wgmma_rowtiles2_long \
    > "$OUT/ncu.txt" 2>&1
  echo "ncu exit status: $?" | tee -a "$OUT/ncu.txt"
  grep -E "^profiling|^  chunkkv_|Duration|DRAM Throughput|Compute \(SM\) Throughput|==ERROR==" \
    "$OUT/ncu.txt" | head -120
else
  echo "no ncu here: skipped"
fi
exit $status
