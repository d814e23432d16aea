// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu | FileCheck %s
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu="tokens-per-block=128" | FileCheck %s --check-prefix=SPAN128
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu="single-pass=false" | FileCheck %s --check-prefix=TWOPASS
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu="mma-row-tiles=2" | FileCheck %s --check-prefix=ROWTILES
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu="key-stages=2" | FileCheck %s --check-prefix=STAGES2
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu="min-blocks-per-sm=2" | FileCheck %s --check-prefix=MINBLOCKS
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu | FileCheck %s --check-prefix=NOBOUND
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu="mma-row-tiles=2 shared-memory-per-block=76800" | FileCheck %s --check-prefix=LONG
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu="mma-warps=8" | FileCheck %s --check-prefix=WARPS8
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu="warpgroup-mma=true" | FileCheck %s --check-prefix=WGMMA
// RUN: chunkkv-opt %s -split-input-file -chunkkv-lower-to-gpu="warpgroup-mma=true mma-row-tiles=2" | FileCheck %s --check-prefix=WGMMA2

#p = #chunkkv.policy<paper, chunk = 10, window = 32, keep_ratio = 0.1>

// f16 caches with D = 128, paper policy: K is read once. The tensor-core
// statistics kernel (mma.sync on 16x8x16 tiles, 16-byte loads of K) also
// sums each step's exponentials per chunk with a second mma.sync (the
// exponentials as tf32, times the keys' counts per chunk) into
// per-(query, span, chunk) slots in shared memory, written
// out relative to the span's maximum as bf16; the combine kernel combines the
// spans' statistics and gives each span its share of the row's score; the
// chunk kernel adds the partials times the shares, sixteen rows of two kv
// heads at a time. Keys reach shared memory by cp.async in a ring of three steps of
// 32 (key-stages): two steps' copies in flight while the block works on
// the third. Spans of 416 keys: their 43 chunk slots fit in 48 KiB next to
// the staged keys (512, tokens-per-block, would not; nor would 448, whose
// 46 slots need rows of 51 to keep the slot accesses free of bank
// conflicts). The slots are dynamic shared memory (4 warps x 16 rows x 43
// slots x 8 bytes), the rest static. All on one stream of
// async tokens, scratch from gpu.alloc and freed.
// CHECK-LABEL: func.func @chunk_score_f16
// CHECK-NOT: chunkkv.
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[T0:.*]] = gpu.wait async
// The kernels number keys with 32-bit positions: the host checks the
// dynamic capacity.
// CHECK: %[[CAP:.*]] = memref.dim %{{.*}}, %c2 : memref<?x?x?x128xf16>
// CHECK: %[[FITS:.*]] = arith.cmpi slt, %[[CAP]], %c2147483648
// CHECK: cf.assert %[[FITS]], "chunkkv.chunk_score on GPU: expects caches of fewer than 2^31 tokens"
// CHECK: %[[CEIL:.*]] = arith.ceildivsi %{{.*}}, %c416
// CHECK: %[[SPANS:.*]] = arith.maxsi %[[CEIL]], %c1
// Every scratch buffer is a view of one allocation made before the first
// kernel (one driver call, and the kernels follow each other on the
// stream), each at a multiple of 256 bytes: what the statistics kernel
// writes (the spans' maxima and sums, and the chunk partials [B, Hkv, spans,
// 43, rows], rows G*w padded to a multiple of 16), then what the combine
// kernel writes (the rows' final statistics and the spans' shares [B, Hkv,
// spans, rows]).
// CHECK: %[[BLOCKS:.*]] = arith.ceildivsi %[[ROWS:.*]], %c16
// CHECK: %[[PADDED:.*]] = arith.muli %[[BLOCKS]], %c16
// CHECK: arith.ceildivsi %{{.*}}, %c256
// CHECK: %[[SCRATCH:.*]], %[[ALLOCATED:.*]] = gpu.alloc async [%[[T0]]] (%{{.*}}) : memref<?xi8>
// CHECK-NEXT: memref.view %[[SCRATCH]][%c0{{.*}}][{{.*}}, %[[SPANS]]] : memref<?xi8> to memref<?x?x?x?xf32>
// CHECK-NEXT: memref.view %[[SCRATCH]][%{{.*}}][{{.*}}, %[[SPANS]]] : memref<?xi8> to memref<?x?x?x?xf32>
// CHECK-NEXT: memref.view %[[SCRATCH]][%{{.*}}][{{.*}}, %[[SPANS]], %[[PADDED]]] : memref<?xi8> to memref<?x?x?x43x?xbf16>
// CHECK-NEXT: memref.view %[[SCRATCH]][%{{.*}}][{{.*}}] : memref<?xi8> to memref<?x?x?xf32>
// CHECK-NEXT: memref.view %[[SCRATCH]][%{{.*}}][{{.*}}] : memref<?xi8> to memref<?x?x?xf32>
// CHECK-NEXT: memref.view %[[SCRATCH]][%{{.*}}][{{.*}}, %[[SPANS]], %[[PADDED]]] : memref<?xi8> to memref<?x?x?x?xf32>
// CHECK: gpu.launch async [%[[ALLOCATED]]] blocks({{.*}}) in ({{.*}}, %{{.*}} = %[[SPANS]], {{.*}}) threads({{.*}}) in (%{{.*}} = %c128
// CHECK-SAME: dynamic_shared_memory_size %c22016_i32 function(@chunkkv_score_stats)
// CHECK-SAME: workgroup(%[[KEYS:.*]] : memref<3x32x128xf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x16xf32, #gpu.address_space<workgroup>>) {
// CHECK: %[[DYNAMIC:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: %[[SLOTS:.*]] = memref.view %[[DYNAMIC]][%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<4x16x43xvector<2xf32>, #gpu.address_space<workgroup>>
// Before the loop: steps 0 and 1, one group each, and a wait for step 0.
// CHECK: nvgpu.device_async_copy %{{.*}}, %[[KEYS]][%c0, {{.*}}], 8, %{{.*}} {bypassL1} : memref<?x?x?x128xf16> to memref<3x32x128xf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.device_async_create_group
// CHECK: nvgpu.device_async_copy %{{.*}}, %[[KEYS]][%c1, {{.*}}], 8
// CHECK: %[[SECOND:.*]] = nvgpu.device_async_create_group
// CHECK: nvgpu.device_async_wait %[[SECOND]] {numGroups = 1 : i32}
// The lanes with quad 3 keep the rows' running sums (see below).
// CHECK: %[[QUAD3:.*]] = arith.cmpi eq, %{{.*}}, %c3 : index
// CHECK: %[[SUM_WEIGHT:.*]] = arith.select %[[QUAD3]], %[[HALF]], %{{.*}} : f32
// In each step: a barrier, the copies of the step two ahead into the stage
// before this one, the mma on this one's keys, and a wait for the next.
// CHECK: scf.for %{{.*}} iter_args(%{{[a-z0-9]+}} = %{{.*}}, %[[SUM0:[a-z0-9]+]] = %{{.*}}, %{{[a-z0-9]+}} = %{{.*}}, %[[SUM1:[a-z0-9]+]] = %{{.*}}, %{{[a-z0-9]+}} = %c0_i32)
// CHECK: gpu.barrier
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[STAGE:.*]], %c0_i32
// CHECK: %[[BEFORE:.*]] = arith.subi %[[STAGE]], %c1_i32
// CHECK: %[[REFILL:.*]] = arith.select %[[FIRST]], %c2_i32, %[[BEFORE]]
// CHECK: %[[REFILL_INDEX:.*]] = arith.index_cast %[[REFILL]]
// CHECK: nvgpu.device_async_copy %{{.*}}, %[[KEYS]][%[[REFILL_INDEX]], {{.*}}], 8
// CHECK: %[[GROUP:.*]] = nvgpu.device_async_create_group
// CHECK: vector.load %[[KEYS]][{{.*}}] {alignment = 16 : i64} : memref<3x32x128xf16, #gpu.address_space<workgroup>>, vector<8xf16>
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32)
// CHECK: gpu.shuffle  xor
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// The branches leave the running sums as they are.
// CHECK: scf.yield %{{.*}}, %[[SUM0]], %{{.*}}, %[[SUM1]],
// CHECK: %[[TERM:.*]] = arith.bitcast %{{.*}} : f32 to i32
// Without pooling a key weighs 2.0f (0x40000000) in its chunk: its bit of
// the lane's chunk mask shifted to bit 30 (keys 0 and 1 of the lane's pair).
// A step reaches five chunks: the lanes of group 7, column 7 of the slot
// mma, take every key, and the column sums each row's exponentials.
// CHECK: %[[GROUP7:.*]] = arith.cmpi eq, %{{.*}}, %c7 : index
// CHECK: %[[MASK:.*]] = arith.select %[[GROUP7]], %c-1_i32, %{{.*}} : i32
// CHECK: %[[AT30:.*]] = arith.shli %[[MASK]], %c30_i32 : i32
// CHECK: %[[W0:.*]] = arith.andi %[[AT30]], %c1073741824_i32 : i32
// CHECK: %[[AT29:.*]] = arith.shli %[[MASK]], %c29_i32 : i32
// CHECK: %[[W1:.*]] = arith.andi %[[AT29]], %c1073741824_i32 : i32
// CHECK: nvvm.mma.sync A[%[[TERM]], {{.*}}]  B[%[[W0]], %[[W1]]] {{.*}} multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>, shape = #nvvm.shape<m = 16, n = 8, k = 8>}
// CHECK: memref.store %{{.*}}, %[[SLOTS]]{{.*}} : memref<4x16x43xvector<2xf32>, #gpu.address_space<workgroup>>
// The running sums, rescaled to the new maximum, take the column's sums
// (halved in the lanes with quad 3, times 0 in the others).
// CHECK: %[[RESCALED:.*]] = arith.mulf %{{[0-9]+}}#1, %{{.*}} : f32
// CHECK: %[[STEP_SUM:.*]] = arith.mulf %{{.*}}, %[[SUM_WEIGHT]] : f32
// CHECK: arith.addf %[[RESCALED]], %[[STEP_SUM]] : f32
// CHECK: nvgpu.device_async_wait %[[GROUP]] {numGroups = 1 : i32}
// A lane per row of the warp's 16 and two slots at a time: each store
// writes two slots' 32-byte runs of rows; padding rows get 0.
// CHECK: nvvm.bar.warp.sync
// CHECK: arith.remsi %{{.*}}, %c16
// CHECK: %[[IS_QUERY:.*]] = arith.cmpi slt, %{{.*}}, %[[ROWS]]
// CHECK: scf.for %[[SLOT:.*]] = %{{.*}} to %c43 step %c2
// CHECK: %[[KEPT:.*]] = arith.select %[[IS_QUERY]], %{{.*}}, %{{.*}} : f32
// CHECK: %[[PARTIAL:.*]] = arith.truncf %[[KEPT]] : f32 to bf16
// CHECK: memref.store %[[PARTIAL]], {{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %[[SLOT]], %{{.*}}] : memref<?x?x?x43x?xbf16>
// No allocation between the statistics and combine kernels.
// CHECK-NOT: gpu.alloc
// CHECK: function(@chunkkv_score_combine)
// CHECK-COUNT-8: memref.load %{{.*}} : memref<?x?x?x?xf32>
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// The shares halve the slots' sums, in which each key weighed 2.0.
// CHECK: %[[SCALE:.*]] = arith.divf
// CHECK: %[[SHARE_SCALE:.*]] = arith.mulf %[[SCALE]], %[[HALF]] : f32
// Four spans' maxima per lane loaded together, then their shares.
// CHECK: scf.for
// CHECK-COUNT-4: memref.load %{{.*}} : memref<?x?x?x?xf32>
// CHECK: %[[SHARE:.*]] = arith.mulf %[[SHARE_SCALE]], %{{.*}} : f32
// CHECK: memref.store %[[SHARE]], %{{.*}} : memref<?x?x?x?xf32>
// The padding rows' shares are 0.
// CHECK: scf.for
// CHECK: memref.store %cst{{.*}}, %{{.*}} : memref<?x?x?x?xf32>
// The chunk kernel loads, for each of two kv heads, a block of 16 rows'
// shares (four 16-byte loads) and partials (two), before it uses any,
// without clamps or masks (the rows are padded, with zeros), with its
// registers bounded for two blocks per SM: ptxas then issues them all
// before the first use.
// CHECK: function(@chunkkv_score_chunk_sums)
// CHECK-COUNT-4: vector.load {{.*}} {alignment = 16 : i64} : memref<?x?x?x?xf32>, vector<4xf32>
// CHECK-COUNT-2: vector.load {{.*}} {alignment = 16 : i64} : memref<?x?x?x43x?xbf16>, vector<8xbf16>
// CHECK-COUNT-4: vector.load {{.*}} {alignment = 16 : i64} : memref<?x?x?x?xf32>, vector<4xf32>
// CHECK-COUNT-2: vector.load {{.*}} {alignment = 16 : i64} : memref<?x?x?x43x?xbf16>, vector<8xbf16>
// CHECK-COUNT-32: math.fma
// CHECK: gpu.barrier
// CHECK: } {nvvm.minctasm = 2 : i32}
// CHECK-NOT: function(@chunkkv_score_tokens)
// CHECK: gpu.dealloc async
// CHECK: gpu.wait [%{{.*}}]
// CHECK-NOT: chunkkv.
// Two 16-row tiles per warp: a block takes 128 window queries, each key
// fragment loaded from shared memory feeds two mma.sync, and the doubled
// chunk slots fit next to the staged keys with spans of 192 keys.
// ROWTILES-LABEL: func.func @chunk_score_f16
// ROWTILES: arith.ceildivsi %{{.*}}, %c192
// ROWTILES: %[[GROUPS:.*]] = arith.ceildivsi %{{.*}}, %c128
// ROWTILES: gpu.launch async {{.*}} in (%{{.*}} = %[[GROUPS]], {{.*}} dynamic_shared_memory_size %c21504_i32 function(@chunkkv_score_stats)
// ROWTILES-SAME: memref<4x32xf32, #gpu.address_space<workgroup>>) {
// ROWTILES: memref.view {{.*}} to memref<4x32x21xvector<2xf32>, #gpu.address_space<workgroup>>
// ROWTILES: nvvm.mma.sync A[%[[TOP:[0-9]+]], {{.*}}]  B[%[[K0:[0-9]+]], %[[K1:[0-9]+]]]
// ROWTILES-NOT: nvvm.mma.sync A[%[[TOP]],
// ROWTILES: nvvm.mma.sync A[{{.*}}]  B[%[[K0]], %[[K1]]]
// Two stages: one step's copies in flight, the wait leaves none, and the
// span is tokens-per-block again (53 slots).
// STAGES2-LABEL: func.func @chunk_score_f16
// STAGES2: arith.ceildivsi %{{.*}}, %c512
// STAGES2: function(@chunkkv_score_stats)
// STAGES2-SAME: workgroup(%{{.*}} : memref<2x32x128xf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x16xf32, #gpu.address_space<workgroup>>) {
// STAGES2: memref.view {{.*}} to memref<4x16x53xvector<2xf32>, #gpu.address_space<workgroup>>
// STAGES2: nvgpu.device_async_create_group
// STAGES2-NEXT: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// STAGES2: scf.for
// STAGES2: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
// min-blocks-per-sm bounds the tensor-core score kernels, as nvvm.minctasm
// on their launches; without it they carry no bound. The combine and chunk
// kernels have their own, always (for four and three blocks per SM).
// Shared memory beyond 48 KiB lengthens the spans of two row tiles from
// 192 keys to 416: 43 slots for 128 rows in 44032 bytes of dynamic shared
// memory, 69120 bytes with the staged keys and maxima (of 76800).
// LONG-LABEL: func.func @chunk_score_f16
// LONG: arith.ceildivsi %{{.*}}, %c416
// LONG: memref.view {{.*}} to memref<?x?x?x43x?xbf16>
// LONG: dynamic_shared_memory_size %c44032_i32 function(@chunkkv_score_stats)
// LONG: memref.view {{.*}} to memref<4x32x43xvector<2xf32>, #gpu.address_space<workgroup>>
// Eight warps of one row tile: blocks of 256 threads take 128 window
// queries each, every thread copies two of a step's 512 key vectors, and
// the slots of 128 rows leave spans of 192 keys in 48 KiB.
// WARPS8-LABEL: func.func @chunk_score_f16
// WARPS8: arith.ceildivsi %{{.*}}, %c192
// WARPS8: %[[GROUPS:.*]] = arith.ceildivsi %{{.*}}, %c128
// WARPS8: gpu.launch async {{.*}} in (%{{.*}} = %[[GROUPS]], {{.*}} threads({{.*}}) in (%{{.*}} = %c256, {{.*}} dynamic_shared_memory_size %c21504_i32 function(@chunkkv_score_stats)
// WARPS8-SAME: memref<8x16xf32, #gpu.address_space<workgroup>>) {
// WARPS8: memref.view {{.*}} to memref<8x16x21xvector<2xf32>, #gpu.address_space<workgroup>>
// WARPS8-COUNT-2: nvgpu.device_async_copy
// WARPS8-NEXT: nvgpu.device_async_create_group
// warpgroup-mma: the copies lay a step's keys out as wgmma's core
// matrices, each wait for them is followed by a proxy fence (wgmma reads
// through the async proxy), and a step's logits are eight k-steps of
// wgmma.mma_async (A from registers: inline PTX), the first without
// accumulators, then one wait that the accumulators pass through.
// WGMMA-LABEL: func.func @chunk_score_f16
// WGMMA: function(@chunkkv_score_stats)
// WGMMA: memref.extract_aligned_pointer_as_index %{{.*}} : memref<3x32x128xf16, #gpu.address_space<workgroup>>
// WGMMA: nvgpu.device_async_wait
// WGMMA-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// WGMMA: scf.for
// WGMMA: gpu.barrier
// WGMMA: nvvm.wgmma.fence.aligned
// WGMMA: llvm.inline_asm has_side_effects "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 {{.*}}, $20, 0, 1, 1, 0;", "=f,{{.*}},=f,r,r,r,r,l" {{.*}} : (i32, i32, i32, i32, i64) -> !llvm.struct<(f32, {{.*}})>
// WGMMA-COUNT-7: llvm.inline_asm has_side_effects "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 {{.*}}, $20, 1, 1, 1, 0;", "=f,{{.*}},r,r,r,r,l,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15"
// WGMMA: nvvm.wgmma.commit.group.sync.aligned
// WGMMA: llvm.inline_asm has_side_effects "wgmma.wait_group.sync.aligned 0;"
// WGMMA-NOT: nvvm.mma.sync {{.*}}f16
// WGMMA: nvgpu.device_async_wait
// WGMMA-NEXT: nvvm.fence.proxy
// WGMMA: function(@chunkkv_score_combine)
// Two row tiles: two chains of wgmma on each step's keys, one wait for
// both tiles' 32 accumulators.
// WGMMA2-LABEL: func.func @chunk_score_f16
// WGMMA2: nvvm.wgmma.fence.aligned
// WGMMA2-COUNT-2: "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 {{.*}}, $20, 0, 1, 1, 0;"
// WGMMA2-COUNT-14: "wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16 {{.*}}, $20, 1, 1, 1, 0;"
// WGMMA2: nvvm.wgmma.commit.group.sync.aligned
// WGMMA2: "wgmma.wait_group.sync.aligned 0;", "{{.*}},29,30,31" {{.*}} : (f32, {{.*}}) -> !llvm.struct<(f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)>
// MINBLOCKS-LABEL: func.func @chunk_score_f16
// MINBLOCKS: function(@chunkkv_score_stats)
// MINBLOCKS: } {nvvm.minctasm = 2 : i32}
// MINBLOCKS: function(@chunkkv_score_combine)
// MINBLOCKS: } {nvvm.minctasm = 4 : i32}
// MINBLOCKS: function(@chunkkv_score_chunk_sums)
// MINBLOCKS: } {nvvm.minctasm = 2 : i32}
// MINBLOCKS-NOT: nvvm.minctasm
// MINBLOCKS: gpu.wait
// NOBOUND-LABEL: func.func @chunk_score_f16
// NOBOUND: function(@chunkkv_score_stats)
// NOBOUND-NOT: nvvm.minctasm
// NOBOUND: function(@chunkkv_score_combine)
// NOBOUND: } {nvvm.minctasm = 4 : i32}
// NOBOUND: function(@chunkkv_score_chunk_sums)
// NOBOUND: } {nvvm.minctasm = 2 : i32}
// NOBOUND-NOT: nvvm.minctasm
// NOBOUND: gpu.wait
// TWOPASS-LABEL: func.func @chunk_score_f16
// TWOPASS: function(@chunkkv_score_stats)
// TWOPASS-SAME: workgroup(%{{.*}} : memref<3x32x128xf16, #gpu.address_space<workgroup>>)
// TWOPASS: function(@chunkkv_score_combine)
// TWOPASS: function(@chunkkv_score_tokens)
// TWOPASS: function(@chunkkv_score_pool)
// TWOPASS: function(@chunkkv_score_chunks)
// TWOPASS-NOT: function(@chunkkv_score_chunk_sums)
// 128 keys reach 14 chunk slots, held in rows of 19 (3 modulo 16: the
// slots of a half-warp's rows on distinct banks).
// SPAN128-LABEL: func.func @chunk_score_f16
// SPAN128: arith.ceildivsi %{{.*}}, %c128
// SPAN128: memref.view {{.*}} to memref<?x?x?x14x?xbf16>
// SPAN128: dynamic_shared_memory_size %c9728_i32 function(@chunkkv_score_stats)
// SPAN128: memref.view {{.*}} to memref<4x16x19xvector<2xf32>, #gpu.address_space<workgroup>>
func.func @chunk_score_f16(%q: memref<?x?x32x128xf16>, %k: memref<?x?x?x128xf16>,
                           %len: memref<?xi64>, %s: memref<?x?xf32>) {
  chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : memref<?x?x32x128xf16>, memref<?x?x?x128xf16>, memref<?xi64>)
      outs(%s : memref<?x?xf32>)
  return
}

