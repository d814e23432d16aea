// The CUDA runtime library under mlir-runner on a machine without a GPU
// driver: host code that allocates device memory and launches a kernel gets
// a clear message on stderr, and nothing crashes.
// REQUIRES: cuda-runtime
// UNSUPPORTED: cuda-device, asan
// RUN: chunkkv-opt %s -chunkkv-gpu-pipeline="format=isa" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:     -shared-libs=%chunkkv_cuda_runtime,%mlir_c_runner_utils 2>&1 \
// RUN: | FileCheck %s

// CHECK: chunkkv cuda runtime: cannot load libcuda.so.1 (no NVIDIA driver on this machine?)
// CHECK: host code finished

func.func @main() {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %t0 = gpu.wait async
  %buffer, %t1 = gpu.alloc async [%t0] (%c16) : memref<?xf32>
  %t2 = gpu.launch async [%t1] blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
                          threads(%tx, %ty, %tz) in (%a = %c16, %b = %c1, %c = %c1) {
    %v = arith.constant 1.0 : f32
    memref.store %v, %buffer[%tx] : memref<?xf32>
    gpu.terminator
  }
  %t3 = gpu.dealloc async [%t2] %buffer : memref<?xf32>
  gpu.wait [%t3]
  vector.print str "host code finished\n"
  return
}
