// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-loops | FileCheck %s
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-loops="vector-width=8" | FileCheck %s --check-prefix=WIDTH8

#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>

// The score: scratch buffers, the register-tiled logits kernel (broadcast
// FMAs over D), exponentials, per-token sums, pooling and chunk sums; all
// scratch is freed.
// CHECK-LABEL: func.func @chunk_score_memref
// CHECK-NOT: chunkkv.
// CHECK-DAG: %[[QT:.*]] = memref.alloc({{.*}}) : memref<?x?xf32>
// CHECK-DAG: %[[LOGITS:.*]] = memref.alloc({{.*}}) : memref<?x?xf32>
// CHECK: scf.for
// CHECK: vector.load %[[QT]]{{.*}} : memref<?x?xf32>, vector<16xf32>
// CHECK: vector.broadcast {{.*}} : f32 to vector<16xf32>
// CHECK: vector.fma
// CHECK: arith.cmpi sle, {{.*}} : vector<16xi32>
// CHECK: vector.store {{.*}}, %[[LOGITS]]
// CHECK: math.exp {{.*}} : vector<16xf32>
// CHECK: vector.reduction <add>
// CHECK: memref.dealloc %[[QT]]
// CHECK: memref.dealloc %[[LOGITS]]
// CHECK-NOT: chunkkv.
// WIDTH8-LABEL: func.func @chunk_score_memref
// WIDTH8: vector.fma {{.*}} : vector<8xf32>
func.func @chunk_score_memref(%q: memref<2x4x8x16xf32>, %k: memref<2x2x128x16xf32>,
                              %len: memref<2xi64>, %s: memref<2x12xf32>) {
  chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : memref<2x4x8x16xf32>, memref<2x2x128x16xf32>, memref<2xi64>)
      outs(%s : memref<2x12xf32>)
  return
}

// -----

// f16 caches are read element-wise and extended to f32.
#p = #chunkkv.policy<kvpress, compression_ratio = 0.5>
// CHECK-LABEL: func.func @chunk_score_f16_bshd
// CHECK: memref.load %{{.*}} : memref<1x400x2x16xf16>
// CHECK: arith.extf {{.*}} : f16 to f32
// CHECK-NOT: chunkkv.
func.func @chunk_score_f16_bshd(%q: memref<1x4x64x16xf16>, %k: memref<1x400x2x16xf16>,
                                %len: memref<1xi32>, %s: memref<1x20xf32>) {
  chunkkv.chunk_score #p layout(bshd)
      ins(%q, %k, %len : memref<1x4x64x16xf16>, memref<1x400x2x16xf16>, memref<1xi32>)
      outs(%s : memref<1x20xf32>)
  return
}

// -----

// Top-k: radix select on order-preserving keys (bitcast, shifts, a 256-bin
// histogram), then an ascending scan.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @topk_memref
// CHECK: %[[HIST:.*]] = memref.alloc() : memref<256xi32>
// CHECK: arith.bitcast {{.*}} : f32 to i32
// CHECK: arith.shrui
// CHECK: memref.store {{.*}}, %[[HIST]]
// CHECK: memref.dealloc %[[HIST]]
// CHECK-NOT: chunkkv.
func.func @topk_memref(%s: memref<2x12xf32>, %len: memref<2xi64>,
                       %ids: memref<2x3xi64>, %kept: memref<2xi64>) {
  chunkkv.topk_chunks #p ins(%s, %len : memref<2x12xf32>, memref<2xi64>)
      outs(%ids, %kept : memref<2x3xi64>, memref<2xi64>)
  return
}

// -----

// Compaction copies whole rows with vector loads and stores.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @compact_in_place
// CHECK: scf.for
// CHECK: %[[ROW:.*]] = vector.load %[[K:.*]][{{.*}}] : memref<2x2x128x16xbf16>, vector<16xbf16>
// CHECK: vector.store %[[ROW]], %[[K]][{{.*}}] : memref<2x2x128x16xbf16>, vector<16xbf16>
// CHECK-NOT: chunkkv.
func.func @compact_in_place(%k: memref<2x2x128x16xbf16>, %ids: memref<2x3xi64>,
                            %len: memref<2xi64>, %new: memref<2xi64>) {
  chunkkv.compact #p layout(bhsd)
      ins(%k, %ids, %len : memref<2x2x128x16xbf16>, memref<2x3xi64>, memref<2xi64>)
      outs(%k, %new : memref<2x2x128x16xbf16>, memref<2xi64>)
  return
}

// -----

// Tensor forms are bufferized locally: inputs through to_buffer, results
// from fresh allocations through to_tensor.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @tensor_form
// CHECK-DAG: bufferization.to_buffer %{{.*}} read_only : tensor<2x2x128x16xf32> to memref<2x2x128x16xf32>
// CHECK-DAG: %[[OUT:.*]] = memref.alloc() {{.*}}: memref<2x2x128x16xf32>
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[T]]
// CHECK-NOT: chunkkv.
func.func @tensor_form(%k: tensor<2x2x128x16xf32>, %ids: tensor<2x3xi64>,
                       %len: tensor<2xi64>) -> tensor<2x2x128x16xf32> {
  %kc, %nl = chunkkv.compact #p layout(bhsd)
      ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>, tensor<2xi64>)
      outs(%k, %len : tensor<2x2x128x16xf32>, tensor<2xi64>)
      -> tensor<2x2x128x16xf32>, tensor<2xi64>
  return %kc : tensor<2x2x128x16xf32>
}

// -----

// Dynamic shapes lower too.
#p = #chunkkv.policy<paper, budget = 512>
// CHECK-LABEL: func.func @dynamic
// CHECK: memref.dim
// CHECK-NOT: chunkkv.
func.func @dynamic(%q: memref<?x?x32x?xf32>, %k: memref<?x?x?x?xf32>,
                   %len: memref<?xi64>, %s: memref<?x?xf32>) {
  chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : memref<?x?x32x?xf32>, memref<?x?x?x?xf32>, memref<?xi64>)
      outs(%s : memref<?x?xf32>)
  return
}

// -----

// Code without chunkkv ops is left alone.
// CHECK-LABEL: func.func @no_chunkkv
// CHECK-NEXT: arith.addf
// CHECK-NEXT: return
func.func @no_chunkkv(%a: f32) -> f32 {
  %0 = arith.addf %a, %a : f32
  return %0 : f32
}

// -----

// Rows of a buffer that is not contiguous along D are copied element-wise.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @compact_strided
// CHECK-NOT: vector.load
// CHECK: memref.load %{{.*}} : memref<1x2x128x16xf32, strided<[8192, 4096, 32, 2]>>
// CHECK-NOT: chunkkv.
func.func @compact_strided(%k: memref<1x2x128x16xf32, strided<[8192, 4096, 32, 2]>>,
                           %ids: memref<1x3xi64>, %len: memref<1xi64>,
                           %out: memref<1x2x128x16xf32>, %new: memref<1xi64>) {
  chunkkv.compact #p layout(bhsd)
      ins(%k, %ids, %len : memref<1x2x128x16xf32, strided<[8192, 4096, 32, 2]>>, memref<1x3xi64>, memref<1xi64>)
      outs(%out, %new : memref<1x2x128x16xf32>, memref<1xi64>)
  return
}
