// The host side: one stream per op, kernels embedded as a gpu.binary and
// launched through the mgpu* runtime functions. Format isa needs no ptxas.
// RUN: chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_80 format=isa" | FileCheck %s
// RUN: chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_90 format=isa" | FileCheck %s --check-prefix=SM90
// single-pass=false reaches chunkkv-lower-to-gpu: the paper policy's scores
// take the two-pass kernels too.
// RUN: chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_90 format=isa single-pass=false" | FileCheck %s --check-prefix=TWOPASS

// PTX for sm_80 and sm_90 that ptxas accepts, without spills to local
// memory (the register table of docs/gpu.md comes from the same script):
// the paper policy's single-pass kernels with top-k and compaction, then
// kvpress's two-pass score kernels.
// RUN: %if ptxas %{ chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_80 format=isa" | %python %chunkkv_src/scripts/ptx_report.py --ptxas %ptxas --arch sm_80 | FileCheck %s --check-prefix=PTXAS %}
// RUN: %if ptxas %{ chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_90 format=isa" | %python %chunkkv_src/scripts/ptx_report.py --ptxas %ptxas --arch sm_90 > %t.sm90 %}
// RUN: %if ptxas %{ FileCheck %s --check-prefix=PTXAS < %t.sm90 %}
// On sm_90 the single-pass statistics kernel keeps four blocks of 128
// threads per SM (its shared memory allows four: 24832 bytes static, which
// ptxas reports, and the chunk slots' 22016 dynamic, which the launch
// sets): at most 128 registers, and the report's last column, the blocks
// that fit on one SM, says 4.
// RUN: %if ptxas %{ FileCheck %s --check-prefix=OCCUPANCY < %t.sm90 %}
// min-blocks-per-sm reaches the PTX of the tensor-core score kernels as
// .minnctapersm (chunkkv-gpu-kernel-outlining keeps it on the kernels): the
// two-row-tile statistics kernel, 211 registers unbounded, fits three blocks
// (at most 168 registers) without spills.
// RUN: chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_90 format=isa mma-row-tiles=2 min-blocks-per-sm=3" > %t.bounded
// RUN: FileCheck %s --check-prefix=MINBLOCKS < %t.bounded
// RUN: %if ptxas %{ %python %chunkkv_src/scripts/ptx_report.py --ptxas %ptxas --arch sm_90 %t.bounded | FileCheck %s --check-prefix=BOUNDED %}
// warpgroup-mma on sm_90a: the statistics kernel's logits by wgmma, the
// keys fenced for the async proxy; ptxas takes every kernel without spills.
// RUN: chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_90a format=isa warpgroup-mma=true mma-warps=8 shared-memory-per-block=115712" > %t.wgmma
// RUN: FileCheck %s --check-prefix=WGMMA < %t.wgmma
// RUN: %if ptxas %{ %python %chunkkv_src/scripts/ptx_report.py --ptxas %ptxas --arch sm_90a %t.wgmma | FileCheck %s --check-prefix=WGMMA-PTXAS %}
// Two row tiles: at most 168 registers (three blocks of 128 threads per
// SM), no spills.
// RUN: %if ptxas %{ chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_90a format=isa warpgroup-mma=true mma-row-tiles=2 shared-memory-per-block=76800" | %python %chunkkv_src/scripts/ptx_report.py --ptxas %ptxas --arch sm_90a | FileCheck %s --check-prefix=WGMMA2-PTXAS %}
// dependent-launches: every kernel waits for the previous one before
// anything else, then lets the next launch, and each kernel module holds
// the marker that chunkkv's runtime launches such modules' kernels by;
// ptxas takes the kernels.
// RUN: chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_90 format=isa dependent-launches=true" > %t.dependent
// RUN: FileCheck %s --check-prefix=DEPENDENT < %t.dependent
// RUN: %if ptxas %{ %python %chunkkv_src/scripts/ptx_report.py --ptxas %ptxas --arch sm_90 %t.dependent | FileCheck %s --check-prefix=PTXAS %}
// A cubin straight from the pipeline (format=bin runs ptxas itself).
// RUN: %if ptxas %{ chunkkv-opt %s -chunkkv-gpu-pipeline="chip=sm_90 format=bin" | FileCheck %s --check-prefix=CUBIN %}

