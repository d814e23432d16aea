#!/usr/bin/env bash
# The whole test suite: install, build, lit (check-chunkkv), pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh
ninja -C "${BUILD_DIR:-build}" check-chunkkv
CHUNKKV_BUILD_DIR="$PWD/${BUILD_DIR:-build}" PYTHONPATH="$PWD/python" \
  "${PYTHON:-python3}" -m pytest -q test/python
