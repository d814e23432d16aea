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
