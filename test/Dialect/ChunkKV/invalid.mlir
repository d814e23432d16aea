// RUN: chunkkv-opt %s -split-input-file -verify-diagnostics

// Policy attribute: parse errors.

// expected-error @+1 {{expected policy kind 'paper' or 'kvpress', got 'snapkv'}}
func.func private @f() attributes {p = #chunkkv.policy<snapkv, budget = 40>}

// -----

// expected-error @+1 {{policy parameter 'chunk' given twice}}
func.func private @f() attributes {p = #chunkkv.policy<paper, chunk = 10, chunk = 12, budget = 40>}

// -----

// expected-error @+1 {{unknown policy parameter 'size'; expected chunk, window, pool, aggregate, budget, keep_ratio, compression_ratio or reuse}}
func.func private @f() attributes {p = #chunkkv.policy<paper, size = 10, budget = 40>}

// -----

// expected-error @+1 {{expected aggregate 'sum' or 'mean', got 'max'}}
func.func private @f() attributes {p = #chunkkv.policy<paper, aggregate = max, budget = 40>}

// -----

// expected-error @+1 {{expected integer value}}
func.func private @f() attributes {p = #chunkkv.policy<paper, chunk = ten, budget = 40>}

// -----

// Policy attribute: verifier.

// expected-error @+1 {{policy: chunk size must be > 0, got 0}}
func.func private @f() attributes {p = #chunkkv.policy<paper, chunk = 0, budget = 40>}

// -----

// expected-error @+1 {{policy: window must be > 0, got -4}}
func.func private @f() attributes {p = #chunkkv.policy<paper, window = -4, budget = 40>}

// -----

// expected-error @+1 {{policy: pooling kernel must be odd and >= 1, got 4}}
func.func private @f() attributes {p = #chunkkv.policy<paper, pool = 4, budget = 40>}

// -----

// expected-error @+1 {{policy: pooling kernel must be odd and >= 1, got 0}}
func.func private @f() attributes {p = #chunkkv.policy<kvpress, pool = 0, compression_ratio = 0.5>}

// -----

// expected-error @+1 {{policy: reuse interval must be >= 1, got 0}}
func.func private @f() attributes {p = #chunkkv.policy<paper, budget = 40, reuse = 0>}

// -----

// expected-error @+1 {{policy: expected exactly one of budget, keep_ratio or compression_ratio, got 0}}
func.func private @f() attributes {p = #chunkkv.policy<paper, chunk = 10>}

// -----

// expected-error @+1 {{policy: expected exactly one of budget, keep_ratio or compression_ratio, got 2}}
func.func private @f() attributes {p = #chunkkv.policy<paper, budget = 64, keep_ratio = 0.5>}

// -----

// expected-error @+1 {{policy: the kvpress policy takes compression_ratio, not budget or keep_ratio}}
func.func private @f() attributes {p = #chunkkv.policy<kvpress, budget = 128>}

// -----

// expected-error @+1 {{policy: compression_ratio must be in [0, 1), got 1}}
func.func private @f() attributes {p = #chunkkv.policy<kvpress, compression_ratio = 1.0>}

// -----

// expected-error @+1 {{policy: the kvpress policy aggregates chunks by mean, got sum}}
func.func private @f() attributes {p = #chunkkv.policy<kvpress, aggregate = sum, compression_ratio = 0.5>}

// -----

// expected-error @+1 {{policy: the paper policy takes budget or keep_ratio, not compression_ratio}}
func.func private @f() attributes {p = #chunkkv.policy<paper, compression_ratio = 0.5>}

// -----

// expected-error @+1 {{policy: budget (16) must be >= window (32)}}
func.func private @f() attributes {p = #chunkkv.policy<paper, budget = 16>}

// -----

// expected-error @+1 {{policy: keep_ratio must be in (0, 1], got 0}}
func.func private @f() attributes {p = #chunkkv.policy<paper, keep_ratio = 0.0>}

// -----

// expected-error @+1 {{policy: keep_ratio must be in (0, 1], got 1.5}}
func.func private @f() attributes {p = #chunkkv.policy<paper, keep_ratio = 1.5>}

// -----

// chunk_score

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{expected layout 'bhsd' or 'bshd', got 'bsdh'}}
  %0 = chunkkv.chunk_score #p layout(bsdh) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: memref<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op expected all operands to be tensors or all to be memrefs}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, memref<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op queries: expected rank 4 ([B, Hq, w, D]), got rank 3}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op keys: expected rank 4 ([B, S, Hkv, D]), got rank 3}}
  %0 = chunkkv.chunk_score #p layout(bshd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2x1xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op lengths: expected rank 1 ([B]), got rank 2}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2x1xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<24xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op init: expected rank 2 ([B, n]), got rank 1}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<24xf32>) -> tensor<24xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf64>, %k: tensor<2x2x128x16xf64>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op queries: expected f32, f16 or bf16 elements, got 'f64'}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf64>, tensor<2x2x128x16xf64>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf16>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op keys: expected element type 'f32' (as queries), got 'f16'}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf16>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xf32>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op lengths: expected i32 or i64 elements, got 'f32'}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xf32>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf16>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op init: expected f32 elements, got 'f16'}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf16>) -> tensor<2x12xf16>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<3x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op queries: expected batch size B = 2 (from keys), got 3}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<3x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x16x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op queries: expected window w = 8 (from the policy), got 16}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x16x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x32xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op queries: expected head dim D = 16 (from keys), got 32}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x32xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<4xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op lengths: expected batch size B = 2 (from keys), got 4}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<4xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<1x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op init: expected batch size B = 2 (from keys), got 1}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<1x12xf32>) -> tensor<1x12xf32>
  return
}

// -----

// S = 128, w = 8, C = 10: the prefix of 120 tokens is 12 chunks.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x13xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op init: expected number of chunks n = 12 (from the capacity of keys and the policy), got 13}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x13xf32>) -> tensor<2x13xf32>
  return
}

// -----

// kvpress chunks tile the whole sequence: S = 128, C = 20 is 7 chunks.
#p = #chunkkv.policy<kvpress, compression_ratio = 0.5>
func.func @f(%q: tensor<1x4x64x16xf32>, %k: tensor<1x2x128x16xf32>, %len: tensor<1xi64>, %s: tensor<1x4xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op init: expected number of chunks n = 7 (from the capacity of keys and the policy), got 4}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<1x4x64x16xf32>, tensor<1x2x128x16xf32>, tensor<1xi64>) outs(%s : tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

#p = #chunkkv.policy<kvpress, compression_ratio = 0.5>
func.func @f(%q: tensor<1x4x64x16xf32>, %k: tensor<1x2x64x16xf32>, %len: tensor<1xi64>, %s: tensor<1x4xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op keys: expected capacity S > window (64) under the kvpress policy, got 64}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<1x4x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1xi64>) outs(%s : tensor<1x4xf32>) -> tensor<1x4xf32>
  return
}

// -----

#p = #chunkkv.policy<kvpress, chunk = 100, window = 8, compression_ratio = 0.5>
func.func @f(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x64x16xf32>, %len: tensor<1xi64>, %s: tensor<1x1xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op keys: expected capacity S >= chunk size (100) under the kvpress policy, got 64}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<1x4x8x16xf32>, tensor<1x2x64x16xf32>, tensor<1xi64>) outs(%s : tensor<1x1xf32>) -> tensor<1x1xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x6x8x16xf32>, %k: tensor<2x4x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op queries: expected the number of query heads (Hq = 6) to be a multiple of the number of kv heads (Hkv = 4)}}
  %0 = chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x6x8x16xf32>, tensor<2x4x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x6x8x16xf32>, %k: tensor<2x128x0x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op keys: expected at least one kv head}}
  %0 = chunkkv.chunk_score #p layout(bshd) ins(%q, %k, %len : tensor<2x6x8x16xf32>, tensor<2x128x0x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op scale: expected a positive finite number, got -1}}
  %0 = chunkkv.chunk_score #p layout(bhsd) scale(-1.0) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op expected the number of tensor results (0) to be equal to the number of output tensors (1)}}
  chunkkv.chunk_score #p layout(bhsd) ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>) outs(%s : tensor<2x12xf32>)
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%q: vector<2x4x8x16xf32>, %k: tensor<2x2x128x16xf32>, %len: tensor<2xi64>, %s: tensor<2x12xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op operand #0 must be ranked tensor or memref, but got 'vector<2x4x8x16xf32>'}}
  %0 = "chunkkv.chunk_score"(%q, %k, %len, %s) <{layout = #chunkkv<layout bhsd>, policy = #p}> : (vector<2x4x8x16xf32>, tensor<2x2x128x16xf32>, tensor<2xi64>, tensor<2x12xf32>) -> tensor<2x12xf32>
  return
}

// -----

// topk_chunks

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12x1xf32>, %len: tensor<2xi64>, %ids: tensor<2x3xi64>, %kept: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op scores: expected rank 2 ([B, n]), got rank 3}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12x1xf32>, tensor<2xi64>) outs(%ids, %kept : tensor<2x3xi64>, tensor<2xi64>) -> tensor<2x3xi64>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf32>, %len: tensor<2xi64>, %ids: tensor<6xi64>, %kept: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op chunk_ids_init: expected rank 2 ([B, k]), got rank 1}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>) outs(%ids, %kept : tensor<6xi64>, tensor<2xi64>) -> tensor<6xi64>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf32>, %len: tensor<2xi64>, %ids: tensor<2x3xi64>, %kept: tensor<2x1xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op kept_lengths_init: expected rank 1 ([B]), got rank 2}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>) outs(%ids, %kept : tensor<2x3xi64>, tensor<2x1xi64>) -> tensor<2x3xi64>, tensor<2x1xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf16>, %len: tensor<2xi64>, %ids: tensor<2x3xi64>, %kept: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op scores: expected f32 elements, got 'f16'}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf16>, tensor<2xi64>) outs(%ids, %kept : tensor<2x3xi64>, tensor<2xi64>) -> tensor<2x3xi64>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf32>, %len: tensor<2xi64>, %ids: tensor<2x3xi16>, %kept: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op chunk_ids_init: expected i32 or i64 elements, got 'i16'}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>) outs(%ids, %kept : tensor<2x3xi16>, tensor<2xi64>) -> tensor<2x3xi16>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf32>, %len: tensor<2xi64>, %ids: tensor<2x3xi64>, %kept: tensor<2xi32>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op kept_lengths_init: expected element type 'i64' (as lengths), got 'i32'}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>) outs(%ids, %kept : tensor<2x3xi64>, tensor<2xi32>) -> tensor<2x3xi64>, tensor<2xi32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf32>, %len: tensor<3xi64>, %ids: tensor<2x3xi64>, %kept: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op lengths: expected batch size B = 2 (from scores), got 3}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<3xi64>) outs(%ids, %kept : tensor<2x3xi64>, tensor<2xi64>) -> tensor<2x3xi64>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf32>, %len: tensor<2xi64>, %ids: tensor<2x3xi64>, %kept: tensor<1xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op kept_lengths_init: expected batch size B = 2 (from scores), got 1}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>) outs(%ids, %kept : tensor<2x3xi64>, tensor<1xi64>) -> tensor<2x3xi64>, tensor<1xi64>
  return
}

