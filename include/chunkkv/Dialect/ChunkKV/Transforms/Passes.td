//===- Passes.td - chunkkv transformation passes ----------*- tablegen -*-===//

#ifndef CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_PASSES_TD
#define CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ChunkKVDetectKVCachePass : Pass<"chunkkv-detect-kv-cache", "::mlir::ModuleOp"> {
  let summary = "Find each layer's KV cache, its writes and its attention";
  let description = [{
    Finds, in every function, the KV caches of a lowered transformer by
    structure: a write of new rows into a rank-4 cache (`tensor.insert_slice`,
    or `memref.copy` / `linalg.copy` into a `memref.subview`) whose written
    value reaches, through data movement only (reshapes, transposes, copy-like
    `linalg.generic`s such as a GQA head broadcast), one input of a linalg
    contraction. The contraction's indexing maps tell the role: a K cache is
    contracted over its last dimension (QK^T), a V cache over its sequence
    dimension (PV); which cache dimension is the sequence gives the layout.
    The QK^T result must reach the PV contraction (through the scale, mask
    and softmax); the other input of QK^T, followed back through data
    movement, is the query.

    Found ops get a `chunkkv.kv = #chunkkv.kv<role, layout = L, layer = N>`
    attribute; a layer loop (`scf.for` carrying per-layer slices of stacked
    caches) gets `chunkkv.layer_loop` and its ops no layer index; the function
    gets `chunkkv.kv_layers`. Rejected candidates are left unchanged: a cache
    write never read by an attention contraction, an attention without a
    cache, a cache also read by another op, a cache read both as keys and as
    values (K and V swapped), and ambiguous matches. With `report=true` the
    pass prints, per function and layer, what it found and why each
    candidate was rejected, to stderr.
  }];
  let options = [
    Option<"report", "report", "bool", /*default=*/"false",
           "print what was found and why candidates were rejected">
  ];
  let dependentDialects = ["::mlir::chunkkv::ChunkKVDialect"];
}

def ChunkKVInsertCompressionPass
    : Pass<"chunkkv-insert-compression", "::mlir::ModuleOp"> {
  let summary = "Compress each layer's KV cache with ChunkKV after prefill";
  let description = [{
    Runs on a module that chunkkv-detect-kv-cache annotated. In the prefill
    function (option `function`), for every layer with a K write, a V write
    and a query op, it adds before the return: the last `w` rows of the
    layer's queries (after RoPE; `[B, T, Hq, D]` becomes `[B, Hq, w, D]`),
    the valid lengths after prefill (write offset + T for every sequence),
    `chunkkv.chunk_score`, `chunkkv.topk_chunks` and a `chunkkv.compact` of
    the written K and V caches, all marked `chunkkv.layer = l`. The function
    returns the compacted caches in place of the written ones (same types:
    capacity is unchanged, only valid lengths shrink) and, appended to its
    results, one `tensor<Bxi64>` of valid lengths per layer, in layer order.
    Attention inside the function still reads the full caches.

    A layer loop (`chunkkv.layer_loop`, 0 to L by 1) is compressed in its
    body: the caches stored back into the stacked caches are the compacted
    ones and a loop-carried `tensor<LxBxi64>` collects the lengths (one
    appended result). The decode function is rewritten to match: the
    lengths become appended arguments, each sequence's new row is written
    at its layer's length, the causal masks compare with it, RoPE keeps the
    true position, and the lengths plus one are appended to the results.

    With `prompt-lengths=true` the batch holds right-padded prompts: prefill
    takes their lengths (`tensor<Bxi64>`, appended) and uses each
    sequence's own last `w` queries; decode takes each sequence's true
    position (`tensor<Bxi64>`, appended last) for RoPE.

    What it takes: tensor form, writes by `tensor.insert_slice` whose results
    are returned (or stored back in a layer loop), queries `[B, T, Hq, D]`
    with `T >= w`, static shapes, a decode that fits. Anything else is left
    unchanged; with `report=true` the pass says why. An invalid policy is an
    error.
  }];
  let options = [
    Option<"policyKind", "policy", "std::string", /*default=*/"\"paper\"",
           "selection policy: paper or kvpress">,
    Option<"chunkSize", "chunk-size", "int64_t", /*default=*/"0",
           "tokens per chunk C (0: the policy's default)">,
    Option<"window", "window", "int64_t", /*default=*/"0",
           "observation window w (0: the policy's default)">,
    Option<"pool", "pool", "int64_t", /*default=*/"0",
           "pooling kernel (0: the policy's default)">,
    Option<"aggregate", "aggregate", "std::string", /*default=*/"\"\"",
           "chunk aggregation sum or mean (empty: the policy's default)">,
    Option<"budget", "budget", "int64_t", /*default=*/"-1",
           "tokens kept L (paper; -1: unset)">,
    Option<"keepRatio", "keep-ratio", "double", /*default=*/"-1.0",
           "fraction of tokens kept (paper; negative: unset)">,
    Option<"compressionRatio", "compression-ratio", "double",
           /*default=*/"-1.0",
           "fraction of chunks removed (kvpress; negative: unset)">,
    Option<"function", "function", "std::string", /*default=*/"\"prefill\"",
           "the prefill function">,
    Option<"decodeFunction", "decode", "std::string",
           /*default=*/"\"decode\"",
           "the decode function, rewritten for the compressed caches (empty: "
           "none)">,
    Option<"promptLengths", "prompt-lengths", "bool", /*default=*/"false",
           "right-padded prompts: prefill takes each sequence's prompt length "
           "and decode each sequence's true position (tensor<Bxi64> "
           "arguments, appended last)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "print what was compressed, or why nothing was">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::chunkkv::ChunkKVDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def ChunkKVReuseIndicesPass : Pass<"chunkkv-reuse-indices", "::mlir::ModuleOp"> {
  let summary = "Reuse one layer's chunk selection in the next layers";
  let description = [{
    With interval `N`, layer `l` uses the selection of layer
    `leader(l) = floor(l / N) * N` (docs/semantics.md): the `chunkkv.compact`
    ops of a follower layer take the leader's `chunkkv.topk_chunks` ids and
    get `chunkkv.leader = leader(l)`, which the dialect verifies (the ids must
    come from that layer's selection); the follower's own `chunk_score` and
    `topk_chunks` are removed. Works on the ops that
    chunkkv-insert-compression marks with `chunkkv.layer`. `N = 1` changes
    nothing; a follower whose leader has no selection is left as it is
    (reported with `report=true`).
  }];
  let options = [
    Option<"interval", "interval", "int64_t", /*default=*/"2",
           "layers per selection (the paper uses 2)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "print which layer reuses which">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::chunkkv::ChunkKVDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_PASSES_TD
