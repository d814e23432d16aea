// MLIR 22's parser crashes on a malformed integer list in linalg.transpose (a
// fuzzer finding; Debian's mlir-opt crashes too). chunkkv-opt parses under a
// crash guard first and reports it instead.
// AddressSanitizer's own handler takes the crash first in the sanitizer build:
// UNSUPPORTED: asan
// RUN: not chunkkv-opt %s 2>&1 | FileCheck %s

// CHECK: chunkkv-opt: error: {{.*}}parser-crash.mlir: MLIR's parser crashed on this malformed input (a bug in upstream MLIR 22; mlir-opt crashes too)
func.func @f(%a: tensor<2x16x2x16xf32>, %e: tensor<2x2x16x16xf32>) {
  %t = linalg.transpose ins(%a : tensor<2x16x2x16xf32>) outs(%e : tensor<2x2x16x16xf32>) permutation = [in5: f32, %out6: f32):
  return
}