// -----

#kvpress = #chunkkv.policy<kvpress, chunk = 20, window = 64, pool = 5, compression_ratio = 0.5>

// kvpress needs every token's pooled score (its window score is the batch
// maximum plus one): statistics, combine, then the token pass recomputes
// the logits and sums probabilities per token, pooling, chunks.
// CHECK-LABEL: func.func @chunk_score_kvpress_bf16
// CHECK: function(@chunkkv_score_stats)
// CHECK-SAME: workgroup(%{{.*}} : memref<3x32x128xbf16, #gpu.address_space<workgroup>>)
// CHECK: nvvm.mma.sync
// CHECK-NOT: nvvm.bar.warp.sync
// CHECK: function(@chunkkv_score_combine)
// CHECK: function(@chunkkv_score_tokens)
// CHECK-SAME: workgroup(%{{.*}} : memref<3x32x128xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<4x512xf32, #gpu.address_space<workgroup>>)
// CHECK: nvvm.mma.sync
// CHECK: gpu.barrier
// CHECK: function(@chunkkv_score_pool)
// CHECK: memref.atomic_rmw maxs
// CHECK: function(@chunkkv_score_chunks)
// SPAN128-LABEL: func.func @chunk_score_kvpress_bf16
// SPAN128: function(@chunkkv_score_tokens)
// SPAN128-SAME: %{{.*}} : memref<4x128xf32, #gpu.address_space<workgroup>>)
func.func @chunk_score_kvpress_bf16(%q: memref<?x?x64x128xbf16>, %k: memref<?x?x?x128xbf16>,
                                    %len: memref<?xi64>, %s: memref<?x?xf32>) {
  chunkkv.chunk_score #kvpress layout(bhsd)
      ins(%q, %k, %len : memref<?x?x64x128xbf16>, memref<?x?x?x128xbf16>, memref<?xi64>)
      outs(%s : memref<?x?xf32>)
  return
}

