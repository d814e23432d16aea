// RUN: chunkkv-opt %s -chunkkv-cpu-pipeline \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:       -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN:   | FileCheck %s

// topk_chunks executed: ties go to the lower chunk index, NaN never wins,
// -0 ties with +0, ids come out ascending and padded with -1.

// paper, C = 1, w = 1, budget 4: up to 3 chunks.
//   row 0 (T = 7): 0.9 at 1 and 4, then the first 0.5 (chunk 0).
//   row 1 (T = 3 <= budget): kept whole, no ids.
//   row 2 (T = 7): -0 and +0 tie at the top, then -0.5.
memref.global "private" constant @scores : memref<3x6xf32> = dense<[
  [0.5, 0.9, 0.5, 0x7FC00000, 0.9, 0.5],
  [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
  [-1.0, -0.5, -2.0, -0.0, 0.0, -3.0]]>
memref.global "private" constant @lengths : memref<3xi64> = dense<[7, 3, 7]>

// kvpress, C = 2, w = 1, cr = 0.5: T = 7 is 4 chunks, max(1, int(4 * 0.5)) = 2
// are kept; the last chunk holds one token, so 2 + 1 tokens.
memref.global "private" constant @kv_scores : memref<1x4xf32> = dense<[[0.1, 0.3, 0.2, 0.4]]>
memref.global "private" constant @kv_lengths : memref<1xi32> = dense<[7]>

func.func private @printMemrefI64(memref<*xi64>) attributes {llvm.emit_c_interface}
func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}

func.func @main() {
  %s = memref.get_global @scores : memref<3x6xf32>
  %len = memref.get_global @lengths : memref<3xi64>
  %ids = memref.alloc() : memref<3x3xi64>
  %kept = memref.alloc() : memref<3xi64>
  chunkkv.topk_chunks #chunkkv.policy<paper, chunk = 1, window = 1, budget = 4>
      ins(%s, %len : memref<3x6xf32>, memref<3xi64>)
      outs(%ids, %kept : memref<3x3xi64>, memref<3xi64>)
  %u = memref.cast %ids : memref<3x3xi64> to memref<*xi64>
  // CHECK: {{\[}}[0, 1, 4],
  // CHECK-NEXT: [-1, -1, -1],
  // CHECK-NEXT: [1, 3, 4]]
  call @printMemrefI64(%u) : (memref<*xi64>) -> ()
  %uk = memref.cast %kept : memref<3xi64> to memref<*xi64>
  // CHECK: [4, 3, 4]
  call @printMemrefI64(%uk) : (memref<*xi64>) -> ()

  %s2 = memref.get_global @kv_scores : memref<1x4xf32>
  %len2 = memref.get_global @kv_lengths : memref<1xi32>
  %ids2 = memref.alloc() : memref<1x2xi32>
  %kept2 = memref.alloc() : memref<1xi32>
  chunkkv.topk_chunks #chunkkv.policy<kvpress, chunk = 2, window = 1, pool = 1, compression_ratio = 0.5>
      ins(%s2, %len2 : memref<1x4xf32>, memref<1xi32>)
      outs(%ids2, %kept2 : memref<1x2xi32>, memref<1xi32>)
  %u2 = memref.cast %ids2 : memref<1x2xi32> to memref<*xi32>
  // CHECK: {{\[}}[1, 3]]
  call @printMemrefI32(%u2) : (memref<*xi32>) -> ()
  %uk2 = memref.cast %kept2 : memref<1xi32> to memref<*xi32>
  // CHECK: [3]
  call @printMemrefI32(%uk2) : (memref<*xi32>) -> ()
  return
}
