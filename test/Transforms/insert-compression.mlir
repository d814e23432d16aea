// The bundled two-layer model: after detection, each layer's last 4 queries
// (rows 12..15 of [B, T, Hq, D]) score its K cache; the chosen chunks compact
// K and V; @prefill returns the compacted caches and one length vector per
// layer. @decode is left as it is.
// RUN: chunkkv-opt %S/../../examples/tiny_llama.mlir -chunkkv-detect-kv-cache \
// RUN:   -chunkkv-insert-compression="chunk-size=2 window=4 budget=8 report=true" 2>%t.report \
// RUN:   | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT < %t.report

// CHECK-LABEL: func.func @prefill
// CHECK-SAME: -> (tensor<2x16x64xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2xi64>, tensor<2xi64>)
// CHECK: %[[K0:.*]] = tensor.insert_slice {{.*}}layer = 0>
// CHECK: %[[V0:.*]] = tensor.insert_slice {{.*}}layer = 0>
// CHECK: %[[Q0:.*]] = tensor.extract_slice %{{.*}}[0, 12, 0, 0] [2, 4, 4, 16] [1, 1, 1, 1] : tensor<2x16x4x16xf32> to tensor<2x4x4x16xf32>
// CHECK: %[[QT0:.*]] = linalg.transpose ins(%[[Q0]] : tensor<2x4x4x16xf32>) {{.*}} permutation = [0, 2, 1, 3]
// CHECK: %[[LEN0:.*]] = tensor.splat %{{.*}} : tensor<2xi64>
// CHECK: %[[S0:.*]] = chunkkv.chunk_score #{{.*}} layout(bhsd) ins(%[[QT0]], %[[K0]], %[[LEN0]] {{.*}} outs(%{{.*}} : tensor<2x30xf32>) {chunkkv.layer = 0 : i64}
// CHECK: %[[T0:.*]]:2 = chunkkv.topk_chunks #{{.*}} ins(%[[S0]], %[[LEN0]] {{.*}} {chunkkv.layer = 0 : i64}
// CHECK: %[[CK0:.*]]:2 = chunkkv.compact #{{.*}} ins(%[[K0]], %[[T0]]#0, %[[LEN0]] {{.*}} outs(%[[K0]], {{.*}} {chunkkv.layer = 0 : i64}
// CHECK: %[[CV0:.*]]:2 = chunkkv.compact #{{.*}} ins(%[[V0]], %[[T0]]#0, %[[LEN0]] {{.*}} {chunkkv.layer = 0 : i64}
// CHECK: chunkkv.chunk_score {{.*}} {chunkkv.layer = 1 : i64}
// CHECK: %[[CK1:.*]]:2 = chunkkv.compact {{.*}} {chunkkv.layer = 1 : i64}
// CHECK: %[[CV1:.*]]:2 = chunkkv.compact {{.*}} {chunkkv.layer = 1 : i64}
// CHECK: return %{{.*}}, %[[CK0]]#0, %[[CV0]]#0, %[[CK1]]#0, %[[CV1]]#0, %[[CK0]]#1, %[[CK1]]#1
// CHECK-LABEL: func.func @decode
// CHECK-NOT: chunkkv.compact
// REPORT: chunkkv-insert-compression: @prefill layer 0: compressed
// REPORT: chunkkv-insert-compression: @prefill layer 1: compressed

// Without detection there is nothing to compress: the module is unchanged.
// RUN: chunkkv-opt %S/../../examples/tiny_llama.mlir \
// RUN:   -chunkkv-insert-compression="window=4 budget=8 report=true" 2>&1 | FileCheck %s --check-prefix=UNDETECTED
// UNDETECTED: @prefill has no detected KV caches (run chunkkv-detect-kv-cache first); nothing compressed
// UNDETECTED-NOT: chunkkv.chunk_score

