// RUN: chunkkv-opt %s -split-input-file -canonicalize | FileCheck %s --check-prefix=EFFECTS
// RUN: chunkkv-opt %s -split-input-file -resolve-ranked-shaped-type-result-dims | FileCheck %s --check-prefix=REIFY

// Memory effects: ops on tensors have none, so unused ones are erased; ops on
// memrefs write their outs and stay.

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>

// EFFECTS-LABEL: func.func @unused_tensor_ops_are_dead
// EFFECTS-NOT: chunkkv.
// EFFECTS: return
func.func @unused_tensor_ops_are_dead(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>,
                                      %len: tensor<2xi64>, %s0: tensor<2x12xf32>) {
  %s = chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>)
      outs(%s0 : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// EFFECTS-LABEL: func.func @memref_ops_stay
// EFFECTS: chunkkv.chunk_score
// EFFECTS: chunkkv.topk_chunks
// EFFECTS: chunkkv.compact
func.func @memref_ops_stay(%q: memref<2x4x8x16xf32>, %k: memref<2x2x128x16xf32>,
                           %len: memref<2xi64>, %s: memref<2x12xf32>,
                           %ids: memref<2x3xi64>, %kept: memref<2xi64>) {
  chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : memref<2x4x8x16xf32>, memref<2x2x128x16xf32>, memref<2xi64>)
      outs(%s : memref<2x12xf32>)
  chunkkv.topk_chunks #p ins(%s, %len : memref<2x12xf32>, memref<2xi64>)
      outs(%ids, %kept : memref<2x3xi64>, memref<2xi64>)
  chunkkv.compact #p layout(bhsd)
      ins(%k, %ids, %len : memref<2x2x128x16xf32>, memref<2x3xi64>, memref<2xi64>)
      outs(%k, %kept : memref<2x2x128x16xf32>, memref<2xi64>)
  return
}

// -----

// Result shapes: a dynamic size of a result is the size of its tied init.

#p = #chunkkv.policy<paper, budget = 512>

// REIFY-LABEL: func.func @reify_dynamic_sizes
// REIFY-SAME: (%[[Q:.*]]: tensor<?x?x32x?xf16>, %[[K:.*]]: tensor<?x?x?x?xf16>, %[[LEN:.*]]: tensor<?xi32>, %[[S0:.*]]: tensor<?x?xf32>, %[[IDS0:.*]]: tensor<?x?xi32>, %[[KEPT0:.*]]: tensor<?xi32>, %[[OUT:.*]]: tensor<?x?x?x?xf16>)
// REIFY-DAG: %[[C1:.*]] = arith.constant 1 : index
// REIFY-DAG: %[[C2:.*]] = arith.constant 2 : index
// REIFY-DAG: %[[N:.*]] = tensor.dim %[[S0]], %[[C1]]
// REIFY-DAG: %[[KMAX:.*]] = tensor.dim %[[IDS0]], %[[C1]]
// REIFY-DAG: %[[CAP:.*]] = tensor.dim %[[OUT]], %[[C2]]
// REIFY: return %[[N]], %[[KMAX]], %[[CAP]]
func.func @reify_dynamic_sizes(%q: tensor<?x?x32x?xf16>, %k: tensor<?x?x?x?xf16>,
                               %len: tensor<?xi32>, %s0: tensor<?x?xf32>,
                               %ids0: tensor<?x?xi32>, %kept0: tensor<?xi32>,
                               %out: tensor<?x?x?x?xf16>) -> (index, index, index) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %s = chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : tensor<?x?x32x?xf16>, tensor<?x?x?x?xf16>, tensor<?xi32>)
      outs(%s0 : tensor<?x?xf32>) -> tensor<?x?xf32>
  %ids, %kept = chunkkv.topk_chunks #p ins(%s, %len : tensor<?x?xf32>, tensor<?xi32>)
      outs(%ids0, %kept0 : tensor<?x?xi32>, tensor<?xi32>) -> tensor<?x?xi32>, tensor<?xi32>
  %kc, %nl = chunkkv.compact #p layout(bhsd)
      ins(%k, %ids, %len : tensor<?x?x?x?xf16>, tensor<?x?xi32>, tensor<?xi32>)
      outs(%out, %kept0 : tensor<?x?x?x?xf16>, tensor<?xi32>)
      -> tensor<?x?x?x?xf16>, tensor<?xi32>
  %n = tensor.dim %s, %c1 : tensor<?x?xf32>
  %kmax = tensor.dim %ids, %c1 : tensor<?x?xi32>
  %cap = tensor.dim %kc, %c2 : tensor<?x?x?x?xf16>
  return %n, %kmax, %cap : index, index, index
}
