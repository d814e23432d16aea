#!/usr/bin/env bash
# The main job on the bundled example: install, build, then run chunkkv-opt
# on examples/ and show the result.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh chunkkv-opt
EXAMPLE=examples/select_and_compact.mlir
echo "== chunkkv-opt $EXAMPLE (verified, printed in custom form)"
"${BUILD_DIR:-build}"/bin/chunkkv-opt "$EXAMPLE"
