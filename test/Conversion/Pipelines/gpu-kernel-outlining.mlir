// RUN: chunkkv-opt %s -split-input-file -chunkkv-gpu-kernel-outlining | FileCheck %s

// The launch bounds of a gpu.launch end up on its outlined gpu.func, next to
// what upstream outlining sets (known_block_size); a launch without
// attributes is outlined as upstream does it.
// CHECK-LABEL: func.func @bounds
// CHECK: gpu.launch_func  @bounds_kernel::@bounds_kernel
// CHECK: gpu.launch_func  @bounds_kernel_0::@bounds_kernel
// CHECK-LABEL: gpu.module @bounds_kernel
// CHECK: gpu.func @bounds_kernel({{.*}}) kernel attributes
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK-SAME: nvvm.maxnreg = 168 : i32, nvvm.minctasm = 3 : i32
// CHECK-LABEL: gpu.module @bounds_kernel_0
// CHECK: gpu.func @bounds_kernel({{.*}}) kernel attributes {known_block_size = array<i32: 64, 1, 1>, known_grid_size = array<i32: 1, 1, 1>} {
func.func @bounds(%m: memref<128xf32>) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  %f = arith.constant 1.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
      threads(%tx, %ty, %tz) in (%a = %c128, %b = %c1, %c = %c1) {
    memref.store %f, %m[%tx] : memref<128xf32>
    gpu.terminator
  } {nvvm.minctasm = 3 : i32, nvvm.maxnreg = 168 : i32}
  gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
      threads(%tx, %ty, %tz) in (%a = %c64, %b = %c1, %c = %c1) {
    memref.store %f, %m[%tx] : memref<128xf32>
    gpu.terminator
  }
  return
}

// -----

// Launches inside loops and kernels outlined before this pass: each
// launch's attributes go to its own kernel.
// CHECK-LABEL: gpu.module @earlier
// CHECK: gpu.func @earlier() kernel {
// CHECK-LABEL: func.func @nested
// CHECK: gpu.launch_func  @earlier::@earlier
// CHECK: scf.for
// CHECK: gpu.launch_func  @nested_kernel::@nested_kernel
// CHECK: gpu.launch_func  @nested_kernel_0::@nested_kernel
// CHECK-LABEL: gpu.module @nested_kernel
// CHECK: gpu.func @nested_kernel({{.*}}) kernel attributes {{{.*}}nvvm.minctasm = 2 : i32} {
// CHECK-LABEL: gpu.module @nested_kernel_0
// CHECK: gpu.func @nested_kernel({{.*}}) kernel attributes {{{.*}}nvvm.minctasm = 4 : i32} {
module attributes {gpu.container_module} {
  gpu.module @earlier {
    gpu.func @earlier() kernel {
      gpu.return
    }
  }
  func.func @nested(%m: memref<128xf32>, %n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    %f = arith.constant 1.0 : f32
    gpu.launch_func  @earlier::@earlier blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    scf.for %i = %c0 to %n step %c1 {
      gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
          threads(%tx, %ty, %tz) in (%a = %c128, %b = %c1, %c = %c1) {
        memref.store %f, %m[%tx] : memref<128xf32>
        gpu.terminator
      } {nvvm.minctasm = 2 : i32}
    }
    gpu.launch blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
        threads(%tx, %ty, %tz) in (%a = %c128, %b = %c1, %c = %c1) {
      memref.store %f, %m[%tx] : memref<128xf32>
      gpu.terminator
    } {nvvm.minctasm = 4 : i32}
    return
  }
}

// -----

// Nothing to outline: the module is left as it is.
// CHECK-LABEL: func.func @host_only
// CHECK-NEXT: return
// CHECK-NOT: gpu.module
func.func @host_only() {
  return
}