// -----

#fine = #chunkkv.policy<paper, chunk = 1, window = 32, pool = 25, keep_ratio = 0.1>

// Chunks of one token pooled over 25: the 57 chunk slots one step of 32
// keys can reach do not fit in static shared memory next to the staged keys,
// so the paper policy falls back to the token pass.
// CHECK-LABEL: func.func @chunk_score_f16_fine_chunks
// CHECK: function(@chunkkv_score_stats)
// CHECK-SAME: workgroup(%{{.*}} : memref<3x32x128xf16, #gpu.address_space<workgroup>>)
// CHECK: function(@chunkkv_score_tokens)
// CHECK: function(@chunkkv_score_pool)
// CHECK: function(@chunkkv_score_chunks)
// CHECK-NOT: function(@chunkkv_score_chunk_sums)
func.func @chunk_score_f16_fine_chunks(%q: memref<?x?x32x128xf16>, %k: memref<?x?x?x128xf16>,
                                       %len: memref<?xi64>, %s: memref<?x?xf32>) {
  chunkkv.chunk_score #fine layout(bhsd)
      ins(%q, %k, %len : memref<?x?x32x128xf16>, memref<?x?x?x128xf16>, memref<?xi64>)
      outs(%s : memref<?x?xf32>)
  return
}

// -----