// CHECK-LABEL: llvm.func @select
// CHECK: llvm.call @mgpuStreamCreate()
// CHECK: llvm.call @mgpuMemAlloc
// CHECK: gpu.launch_func <%{{.*}} : !llvm.ptr> @chunkkv_score_stats::@chunkkv_score_stats
// CHECK-NOT: llvm.call @mgpuMemFree
// The three ops share the stream: one synchronisation, at the end; the
// scratch buffers are freed after the last kernel, so no free comes
// between two kernels.
// CHECK: @chunkkv_topk::@chunkkv_topk
// CHECK-NOT: llvm.call @mgpuMemFree
// CHECK: @chunkkv_compact_gather::@chunkkv_compact_gather
// CHECK: llvm.call @mgpuMemFree
// CHECK: llvm.call @mgpuStreamSynchronize
// CHECK: llvm.call @mgpuStreamDestroy
// CHECK: llvm.func @_mlir_ciface_select
// CHECK: gpu.binary @chunkkv_score_stats  [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx70"
// CHECK: gpu.binary @chunkkv_topk
// CHECK: gpu.binary @chunkkv_compact_gather
// SM90: #nvvm.target<O = 3, chip = "sm_90", features = "+ptx80"
// The chunk slots are dynamic shared memory, declared external
// (chunkkv-extern-dynamic-shared-memory): internal, LLVM would take it for
// an object of no bytes.
// SM90: .extern .shared .align 16 .b8 __dynamic_shmem__0[];
// Keys reach shared memory by cp.async, two steps ahead of the one in use.
// SM90: cp.async.cg.shared.global [%{{.*}}], [%{{.*}}], 16, 16;
// SM90: cp.async.commit_group;
// SM90: cp.async.wait_group {{\\09}}1;
// SM90: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// Exponentials are one MUFU each: the flushing ex2, not libdevice's exp2f.
// SM90: ex2.approx.ftz.f32

// DEPENDENT: gpu.binary @chunkkv_score_stats {{.*}}.visible .global .align 4 .u32 chunkkv_dependent_launches = 1;
// DEPENDENT-SAME: .entry chunkkv_score_stats(
// DEPENDENT-SAME: \09griddepcontrol.wait;\0A\09griddepcontrol.launch_dependents;
// DEPENDENT: gpu.binary @chunkkv_topk {{.*}}chunkkv_dependent_launches = 1;{{.*}}griddepcontrol.wait;\0A\09griddepcontrol.launch_dependents;
// DEPENDENT: gpu.binary @chunkkv_compact_gather {{.*}}chunkkv_dependent_launches = 1;{{.*}}griddepcontrol.wait;\0A\09griddepcontrol.launch_dependents;

// MINBLOCKS: gpu.binary @chunkkv_score_stats {{.*}}.maxntid 128, 1, 1\0A.minnctapersm 3\0A
// MINBLOCKS: gpu.binary @chunkkv_score_combine {{.*}}.maxntid 256, 1, 1\0A.minnctapersm 4\0A
// MINBLOCKS: gpu.binary @chunkkv_score_chunk_sums {{.*}}.maxntid 256, 1, 1\0A.minnctapersm 2\0A
// MINBLOCKS: gpu.binary @chunkkv_topk
// MINBLOCKS-NOT: minnctapersm
// MINBLOCKS: gpu.binary @chunkkv_compact_gather
// BOUNDED: | chunkkv_score_stats | {{(1[0-5][0-9]|16[0-8])}} | 25088 | 0/0 | 0 | 128 | 21504 | 3 |
// BOUNDED-NOT: rejected

// WGMMA: #nvvm.target<O = 3, chip = "sm_90a", features = "+ptx80"
// WGMMA: fence.proxy.async.shared::cta;
// WGMMA: wgmma.fence.sync.aligned;
// WGMMA: wgmma.mma_async.sync.aligned.m64n32k16.f32.f16.f16
// WGMMA: wgmma.commit_group.sync.aligned;
// WGMMA: wgmma.wait_group.sync.aligned 0;
// WGMMA-PTXAS: | chunkkv_score_stats | {{[0-9]+}} | 25088 | 0/0 | 0 |
// WGMMA-PTXAS: | chunkkv_compact_gather | {{[0-9]+}} | 0 | 0/0 | 0 |
// WGMMA-PTXAS-NOT: rejected
// WGMMA2-PTXAS: | chunkkv_score_stats | {{(1[0-5][0-9]|16[0-8])}} | 25088 | 0/0 | 0 | 128 | 44032 | 3 |
// WGMMA2-PTXAS-NOT: rejected

