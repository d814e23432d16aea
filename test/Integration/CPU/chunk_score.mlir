// RUN: chunkkv-opt %s -chunkkv-cpu-pipeline \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:       -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN:   | FileCheck %s

// chunk_score executed on small hand-computed cases (the same as
// test/python/test_reference.py).

// One head, q = 1, keys log(1..5), scale 1: softmax weights are 1..5 / 15;
// with w = 1, C = 2 the prefix chunks score 3/15 and 7/15.
memref.global "private" constant @q1 : memref<1x1x1x1xf32> = dense<1.0>
memref.global "private" constant @k1 : memref<1x1x5x1xf32> =
    dense<[[[[0.0], [0.693147181], [1.098612289], [1.386294361], [1.609437912]]]]>
// The same keys in the [B, S, Hkv, D] layout.
memref.global "private" constant @k1s : memref<1x5x1x1xf32> =
    dense<[[[[0.0]], [[0.693147181]], [[1.098612289]], [[1.386294361]], [[1.609437912]]]]>

// w = 2, T = 4, zero keys: query 0 sits at position 2 and sees keys 0..2,
// query 1 sees all four; each prefix token scores 1/3 + 1/4 = 7/12. The
// second sequence has T = 2 = w: no prefix, every slot -inf.
memref.global "private" constant @q2 : memref<2x1x2x1xf32> = dense<1.0>
memref.global "private" constant @k2 : memref<2x1x4x1xf32> = dense<0.0>
memref.global "private" constant @len2 : memref<2xi32> = dense<[4, 2]>

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @main() {
  %q1 = memref.get_global @q1 : memref<1x1x1x1xf32>
  %k1 = memref.get_global @k1 : memref<1x1x5x1xf32>
  %len1 = memref.alloc() : memref<1xi64>
  %c5 = arith.constant 5 : i64
  %c0 = arith.constant 0 : index
  memref.store %c5, %len1[%c0] : memref<1xi64>
  %s1 = memref.alloc() : memref<1x2xf32>
  chunkkv.chunk_score #chunkkv.policy<paper, chunk = 2, window = 1, budget = 3>
      layout(bhsd) scale(1.0)
      ins(%q1, %k1, %len1 : memref<1x1x1x1xf32>, memref<1x1x5x1xf32>, memref<1xi64>)
      outs(%s1 : memref<1x2xf32>)
  %u1 = memref.cast %s1 : memref<1x2xf32> to memref<*xf32>
  // CHECK: {{\[}}[0.2, 0.466667]]
  call @printMemrefF32(%u1) : (memref<*xf32>) -> ()

  // Mean aggregation divides by the chunk size.
  %s1m = memref.alloc() : memref<1x2xf32>
  chunkkv.chunk_score #chunkkv.policy<paper, chunk = 2, window = 1, aggregate = mean, budget = 3>
      layout(bhsd) scale(1.0)
      ins(%q1, %k1, %len1 : memref<1x1x1x1xf32>, memref<1x1x5x1xf32>, memref<1xi64>)
      outs(%s1m : memref<1x2xf32>)
  %u1m = memref.cast %s1m : memref<1x2xf32> to memref<*xf32>
  // CHECK: {{\[}}[0.1, 0.233333]]
  call @printMemrefF32(%u1m) : (memref<*xf32>) -> ()

  %q2 = memref.get_global @q2 : memref<2x1x2x1xf32>
  %k2 = memref.get_global @k2 : memref<2x1x4x1xf32>
  %len2 = memref.get_global @len2 : memref<2xi32>
  %s2 = memref.alloc() : memref<2x2xf32>
  chunkkv.chunk_score #chunkkv.policy<paper, chunk = 1, window = 2, budget = 3>
      layout(bhsd) scale(1.0)
      ins(%q2, %k2, %len2 : memref<2x1x2x1xf32>, memref<2x1x4x1xf32>, memref<2xi32>)
      outs(%s2 : memref<2x2xf32>)
  %u2 = memref.cast %s2 : memref<2x2xf32> to memref<*xf32>
  // CHECK: {{\[}}[0.583333, 0.583333],
  // CHECK-NEXT: [-inf, -inf]]
  call @printMemrefF32(%u2) : (memref<*xf32>) -> ()

  // kvpress on the first case (w = 1, C = 2, p = 1): t = prob / (G w) on the
  // prefix [0, 4), the window token gets max(t) + 1 = 4/15 + 1; chunk means
  // over [0, 5): (1+2)/30, (3+4)/30, 19/15.
  %k1s = memref.get_global @k1s : memref<1x5x1x1xf32>
  %s3 = memref.alloc() : memref<1x3xf32>
  chunkkv.chunk_score #chunkkv.policy<kvpress, chunk = 2, window = 1, pool = 1, compression_ratio = 0.5>
      layout(bshd) scale(1.0)
      ins(%q1, %k1s, %len1 : memref<1x1x1x1xf32>, memref<1x5x1x1xf32>, memref<1xi64>)
      outs(%s3 : memref<1x3xf32>)
  %u3 = memref.cast %s3 : memref<1x3xf32> to memref<*xf32>
  // CHECK: {{\[}}[0.1, 0.233333, 1.26667]]
  call @printMemrefF32(%u3) : (memref<*xf32>) -> ()

  // Pooling with p = 3 on the first case: tokens 1..4 / 15 pool to
  // (0+1+2)/45, (1+2+3)/45, (2+3+4)/45, (3+4+0)/45; chunks sum pairs.
  %s4 = memref.alloc() : memref<1x2xf32>
  chunkkv.chunk_score #chunkkv.policy<paper, chunk = 2, window = 1, pool = 3, budget = 3>
      layout(bhsd) scale(1.0)
      ins(%q1, %k1, %len1 : memref<1x1x1x1xf32>, memref<1x1x5x1xf32>, memref<1xi64>)
      outs(%s4 : memref<1x2xf32>)
  %u4 = memref.cast %s4 : memref<1x2xf32> to memref<*xf32>
  // CHECK: {{\[}}[0.2, 0.355556]]
  call @printMemrefF32(%u4) : (memref<*xf32>) -> ()
  return
}