// f32 caches: FMA kernels, one thread per window query, keys staged in
// shared memory as vector<4xf32> (16-byte aligned); no mma.
#p = #chunkkv.policy<kvpress, chunk = 20, window = 64, compression_ratio = 0.75>
// CHECK-LABEL: func.func @chunk_score_f32_bshd
// MINBLOCKS-LABEL: func.func @chunk_score_f32_bshd
// MINBLOCKS: function(@chunkkv_score_stats)
// MINBLOCKS-NOT: nvvm.minctasm
// MINBLOCKS: function(@chunkkv_score_combine)
// MINBLOCKS: } {nvvm.minctasm = 4 : i32}
// MINBLOCKS-NOT: nvvm.minctasm
// MINBLOCKS: gpu.wait
// CHECK: function(@chunkkv_score_stats)
// CHECK: workgroup(%{{.*}} : memref<32x4xvector<4xf32>, #gpu.address_space<workgroup>>)
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<1x333x2x16xf32>, vector<4xf32>
// CHECK: math.fma
// CHECK-NOT: nvvm.mma.sync
// CHECK: function(@chunkkv_score_pool)
// kvpress: the batch maximum through an integer atomic max.
// CHECK: memref.atomic_rmw maxs
// CHECK: function(@chunkkv_score_chunks)
func.func @chunk_score_f32_bshd(%q: memref<1x4x64x16xf32>, %k: memref<1x333x2x16xf32>,
                                %len: memref<1xi64>, %s: memref<1x17xf32>) {
  chunkkv.chunk_score #p layout(bshd)
      ins(%q, %k, %len : memref<1x4x64x16xf32>, memref<1x333x2x16xf32>, memref<1xi64>)
      outs(%s : memref<1x17xf32>)
  return
}

