// RUN: not chunkkv-opt %s -chunkkv-lower-to-loops="vector-width=0" 2>&1 | FileCheck %s

// CHECK: error: chunkkv-lower-to-loops: vector-width must be >= 1, got 0
func.func @f() {
  return
}