// TWOPASS: gpu.binary @chunkkv_score_stats
// TWOPASS: gpu.binary @chunkkv_score_tokens
// TWOPASS-NOT: gpu.binary @chunkkv_score_chunk_sums
// TWOPASS: gpu.binary @chunkkv_score_tokens_2

// PTXAS: | kernel | registers
// PTXAS-NOT: rejected
// OCCUPANCY: | chunkkv_score_stats | {{([1-9]?[0-9]|1[01][0-9]|12[0-8])}} | 24832 | 0/0 | 0 | 128 | 22016 | 4 |
// PTXAS: | chunkkv_score_stats | {{[0-9]+}} | 24832 | 0/0 | 0 |
// PTXAS: | chunkkv_score_combine | {{[0-9]+}} | 0 | 0/0 | 0 |
// PTXAS: | chunkkv_score_chunk_sums | {{[0-9]+}} | 1024 | 0/0 | 0 |
// PTXAS: | chunkkv_topk | {{[0-9]+}} | {{[0-9]+}} | 0/0 | 0 |
// PTXAS: | chunkkv_compact_plan | {{[0-9]+}} | {{[0-9]+}} | 0/0 | 0 |
// PTXAS: | chunkkv_compact_gather | {{[0-9]+}} | 0 | 0/0 | 0 |
// PTXAS: | chunkkv_score_stats | {{[0-9]+}} | 24576 | 0/0 | 0 |
// PTXAS: | chunkkv_score_combine | {{[0-9]+}} | 0 | 0/0 | 0 |
// PTXAS: | chunkkv_score_tokens | {{[0-9]+}} | 32768 | 0/0 | 0 |
// PTXAS: | chunkkv_score_pool | {{[0-9]+}} | 0 | 0/0 | 0 |
// PTXAS: | chunkkv_score_chunks | {{[0-9]+}} | 0 | 0/0 | 0 |
// PTXAS-NOT: rejected

// CUBIN: gpu.binary @chunkkv_score_stats  [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80"{{.*}}bin = "\7FELF

#p = #chunkkv.policy<paper, chunk = 10, window = 32, keep_ratio = 0.1>
func.func @select(%q: memref<?x?x32x128xf16>, %k: memref<?x?x?x128xf16>,
                  %len: memref<?xi64>, %scores: memref<?x?xf32>, %ids: memref<?x?xi64>,
                  %kept: memref<?xi64>, %kout: memref<?x?x?x128xf16>, %klen: memref<?xi64>)
    attributes {llvm.emit_c_interface} {
  chunkkv.chunk_score #p layout(bhsd)
      ins(%q, %k, %len : memref<?x?x32x128xf16>, memref<?x?x?x128xf16>, memref<?xi64>)
      outs(%scores : memref<?x?xf32>)
  chunkkv.topk_chunks #p ins(%scores, %len : memref<?x?xf32>, memref<?xi64>)
      outs(%ids, %kept : memref<?x?xi64>, memref<?xi64>)
  chunkkv.compact #p layout(bhsd)
      ins(%k, %ids, %len : memref<?x?x?x128xf16>, memref<?x?xi64>, memref<?xi64>)
      outs(%kout, %klen : memref<?x?x?x128xf16>, memref<?xi64>)
  return
}

// kvpress keeps the token pass (statistics, combine, tokens, pool, chunks).
#kvpress = #chunkkv.policy<kvpress, chunk = 20, window = 64, pool = 5, compression_ratio = 0.5>
func.func @score_kvpress(%q: memref<?x?x64x128xbf16>, %k: memref<?x?x?x128xbf16>,
                         %len: memref<?xi64>, %scores: memref<?x?xf32>) {
  chunkkv.chunk_score #kvpress layout(bhsd)
      ins(%q, %k, %len : memref<?x?x64x128xbf16>, memref<?x?x?x128xbf16>, memref<?xi64>)
      outs(%scores : memref<?x?xf32>)
  return
}