// -----

// Budget 40, window 8, chunk 10: at most (40 - 8) / 10 = 3 chunks.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf32>, %len: tensor<2xi64>, %ids: tensor<2x4xi64>, %kept: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op chunk_ids_init: expected number of chosen chunks k = 3 (from the number of score chunks and the policy), got 4}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>) outs(%ids, %kept : tensor<2x4xi64>, tensor<2xi64>) -> tensor<2x4xi64>, tensor<2xi64>
  return
}

// -----

// kvpress keeps max(1, int(n * (1 - cr))) chunks: 10 * 0.1 -> 0.99.. -> 1.
#p = #chunkkv.policy<kvpress, compression_ratio = 0.9>
func.func @f(%s: tensor<1x10xf32>, %len: tensor<1xi64>, %ids: tensor<1x0xi64>, %kept: tensor<1xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op chunk_ids_init: expected number of chosen chunks k = 1 (from the number of score chunks and the policy), got 0}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<1x10xf32>, tensor<1xi64>) outs(%ids, %kept : tensor<1x0xi64>, tensor<1xi64>) -> tensor<1x0xi64>, tensor<1xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: memref<2x12xf32>, %len: memref<2xi64>, %ids: memref<2x3xi64>, %kept: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op expected all operands to be tensors or all to be memrefs}}
  %0 = chunkkv.topk_chunks #p ins(%s, %len : memref<2x12xf32>, memref<2xi64>) outs(%ids, %kept : memref<2x3xi64>, tensor<2xi64>) -> tensor<2xi64>
  return
}

