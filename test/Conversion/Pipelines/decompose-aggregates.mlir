// RUN: chunkkv-opt %s -split-input-file -chunkkv-decompose-aggregates -verify-diagnostics | FileCheck %s

// linalg.softmax on tensors becomes max / exp / sum / div generics.
// CHECK-LABEL: func.func @softmax
// CHECK-NOT: linalg.softmax
// CHECK: arith.maxnumf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
func.func @softmax(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %e = tensor.empty() : tensor<2x8xf32>
  %s = linalg.softmax dimension(1) ins(%x : tensor<2x8xf32>) outs(%e : tensor<2x8xf32>) -> tensor<2x8xf32>
  return %s : tensor<2x8xf32>
}

// -----

// Code without aggregates is left alone.
// CHECK-LABEL: func.func @none
// CHECK-NEXT: return
func.func @none(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  return %x : tensor<2x8xf32>
}

// -----

// On memrefs there is nothing to decompose into: an error names the op.
func.func @softmax_memref(%x: memref<2x8xf32>, %y: memref<2x8xf32>) {
  // expected-error @+1 {{chunkkv-decompose-aggregates: expected tensor operands (decompose this op before bufferization)}}
  linalg.softmax dimension(1) ins(%x : memref<2x8xf32>) outs(%y : memref<2x8xf32>)
  return
}
