// RUN: chunkkv-opt %s -chunkkv-cpu-pipeline \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:       -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN:   | FileCheck %s

// Lengths outside [0, S] are clamped and chunk ids outside [0, n) skipped,
// so the kernels stay in bounds: 100 acts as S = 8, -3 as 0.

memref.global "private" constant @q : memref<2x1x2x1xf32> = dense<1.0>
memref.global "private" constant @k : memref<2x1x8x1xf32> =
    dense<[[[[0.0], [1.0], [2.0], [3.0], [4.0], [5.0], [6.0], [7.0]]],
           [[[0.0], [1.0], [2.0], [3.0], [4.0], [5.0], [6.0], [7.0]]]]>
memref.global "private" constant @lengths : memref<2xi64> = dense<[100, -3]>
memref.global "private" constant @bad_ids : memref<2x2xi64> = dense<[[7, 2], [1, -5]]>

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
func.func private @printMemrefI64(memref<*xi64>) attributes {llvm.emit_c_interface}

func.func @main() {
  %q = memref.get_global @q : memref<2x1x2x1xf32>
  %k = memref.get_global @k : memref<2x1x8x1xf32>
  %len = memref.get_global @lengths : memref<2xi64>
  %s = memref.alloc() : memref<2x3xf32>
  chunkkv.chunk_score #chunkkv.policy<paper, chunk = 2, window = 2, budget = 6>
      layout(bhsd) scale(1.0)
      ins(%q, %k, %len : memref<2x1x2x1xf32>, memref<2x1x8x1xf32>, memref<2xi64>)
      outs(%s : memref<2x3xf32>)
  %us = memref.cast %s : memref<2x3xf32> to memref<*xf32>
  // Sequence 0 is scored as T = 8; sequence 1 (T = 0) has no chunks.
  // CHECK: {{\[}}[{{[0-9.e+-]+}}, {{[0-9.e+-]+}}, {{[0-9.e+-]+}}],
  // CHECK-NEXT: [-inf, -inf, -inf]]
  call @printMemrefF32(%us) : (memref<*xf32>) -> ()

  // Chunk ids 7 and -5 are not chunks of these sequences and are skipped.
  %ids = memref.get_global @bad_ids : memref<2x2xi64>
  %out = memref.alloc() : memref<2x1x8x1xf32>
  %new = memref.alloc() : memref<2xi64>
  chunkkv.compact #chunkkv.policy<paper, chunk = 2, window = 2, budget = 6> layout(bhsd)
      ins(%k, %ids, %len : memref<2x1x8x1xf32>, memref<2x2xi64>, memref<2xi64>)
      outs(%out, %new : memref<2x1x8x1xf32>, memref<2xi64>)
  %un = memref.cast %new : memref<2xi64> to memref<*xi64>
  // Sequence 0: chunk 2 (rows 4, 5) and the window (6, 7); sequence 1: empty.
  // CHECK: [4, 0]
  call @printMemrefI64(%un) : (memref<*xi64>) -> ()
  %row = memref.subview %out[0, 0, 0, 0] [1, 1, 4, 1] [1, 1, 1, 1]
      : memref<2x1x8x1xf32> to memref<4xf32, strided<[1]>>
  %ur = memref.cast %row : memref<4xf32, strided<[1]>> to memref<*xf32>
  // CHECK: [4, 5, 6, 7]
  call @printMemrefF32(%ur) : (memref<*xf32>) -> ()
  return
}
