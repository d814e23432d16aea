// RUN: chunkkv-opt %s | chunkkv-opt -mlir-print-local-scope | FileCheck %s
// RUN: chunkkv-opt %s -mlir-print-op-generic | chunkkv-opt -mlir-print-local-scope | FileCheck %s
// RUN: chunkkv-opt %s -split-input-file | FileCheck %s --check-prefix=ALIAS

// Round-trip of every op form: tensors and memrefs, static and dynamic
// shapes, f32/f16/bf16 caches, bhsd/bshd layouts, i32/i64 lengths.

// ALIAS: #policy = #chunkkv.policy<paper, chunk = 10, window = 8, pool = 1, aggregate = sum, budget = 40, reuse = 1>
// ALIAS-LABEL: func.func @tensor_static
// ALIAS: chunkkv.chunk_score #policy layout(bhsd)

// CHECK-LABEL: func.func @tensor_static
func.func @tensor_static(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>,
                         %len: tensor<2xi64>) -> (tensor<2x2x128x16xf32>, tensor<2xi64>) {
  %s0 = tensor.empty() : tensor<2x12xf32>
  // CHECK: %[[S:.*]] = chunkkv.chunk_score <paper, chunk = 10, window = 8, pool = 1, aggregate = sum, budget = 40, reuse = 1> layout(bhsd)
  // CHECK-SAME: ins(%{{.*}}, %{{.*}}, %{{.*}} : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>)
  // CHECK-SAME: outs(%{{.*}} : tensor<2x12xf32>) -> tensor<2x12xf32>
  %s = chunkkv.chunk_score #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
      layout(bhsd)
      ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>)
      outs(%s0 : tensor<2x12xf32>) -> tensor<2x12xf32>
  %ids0 = tensor.empty() : tensor<2x3xi64>
  %kept0 = tensor.empty() : tensor<2xi64>
  // CHECK: %[[T:.*]]:2 = chunkkv.topk_chunks <paper, chunk = 10, window = 8, pool = 1, aggregate = sum, budget = 40, reuse = 1>
  // CHECK-SAME: ins(%[[S]], %{{.*}} : tensor<2x12xf32>, tensor<2xi64>)
  // CHECK-SAME: outs(%{{.*}}, %{{.*}} : tensor<2x3xi64>, tensor<2xi64>) -> tensor<2x3xi64>, tensor<2xi64>
  %ids, %kept = chunkkv.topk_chunks #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
      ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>)
      outs(%ids0, %kept0 : tensor<2x3xi64>, tensor<2xi64>) -> tensor<2x3xi64>, tensor<2xi64>
  // CHECK: chunkkv.compact <paper, chunk = 10, window = 8, pool = 1, aggregate = sum, budget = 40, reuse = 1> layout(bhsd)
  // CHECK-SAME: ins(%{{.*}}, %[[T]]#0, %{{.*}} : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>)
  // CHECK-SAME: -> tensor<2x2x128x16xf32>, tensor<2xi64>
  %kc, %nl = chunkkv.compact #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
      layout(bhsd)
      ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>)
      outs(%k, %kept0 : tensor<2x2x128x16xf32>, tensor<2xi64>)
      -> tensor<2x2x128x16xf32>, tensor<2xi64>
  return %kc, %nl : tensor<2x2x128x16xf32>, tensor<2xi64>
}

// -----