// A prompt shorter than the window: unchanged, and why.
// RUN: chunkkv-opt %S/../../examples/tiny_llama.mlir -chunkkv-detect-kv-cache \
// RUN:   -chunkkv-insert-compression="window=32 keep-ratio=0.5 report=true" 2>&1 | FileCheck %s --check-prefix=SHORT
// SHORT: @prefill layer 0: the prompt (16 tokens) is shorter than the window (32); nothing compressed
// SHORT-NOT: chunkkv.chunk_score

// A layer loop: the compaction is in the loop body, the stored-back caches
// are the compacted ones, one tensor<LxBxi64> carries every layer's lengths;
// decode takes it and extracts its row l in iteration l.
// RUN: %python -m chunkkv.models --layers 2 --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache \
// RUN:   -chunkkv-insert-compression="window=4 chunk-size=2 budget=8 report=true" 2>%t.loop \
// RUN:   | FileCheck %s --check-prefix=LOOP
// RUN: FileCheck %s --check-prefix=LOOP-REPORT < %t.loop
// LOOP-LABEL: func.func @prefill
// LOOP: %[[STACK:.*]] = tensor.empty() : tensor<2x2xi64>
// LOOP: %[[LOOP:.*]]:4 = scf.for %[[L:.*]] = %{{.*}} iter_args({{.*}}, %[[LENS:.*]] = %[[STACK]]) -> ({{.*}}, tensor<2x2xi64>)
// LOOP: %[[CK:.*]]:2 = chunkkv.compact
// LOOP: %[[CV:.*]]:2 = chunkkv.compact
// LOOP: tensor.insert_slice %[[CK]]#0 into %{{.*}}[%[[L]], 0, 0, 0, 0]
// LOOP: tensor.insert_slice %[[CV]]#0 into %{{.*}}[%[[L]], 0, 0, 0, 0]
// LOOP: %[[ROW:.*]] = tensor.insert_slice %[[CK]]#1 into %[[LENS]][%[[L]], 0] [1, 2] [1, 1] : tensor<2xi64> into tensor<2x2xi64>
// LOOP: scf.yield {{.*}}, %[[ROW]]
// LOOP: return %[[LOOP]]#0, %[[LOOP]]#1, %[[LOOP]]#2, %[[LOOP]]#3
// LOOP-LABEL: func.func @decode
// LOOP-SAME: %[[DLENS:[a-z0-9]+]]: tensor<2x2xi64>)
// LOOP: scf.for %[[DL:.*]] = %{{.*}} iter_args
// LOOP-NEXT: tensor.extract_slice %[[DLENS]][%[[DL]], 0] [1, 2] [1, 1] : tensor<2x2xi64> to tensor<2xi64>
// LOOP: arith.addi %[[DLENS]], %{{.*}} : tensor<2x2xi64>
// LOOP-REPORT: @prefill layer loop: compressed
// LOOP-REPORT: @decode: writes and masks use the per-layer lengths

// A missing function: nothing to do.
// RUN: chunkkv-opt %S/../../examples/tiny_llama.mlir -chunkkv-detect-kv-cache \
// RUN:   -chunkkv-insert-compression="function=encode budget=40 report=true" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: no function @encode with a body; nothing compressed

// An invalid policy is an error.
// RUN: not chunkkv-opt %S/../../examples/tiny_llama.mlir \
// RUN:   -chunkkv-insert-compression="window=32 budget=8" 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not chunkkv-opt %S/../../examples/tiny_llama.mlir \
// RUN:   -chunkkv-insert-compression="policy=snapkv" 2>&1 | FileCheck %s --check-prefix=KIND
// POLICY: error: chunkkv-insert-compression:
// POLICY-SAME: budget (8) must be >= window (32)
// KIND: error: chunkkv-insert-compression: policy: expected 'paper' or 'kvpress', got 'snapkv'

