// RUN: chunkkv-opt %s -split-input-file -chunkkv-detect-kv-cache | FileCheck %s
// RUN: chunkkv-opt %s -split-input-file -chunkkv-detect-kv-cache=report=true 2>&1 >/dev/null | FileCheck %s --check-prefix=REPORT

// Hand-written attention, unlike the generator's: [B, S, H, D] caches, V
// written before K, other value names, the GQA broadcast folded into the
// contraction maps (h floordiv 2), the query a function argument.

#qk = [affine_map<(b, h, i, j, d) -> (b, h, i, d)>,
       affine_map<(b, h, i, j, d) -> (b, j, h floordiv 2, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, i, j)>]
#pv = [affine_map<(b, h, i, d, j) -> (b, h, i, j)>,
       affine_map<(b, h, i, d, j) -> (b, j, h floordiv 2, d)>,
       affine_map<(b, h, i, d, j) -> (b, h, i, d)>]
#red5 = ["parallel", "parallel", "parallel", "parallel", "reduction"]

// CHECK-LABEL: func.func @handwritten
// CHECK-SAME: chunkkv.kv_layers = 1
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}} {chunkkv.kv = #chunkkv.kv<v_write, layout = bshd, layer = 0>}
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}} {chunkkv.kv = #chunkkv.kv<k_write, layout = bshd, layer = 0>}
// CHECK: linalg.generic {{.*}}chunkkv.kv = #chunkkv.kv<qk, layout = bshd, layer = 0>
// CHECK: linalg.softmax
// CHECK: linalg.generic {{.*}}chunkkv.kv = #chunkkv.kv<pv, layout = bshd, layer = 0>
// REPORT-LABEL: chunkkv-detect-kv-cache: @handwritten: 1 layer
// REPORT-NEXT: layer 0:
// REPORT-NEXT: layout bshd; sequence offset a runtime value, written length 4
// REPORT-NEXT: K write: tensor.insert_slice
// REPORT-NEXT: V write: tensor.insert_slice
// REPORT-NEXT: K read: linalg.generic
// REPORT-NEXT: V read: linalg.generic
// REPORT-NEXT: query: a function argument
// REPORT-NEXT: QK^T: linalg.generic
// REPORT-NEXT: PV: linalg.generic
func.func @handwritten(%queries: tensor<1x2x4x8xf32>, %cache_a: tensor<1x16x1x8xf32>,
                       %cache_b: tensor<1x16x1x8xf32>, %fresh_k: tensor<1x4x1x8xf32>,
                       %fresh_v: tensor<1x4x1x8xf32>, %at: index)
    -> (tensor<1x2x4x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>) {
  %vals = tensor.insert_slice %fresh_v into %cache_b[0, %at, 0, 0] [1, 4, 1, 8] [1, 1, 1, 1]
      : tensor<1x4x1x8xf32> into tensor<1x16x1x8xf32>
  %keys = tensor.insert_slice %fresh_k into %cache_a[0, %at, 0, 0] [1, 4, 1, 8] [1, 1, 1, 1]
      : tensor<1x4x1x8xf32> into tensor<1x16x1x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x4x16xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
  %s = linalg.generic {indexing_maps = #qk, iterator_types = #red5}
      ins(%queries, %keys : tensor<1x2x4x8xf32>, tensor<1x16x1x8xf32>) outs(%s0 : tensor<1x2x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x4x16xf32>
  %p = linalg.softmax dimension(3) ins(%s : tensor<1x2x4x16xf32>) outs(%e : tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
  %oe = tensor.empty() : tensor<1x2x4x8xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%oe : tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %o = linalg.generic {indexing_maps = #pv, iterator_types = #red5}
      ins(%p, %vals : tensor<1x2x4x16xf32>, tensor<1x16x1x8xf32>) outs(%o0 : tensor<1x2x4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x2x4x8xf32>
  return %o, %keys, %vals : tensor<1x2x4x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>
}

// -----

// Memrefs: caches written with linalg.copy into a subview, read in place.

#qk = [affine_map<(b, h, i, j, d) -> (b, h, i, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, j, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, i, j)>]
#pv = [affine_map<(b, h, i, d, j) -> (b, h, i, j)>,
       affine_map<(b, h, i, d, j) -> (b, h, j, d)>,
       affine_map<(b, h, i, d, j) -> (b, h, i, d)>]
#red5 = ["parallel", "parallel", "parallel", "parallel", "reduction"]

// CHECK-LABEL: func.func @memref_copy_writes
// CHECK-SAME: chunkkv.kv_layers = 1
// CHECK: linalg.copy {{.*}}chunkkv.kv = #chunkkv.kv<k_write, layout = bhsd, layer = 0>
// CHECK: linalg.copy {{.*}}chunkkv.kv = #chunkkv.kv<v_write, layout = bhsd, layer = 0>
// CHECK: linalg.generic {{.*}}chunkkv.kv = #chunkkv.kv<qk, layout = bhsd, layer = 0>
// CHECK: linalg.softmax
// CHECK: linalg.generic {{.*}}chunkkv.kv = #chunkkv.kv<pv, layout = bhsd, layer = 0>
func.func @memref_copy_writes(%q: memref<1x1x4x8xf32>, %kc: memref<1x1x16x8xf32>,
                              %vc: memref<1x1x16x8xf32>, %k: memref<1x1x4x8xf32>,
                              %v: memref<1x1x4x8xf32>, %s: memref<1x1x4x16xf32>,
                              %p: memref<1x1x4x16xf32>, %o: memref<1x1x4x8xf32>) {
  %kw = memref.subview %kc[0, 0, 0, 0] [1, 1, 4, 8] [1, 1, 1, 1]
      : memref<1x1x16x8xf32> to memref<1x1x4x8xf32, strided<[128, 128, 8, 1]>>
  linalg.copy ins(%k : memref<1x1x4x8xf32>) outs(%kw : memref<1x1x4x8xf32, strided<[128, 128, 8, 1]>>)
  %vw = memref.subview %vc[0, 0, 0, 0] [1, 1, 4, 8] [1, 1, 1, 1]
      : memref<1x1x16x8xf32> to memref<1x1x4x8xf32, strided<[128, 128, 8, 1]>>
  linalg.copy ins(%v : memref<1x1x4x8xf32>) outs(%vw : memref<1x1x4x8xf32, strided<[128, 128, 8, 1]>>)
  linalg.generic {indexing_maps = #qk, iterator_types = #red5}
      ins(%q, %kc : memref<1x1x4x8xf32>, memref<1x1x16x8xf32>) outs(%s : memref<1x1x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  }
  linalg.softmax dimension(3) ins(%s : memref<1x1x4x16xf32>) outs(%p : memref<1x1x4x16xf32>)
  linalg.generic {indexing_maps = #pv, iterator_types = #red5}
      ins(%p, %vc : memref<1x1x4x16xf32>, memref<1x1x16x8xf32>) outs(%o : memref<1x1x4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Negative: a buffer written by insert_slice but never read by attention.
// CHECK-LABEL: func.func @never_read(
// CHECK-NOT: chunkkv.
// CHECK: return
// REPORT-LABEL: chunkkv-detect-kv-cache: @never_read: 0 layers
// REPORT-NEXT: rejected tensor.insert_slice {{.*}}: written but never read by an attention contraction
func.func @never_read(%cache: tensor<1x1x16x8xf32>, %k: tensor<1x1x4x8xf32>) -> tensor<1x1x16x8xf32> {
  %w = tensor.insert_slice %k into %cache[0, 0, 0, 0] [1, 1, 4, 8] [1, 1, 1, 1]
      : tensor<1x1x4x8xf32> into tensor<1x1x16x8xf32>
  return %w : tensor<1x1x16x8xf32>
}

// -----

// Negative: encoder-style attention without a cache.
#qk = [affine_map<(b, h, i, j, d) -> (b, h, i, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, j, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, i, j)>]
#pv = [affine_map<(b, h, i, d, j) -> (b, h, i, j)>,
       affine_map<(b, h, i, d, j) -> (b, h, j, d)>,
       affine_map<(b, h, i, d, j) -> (b, h, i, d)>]
#red5 = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-LABEL: func.func @encoder(
// CHECK-NOT: chunkkv.
// CHECK: return
// REPORT-LABEL: chunkkv-detect-kv-cache: @encoder: 0 layers
// REPORT-NEXT: rejected linalg.generic {{.*}}: attention without a KV cache (no cache write reaches this contraction)
func.func @encoder(%q: tensor<1x1x4x8xf32>, %k: tensor<1x1x4x8xf32>, %v: tensor<1x1x4x8xf32>,
                   %s0: tensor<1x1x4x4xf32>, %o0: tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32> {
  %s = linalg.generic {indexing_maps = #qk, iterator_types = #red5}
      ins(%q, %k : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) outs(%s0 : tensor<1x1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x4xf32>
  %p = linalg.softmax dimension(3) ins(%s : tensor<1x1x4x4xf32>) outs(%s0 : tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %o = linalg.generic {indexing_maps = #pv, iterator_types = #red5}
      ins(%p, %v : tensor<1x1x4x4xf32>, tensor<1x1x4x8xf32>) outs(%o0 : tensor<1x1x4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x8xf32>
  return %o : tensor<1x1x4x8xf32>
}

// -----

// Negative: the K cache is also read by a non-attention op (a reduction).
#qk = [affine_map<(b, h, i, j, d) -> (b, h, i, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, j, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, i, j)>]
#pv = [affine_map<(b, h, i, d, j) -> (b, h, i, j)>,
       affine_map<(b, h, i, d, j) -> (b, h, j, d)>,
       affine_map<(b, h, i, d, j) -> (b, h, i, d)>]
#red5 = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-LABEL: func.func @cache_read_elsewhere(
// CHECK-NOT: chunkkv.kv<k_write
// CHECK-NOT: chunkkv.kv<qk
// REPORT-LABEL: chunkkv-detect-kv-cache: @cache_read_elsewhere: 0 layers
// REPORT: rejected tensor.insert_slice {{.*}}: the cache is also read by linalg.generic {{.*}}, which is not an attention contraction
// REPORT: rejected tensor.insert_slice {{.*}}: the PV contraction linalg.generic {{.*}} is reached by no QK^T of a detected K cache
func.func @cache_read_elsewhere(%q: tensor<1x1x4x8xf32>, %kc: tensor<1x1x16x8xf32>, %vc: tensor<1x1x16x8xf32>,
                                %k: tensor<1x1x4x8xf32>, %v: tensor<1x1x4x8xf32>,
                                %s0: tensor<1x1x4x16xf32>, %o0: tensor<1x1x4x8xf32>, %n0: tensor<1xf32>)
    -> (tensor<1x1x4x8xf32>, tensor<1xf32>) {
  %kw = tensor.insert_slice %k into %kc[0, 0, 0, 0] [1, 1, 4, 8] [1, 1, 1, 1] : tensor<1x1x4x8xf32> into tensor<1x1x16x8xf32>
  %vw = tensor.insert_slice %v into %vc[0, 0, 0, 0] [1, 1, 4, 8] [1, 1, 1, 1] : tensor<1x1x4x8xf32> into tensor<1x1x16x8xf32>
  %norm = linalg.generic {indexing_maps = [affine_map<(b, h, s, d) -> (b, h, s, d)>, affine_map<(b, h, s, d) -> (b)>],
                          iterator_types = ["parallel", "reduction", "reduction", "reduction"]}
      ins(%kw : tensor<1x1x16x8xf32>) outs(%n0 : tensor<1xf32>) {
  ^bb0(%a: f32, %c: f32):
    %r = arith.addf %c, %a : f32
    linalg.yield %r : f32
  } -> tensor<1xf32>
  %s = linalg.generic {indexing_maps = #qk, iterator_types = #red5}
      ins(%q, %kw : tensor<1x1x4x8xf32>, tensor<1x1x16x8xf32>) outs(%s0 : tensor<1x1x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x16xf32>
  %p = linalg.softmax dimension(3) ins(%s : tensor<1x1x4x16xf32>) outs(%s0 : tensor<1x1x4x16xf32>) -> tensor<1x1x4x16xf32>
  %o = linalg.generic {indexing_maps = #pv, iterator_types = #red5}
      ins(%p, %vw : tensor<1x1x4x16xf32>, tensor<1x1x16x8xf32>) outs(%o0 : tensor<1x1x4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x8xf32>
  return %o, %norm : tensor<1x1x4x8xf32>, tensor<1xf32>
}

// -----

// Negative: K and V swapped in the PV contraction (it reads the K cache).
#qk = [affine_map<(b, h, i, j, d) -> (b, h, i, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, j, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, i, j)>]
#pv = [affine_map<(b, h, i, d, j) -> (b, h, i, j)>,
       affine_map<(b, h, i, d, j) -> (b, h, j, d)>,
       affine_map<(b, h, i, d, j) -> (b, h, i, d)>]
#red5 = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-LABEL: func.func @swapped(
// CHECK-NOT: chunkkv.
// CHECK: return
// REPORT-LABEL: chunkkv-detect-kv-cache: @swapped: 0 layers
// REPORT-DAG: rejected tensor.insert_slice {{.*}}: the cache is read as keys (QK^T) and as values (PV): K and V swapped?
// REPORT-DAG: rejected tensor.insert_slice {{.*}}: written but never read by an attention contraction
func.func @swapped(%q: tensor<1x1x4x8xf32>, %kc: tensor<1x1x16x8xf32>, %vc: tensor<1x1x16x8xf32>,
                   %k: tensor<1x1x4x8xf32>, %v: tensor<1x1x4x8xf32>,
                   %s0: tensor<1x1x4x16xf32>, %o0: tensor<1x1x4x8xf32>)
    -> (tensor<1x1x4x8xf32>, tensor<1x1x16x8xf32>) {
  %kw = tensor.insert_slice %k into %kc[0, 0, 0, 0] [1, 1, 4, 8] [1, 1, 1, 1] : tensor<1x1x4x8xf32> into tensor<1x1x16x8xf32>
  %vw = tensor.insert_slice %v into %vc[0, 0, 0, 0] [1, 1, 4, 8] [1, 1, 1, 1] : tensor<1x1x4x8xf32> into tensor<1x1x16x8xf32>
  %s = linalg.generic {indexing_maps = #qk, iterator_types = #red5}
      ins(%q, %kw : tensor<1x1x4x8xf32>, tensor<1x1x16x8xf32>) outs(%s0 : tensor<1x1x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x16xf32>
  %p = linalg.softmax dimension(3) ins(%s : tensor<1x1x4x16xf32>) outs(%s0 : tensor<1x1x4x16xf32>) -> tensor<1x1x4x16xf32>
  %o = linalg.generic {indexing_maps = #pv, iterator_types = #red5}
      ins(%p, %kw : tensor<1x1x4x16xf32>, tensor<1x1x16x8xf32>) outs(%o0 : tensor<1x1x4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x8xf32>
  return %o, %vw : tensor<1x1x4x8xf32>, tensor<1x1x16x8xf32>
}

// -----

// Negative, ambiguous: one K cache read by two QK^T contractions.
#qk = [affine_map<(b, h, i, j, d) -> (b, h, i, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, j, d)>,
       affine_map<(b, h, i, j, d) -> (b, h, i, j)>]
#red5 = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-LABEL: func.func @ambiguous(
// CHECK-NOT: chunkkv.
// CHECK: return
// REPORT-LABEL: chunkkv-detect-kv-cache: @ambiguous: 0 layers
// REPORT-NEXT: rejected tensor.insert_slice {{.*}}: ambiguous: the cache is read by 2 attention contractions
func.func @ambiguous(%q1: tensor<1x1x4x8xf32>, %q2: tensor<1x1x4x8xf32>, %kc: tensor<1x1x16x8xf32>,
                     %k: tensor<1x1x4x8xf32>, %s0: tensor<1x1x4x16xf32>)
    -> (tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>) {
  %kw = tensor.insert_slice %k into %kc[0, 0, 0, 0] [1, 1, 4, 8] [1, 1, 1, 1] : tensor<1x1x4x8xf32> into tensor<1x1x16x8xf32>
  %s1 = linalg.generic {indexing_maps = #qk, iterator_types = #red5}
      ins(%q1, %kw : tensor<1x1x4x8xf32>, tensor<1x1x16x8xf32>) outs(%s0 : tensor<1x1x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x16xf32>
  %s2 = linalg.generic {indexing_maps = #qk, iterator_types = #red5}
      ins(%q2, %kw : tensor<1x1x4x8xf32>, tensor<1x1x16x8xf32>) outs(%s0 : tensor<1x1x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %c, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x1x4x16xf32>
  return %s1, %s2 : tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>
}
