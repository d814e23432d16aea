#!/usr/bin/env bash
# Installs what chunkkv needs to build and test: LLVM/MLIR 22 from Debian,
# Ninja, and numpy + pytest for the Python reference. Safe to run again: it
# only installs what is missing.
set -euo pipefail

APT_PACKAGES=(llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22
              lld-22 ninja-build cmake)
PY_PACKAGES=(numpy pytest ml_dtypes)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import numpy, pytest, ml_dtypes" 2>/dev/null; then
  echo "setup: installing ${PY_PACKAGES[*]} for $PYTHON"
  "$PYTHON" -m pip install -q "${PY_PACKAGES[@]}" 2>/dev/null ||
    "$PYTHON" -m pip install -q --break-system-packages "${PY_PACKAGES[@]}"
fi
