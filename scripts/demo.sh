#!/usr/bin/env bash
# The main job on the bundled examples: install, build, run chunkkv-opt on
# examples/ and show the results (the ops lowered to LLVM, the KV caches
# found in the tiny Llama model), then compress a bundled cache with
# chunkkv-run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh chunkkv-opt chunkkv-run ChunkKVCAPI
CHUNKKV_BUILD_DIR="$PWD/${BUILD_DIR:-build}" "${PYTHON:-python3}" -m pip install -q ./python
BIN="${BUILD_DIR:-build}/bin"
EXAMPLE=examples/select_and_compact.mlir
echo "== chunkkv-opt $EXAMPLE (verified, printed in custom form)"
"$BIN/chunkkv-opt" "$EXAMPLE"
echo "== chunkkv-opt $EXAMPLE -chunkkv-cpu-pipeline (LLVM dialect: its functions)"
"$BIN/chunkkv-opt" "$EXAMPLE" -chunkkv-cpu-pipeline | grep "llvm.func" | cut -c1-100
echo "== chunkkv-opt examples/tiny_llama.mlir -chunkkv-detect-kv-cache=report=true"
"$BIN/chunkkv-opt" examples/tiny_llama.mlir -chunkkv-detect-kv-cache=report=true -o /dev/null
echo "== chunkkv-compress on examples/tiny_llama.mlir: prefill and decode on the CPU"
PYTHONPATH=python "${PYTHON:-python3}" scripts/demo_compress.py "${BUILD_DIR:-build}"
echo "== chunkkv-run on test/golden/kvpress_basic (333 tokens, kvpress, cr = 0.75)"
CASE=test/golden/kvpress_basic
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
"$BIN/chunkkv-run" --q $CASE/q.npy --k $CASE/k.npy --v $CASE/v.npy --out "$OUT" \
  --policy kvpress --compression-ratio 0.75 --timing
"${PYTHON:-python3}" - "$OUT" <<'PY'
import sys
import numpy as np
out = sys.argv[1]
positions = np.load(f"{out}/kept_positions.npy")[0]
print(f"kept {np.load(f'{out}/lengths.npy')[0]} of 333 tokens:", positions.tolist())
PY
