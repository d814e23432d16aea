// RUN: chunkkv-opt %s -chunkkv-cpu-pipeline | FileCheck %s
// RUN: chunkkv-opt %s -chunkkv-cpu-pipeline="vector-width=8" | FileCheck %s --check-prefix=WIDTH8

// Tensor-form ops and the function around them reach the LLVM dialect; the
// vector exponential is a polynomial, not a libm call per lane.

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>

// CHECK-LABEL: llvm.func @select(
// CHECK-NOT: math.exp
// CHECK-NOT: llvm.call @expf
// CHECK-NOT: chunkkv.
// CHECK-NOT: memref.
// CHECK-NOT: scf.
// CHECK: llvm.intr.fma({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK: llvm.intr.vector.reduce.fadd
// WIDTH8: llvm.intr.fma({{.*}}) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
func.func @select(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>)
    -> (tensor<2x3xi64>, tensor<2xi64>) {
  %s0 = tensor.empty() : tensor<2x12xf32>
  %s = chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>)
      outs(%s0 : tensor<2x12xf32>) -> tensor<2x12xf32>
  %ids0 = tensor.empty() : tensor<2x3xi64>
  %kept0 = tensor.empty() : tensor<2xi64>
  %ids, %kept = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>)
      outs(%ids0, %kept0 : tensor<2x3xi64>, tensor<2xi64>) -> tensor<2x3xi64>, tensor<2xi64>
  return %ids, %kept : tensor<2x3xi64>, tensor<2xi64>
}