// -----

// compact

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128xf32>, %ids: tensor<2x3xi64>, %len: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.compact' op cache: expected rank 4 ([B, Hkv, S, D]), got rank 3}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128xf32>, tensor<2x3xi64>, tensor<2xi64>) outs(%k, %len : tensor<2x2x128xf32>, tensor<2xi64>) -> tensor<2x2x128xf32>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128x16xf32>, %ids: tensor<6xi64>, %len: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.compact' op chunk_ids: expected rank 2 ([B, k]), got rank 1}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<6xi64>, tensor<2xi64>) outs(%k, %len : tensor<2x2x128x16xf32>, tensor<2xi64>) -> tensor<2x2x128x16xf32>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128x16xf32>, %ids: tensor<2x3xi64>, %len: tensor<2xi64>, %out: tensor<2x2x128xf32>) {
  // expected-error @+1 {{'chunkkv.compact' op cache_init: expected rank 4 ([B, Hkv, S, D]), got rank 3}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>) outs(%out, %len : tensor<2x2x128xf32>, tensor<2xi64>) -> tensor<2x2x128xf32>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128x16xi8>, %ids: tensor<2x3xi64>, %len: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.compact' op cache: expected f32, f16 or bf16 elements, got 'i8'}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128x16xi8>, tensor<2x3xi64>, tensor<2xi64>) outs(%k, %len : tensor<2x2x128x16xi8>, tensor<2xi64>) -> tensor<2x2x128x16xi8>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128x16xf16>, %ids: tensor<2x3xi64>, %len: tensor<2xi64>, %out: tensor<2x2x128x16xbf16>) {
  // expected-error @+1 {{'chunkkv.compact' op cache_init: expected element type 'f16' (as cache), got 'bf16'}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128x16xf16>, tensor<2x3xi64>, tensor<2xi64>) outs(%out, %len : tensor<2x2x128x16xbf16>, tensor<2xi64>) -> tensor<2x2x128x16xbf16>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128x16xf32>, %ids: tensor<2x3xf32>, %len: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.compact' op chunk_ids: expected i32 or i64 elements, got 'f32'}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xf32>, tensor<2xi64>) outs(%k, %len : tensor<2x2x128x16xf32>, tensor<2xi64>) -> tensor<2x2x128x16xf32>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128x16xf32>, %ids: tensor<2x3xi64>, %len: tensor<2xi64>, %newlen: tensor<2xi32>) {
  // expected-error @+1 {{'chunkkv.compact' op lengths_init: expected element type 'i64' (as lengths), got 'i32'}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>) outs(%k, %newlen : tensor<2x2x128x16xf32>, tensor<2xi32>) -> tensor<2x2x128x16xf32>, tensor<2xi32>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128x16xf32>, %ids: tensor<1x3xi64>, %len: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.compact' op chunk_ids: expected batch size B = 2 (from cache), got 1}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<1x3xi64>, tensor<2xi64>) outs(%k, %len : tensor<2x2x128x16xf32>, tensor<2xi64>) -> tensor<2x2x128x16xf32>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128x16xf32>, %ids: tensor<2x3xi64>, %len: tensor<2xi64>, %out: tensor<2x2x64x16xf32>) {
  // expected-error @+1 {{'chunkkv.compact' op cache_init: expected capacity S = 128 (from cache), got 64}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>) outs(%out, %len : tensor<2x2x64x16xf32>, tensor<2xi64>) -> tensor<2x2x64x16xf32>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x128x2x16xf32>, %ids: tensor<2x3xi64>, %len: tensor<2xi64>, %out: tensor<2x128x4x16xf32>) {
  // expected-error @+1 {{'chunkkv.compact' op cache_init: expected number of kv heads Hkv = 2 (from cache), got 4}}
  %0:2 = chunkkv.compact #p layout(bshd) ins(%k, %ids, %len : tensor<2x128x2x16xf32>, tensor<2x3xi64>, tensor<2xi64>) outs(%out, %len : tensor<2x128x4x16xf32>, tensor<2xi64>) -> tensor<2x128x4x16xf32>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128x16xf32>, %ids: tensor<2x2xi64>, %len: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.compact' op chunk_ids: expected number of chosen chunks k = 3 (from the capacity of cache and the policy), got 2}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x2xi64>, tensor<2xi64>) outs(%k, %len : tensor<2x2x128x16xf32>, tensor<2xi64>) -> tensor<2x2x128x16xf32>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<kvpress, compression_ratio = 0.5>
func.func @f(%k: memref<1x2x32x16xf32>, %ids: memref<1x1xi64>, %len: memref<1xi64>) {
  // expected-error @+1 {{'chunkkv.compact' op cache: expected capacity S > window (64) under the kvpress policy, got 32}}
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<1x2x32x16xf32>, memref<1x1xi64>, memref<1xi64>) outs(%k, %len : memref<1x2x32x16xf32>, memref<1xi64>)
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%k: tensor<2x2x128x16xf32>, %ids: tensor<2x3xi64>, %len: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.compact' op expected type of operand #3 ('tensor<2x2x128x16xf32>') to match type of corresponding result ('tensor<2x2x64x16xf32>')}}
  %0:2 = chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>) outs(%k, %len : tensor<2x2x128x16xf32>, tensor<2xi64>) -> tensor<2x2x64x16xf32>, tensor<2xi64>
  return
}

