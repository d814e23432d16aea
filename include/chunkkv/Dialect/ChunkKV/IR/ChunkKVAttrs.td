//===- ChunkKVAttrs.td - chunkkv attributes ---------------*- tablegen -*-===//

#ifndef CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVATTRS_TD
#define CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVATTRS_TD

include "chunkkv/Dialect/ChunkKV/IR/ChunkKVBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

class ChunkKV_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<ChunkKV_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def ChunkKV_LayoutAttr : EnumAttr<ChunkKV_Dialect, ChunkKV_Layout, "layout"> {
  let summary = "KV cache layout: [B, Hkv, S, D] (bhsd) or [B, S, Hkv, D] (bshd)";
}

def ChunkKV_KVAttr : ChunkKV_Attr<"KV", "kv"> {
  let summary = "the role of an op in one layer's KV-cache attention";
  let description = [{
    Written by `chunkkv-detect-kv-cache` as the discardable attribute
    `chunkkv.kv` on the ops it identifies, and read by the insertion pass:

    ```mlir
    %w = tensor.insert_slice %k into %cache[0, 0, 0, 0] [2, 2, 16, 16] [1, 1, 1, 1]
        {chunkkv.kv = #chunkkv.kv<k_write, layout = bhsd, layer = 0>} : ...
    ```

    - `k_write`, `v_write`: the write of new keys / values into the cache
      (`tensor.insert_slice`, or `memref.copy` / `linalg.copy` into a
      `memref.subview`); the sequence offset and written length are that
      op's offset and size along the layout's sequence dimension;
    - `k_read`, `v_read`: the op that reads the written cache on its way to
      QK^T or PV (a GQA head broadcast, a transpose, a reshape), when that
      op is not the contraction itself;
    - `query`: the op producing the queries (after RoPE) that QK^T reads;
    - `qk`, `pv`: the two attention contractions.

    `layer` is the layer index in unrolled code; it is left out for ops in
    the body of an `scf.for` marked `chunkkv.layer_loop`, whose induction
    variable is the layer.
  }];
  let parameters = (ins
    EnumParameter<ChunkKV_KVRole>:$role,
    OptionalParameter<"std::optional<int64_t>">:$layer,
    EnumParameter<ChunkKV_Layout>:$layout
  );
  let assemblyFormat = [{
    `<` $role `,` `layout` `=` $layout (`,` `layer` `=` $layer^)? `>`
  }];
}

def ChunkKV_PolicyAttr : ChunkKV_Attr<"Policy", "policy"> {
  let summary = "ChunkKV selection policy and its parameters";
  let description = [{
    All parameters of one ChunkKV configuration (see `docs/semantics.md`):

    ```
    #chunkkv.policy<paper, chunk = 10, window = 32, pool = 1, aggregate = sum,
                    budget = 512, reuse = 2>
    #chunkkv.policy<kvpress, compression_ratio = 0.75>
    ```

    - kind: `paper` (the paper's method) or `kvpress` (kvpress's
      `ChunkKVPress(SnapKVPress)`, selected per sequence);
    - `chunk`: chunk size `C > 0` (default 10 for `paper`, 20 for `kvpress`);
    - `window`: observation window `w > 0` (default 32 / 64);
    - `pool`: odd average-pooling kernel `p >= 1` (default 1 / 5);
    - `aggregate`: `sum` or `mean` of token scores in a chunk (default `sum`
      for `paper`; `kvpress` always uses `mean`);
    - exactly one budget: `budget = L` tokens (`paper`, `L >= w`),
      `keep_ratio = r` in `(0, 1]` (`paper`) or `compression_ratio = cr` in
      `[0, 1)` (`kvpress`, the fraction removed);
    - `reuse`: layer-wise index reuse interval `N >= 1` (default 1).

    Parameters left out take the kind's defaults; the printer writes every
    parameter so that a module states its policy in full.
  }];
  let parameters = (ins
    EnumParameter<ChunkKV_PolicyKind>:$kind,
    "int64_t":$chunkSize,
    "int64_t":$window,
    "int64_t":$pool,
    EnumParameter<ChunkKV_Aggregate>:$aggregate,
    OptionalParameter<"std::optional<int64_t>">:$budget,
    OptionalParameter<"::mlir::FloatAttr">:$keepRatio,
    OptionalParameter<"::mlir::FloatAttr">:$compressionRatio,
    "int64_t":$reuseInterval
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Number of chunk-score slots for a cache of capacity `capacity`:
    /// `ceil(max(S - w, 0) / C)` for `paper` (chunks tile the prefix),
    /// `ceil(S / C)` for `kvpress` (chunks tile the whole sequence).
    int64_t getNumScoreChunks(int64_t capacity) const;

    /// Largest number of chunks `topk_chunks` can choose for a sequence when
    /// the score has `numScoreChunks` slots: the static size of its chunk-id
    /// result.
    int64_t getMaxSelectedChunks(int64_t numScoreChunks) const;

    /// Token budget `L` of the `paper` policy for a sequence of length `T`.
    int64_t getTokenBudget(int64_t length) const;

    /// True when a sequence of valid length `length` is kept whole (no
    /// selection happens).
    bool keepsWholeSequence(int64_t length) const;

    /// Number of chunks chosen for a sequence of length `length` that is not
    /// kept whole.
    int64_t getNumSelectedChunks(int64_t length) const;
  }];
}

#endif // CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVATTRS_TD
