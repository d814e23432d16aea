// Every form of the model generator: all layers found in prefill and decode.
// Unrolled modules get 3 layers with indices, layer-loop modules one loop.

// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk batch_matmul --softmax linalg --form tensor | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk batch_matmul --softmax linalg --form memref | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk batch_matmul --softmax decomposed --form tensor | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk batch_matmul --softmax decomposed --form memref | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk generic --softmax linalg --form tensor | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk generic --softmax linalg --form memref | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk generic --softmax decomposed --form tensor | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk generic --softmax decomposed --form memref | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk batch_matmul --softmax linalg --form tensor | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk batch_matmul --softmax linalg --form memref | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk batch_matmul --softmax decomposed --form tensor | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk batch_matmul --softmax decomposed --form memref | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk generic --softmax linalg --form tensor | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk generic --softmax linalg --form memref | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk generic --softmax decomposed --form tensor | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk generic --softmax decomposed --form memref | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=UNROLLED,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk batch_matmul --softmax linalg --form tensor --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk batch_matmul --softmax linalg --form memref --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk batch_matmul --softmax decomposed --form tensor --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk batch_matmul --softmax decomposed --form memref --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk generic --softmax linalg --form tensor --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk generic --softmax linalg --form memref --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk generic --softmax decomposed --form tensor --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bhsd --qk generic --softmax decomposed --form memref --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BHSD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk batch_matmul --softmax linalg --form tensor --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk batch_matmul --softmax linalg --form memref --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk batch_matmul --softmax decomposed --form tensor --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk batch_matmul --softmax decomposed --form memref --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk generic --softmax linalg --form tensor --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk generic --softmax linalg --form memref --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk generic --softmax decomposed --form tensor --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BSHD
// RUN: %python -m chunkkv.models --layers 3 --layout bshd --qk generic --softmax decomposed --form memref --layer-loop | chunkkv-opt -chunkkv-detect-kv-cache | FileCheck %s --check-prefixes=LOOP,BSHD

// UNROLLED-LABEL: func.func @prefill
// UNROLLED-SAME: chunkkv.kv_layers = 3
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<v_write, {{.*}}layer = 0>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<k_read, {{.*}}layer = 0>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<v_read, {{.*}}layer = 0>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<query, {{.*}}layer = 0>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<qk, {{.*}}layer = 0>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<pv, {{.*}}layer = 0>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<k_write, {{.*}}layer = 1>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<pv, {{.*}}layer = 1>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<k_write, {{.*}}layer = 2>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<v_write, {{.*}}layer = 2>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<query, {{.*}}layer = 2>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<qk, {{.*}}layer = 2>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<pv, {{.*}}layer = 2>
// UNROLLED-LABEL: func.func @decode
// UNROLLED-SAME: chunkkv.kv_layers = 3
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<k_write, {{.*}}layer = 2>
// UNROLLED-DAG: chunkkv.kv = #chunkkv.kv<pv, {{.*}}layer = 2>

// LOOP-LABEL: func.func @prefill
// LOOP-SAME: chunkkv.kv_layers = 3
// LOOP: scf.for
// LOOP-DAG: chunkkv.kv = #chunkkv.kv<k_write, layout =
// LOOP-DAG: chunkkv.kv = #chunkkv.kv<v_write, layout =
// LOOP-DAG: chunkkv.kv = #chunkkv.kv<k_read, layout =
// LOOP-DAG: chunkkv.kv = #chunkkv.kv<v_read, layout =
// LOOP-DAG: chunkkv.kv = #chunkkv.kv<query, layout =
// LOOP-DAG: chunkkv.kv = #chunkkv.kv<qk, layout =
// LOOP-DAG: chunkkv.kv = #chunkkv.kv<pv, layout =
// LOOP: } {chunkkv.layer_loop}
// LOOP-LABEL: func.func @decode
// LOOP-SAME: chunkkv.kv_layers = 3
// BHSD-DAG: chunkkv.kv = #chunkkv.kv<k_write, layout = bhsd
// BSHD-DAG: chunkkv.kv = #chunkkv.kv<k_write, layout = bshd
// LOOP: } {chunkkv.layer_loop}