// CHECK-LABEL: func.func @tensor_dynamic_f16_bshd
func.func @tensor_dynamic_f16_bshd(%q: tensor<?x?x32x?xf16>, %k: tensor<?x?x?x?xf16>,
                                   %len: tensor<?xi32>, %s0: tensor<?x?xf32>,
                                   %ids0: tensor<?x?xi32>, %kept0: tensor<?xi32>)
    -> (tensor<?x?x?x?xf16>, tensor<?xi32>) {
  // CHECK: chunkkv.chunk_score <paper, chunk = 16, window = 32, pool = 5, aggregate = mean, keep_ratio = 1.000000e-01, reuse = 2> layout(bshd) scale(1.250000e-01)
  // CHECK-SAME: -> tensor<?x?xf32>
  %s = chunkkv.chunk_score #chunkkv.policy<paper, chunk = 16, pool = 5, aggregate = mean, keep_ratio = 0.1, reuse = 2>
      layout(bshd) scale(0.125)
      ins(%q, %k, %len : tensor<?x?x32x?xf16>, tensor<?x?x?x?xf16>, tensor<?xi32>)
      outs(%s0 : tensor<?x?xf32>) -> tensor<?x?xf32>
  // CHECK: chunkkv.topk_chunks
  // CHECK-SAME: -> tensor<?x?xi32>, tensor<?xi32>
  %ids, %kept = chunkkv.topk_chunks #chunkkv.policy<paper, chunk = 16, pool = 5, aggregate = mean, keep_ratio = 0.1, reuse = 2>
      ins(%s, %len : tensor<?x?xf32>, tensor<?xi32>)
      outs(%ids0, %kept0 : tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x?xi32>, tensor<?xi32>
  // CHECK: chunkkv.compact {{.*}} layout(bshd)
  // CHECK-SAME: -> tensor<?x?x?x?xf16>, tensor<?xi32>
  %kc, %nl = chunkkv.compact #chunkkv.policy<paper, chunk = 16, pool = 5, aggregate = mean, keep_ratio = 0.1, reuse = 2>
      layout(bshd)
      ins(%k, %ids, %len : tensor<?x?x?x?xf16>, tensor<?x?xi32>, tensor<?xi32>)
      outs(%k, %kept0 : tensor<?x?x?x?xf16>, tensor<?xi32>)
      -> tensor<?x?x?x?xf16>, tensor<?xi32>
  return %kc, %nl : tensor<?x?x?x?xf16>, tensor<?xi32>
}

// -----

// Memrefs: no results; compact may write its input in place.
// CHECK-LABEL: func.func @memref_static_bf16_kvpress
func.func @memref_static_bf16_kvpress(%q: memref<1x8x64x128xbf16>, %k: memref<1x400x2x128xbf16>,
                                      %len: memref<1xi64>, %s: memref<1x20xf32>,
                                      %ids: memref<1x5xi64>, %kept: memref<1xi64>) {
  // CHECK: chunkkv.chunk_score <kvpress, chunk = 20, window = 64, pool = 5, aggregate = mean, compression_ratio = 7.500000e-01, reuse = 1> layout(bshd)
  // CHECK-SAME: outs(%{{.*}} : memref<1x20xf32>)
  // CHECK-NOT: ->
  chunkkv.chunk_score #chunkkv.policy<kvpress, compression_ratio = 0.75> layout(bshd)
      ins(%q, %k, %len : memref<1x8x64x128xbf16>, memref<1x400x2x128xbf16>, memref<1xi64>)
      outs(%s : memref<1x20xf32>)
  // CHECK: chunkkv.topk_chunks
  // CHECK-SAME: outs(%{{.*}}, %{{.*}} : memref<1x5xi64>, memref<1xi64>)
  chunkkv.topk_chunks #chunkkv.policy<kvpress, compression_ratio = 0.75>
      ins(%s, %len : memref<1x20xf32>, memref<1xi64>)
      outs(%ids, %kept : memref<1x5xi64>, memref<1xi64>)
  // CHECK: chunkkv.compact
  // CHECK-SAME: outs(%[[K:.*]], %{{.*}} : memref<1x400x2x128xbf16>, memref<1xi64>)
  chunkkv.compact #chunkkv.policy<kvpress, compression_ratio = 0.75> layout(bshd)
      ins(%k, %ids, %len : memref<1x400x2x128xbf16>, memref<1x5xi64>, memref<1xi64>)
      outs(%k, %kept : memref<1x400x2x128xbf16>, memref<1xi64>)
  return
}

// -----

// CHECK-LABEL: func.func @memref_dynamic
func.func @memref_dynamic(%q: memref<?x?x32x?xf32>, %k: memref<?x?x?x?xf32>,
                          %len: memref<?xi32>, %s: memref<?x?xf32>,
                          %ids: memref<?x?xi64>, %kept: memref<?xi32>,
                          %out: memref<?x?x?x?xf32>, %newlen: memref<?xi32>) {
  // CHECK: chunkkv.chunk_score {{.*}} outs(%{{.*}} : memref<?x?xf32>)
  chunkkv.chunk_score #chunkkv.policy<paper, budget = 1024> layout(bhsd)
      ins(%q, %k, %len : memref<?x?x32x?xf32>, memref<?x?x?x?xf32>, memref<?xi32>)
      outs(%s : memref<?x?xf32>)
  // CHECK: chunkkv.topk_chunks
  chunkkv.topk_chunks #chunkkv.policy<paper, budget = 1024>
      ins(%s, %len : memref<?x?xf32>, memref<?xi32>)
      outs(%ids, %kept : memref<?x?xi64>, memref<?xi32>)
  // CHECK: chunkkv.compact {{.*}} outs(%{{.*}}, %{{.*}} : memref<?x?x?x?xf32>, memref<?xi32>)
  chunkkv.compact #chunkkv.policy<paper, budget = 1024> layout(bhsd)
      ins(%k, %ids, %len : memref<?x?x?x?xf32>, memref<?x?xi64>, memref<?xi32>)
      outs(%out, %newlen : memref<?x?x?x?xf32>, memref<?xi32>)
  return
}

// -----

// A keep ratio's chunk-id size is bounded by the longest sequence with that
// many score chunks: S = 300, w = 32, C = 10 gives n = 27 and k = 2.
// CHECK-LABEL: func.func @keep_ratio_sizes
func.func @keep_ratio_sizes(%s: tensor<1x27xf32>, %len: tensor<1xi64>)
    -> (tensor<1x2xi64>, tensor<1xi64>) {
  %ids0 = tensor.empty() : tensor<1x2xi64>
  %kept0 = tensor.empty() : tensor<1xi64>
  // CHECK: chunkkv.topk_chunks {{.*}} -> tensor<1x2xi64>, tensor<1xi64>
  %ids, %kept = chunkkv.topk_chunks #chunkkv.policy<paper, keep_ratio = 0.2>
      ins(%s, %len : tensor<1x27xf32>, tensor<1xi64>)
      outs(%ids0, %kept0 : tensor<1x2xi64>, tensor<1xi64>) -> tensor<1x2xi64>, tensor<1xi64>
  return %ids, %kept : tensor<1x2xi64>, tensor<1xi64>
}
