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

#endif // CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_PASSES_TD
