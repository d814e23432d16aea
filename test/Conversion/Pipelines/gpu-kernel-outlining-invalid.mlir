// RUN: chunkkv-opt %s -split-input-file -verify-diagnostics -chunkkv-gpu-kernel-outlining

// A launch bound that is not an integer is rejected before the pass runs.
func.func @bound_not_integer(%m: memref<128xf32>) {
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  // expected-error @+1 {{'"nvvm.minctasm"' attribute must be integer constant}}
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
      threads(%tx, %ty, %tz) in (%a = %c1, %b = %c1, %c = %c1) {
    memref.store %f, %m[%tx] : memref<128xf32>
    gpu.terminator
  } {nvvm.minctasm = "three"}
  return
}

// -----

// A launch in a nested module: upstream outlining cannot make it a kernel
// of that module, and the pass fails with its diagnostic.
module {
  module @inner {
    func.func @nested(%m: memref<128xf32>) {
      %c1 = arith.constant 1 : index
      %f = arith.constant 1.0 : f32
      // expected-error @+1 {{expected the closest surrounding module to have the 'gpu.container_module' attribute}}
      gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
          threads(%tx, %ty, %tz) in (%a = %c1, %b = %c1, %c = %c1) {
        memref.store %f, %m[%tx] : memref<128xf32>
        gpu.terminator
      } {nvvm.minctasm = 2 : i32}
      return
    }
  }
}
