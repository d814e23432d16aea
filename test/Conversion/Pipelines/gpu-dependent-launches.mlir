// RUN: chunkkv-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(gpu.module(chunkkv-gpu-dependent-launches))' | FileCheck %s

// Every kernel starts by waiting for the kernel before it, then lets the
// next one launch; the module gets the marker that chunkkv's runtime looks
// for. Functions that are not kernels are left alone.
// CHECK-LABEL: gpu.module @kernels
// CHECK: llvm.mlir.global external constant @chunkkv_dependent_launches(1 : i32) {addr_space = 1 : i32, alignment = 4 : i64} : i32
// CHECK-LABEL: gpu.func @store
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: gpu.thread_id x
// CHECK-LABEL: gpu.func @helper
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return
// CHECK-LABEL: gpu.func @empty
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: gpu.return
gpu.module @kernels {
  gpu.func @store(%out: memref<32xi32, 1>) kernel {
    %tid = gpu.thread_id x
    %value = arith.index_cast %tid : index to i32
    memref.store %value, %out[%tid] : memref<32xi32, 1>
    gpu.return
  }
  gpu.func @helper(%out: memref<32xi32, 1>) {
    gpu.return
  }
  gpu.func @empty() kernel {
    gpu.return
  }
}

// -----

// A kernel that already waits first (after side-effect-free ops) is left
// as it is, and so is a marker already there.
// CHECK-LABEL: gpu.module @again
// CHECK-COUNT-1: llvm.mlir.global
// CHECK-LABEL: gpu.func @waits
// CHECK-NEXT: arith.constant
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: arith.constant
// CHECK-NEXT: memref.store
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return
gpu.module @again {
  llvm.mlir.global external constant @chunkkv_dependent_launches(1 : i32) {addr_space = 1 : i32} : i32
  gpu.func @waits(%out: memref<32xi32, 1>) kernel {
    %c0 = arith.constant 0 : index
    nvvm.griddepcontrol wait
    %one = arith.constant 1 : i32
    memref.store %one, %out[%c0] : memref<32xi32, 1>
    gpu.return
  }
}

// -----

// A store before the wait: the wait goes first.
// CHECK-LABEL: gpu.module @late
// CHECK-LABEL: gpu.func @waits_late
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: arith.constant
gpu.module @late {
  gpu.func @waits_late(%out: memref<32xi32, 1>) kernel {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1 : i32
    memref.store %one, %out[%c0] : memref<32xi32, 1>
    nvvm.griddepcontrol wait
    gpu.return
  }
}

// -----

// A module without kernels gets no marker.
// CHECK-LABEL: gpu.module @no_kernels
// CHECK-NOT: chunkkv_dependent_launches
// CHECK: gpu.func @helper
gpu.module @no_kernels {
  gpu.func @helper() {
    gpu.return
  }
}

// -----

// The marker's name taken by something else is reported.
gpu.module @taken {
  // expected-error @+1 {{chunkkv-gpu-dependent-launches: expected the symbol 'chunkkv_dependent_launches' to be an i32 llvm.mlir.global}}
  llvm.mlir.global external @chunkkv_dependent_launches(1 : i64) {addr_space = 1 : i32} : i64
  gpu.func @k() kernel {
    gpu.return
  }
}
