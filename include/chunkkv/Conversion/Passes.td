//===- Passes.td - chunkkv lowering passes ----------------*- tablegen -*-===//

#ifndef CHUNKKV_CONVERSION_PASSES_TD
#define CHUNKKV_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ChunkKVToLoopsPass : Pass<"chunkkv-lower-to-loops"> {
  let summary = "Lower chunkkv ops to scf/vector/memref/arith/math loops";
  let description = [{
    Lowers `chunkkv.chunk_score`, `chunkkv.topk_chunks` and `chunkkv.compact`
    (both policies, every form the verifier accepts) to upstream dialects that
    the standard CPU pipeline takes to LLVM.

    - `chunk_score`: per (sequence, kv head), one sweep over K computes the
      logits of all `G * w` window queries of the group with a register-tiled
      vector kernel (4 keys x 4 vectors of queries), applies the causal mask
      and keeps each query's maximum; the logits live in a `[S, G*w]` scratch
      buffer of that head only (never `[Hq, w, S]`). Then exponentials and
      per-query sums, the per-token sum of probabilities, pooling, group mean,
      head sum and the chunk reduction.
    - `topk_chunks`: radix select on order-preserving keys of the scores
      (four 8-bit passes, O(n)), then one ascending scan that takes every
      chunk above the k-th score and the lowest-index chunks equal to it, so
      ties go to the lower chunk index and ids come out ascending.
    - `compact`: copies whole rows (vectorised along D) in ascending position
      order, which is safe in place.

    Tensor forms are bufferized locally: inputs through
    `bufferization.to_buffer`, results into fresh allocations returned with
    `bufferization.to_tensor` (one-shot-bufferize removes both). Lengths are
    clamped to `[0, S]` and chunk ids outside `[0, n)` are skipped, so the
    generated code never reads or writes out of bounds.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector in the generated kernels">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ChunkKVToGPUPass : Pass<"chunkkv-lower-to-gpu"> {
  let summary = "Lower chunkkv ops in memref form to gpu.launch kernels";
  let description = [{
    Lowers `chunkkv.chunk_score`, `chunkkv.topk_chunks` and `chunkkv.compact`
    on device buffers (memref form; both policies, f32/f16/bf16 caches, bhsd
    and bshd, per-sequence lengths) to `gpu.launch` kernels, with scratch
    buffers from `gpu.alloc`. `gpu-kernel-outlining` and the NVVM pipeline
    take them further (`chunkkv-gpu-pipeline`).

    - `chunk_score` never writes a `[Hq, w, S]` buffer. The paper policy
      on f16/bf16 caches with a head dimension that is a multiple of 32
      reads K once, in three kernels: (1) one block per (span of keys, kv
      head, sequence, 64 window queries), four warps of `mma.sync`
      16x8x16 tiles, keys staged in shared memory by 16-byte `cp.async`
      (`nvgpu.device_async_copy`) in a ring of `key-stages` steps;
      each query keeps an online softmax maximum and sum over its span
      and, per step of 32 keys, a second `mma.sync` (16x8x8, tf32) sums
      `2^(x - running max)` times each key's pooling count
      per chunk into per-chunk slots in shared memory, written out
      relative to the span's maximum as bf16; (2) per query, the spans'
      statistics are combined and every span gets the weight
      `2^(span max - max) / (G * sum)`; (3) per chunk, the weighted
      partials are summed over kv heads, queries and spans.
      `single-pass=false` keeps the two-pass form below for the paper
      policy too. A span has
      `tokens-per-block` keys, or fewer when its chunk slots (dynamic
      shared memory) would not fit in `shared-memory-per-block` next to
      the staged keys (a step's slots never fitting, as
      with one-token chunks and wide pooling, falls back to the next
      form). kvpress (whose window score is the batch maximum of the
      pooled per-token scores), f32 caches and other head dimensions
      read K twice, in five kernels: (1) the same statistics (one thread
      per window query with FMA loops where tensor cores do not apply);
      (2) combine; (3) the blocks of (1) recompute the logits of the
      prefix keys and sum `exp(x - max) * factor / sum` over the group's
      queries with warp shuffles, giving a `[B, Hkv, S]` buffer of
      per-token group sums; (4) per token: pooling, sum over kv heads
      and, for kvpress, the batch maximum (integer atomic max on the
      bits of the non-negative sums); (5) per chunk: the chunk
      reduction.
    - `topk_chunks`: one block per sequence, radix select over 8-bit digits
      with a shared-memory histogram, then block-wide scans (warp shuffles)
      that take chunks in index order: ties go to the lower index, ids come
      out ascending. Up to `2^31` chunks.
    - `compact`: a plan kernel turns the ids into the source row of every
      kept row (block-wide scan of chunk sizes); a grid-stride gather copies
      rows with 16-byte vector loads and stores, four in flight per thread.
      In place, rows are gathered into a second buffer and copied back,
      since blocks run in no order. Consecutive compactions (only
      side-effect-free host code in between) that touch no buffer another
      one writes (told apart by SSA value) share the launches: each kernel
      runs once for all of them, its blocks numbered by op too, so K and V
      of one selection pay the plan's latency once.

    `min-blocks-per-sm` puts `nvvm.minctasm` on the `gpu.launch` of the
    tensor-core score kernels: ptxas then keeps their registers within
    `65536 / (threads per block * min-blocks-per-sm)`, so that many blocks
    (of 128 threads, 256 with `mma-warps=8`) fit on an SM. Upstream `gpu-kernel-outlining` drops a launch's
    attributes; `chunkkv-gpu-kernel-outlining` keeps them.
    `shared-memory-per-block` is what one block of the single-pass
    statistics kernel may take: its chunk slots are
    `gpu.dynamic_shared_memory` (the launch's
    `dynamic_shared_memory_size`), so spans may grow past what the 48 KiB
    of static shared memory allow; `chunkkv-extern-dynamic-shared-memory`
    keeps that memory's accesses through LLVM.

    Each op's work is one chain of async tokens (one stream) ending in a
    `gpu.wait`; where the next chunkkv op follows with only side-effect-free
    host code in between, its chain continues the previous one, so a
    sequence of ops synchronises once, at its end; a chain's frees
    (`gpu.dealloc`) move after its last kernel, so no free stands between
    two kernels on the stream.

    Requirements, each reported with the op and the reason: memref form,
    static head dimension that is a multiple of 16 bytes, unit stride along
    it, a head dimension of at most 128 for `chunk_score` (the query stays in
    registers), at most 1024 window queries per kv head (`G * w`), and
    caches of fewer than 2^31 tokens (the kernels' key positions are 32-bit;
    a dynamic capacity is checked by a `cf.assert` in the host code).
  }];
  let options = [
    Option<"tokensPerBlock", "tokens-per-block", "int64_t", /*default=*/"512",
           "keys per block of the score kernels (a multiple of 32; the "
           "single-pass kernel may take fewer)">,
    Option<"singlePass", "single-pass", "bool", /*default=*/"true",
           "paper policy on tensor cores: read K once with chunk slots in "
           "the statistics kernel (false: the two-pass kernels, as for "
           "kvpress)">,
    Option<"mmaRowTiles", "mma-row-tiles", "int64_t", /*default=*/"1",
           "16-row mma tiles per warp of the tensor-core score kernels (1 "
           "or 2): 2 feeds each key fragment loaded from shared memory to "
           "two mma, for more registers and fewer blocks per SM">,
    Option<"keyStages", "key-stages", "int64_t", /*default=*/"3",
           "steps of 32 keys the tensor-core score kernels stage in shared "
           "memory (2 to 4): cp.async copies key-stages - 1 steps ahead of "
           "the one in use">,
    Option<"minBlocksPerSM", "min-blocks-per-sm", "int64_t", /*default=*/"0",
           "blocks of the tensor-core score kernels each SM must hold (0: "
           "no bound, else 1 to 4): their gpu.launch ops carry it as "
           "`nvvm.minctasm`, and ptxas limits their registers to fit">,
    Option<"sharedMemoryPerBlock", "shared-memory-per-block", "int64_t",
           /*default=*/"49152",
           "bytes of shared memory a block of the single-pass statistics "
           "kernel may take (49152 to 232448): its spans of keys are the "
           "longest whose chunk slots fit, the slots in dynamic shared "
           "memory">,
    Option<"mmaWarps", "mma-warps", "int64_t", /*default=*/"4",
           "warps of a block of the tensor-core score kernels (4 or 8): "
           "each takes mma-row-tiles 16-row tiles of the window queries; "
           "head dimensions that are not a multiple of 64 keep 4">,
    Option<"warpgroupMma", "warpgroup-mma", "bool", /*default=*/"false",
           "logits of the tensor-core score kernels by warpgroup mma "
           "(`wgmma.mma_async`, sm_90a): each "
           "warpgroup reads a step's staged keys from shared memory once, "
           "in the layout wgmma takes, instead of each warp loading them "
           "for its mma.sync">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::cf::ControlFlowDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::math::MathDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ChunkKVGPUKernelOutliningPass
    : Pass<"chunkkv-gpu-kernel-outlining", "::mlir::ModuleOp"> {
  let summary = "gpu-kernel-outlining that keeps the launches' attributes";
  let description = [{
    Runs upstream `gpu-kernel-outlining` and gives each outlined `gpu.func`
    the discardable attributes of the `gpu.launch` it came from, such as
    the `nvvm.minctasm` and `nvvm.maxnreg` launch bounds that
    `chunkkv-lower-to-gpu` sets and that the NVVM lowering turns into
    `.minnctapersm` and `.maxnreg`. Upstream outlining drops them. A
    launch without such attributes is outlined exactly as upstream does it.
  }];
  let dependentDialects = [
    "::mlir::DLTIDialect",
    "::mlir::gpu::GPUDialect"
  ];
}

def ChunkKVExternDynamicSharedMemoryPass
    : Pass<"chunkkv-extern-dynamic-shared-memory", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Declare a GPU module's dynamic shared memory as external";
  let description = [{
    Gives every zero-sized workgroup (address space 3) `llvm.mlir.global` of
    a `gpu.module` external linkage. The NVVM lowering of
    `gpu.dynamic_shared_memory` declares the dynamic shared memory as an
    internal `[0 x i8]` array: LLVM takes that as an object of no bytes, so
    at `-O1` and above it may drop every access to it (all of them lie past
    its end). External, it becomes PTX's `.extern .shared` array, what CUDA's
    `extern __shared__` compiles to. Run it after `convert-gpu-to-nvvm`;
    globals with a size are left as they are.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def ChunkKVGPUDependentLaunchesPass
    : Pass<"chunkkv-gpu-dependent-launches", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Let each kernel of a GPU module be launched before the "
                "previous one ends (programmatic dependent launch, sm_90)";
  let description = [{
    Starts every kernel `gpu.func` of the module with
    `nvvm.griddepcontrol wait` (its threads wait until the kernels before
    it on the stream have ended and their memory is visible), then
    `nvvm.griddepcontrol launch_dependents` (the next kernel may be
    launched), and defines the i32 global `chunkkv_dependent_launches`
    in the module. chunkkv's CUDA runtime launches the kernels of a module
    that defines it with programmatic stream serialization
    (`cuLaunchKernelEx`): a kernel's blocks are scheduled while the
    previous kernel's last blocks still run, and wait there, which hides
    the launch latency between consecutive kernels. Without that launch
    attribute (another runtime, or `mlir-runner`'s) both instructions do
    nothing. The wait comes before anything else a kernel does, so no
    thread touches memory that the previous kernel may still read or
    write.

    `griddepcontrol` needs sm_90 or newer (PTX 7.8). A kernel that already
    starts by waiting is left as it is; a symbol `chunkkv_dependent_launches`
    that is not an i32 global is reported.
  }];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect",
    "::mlir::NVVM::NVVMDialect"
  ];
}

def ChunkKVDecomposeAggregatesPass : Pass<"chunkkv-decompose-aggregates"> {
  let summary = "Decompose aggregated linalg ops such as linalg.softmax";
  let description = [{
    Replaces every op implementing `linalg::AggregatedOpInterface` (today
    `linalg.softmax`) by the ops of its `decomposeOperation` (reductions and
    elementwise `linalg.generic`s), which bufferize and lower to loops like
    any other linalg op. Run on tensors, before bufferization: an aggregate
    on memrefs, or one whose decomposition fails, is reported and fails the
    pass.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def ChunkKVApproximateMathPass : Pass<"chunkkv-approximate-math"> {
  let summary = "Replace math.exp and friends by polynomial approximations";
  let description = [{
    Rewrites `math` ops on f32 scalars and vectors (`exp`, `log`, `tanh`,
    `erf`, ...) into the polynomial approximations of upstream MLIR, so that
    vector exponentials stay vectorised on the host instead of becoming one
    libm call per lane.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // CHUNKKV_CONVERSION_PASSES_TD
