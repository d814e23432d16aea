#!/usr/bin/env bash
# The whole test suite: install, build, lit (check-chunkkv) and pytest; then
# the same suite against an ASan + UBSan build (build-asan) with a 60-second
# run of each fuzzer. CHUNKKV_SKIP_SANITIZE=1 stops after the first pass.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# The Python API always loads the uninstrumented C and CUDA libraries: a
# sanitized one cannot be loaded into an uninstrumented Python. The sanitizer
# pass checks the C API itself through test/CAPI.
run_suite() {
  local build=$1
  ninja -C "$build" check-chunkkv
  CHUNKKV_BUILD_DIR="$PWD/$build" PYTHONPATH="$PWD/python" \
    CHUNKKV_LIBRARY="$PWD/build/lib/libChunkKVCAPI.so" \
    CHUNKKV_CUDA_LIBRARY="$PWD/build/lib/libchunkkv_cuda.so" \
    "$PYTHON" -m pytest -q test/python
}

bash scripts/setup.sh
bash scripts/build.sh
# The Python package, with the C library it wraps (import chunkkv anywhere).
CHUNKKV_BUILD_DIR="$PWD/build" "$PYTHON" -m pip install -q ./python
run_suite build
[ "${CHUNKKV_SKIP_SANITIZE:-0}" = 1 ] && exit 0

echo "== sanitizer build (ASan + UBSan) and fuzz smoke"
export ASAN_OPTIONS=allow_user_poisoning=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1
# "ci": fixed runs and seed, so the smoke run repeats from one CI run to the next.
bash scripts/fuzz.sh "${CHUNKKV_FUZZ_SECONDS:-ci}"
BUILD_DIR=build-asan CMAKE_EXTRA_ARGS="-DCHUNKKV_SANITIZE=ON -DCHUNKKV_ENABLE_FUZZERS=ON" \
  bash scripts/build.sh
run_suite build-asan
