// RUN: not chunkkv-opt %s -chunkkv-lower-to-gpu="tokens-per-block=48" 2>&1 | FileCheck %s

// CHECK: error: chunkkv-lower-to-gpu: tokens-per-block must be a positive multiple of 32, got 48
func.func @f() {
  return
}