// Decode takes one length vector per layer (appended), writes each
// sequence's row at its length, masks with it, and returns the lengths + 1.
// RUN: chunkkv-opt %S/../../examples/tiny_llama.mlir -chunkkv-detect-kv-cache \
// RUN:   -chunkkv-insert-compression="chunk-size=2 window=4 budget=8" | FileCheck %s --check-prefix=DECODE
// DECODE-LABEL: func.func @decode
// DECODE-SAME: %[[POS:[a-z0-9]+]]: index
// DECODE-SAME: %[[LEN0:[a-z0-9]+]]: tensor<2xi64>, %[[LEN1:[a-z0-9]+]]: tensor<2xi64>)
// DECODE-SAME: -> (tensor<2x1x64xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32>, tensor<2xi64>, tensor<2xi64>)
// DECODE: %[[K0:.*]] = scf.for %[[B:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[C:.*]] = %{{.*}}) -> (tensor<2x2x64x16xf32>)
// DECODE: %[[L:.*]] = tensor.extract %[[LEN0]][%[[B]]] : tensor<2xi64>
// DECODE: %[[ROW:.*]] = arith.index_cast %[[L]] : i64 to index
// DECODE: %[[PIECE:.*]] = tensor.extract_slice %{{.*}}[%[[B]], 0, 0, 0] [1, 2, 1, 16] [1, 1, 1, 1]
// DECODE: tensor.insert_slice %[[PIECE]] into %[[C]][%[[B]], 0, %[[ROW]], 0] [1, 2, 1, 16] [1, 1, 1, 1]
// The mask of layer 0 compares key indices with the sequence's length.
// DECODE: linalg.index 0 : index
// DECODE: tensor.extract %[[LEN0]]
// DECODE: arith.cmpi ule
// DECODE: %[[NEXT0:.*]] = arith.addi %[[LEN0]], %{{.*}} : tensor<2xi64>
// DECODE: %[[NEXT1:.*]] = arith.addi %[[LEN1]], %{{.*}} : tensor<2xi64>
// DECODE: return {{.*}}, %[[NEXT0]], %[[NEXT1]]

// A decode that does not fit (here, a decode function that is a layer loop
// while prefill is unrolled cannot happen in one generated module, so: a
// decode named that has no detected layers) leaves everything unchanged.
// RUN: chunkkv-opt %S/../../examples/tiny_llama.mlir -chunkkv-detect-kv-cache \
// RUN:   -chunkkv-insert-compression="chunk-size=2 window=4 budget=8 decode=prefill_only report=true" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NODECODE
// NODECODE: no function @prefill_only with a body: only @prefill is rewritten

// Right-padded prompts: prefill takes each prompt's length; the window
// queries are gathered per sequence from [len - w, len); decode takes each
// sequence's true position for RoPE.
// RUN: chunkkv-opt %S/../../examples/tiny_llama.mlir -chunkkv-detect-kv-cache \
// RUN:   -chunkkv-insert-compression="chunk-size=2 window=4 budget=8 prompt-lengths=true" \
// RUN:   | FileCheck %s --check-prefix=RAGGED
// RAGGED-LABEL: func.func @prefill
// RAGGED-SAME: %[[PROMPTS:[a-z0-9]+]]: tensor<2xi64>)
// RAGGED: scf.for %[[B:.*]] = %{{.*}} iter_args
// RAGGED: %[[LEN:.*]] = tensor.extract %[[PROMPTS]][%[[B]]] : tensor<2xi64>
// RAGGED: tensor.extract_slice %{{.*}}[%[[B]], %{{.*}}, 0, 0] [1, 4, 4, 16] [1, 1, 1, 1]
// RAGGED: chunkkv.chunk_score
// RAGGED-LABEL: func.func @decode
// RAGGED-SAME: %[[LEN0:[a-z0-9]+]]: tensor<2xi64>, %[[LEN1:[a-z0-9]+]]: tensor<2xi64>, %[[POS:[a-z0-9]+]]: tensor<2xi64>)
// RAGGED: tensor.extract %[[POS]]