// -----

// A head dimension of 32: a step's 128 key vectors do not split over eight
// warps, so the blocks keep four (128 threads, 64 window queries).
#p = #chunkkv.policy<paper, chunk = 10, window = 32, keep_ratio = 0.2, pool = 5, aggregate = mean>
// WARPS8-LABEL: func.func @chunk_score_f16_d32
// WARPS8: arith.ceildivsi %{{.*}}, %c64
// WARPS8: threads({{.*}}) in (%{{.*}} = %c128, {{.*}} function(@chunkkv_score_stats)
// WARPS8-SAME: memref<4x16xf32, #gpu.address_space<workgroup>>) {
func.func @chunk_score_f16_d32(%q: memref<?x?x32x32xf16>, %k: memref<?x?x?x32xf16>,
                               %len: memref<?xi64>, %s: memref<?x?xf32>) {
  chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : memref<?x?x32x32xf16>, memref<?x?x?x32xf16>, memref<?xi64>)
      outs(%s : memref<?x?xf32>)
  return
}

// -----

// Top-k: one block of 1024 threads per sequence, walking the scores in
// tiles of 4096 where each thread holds four consecutive chunks; the radix
// passes load three tiles at once (twelve loads per thread in flight) into
// a shared 2048-bin histogram per 11-bit radix digit (three passes at
// most: bits 31-21, 20-10 and 9-0), one atomic per distinct digit of a
// warp (match.sync any, popcount); then per tile two block-wide
// scans (equal keys, then taken chunks) with shuffles, the next tile's
// scores loading meanwhile (carried by the loop).
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @topk
// CHECK: gpu.launch async {{.*}} threads({{.*}}) in (%{{.*}} = %c1024
// CHECK-SAME: function(@chunkkv_topk)
// CHECK-SAME: workgroup(%{{.*}} : memref<2048xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<32xi32, #gpu.address_space<workgroup>>
// CHECK: scf.for %{{.*}} = %c0 to %c3 step %c1
// CHECK: scf.for %{{.*}} = %c0 to %{{.*}} step %c12288 {
// CHECK-COUNT-12: memref.load %{{.*}} : memref<2x12xf32>
// CHECK: %[[PEERS:.*]] = nvvm.match.sync  any %{{.*}}, %{{.*}} : i32 -> i32
// CHECK: %[[COUNT:.*]] = llvm.intr.ctpop(%[[PEERS]])
// CHECK: memref.atomic_rmw addi %[[COUNT]]
// CHECK-COUNT-11: memref.atomic_rmw addi
// CHECK: gpu.shuffle  up
// CHECK-COUNT-4: memref.load %{{.*}} : memref<2x12xf32>
// CHECK: %[[TAKEN:.*]]:6 = scf.for %{{.*}} = %c0 to %{{.*}} step %c4096 iter_args
// CHECK-COUNT-4: memref.load %{{.*}} : memref<2x12xf32>
// CHECK-COUNT-5: gpu.shuffle  up
// CHECK: gpu.barrier
// CHECK-COUNT-5: gpu.shuffle  up
// CHECK: gpu.barrier
// CHECK-COUNT-4: memref.store %{{.*}} : memref<2x3xi64>
// CHECK: gpu.wait [%{{.*}}]
func.func @topk(%s: memref<2x12xf32>, %len: memref<2xi64>, %ids: memref<2x3xi64>,
                %kept: memref<2xi64>) {
  chunkkv.topk_chunks #p ins(%s, %len : memref<2x12xf32>, memref<2xi64>)
      outs(%ids, %kept : memref<2x3xi64>, memref<2xi64>)
  return
}

