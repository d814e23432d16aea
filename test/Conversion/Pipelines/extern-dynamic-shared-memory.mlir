// RUN: chunkkv-opt %s -split-input-file -pass-pipeline='builtin.module(gpu.module(chunkkv-extern-dynamic-shared-memory))' | FileCheck %s

// The NVVM lowering of gpu.dynamic_shared_memory declares an internal
// zero-sized array in shared memory (address space 3): it becomes external,
// PTX's `.extern .shared`.
// CHECK-LABEL: gpu.module @dynamic
// CHECK: llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
gpu.module @dynamic {
  llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
}

// -----

// Static shared memory (a size) and zero-sized arrays in other address
// spaces are left as they are.
// CHECK-LABEL: gpu.module @others
// CHECK: llvm.mlir.global internal @staged() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<256 x i8>
// CHECK: llvm.mlir.global internal @global_empty() {addr_space = 1 : i32} : !llvm.array<0 x i8>
// CHECK: llvm.mlir.global internal @scalar() {addr_space = 3 : i32} : i32
gpu.module @others {
  llvm.mlir.global internal @staged() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<256 x i8>
  llvm.mlir.global internal @global_empty() {addr_space = 1 : i32} : !llvm.array<0 x i8>
  llvm.mlir.global internal @scalar() {addr_space = 3 : i32} : i32
}
