// RUN: chunkkv-opt %s -split-input-file -verify-diagnostics -chunkkv-lower-to-gpu

// Tensors are not device buffers.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @tensor_form(%s: tensor<2x12xf32>, %len: tensor<2xi64>, %ids: tensor<2x3xi64>,
                       %kept: tensor<2xi64>) -> (tensor<2x3xi64>, tensor<2xi64>) {
  // expected-error @+1 {{'chunkkv.topk_chunks' op cannot be lowered to GPU kernels: expects the memref form (bufferize first)}}
  %0:2 = chunkkv.topk_chunks #p ins(%s, %len : tensor<2x12xf32>, tensor<2xi64>)
      outs(%ids, %kept : tensor<2x3xi64>, tensor<2xi64>) -> tensor<2x3xi64>, tensor<2xi64>
  return %0#0, %0#1 : tensor<2x3xi64>, tensor<2xi64>
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @dynamic_head_dim(%k: memref<2x2x128x?xf32>, %ids: memref<2x3xi64>,
                            %len: memref<2xi64>, %new: memref<2xi64>) {
  // expected-error @+1 {{'chunkkv.compact' op cannot be lowered to GPU kernels: expects a static head dimension}}
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<2x2x128x?xf32>, memref<2x3xi64>, memref<2xi64>)
      outs(%k, %new : memref<2x2x128x?xf32>, memref<2xi64>)
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @short_rows(%k: memref<2x2x128x4xf16>, %ids: memref<2x3xi64>,
                      %len: memref<2xi64>, %new: memref<2xi64>) {
  // expected-error @+1 {{expects the head dimension to be a multiple of 8 (16-byte rows of 8 elements), got 4}}
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<2x2x128x4xf16>, memref<2x3xi64>, memref<2xi64>)
      outs(%k, %new : memref<2x2x128x4xf16>, memref<2xi64>)
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @wide_head(%q: memref<2x4x8x256xf32>, %k: memref<2x2x128x256xf32>,
                     %len: memref<2xi64>, %s: memref<2x12xf32>) {
  // expected-error @+1 {{expects a head dimension of at most 128, got 256}}
  chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : memref<2x4x8x256xf32>, memref<2x2x128x256xf32>, memref<2xi64>)
      outs(%s : memref<2x12xf32>)
  return
}

// -----

#p = #chunkkv.policy<kvpress, chunk = 20, window = 64, compression_ratio = 0.5>
func.func @too_many_queries(%q: memref<1x32x64x16xf32>, %k: memref<1x1x400x16xf32>,
                            %len: memref<1xi64>, %s: memref<1x20xf32>) {
  // expected-error @+1 {{expects at most 1024 window queries per kv head (G * w)}}
  chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : memref<1x32x64x16xf32>, memref<1x1x400x16xf32>, memref<1xi64>)
      outs(%s : memref<1x20xf32>)
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
func.func @strided_queries(%q: memref<2x4x8x16xf32, strided<[1024, 256, 32, 2]>>,
                           %k: memref<2x2x128x16xf32>, %len: memref<2xi64>,
                           %s: memref<2x12xf32>) {
  // expected-error @+1 {{expects queries with unit stride along the head dimension}}
  chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : memref<2x4x8x16xf32, strided<[1024, 256, 32, 2]>>, memref<2x2x128x16xf32>, memref<2xi64>)
      outs(%s : memref<2x12xf32>)
  return
}

// -----

#p = #chunkkv.policy<paper, chunk = 10, window = 32, keep_ratio = 0.1>
func.func @too_many_tokens(%q: memref<1x32x32x128xf16>, %k: memref<1x8x2147483648x128xf16>,
                           %len: memref<1xi64>, %s: memref<1x214748362xf32>) {
  // expected-error @+1 {{'chunkkv.chunk_score' op cannot be lowered to GPU kernels: expects caches of fewer than 2^31 tokens, got 2147483648}}
  chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : memref<1x32x32x128xf16>, memref<1x8x2147483648x128xf16>, memref<1xi64>)
      outs(%s : memref<1x214748362xf32>)
  return
}
