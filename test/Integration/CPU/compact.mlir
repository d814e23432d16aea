// RUN: chunkkv-opt %s -chunkkv-cpu-pipeline \
// RUN:   | mlir-runner -e main -entry-point-result=void \
// RUN:       -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN:   | FileCheck %s

// compact executed in place: every head keeps the rows of the chosen chunks,
// then the window. Row j of head h holds 10 * j + h.

// paper, C = 2, w = 2, budget 6 (k = 2). Sequence 0 (T = 8, prefix 6):
// chunks 0 and 2 -> rows 0, 1, 4, 5, then the window 6, 7. Sequence 1
// (T = 5 <= 6) is kept whole.
memref.global "private" constant @ids : memref<2x2xi64> = dense<[[0, 2], [-1, -1]]>
memref.global "private" constant @lengths : memref<2xi64> = dense<[8, 5]>

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
func.func private @printMemrefI64(memref<*xi64>) attributes {llvm.emit_c_interface}

func.func @fill(%cache: memref<2x2x8x1xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c10 = arith.constant 10 : index
  scf.for %b = %c0 to %c2 step %c1 {
    scf.for %h = %c0 to %c2 step %c1 {
      scf.for %j = %c0 to %c8 step %c1 {
        %j10 = arith.muli %j, %c10 : index
        %v = arith.addi %j10, %h : index
        %i = arith.index_cast %v : index to i64
        %f = arith.sitofp %i : i64 to f32
        memref.store %f, %cache[%b, %h, %j, %c0] : memref<2x2x8x1xf32>
      }
    }
  }
  return
}

func.func @main() {
  %cache = memref.alloc() : memref<2x2x8x1xf32>
  call @fill(%cache) : (memref<2x2x8x1xf32>) -> ()
  %ids = memref.get_global @ids : memref<2x2xi64>
  %len = memref.get_global @lengths : memref<2xi64>
  %new = memref.alloc() : memref<2xi64>
  chunkkv.compact #chunkkv.policy<paper, chunk = 2, window = 2, budget = 6> layout(bhsd)
      ins(%cache, %ids, %len : memref<2x2x8x1xf32>, memref<2x2xi64>, memref<2xi64>)
      outs(%cache, %new : memref<2x2x8x1xf32>, memref<2xi64>)
  %u = memref.cast %cache : memref<2x2x8x1xf32> to memref<*xf32>
  // Sequence 0, head 0 then head 1: the first six rows are the kept ones.
  // CHECK: {{\[}}{{\[}}{{\[}}[0],
  // CHECK-NEXT: [10],
  // CHECK-NEXT: [40],
  // CHECK-NEXT: [50],
  // CHECK-NEXT: [60],
  // CHECK-NEXT: [70],
  // CHECK-NEXT: [60],
  // CHECK-NEXT: [70]],
  // CHECK-NEXT: {{\[}}[1],
  // CHECK-NEXT: [11],
  // CHECK-NEXT: [41],
  // CHECK-NEXT: [51],
  // CHECK-NEXT: [61],
  // CHECK-NEXT: [71],
  // Sequence 1 is unchanged.
  // CHECK: {{\[}}{{\[}}[0],
  // CHECK-NEXT: [10],
  // CHECK-NEXT: [20],
  // CHECK-NEXT: [30],
  // CHECK-NEXT: [40],
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  %un = memref.cast %new : memref<2xi64> to memref<*xi64>
  // CHECK: [6, 5]
  call @printMemrefI64(%un) : (memref<*xi64>) -> ()
  return
}