// -----

// Out of place: a plan kernel and one gather with 16-byte vectors.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @compact_out_of_place
// CHECK: function(@chunkkv_compact_plan)
// CHECK: function(@chunkkv_compact_gather)
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<2x2x128x16xbf16>, vector<8xbf16>
// CHECK: vector.store %{{.*}} {alignment = 16 : i64} : memref<2x2x128x16xbf16>, vector<8xbf16>
// CHECK-NOT: function(@chunkkv_compact_gather)
// CHECK: gpu.wait [%{{.*}}]
func.func @compact_out_of_place(%k: memref<2x2x128x16xbf16>, %ids: memref<2x3xi64>,
                                %len: memref<2xi64>, %out: memref<2x2x128x16xbf16>,
                                %new: memref<2xi64>) {
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<2x2x128x16xbf16>, memref<2x3xi64>, memref<2xi64>)
      outs(%out, %new : memref<2x2x128x16xbf16>, memref<2xi64>)
  return
}

// -----

// In place: blocks run in no order, so the gather goes through a second
// buffer and a copy back.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @compact_in_place
// CHECK: %[[SCRATCH:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<?xi8>
// CHECK: %[[STAGING:.*]] = memref.view %[[SCRATCH]][%{{.*}}][] : memref<?xi8> to memref<2x2x128x16xf32>
// CHECK: function(@chunkkv_compact_plan)
// CHECK: function(@chunkkv_compact_gather)
// CHECK: vector.store %{{.*}}, %[[STAGING]]
// CHECK: function(@chunkkv_compact_gather)
// CHECK: vector.load %[[STAGING]]
// CHECK: gpu.dealloc async {{.*}} %[[SCRATCH]]
func.func @compact_in_place(%k: memref<2x2x128x16xf32>, %ids: memref<2x3xi64>,
                            %len: memref<2xi64>, %new: memref<2xi64>) {
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<2x2x128x16xf32>, memref<2x3xi64>, memref<2xi64>)
      outs(%k, %new : memref<2x2x128x16xf32>, memref<2xi64>)
  return
}

// -----

// K and V of one selection compact in the same launches: the plan's blocks
// and the gather's are numbered by op as well (the last grid dimension
// with a use), and each op's body runs in its own blocks.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @compact_keys_and_values
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK: gpu.launch async {{.*}} blocks(%{{.*}}, %[[OP:.*]], %{{.*}}) in (%{{.*}} = %{{.*}}, %{{.*}} = %[[C2]], %{{.*}} = %{{.*}}) threads{{.*}} function(@chunkkv_compact_plan)
// CHECK: arith.cmpi eq, %[[OP]], %{{.*}}
// CHECK: scf.if
// CHECK: memref.load %arg1
// CHECK: arith.cmpi eq, %[[OP]], %{{.*}}
// CHECK: scf.if
// CHECK: memref.load %arg1
// CHECK-NOT: function(@chunkkv_compact_plan)
// CHECK: gpu.launch async {{.*}} blocks(%{{.*}}, %{{.*}}, %[[GOP:.*]]) in (%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %[[C2]]) threads{{.*}} function(@chunkkv_compact_gather)
// CHECK: arith.cmpi eq, %[[GOP]]
// CHECK: vector.store %{{.*}}, %arg3
// CHECK: arith.cmpi eq, %[[GOP]]
// CHECK: vector.store %{{.*}}, %arg5
// CHECK-NOT: function(@chunkkv_compact_gather)
// CHECK: gpu.wait [%{{.*}}]
// CHECK-NOT: gpu.wait
func.func @compact_keys_and_values(%k: memref<2x2x128x16xf16>, %ids: memref<2x3xi64>,
                                   %len: memref<2xi64>, %kout: memref<2x2x128x16xf16>,
                                   %v: memref<2x2x128x16xf16>, %vout: memref<2x2x128x16xf16>,
                                   %klen: memref<2xi64>, %vlen: memref<2xi64>) {
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<2x2x128x16xf16>, memref<2x3xi64>, memref<2xi64>)
      outs(%kout, %klen : memref<2x2x128x16xf16>, memref<2xi64>)
  %c0 = arith.constant 0 : index
  chunkkv.compact #p layout(bhsd) ins(%v, %ids, %len : memref<2x2x128x16xf16>, memref<2x3xi64>, memref<2xi64>)
      outs(%vout, %vlen : memref<2x2x128x16xf16>, memref<2xi64>)
  return
}

// -----

// Compactions of different batch sizes share the launches too: the grid
// takes the largest, and each op's blocks past its own sequences do nothing.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @compact_different_batches
// CHECK: gpu.launch async {{.*}} blocks(%[[SEQ:.*]], %[[OP:.*]], %{{.*}}) in (%{{.*}} = %c3, %{{.*}} = %c2, %{{.*}} = %c1) threads{{.*}} function(@chunkkv_compact_plan)
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %[[OP]], %c0
// CHECK: %[[FIRSTSEQ:.*]] = arith.cmpi slt, %[[SEQ]], %c2
// CHECK: %[[RUNS:.*]] = arith.andi %[[FIRST]], %[[FIRSTSEQ]]
// CHECK: scf.if %[[RUNS]]
// CHECK: memref.load %arg2
// CHECK: %[[SECOND:.*]] = arith.cmpi eq, %[[OP]], %c1
// CHECK: %[[SECONDSEQ:.*]] = arith.cmpi slt, %[[SEQ]], %c3
// CHECK: arith.andi %[[SECOND]], %[[SECONDSEQ]]
// CHECK: memref.load %arg7
// CHECK: in (%{{.*}} = %c512, %{{.*}} = %c3, %{{.*}} = %c2) threads{{.*}} function(@chunkkv_compact_gather)
func.func @compact_different_batches(%k: memref<2x2x128x16xf16>, %ids: memref<2x3xi64>,
                                     %len: memref<2xi64>, %kout: memref<2x2x128x16xf16>,
                                     %klen: memref<2xi64>,
                                     %v: memref<3x2x128x16xf16>, %vids: memref<3x3xi64>,
                                     %vlen: memref<3xi64>, %vout: memref<3x2x128x16xf16>,
                                     %vnew: memref<3xi64>) {
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<2x2x128x16xf16>, memref<2x3xi64>, memref<2xi64>)
      outs(%kout, %klen : memref<2x2x128x16xf16>, memref<2xi64>)
  chunkkv.compact #p layout(bhsd) ins(%v, %vids, %vlen : memref<3x2x128x16xf16>, memref<3x3xi64>, memref<3xi64>)
      outs(%vout, %vnew : memref<3x2x128x16xf16>, memref<3xi64>)
  return
}

