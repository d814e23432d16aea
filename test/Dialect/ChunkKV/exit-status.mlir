// Bad input makes chunkkv-opt print the diagnostic and exit non-zero; `not`
// also fails the test if the tool crashes instead.
// RUN: not chunkkv-opt %s --split-input-file 2>&1 | FileCheck %s

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @verifier_failure(%q: tensor<2x4x16x16xf32>, %k: tensor<2x2x128x16xf32>,
                            %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // CHECK: error: 'chunkkv.chunk_score' op queries: expected window w = 8 (from the policy), got 16
  %0 = chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : tensor<2x4x16x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>)
      outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

// CHECK: error: expected ','
func.func @malformed(%k: tensor<2x2x128x16xf32>) {
  %0 = chunkkv.chunk_score #chunkkv.policy<paper, budget = 40> layout(bhsd) ins(%k
}

// -----

// CHECK: error: custom op 'chunkkv.no_such_op' is unknown
func.func @unknown_op() {
  chunkkv.no_such_op
  return
}
