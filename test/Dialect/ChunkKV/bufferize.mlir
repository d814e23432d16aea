// RUN: chunkkv-opt %s -one-shot-bufferize="bufferize-function-boundaries" -split-input-file | FileCheck %s

// One-Shot Bufferize turns the tensor forms into memref forms writing the
// buffers of their inits; inits are not read, so no copies are made.

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>

// CHECK-LABEL: func.func @bufferize_all
// CHECK-SAME: (%[[Q:.*]]: memref<2x4x8x16xf32, {{.*}}>, %[[K:.*]]: memref<2x2x128x16xf32, {{.*}}>, %[[LEN:.*]]: memref<2xi64, {{.*}}>)
// CHECK: %[[S:.*]] = memref.alloc() {{.*}} : memref<2x12xf32>
// CHECK: chunkkv.chunk_score {{.*}} ins(%[[Q]], %[[K]], %[[LEN]] : {{.*}}) outs(%[[S]] : memref<2x12xf32>)
// CHECK-NOT: ->
// CHECK: chunkkv.topk_chunks {{.*}} ins(%[[S]], %[[LEN]] : {{.*}}) outs(%[[IDS:.*]], %[[KEPT:.*]] : memref<2x3xi64>, memref<2xi64>)
// CHECK-NOT: memref.copy
// CHECK: chunkkv.compact {{.*}} ins(%[[K]], %[[IDS]], %[[LEN]] : {{.*}}) outs(%[[K]], %[[KEPT]] :
// CHECK: return %[[K]], %[[KEPT]]
func.func @bufferize_all(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32> {bufferization.writable = true},
                         %len: tensor<2xi64>) -> (tensor<2x2x128x16xf32>, tensor<2xi64>) {
  %s0 = tensor.empty() : tensor<2x12xf32>
  %s = chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>)
      outs(%s0 : tensor<2x12xf32>) -> tensor<2x12xf32>
  %ids0 = tensor.empty() : tensor<2x3xi64>
  %kept0 = tensor.empty() : tensor<2xi64>
  %ids, %kept = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>)
      outs(%ids0, %kept0 : tensor<2x3xi64>, tensor<2xi64>) -> tensor<2x3xi64>, tensor<2xi64>
  %kc, %nl = chunkkv.compact #p layout(bhsd)
      ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>)
      outs(%k, %kept : tensor<2x2x128x16xf32>, tensor<2xi64>)
      -> tensor<2x2x128x16xf32>, tensor<2xi64>
  return %kc, %nl : tensor<2x2x128x16xf32>, tensor<2xi64>
}
