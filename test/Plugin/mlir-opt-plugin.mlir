// Debian's mlir-opt runs the chunkkv passes from the plugin, without chunkkv-opt.
// An instrumented plugin cannot load into the uninstrumented mlir-opt:
// UNSUPPORTED: asan
// RUN: mlir-opt %s --load-dialect-plugin=%chunkkv_plugin --load-pass-plugin=%chunkkv_plugin \
// RUN:   | FileCheck %s --check-prefix=ROUNDTRIP
// RUN: mlir-opt %s --load-dialect-plugin=%chunkkv_plugin --load-pass-plugin=%chunkkv_plugin \
// RUN:   --pass-pipeline="builtin.module(chunkkv-lower-to-loops)" | FileCheck %s --check-prefix=LOWERED
// RUN: mlir-opt %s --load-dialect-plugin=%chunkkv_plugin --load-pass-plugin=%chunkkv_plugin \
// RUN:   --pass-pipeline="builtin.module(chunkkv-cpu-pipeline)" | FileCheck %s --check-prefix=LLVM

#policy = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>

// ROUNDTRIP: chunkkv.topk_chunks #policy
// LOWERED-LABEL: func.func @select
// LOWERED-NOT: chunkkv.topk_chunks
// LOWERED: arith.shrui
// LLVM: llvm.func @select
func.func @select(%s: memref<2x12xf32>, %len: memref<2xi64>, %ids: memref<2x3xi64>,
                  %kept: memref<2xi64>) {
  chunkkv.topk_chunks #policy ins(%s, %len : memref<2x12xf32>, memref<2xi64>)
      outs(%ids, %kept : memref<2x3xi64>, memref<2xi64>)
  return
}
