// Interval 2 on four compressed layers: layers 1 and 3 compact with the
// chunks of layers 0 and 2 and lose their own scoring and selection.
// RUN: %python -m chunkkv.models --layers 4 | chunkkv-opt -chunkkv-detect-kv-cache \
// RUN:   -chunkkv-insert-compression="chunk-size=2 window=4 budget=8" \
// RUN:   -chunkkv-reuse-indices="interval=2 report=true" 2>%t.report | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT < %t.report

// CHECK-LABEL: func.func @prefill
// CHECK: %[[SEL0:.*]]:2 = chunkkv.topk_chunks {{.*}} {chunkkv.layer = 0 : i64}
// CHECK: chunkkv.compact {{.*}} ins(%{{.*}}, %[[SEL0]]#0, {{.*}} {chunkkv.layer = 0 : i64}
// CHECK: chunkkv.compact {{.*}} ins(%{{.*}}, %[[SEL0]]#0, {{.*}} {chunkkv.layer = 0 : i64}
// CHECK-NOT: chunkkv.layer = 1 : i64} -> tensor<2x30xf32>
// CHECK: chunkkv.compact {{.*}} ins(%{{.*}}, %[[SEL0]]#0, {{.*}} {chunkkv.layer = 1 : i64, chunkkv.leader = 0 : i64}
// CHECK: chunkkv.compact {{.*}} ins(%{{.*}}, %[[SEL0]]#0, {{.*}} {chunkkv.layer = 1 : i64, chunkkv.leader = 0 : i64}
// CHECK: %[[SEL2:.*]]:2 = chunkkv.topk_chunks {{.*}} {chunkkv.layer = 2 : i64}
// CHECK: chunkkv.compact {{.*}} ins(%{{.*}}, %[[SEL2]]#0, {{.*}} {chunkkv.layer = 3 : i64, chunkkv.leader = 2 : i64}
// REPORT: @prefill layer 1: reuses the selection of layer 0
// REPORT: @prefill layer 3: reuses the selection of layer 2

// Two chunk_score and two topk_chunks are left of four.
// RUN: %python -m chunkkv.models --layers 4 | chunkkv-opt -chunkkv-compress="chunk-size=2 window=4 budget=8 reuse=2" \
// RUN:   | FileCheck %s --check-prefix=COUNT
// COUNT-COUNT-2: chunkkv.chunk_score
// COUNT-NOT: chunkkv.chunk_score

// Interval 1 changes nothing; an interval below 1 is an error.
// RUN: %python -m chunkkv.models --layers 2 | chunkkv-opt -chunkkv-detect-kv-cache \
// RUN:   -chunkkv-insert-compression="chunk-size=2 window=4 budget=8" -chunkkv-reuse-indices="interval=1" \
// RUN:   | FileCheck %s --check-prefix=ONE
// ONE-COUNT-2: chunkkv.topk_chunks
// ONE-NOT: chunkkv.leader
// RUN: not chunkkv-opt %S/../../examples/tiny_llama.mlir -chunkkv-reuse-indices="interval=0" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ZERO
// ZERO: error: chunkkv-reuse-indices: interval must be >= 1, got 0

// A layer loop: the selection is carried by the loop and recomputed in an
// scf.if when l % 2 == 0; the compacts use the carried one.
// RUN: %python -m chunkkv.models --layers 4 --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache \
// RUN:   -chunkkv-insert-compression="chunk-size=2 window=4 budget=8" \
// RUN:   -chunkkv-reuse-indices="interval=2" | FileCheck %s --check-prefix=LOOP
// LOOP-LABEL: func.func @prefill
// LOOP: scf.for %[[L:.*]] = %{{.*}} iter_args({{.*}}, %[[CARRY:.*]] = %{{.*}}) -> ({{.*}}, tensor<2x2xi64>)
// LOOP: %[[REM:.*]] = arith.remui %[[L]], %c2 : index
// LOOP: %[[LEADS:.*]] = arith.cmpi eq, %[[REM]], %c0
// LOOP: %[[SEL:.*]] = scf.if %[[LEADS]] -> (tensor<2x2xi64>) {
// LOOP: chunkkv.chunk_score
// LOOP: %[[IDS:.*]]:2 = chunkkv.topk_chunks
// LOOP: scf.yield %[[IDS]]#0
// LOOP: } else {
// LOOP: scf.yield %[[CARRY]]
// LOOP: chunkkv.compact {{.*}} ins(%{{.*}}, %[[SEL]], {{.*}}
// LOOP: chunkkv.compact {{.*}} ins(%{{.*}}, %[[SEL]], {{.*}}
// LOOP: scf.yield {{.*}}, %[[SEL]]
