// One layer's ChunkKV selection on tensors: score the chunks of the K cache
// with the observation window's queries, choose the top chunks under a
// 40-token budget, and compact K and V so that the kept rows come first.
//
//   chunkkv-opt examples/select_and_compact.mlir

#policy = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>

func.func @select_and_compact(%q: tensor<2x4x8x16xf32>,
                              %k: tensor<2x2x128x16xf32>,
                              %v: tensor<2x2x128x16xf32>,
                              %len: tensor<2xi64>)
    -> (tensor<2x2x128x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) {
  %scores_init = tensor.empty() : tensor<2x12xf32>
  %scores = chunkkv.chunk_score #policy layout(bhsd)
      ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>)
      outs(%scores_init : tensor<2x12xf32>) -> tensor<2x12xf32>

  %ids_init = tensor.empty() : tensor<2x3xi64>
  %kept_init = tensor.empty() : tensor<2xi64>
  %ids, %kept = chunkkv.topk_chunks #policy
      ins(%scores, %len : tensor<2x12xf32>, tensor<2xi64>)
      outs(%ids_init, %kept_init : tensor<2x3xi64>, tensor<2xi64>)
      -> tensor<2x3xi64>, tensor<2xi64>

  %k2, %len_k = chunkkv.compact #policy layout(bhsd)
      ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>)
      outs(%k, %kept_init : tensor<2x2x128x16xf32>, tensor<2xi64>)
      -> tensor<2x2x128x16xf32>, tensor<2xi64>
  %v2, %len_v = chunkkv.compact #policy layout(bhsd)
      ins(%v, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>)
      outs(%v, %kept_init : tensor<2x2x128x16xf32>, tensor<2xi64>)
      -> tensor<2x2x128x16xf32>, tensor<2xi64>
  return %k2, %v2, %len_k : tensor<2x2x128x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>
}