// -----

// In place, both gathers fill their own second buffer in one launch, and
// one more launch copies both back.
#p = #chunkkv.policy<kvpress, chunk = 4, window = 8, compression_ratio = 0.5>
// CHECK-LABEL: func.func @compact_keys_and_values_in_place
// CHECK: %[[SCRATCH:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<?xi8>
// CHECK: %[[KSTAGING:.*]] = memref.view %[[SCRATCH]]{{.*}} to memref<1x64x2x8xf32>
// CHECK: %[[VSTAGING:.*]] = memref.view %[[SCRATCH]]{{.*}} to memref<1x64x2x8xf32>
// CHECK: function(@chunkkv_compact_plan)
// CHECK: function(@chunkkv_compact_gather)
// CHECK: vector.store %{{.*}}, %[[KSTAGING]]
// CHECK: vector.store %{{.*}}, %[[VSTAGING]]
// CHECK: function(@chunkkv_compact_gather)
// CHECK: vector.load %[[KSTAGING]]
// CHECK: vector.store %{{.*}}, %arg0
// CHECK: vector.load %[[VSTAGING]]
// CHECK: vector.store %{{.*}}, %arg3
// CHECK-NOT: function(@chunkkv_compact
// CHECK: gpu.dealloc async {{.*}} %[[SCRATCH]]
// CHECK-NOT: gpu.dealloc
func.func @compact_keys_and_values_in_place(%k: memref<1x64x2x8xf32>, %ids: memref<1x8xi64>,
                                            %len: memref<1xi64>, %v: memref<1x64x2x8xf32>,
                                            %klen: memref<1xi64>, %vlen: memref<1xi64>) {
  chunkkv.compact #p layout(bshd) ins(%k, %ids, %len : memref<1x64x2x8xf32>, memref<1x8xi64>, memref<1xi64>)
      outs(%k, %klen : memref<1x64x2x8xf32>, memref<1xi64>)
  chunkkv.compact #p layout(bshd) ins(%v, %ids, %len : memref<1x64x2x8xf32>, memref<1x8xi64>, memref<1xi64>)
      outs(%v, %vlen : memref<1x64x2x8xf32>, memref<1xi64>)
  return
}

// -----

// The second compaction reads the lengths the first one writes, so it
// waits for it: two plans, in order.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @compact_dependent
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: in (%{{.*}} = %{{.*}}, %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads{{.*}} function(@chunkkv_compact_plan)
// CHECK: function(@chunkkv_compact_gather)
// CHECK: in (%{{.*}} = %{{.*}}, %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads{{.*}} function(@chunkkv_compact_plan)
// CHECK: function(@chunkkv_compact_gather)
func.func @compact_dependent(%k: memref<2x2x128x16xf16>, %ids: memref<2x3xi64>,
                             %len: memref<2xi64>, %kout: memref<2x2x128x16xf16>,
                             %v: memref<2x2x128x16xf16>, %vout: memref<2x2x128x16xf16>,
                             %vlen: memref<2xi64>) {
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<2x2x128x16xf16>, memref<2x3xi64>, memref<2xi64>)
      outs(%kout, %len : memref<2x2x128x16xf16>, memref<2xi64>)
  chunkkv.compact #p layout(bhsd) ins(%v, %ids, %len : memref<2x2x128x16xf16>, memref<2x3xi64>, memref<2xi64>)
      outs(%vout, %vlen : memref<2x2x128x16xf16>, memref<2xi64>)
  return
}

// -----

// Host code with memory effects between two compactions separates them.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @compact_host_code_between
// CHECK: function(@chunkkv_compact_plan)
// CHECK: function(@chunkkv_compact_gather)
// CHECK: memref.store
// CHECK: function(@chunkkv_compact_plan)
// CHECK: function(@chunkkv_compact_gather)
func.func @compact_host_code_between(%k: memref<2x2x128x16xf16>, %ids: memref<2x3xi64>,
                                     %len: memref<2xi64>, %kout: memref<2x2x128x16xf16>,
                                     %v: memref<2x2x128x16xf16>, %vout: memref<2x2x128x16xf16>,
                                     %klen: memref<2xi64>, %vlen: memref<2xi64>,
                                     %host: memref<1xi64>) {
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<2x2x128x16xf16>, memref<2x3xi64>, memref<2xi64>)
      outs(%kout, %klen : memref<2x2x128x16xf16>, memref<2xi64>)
  %c0 = arith.constant 0 : index
  %one = arith.constant 1 : i64
  memref.store %one, %host[%c0] : memref<1xi64>
  chunkkv.compact #p layout(bhsd) ins(%v, %ids, %len : memref<2x2x128x16xf16>, memref<2x3xi64>, memref<2xi64>)
      outs(%vout, %vlen : memref<2x2x128x16xf16>, memref<2xi64>)
  return
}

// -----

// Code without chunkkv ops is left as it is.
// CHECK-LABEL: func.func @no_chunkkv
// CHECK-NEXT: arith.addf
// CHECK-NEXT: return
func.func @no_chunkkv(%a: f32) -> f32 {
  %0 = arith.addf %a, %a : f32
  return %0 : f32
}

// -----

// Consecutive ops continue one stream and synchronise once, at the end.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @one_stream
// CHECK: %[[START:.*]] = gpu.wait async
// CHECK-NOT: gpu.wait
// CHECK: function(@chunkkv_topk)
// CHECK-NOT: gpu.wait
// CHECK: function(@chunkkv_compact_plan)
// CHECK: gpu.wait [%{{.*}}]
// CHECK-NOT: gpu.wait
// CHECK: return
func.func @one_stream(%s: memref<2x12xf32>, %len: memref<2xi64>, %ids: memref<2x3xi64>,
                      %kept: memref<2xi64>, %k: memref<2x2x128x16xf32>, %new: memref<2xi64>) {
  chunkkv.topk_chunks #p ins(%s, %len : memref<2x12xf32>, memref<2xi64>)
      outs(%ids, %kept : memref<2x3xi64>, memref<2xi64>)
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<2x2x128x16xf32>, memref<2x3xi64>, memref<2xi64>)
      outs(%k, %new : memref<2x2x128x16xf32>, memref<2xi64>)
  return
}

