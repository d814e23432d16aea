#!/usr/bin/env bash
# Builds the libFuzzer targets (ASan + UBSan, in build-asan) and runs each for
# SECONDS (default 60) from the seed corpus (lit cases, golden .npy files) with
# the keyword dictionary. New inputs accumulate in build-asan/fuzz-corpus/;
# a crash is saved to build-asan/fuzz-findings/ and fails the script.
# CHUNKKV_FUZZ_SEED fixes libFuzzer's seed (0, the default, picks one).
# SECONDS may be "ci": a fixed number of runs per fuzzer (about a minute each
# here) with seed 1, so that CI repeats the same inputs every time.
#   bash scripts/fuzz.sh [SECONDS] [FUZZER...]
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-60}
shift || true
FUZZERS=("$@")
((${#FUZZERS[@]})) || FUZZERS=(parse-verify lowering npy)
BUILD_DIR=${SANITIZE_BUILD_DIR:-build-asan}
export ASAN_OPTIONS=${ASAN_OPTIONS:-allow_user_poisoning=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

BUILD_DIR=$BUILD_DIR CMAKE_EXTRA_ARGS="-DCHUNKKV_SANITIZE=ON -DCHUNKKV_ENABLE_FUZZERS=ON" \
  bash scripts/build.sh "${FUZZERS[@]/#/chunkkv-fuzz-}"

SEEDS=$(mktemp -d)
trap 'rm -rf "$SEEDS"' EXIT
"${PYTHON:-python3}" fuzz/make-corpus.py "$SEEDS"
mkdir -p "$BUILD_DIR/fuzz-findings"
for fuzzer in "${FUZZERS[@]}"; do
  case $fuzzer in
    npy) seeds=$SEEDS/npy ;;
    *) seeds=$SEEDS/ir ;;
  esac
  corpus=$BUILD_DIR/fuzz-corpus/$fuzzer
  mkdir -p "$corpus"
  echo "== chunkkv-fuzz-$fuzzer (${SECONDS_EACH})"
  if [ "$SECONDS_EACH" = ci ]; then
    case $fuzzer in
      parse-verify) limit=-runs=90000 ;;
      lowering) limit=-runs=30000 ;;
      npy) limit=-runs=20000000 ;;
    esac
    seed=1
  else
    limit=-max_total_time=$SECONDS_EACH
    seed=${CHUNKKV_FUZZ_SEED:-0}
  fi
  log=$BUILD_DIR/fuzz-findings/$fuzzer.log
  status=0
  "$BUILD_DIR/bin/chunkkv-fuzz-$fuzzer" "$corpus" "$seeds" \
    -dict=fuzz/chunkkv.dict "$limit" -timeout=30 \
    -rss_limit_mb=4096 -max_len=8192 -print_final_stats=1 \
    -seed="$seed" \
    -artifact_prefix="$BUILD_DIR/fuzz-findings/$fuzzer-" >"$log" 2>&1 || status=$?
  grep -E "^(INFO: seed corpus|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|Test unit written)" "$log" || true
  if [ "$status" -ne 0 ]; then
    echo "chunkkv-fuzz-$fuzzer failed (status $status); log: $log" >&2
    exit 1
  fi
done