// -----

// Attributes written by chunkkv-detect-kv-cache.

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'arith.addf' op 'chunkkv.kv' role k_write expects a tensor.insert_slice, memref.copy or linalg.copy}}
  %0 = arith.addf %a, %a {chunkkv.kv = #chunkkv.kv<k_write, layout = bhsd, layer = 0>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'arith.addf' op 'chunkkv.kv' role qk expects a linalg contraction of two inputs}}
  %0 = arith.addf %a, %a {chunkkv.kv = #chunkkv.kv<qk, layout = bhsd, layer = 0>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'chunkkv.kv' without a layer expects to be inside an scf.for marked 'chunkkv.layer_loop'}}
  %0 = arith.addf %a, %a {chunkkv.kv = #chunkkv.kv<query, layout = bhsd>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'chunkkv.kv' expects layer >= 0, got -1}}
  %0 = arith.addf %a, %a {chunkkv.kv = #chunkkv.kv<query, layout = bhsd, layer = -1>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'chunkkv.kv' expects a #chunkkv.kv attribute}}
  %0 = arith.addf %a, %a {chunkkv.kv = 3 : i64} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// expected-error @+1 {{'chunkkv.kv_layers' expects a positive integer on a function}}
func.func @f() attributes {chunkkv.kv_layers = 0 : i64} {
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{'chunkkv.layer_loop' expects a unit attribute on an scf.for}}
  func.call @f() {chunkkv.layer_loop} : () -> ()
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{unknown chunkkv attribute 'chunkkv.layers'}}
  func.call @f() {chunkkv.layers} : () -> ()
  return
}

// -----

func.func @f() {
  // expected-error @+1 {{'chunkkv.layer' expects a layer index >= 0 on a chunkkv op}}
  func.call @f() {chunkkv.layer = 0 : i64} : () -> ()
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf32>, %len: tensor<2xi64>, %ids: tensor<2x3xi64>, %kept: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.layer' expects a layer index >= 0 on a chunkkv op}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>)
      outs(%ids, %kept : tensor<2x3xi64>, tensor<2xi64>) {chunkkv.layer = -1 : i64} -> tensor<2x3xi64>, tensor<2xi64>
  return
}

// -----

// A follower must compact with its leader's chunks.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf32>, %len: tensor<2xi64>, %ids: tensor<2x3xi64>, %kept: tensor<2xi64>,
             %k: tensor<2x2x128x16xf32>) {
  %sel:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>)
      outs(%ids, %kept : tensor<2x3xi64>, tensor<2xi64>) {chunkkv.layer = 2 : i64} -> tensor<2x3xi64>, tensor<2xi64>
  // expected-error @+1 {{'chunkkv.leader' names layer 0, but the chunk ids do not come from a chunkkv.topk_chunks of that layer}}
  %c:2 = chunkkv.compact #p layout(bhsd) ins(%k, %sel#0, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>)
      outs(%k, %kept : tensor<2x2x128x16xf32>, tensor<2xi64>) {chunkkv.layer = 3 : i64, chunkkv.leader = 0 : i64}
      -> tensor<2x2x128x16xf32>, tensor<2xi64>
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @f(%s: tensor<2x12xf32>, %len: tensor<2xi64>, %ids: tensor<2x3xi64>, %kept: tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.leader' expects a layer index >= 0 on a chunkkv.compact}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>)
      outs(%ids, %kept : tensor<2x3xi64>, tensor<2xi64>) {chunkkv.leader = 0 : i64} -> tensor<2x3xi64>, tensor<2xi64>
  return
}