// -----

// Host code with memory effects in between keeps the first op's wait.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @host_code_between
// CHECK: function(@chunkkv_topk)
// CHECK: gpu.wait [%{{.*}}]
// CHECK-NEXT: memref.store
// CHECK: gpu.wait async
// CHECK: function(@chunkkv_compact_plan)
func.func @host_code_between(%s: memref<2x12xf32>, %len: memref<2xi64>, %ids: memref<2x3xi64>,
                             %kept: memref<2xi64>, %k: memref<2x2x128x16xf32>, %new: memref<2xi64>,
                             %host: memref<1xi64>) {
  chunkkv.topk_chunks #p ins(%s, %len : memref<2x12xf32>, memref<2xi64>)
      outs(%ids, %kept : memref<2x3xi64>, memref<2xi64>)
  %c0 = arith.constant 0 : index
  %one = arith.constant 1 : i64
  memref.store %one, %host[%c0] : memref<1xi64>
  chunkkv.compact #p layout(bhsd) ins(%k, %ids, %len : memref<2x2x128x16xf32>, memref<2x3xi64>, memref<2xi64>)
      outs(%k, %new : memref<2x2x128x16xf32>, memref<2xi64>)
  return
}

// -----

// The scratch of a stream (score, top-k and both compactions: eleven
// buffers) is one allocation before the first kernel and one free after the
// last; memsets come before the first kernel too (here the token pass's
// batch maximum is cleared before the statistics kernel): the kernels
// follow each other with nothing in between.
#p = #chunkkv.policy<paper, chunk = 8, window = 64, budget = 96>
// CHECK-LABEL: func.func @kernels_back_to_back
// CHECK: gpu.wait async
// CHECK: %[[SCRATCH:.*]], %{{.*}} = gpu.alloc async {{.*}} : memref<?xi8>
// CHECK-COUNT-11: memref.view %[[SCRATCH]]
// CHECK-NEXT: gpu.memset async
// CHECK-NEXT: gpu.launch async {{.*}} function(@chunkkv_score_stats)
// CHECK-NOT: gpu.alloc
// CHECK-NOT: gpu.memset
// CHECK-NOT: gpu.dealloc
// CHECK: function(@chunkkv_compact_gather)
// CHECK-NOT: gpu.launch
// CHECK: gpu.dealloc async {{.*}} %[[SCRATCH]]
// CHECK-NEXT: gpu.wait [%{{.*}}]
func.func @kernels_back_to_back(%q: memref<1x4x64x16xf32>, %k: memref<1x333x2x16xf32>,
    %v: memref<1x333x2x16xf32>, %len: memref<1xi64>, %s: memref<1x34xf32>,
    %ids: memref<1x4xi64>, %kept: memref<1xi64>, %kout: memref<1x333x2x16xf32>,
    %vout: memref<1x333x2x16xf32>, %klen: memref<1xi64>, %vlen: memref<1xi64>) {
  chunkkv.chunk_score #p layout(bshd)
      ins(%q, %k, %len : memref<1x4x64x16xf32>, memref<1x333x2x16xf32>, memref<1xi64>)
      outs(%s : memref<1x34xf32>)
  chunkkv.topk_chunks #p ins(%s, %len : memref<1x34xf32>, memref<1xi64>)
      outs(%ids, %kept : memref<1x4xi64>, memref<1xi64>)
  chunkkv.compact #p layout(bshd) ins(%k, %ids, %len : memref<1x333x2x16xf32>, memref<1x4xi64>, memref<1xi64>)
      outs(%kout, %klen : memref<1x333x2x16xf32>, memref<1xi64>)
  chunkkv.compact #p layout(bshd) ins(%v, %ids, %len : memref<1x333x2x16xf32>, memref<1x4xi64>, memref<1xi64>)
      outs(%vout, %vlen : memref<1x333x2x16xf32>, memref<1xi64>)
  return
}

// -----

// Device work already in the input is left as it is: its allocation after
// its kernel stays there, and its stream does not continue the lowered
// op's.
#p = #chunkkv.policy<paper, chunk = 10, window = 8, budget = 40>
// CHECK-LABEL: func.func @device_work_of_the_input
// CHECK: function(@chunkkv_topk)
// CHECK: gpu.wait [%{{.*}}]
// CHECK: %[[START:.*]] = gpu.wait async
// CHECK: %[[KERNEL:.*]] = gpu.launch async [%[[START]]]
// CHECK: %[[BUFFER:.*]], %[[ALLOCATED:.*]] = gpu.alloc async [%[[KERNEL]]] (%arg4)
// CHECK: %[[FREED:.*]] = gpu.dealloc async [%[[ALLOCATED]]] %[[BUFFER]]
// CHECK: gpu.wait [%[[FREED]]]
func.func @device_work_of_the_input(%s: memref<2x12xf32>, %len: memref<2xi64>,
    %ids: memref<2x3xi64>, %kept: memref<2xi64>, %n: index) {
  chunkkv.topk_chunks #p ins(%s, %len : memref<2x12xf32>, memref<2xi64>)
      outs(%ids, %kept : memref<2x3xi64>, memref<2xi64>)
  %c1 = arith.constant 1 : index
  %start = gpu.wait async
  %kernel = gpu.launch async [%start] blocks(%bx, %by, %bz) in (%x = %c1, %y = %c1, %z = %c1)
      threads(%tx, %ty, %tz) in (%a = %c1, %b = %c1, %c = %c1) {
    gpu.terminator
  }
  %buffer, %allocated = gpu.alloc async [%kernel] (%n) : memref<?xf32>
  %freed = gpu.dealloc async [%allocated] %buffer : memref<?xf32>
  gpu.wait [%freed]
  return
}
