//===- ChunkKVOps.td - chunkkv operations -----------------*- tablegen -*-===//

#ifndef CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVOPS_TD
#define CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVOPS_TD

include "chunkkv/Dialect/ChunkKV/IR/ChunkKVAttrs.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Every op is in destination-passing style: on tensors it returns new values
// of its `outs` types; on memrefs it writes its `outs` buffers and returns
// nothing. Element types, ranks and static sizes are checked by the C++
// verifiers so that each message can name the operand and the expected value.
def ChunkKV_TensorOrMemRef : AnyTypeOf<[AnyRankedTensor, AnyMemRef],
                                       "ranked tensor or memref">;

class ChunkKV_Op<string mnemonic, list<Trait> traits = []>
    : Op<ChunkKV_Dialect, mnemonic, !listconcat(traits, [
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
        DestinationStyleOpInterface,
        DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                                  ["reifyResultShapes"]>])> {
  let hasVerifier = 1;
}

def ChunkKV_ChunkScoreOp : ChunkKV_Op<"chunk_score"> {
  let summary = "chunk scores from the attention of the observation window";
  let description = [{
    Scores the chunks of each sequence's cache with the attention of its
    observation window. `queries` is `[B, Hq, w, D]` (the last `w` prompt
    queries after RoPE), `keys` the K cache in `layout` (`bhsd`:
    `[B, Hkv, S, D]`, `bshd`: `[B, S, Hkv, D]`), `lengths` the valid length
    `T_b <= S` of each sequence (i32 or i64). The result is `[B, n]` f32 with
    `n = policy.getNumScoreChunks(S)`; slots past a sequence's own number of
    chunks hold `-inf`. `scale` defaults to `1/sqrt(D)`.

    ```mlir
    %scores = chunkkv.chunk_score #chunkkv.policy<paper, chunk = 10,
        window = 8, pool = 1, aggregate = sum, budget = 40, reuse = 1>
        layout(bhsd)
        ins(%q, %k, %len : tensor<2x4x8x16xf32>, tensor<2x2x128x16xf32>,
                           tensor<2xi64>)
        outs(%init : tensor<2x12xf32>) -> tensor<2x12xf32>
    ```
  }];
  let arguments = (ins
    ChunkKV_PolicyAttr:$policy,
    ChunkKV_LayoutAttr:$layout,
    OptionalAttr<F32Attr>:$scale,
    ChunkKV_TensorOrMemRef:$queries,
    ChunkKV_TensorOrMemRef:$keys,
    ChunkKV_TensorOrMemRef:$lengths,
    ChunkKV_TensorOrMemRef:$init);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $policy `layout` `(` custom<Layout>($layout) `)` (`scale` `(` $scale^ `)`)?
    `ins` `(` $queries `,` $keys `,` $lengths `:` type($queries) `,`
              type($keys) `,` type($lengths) `)`
    `outs` `(` $init `:` type($init) `)`
    attr-dict (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getInitMutable();
    }
  }];
}

def ChunkKV_TopkChunksOp : ChunkKV_Op<"topk_chunks"> {
  let summary = "choose the top-k chunks of each sequence under its budget";
  let description = [{
    Chooses, per sequence, the chunks with the highest `scores` (`[B, n]`
    f32, from `chunk_score`), ties to the lower chunk index, as many as the
    policy's budget allows for the sequence's valid length. Results: the
    chosen chunk ids `[B, k]` in ascending order padded with `-1`
    (`k = policy.getMaxSelectedChunks(n)`), and the kept length of each
    sequence (`[B]`, the element type of `lengths`). A sequence that the
    policy keeps whole has no chosen ids and keeps its length.

    ```mlir
    %ids, %kept = chunkkv.topk_chunks #policy
        ins(%scores, %len : tensor<2x12xf32>, tensor<2xi64>)
        outs(%ids_init, %kept_init : tensor<2x3xi64>, tensor<2xi64>)
        -> tensor<2x3xi64>, tensor<2xi64>
    ```
  }];
  let arguments = (ins
    ChunkKV_PolicyAttr:$policy,
    ChunkKV_TensorOrMemRef:$scores,
    ChunkKV_TensorOrMemRef:$lengths,
    ChunkKV_TensorOrMemRef:$chunk_ids_init,
    ChunkKV_TensorOrMemRef:$kept_lengths_init);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $policy
    `ins` `(` $scores `,` $lengths `:` type($scores) `,` type($lengths) `)`
    `outs` `(` $chunk_ids_init `,` $kept_lengths_init `:`
               type($chunk_ids_init) `,` type($kept_lengths_init) `)`
    attr-dict (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), /*start=*/2,
                                         /*length=*/2);
    }
  }];
}

def ChunkKV_CompactOp : ChunkKV_Op<"compact"> {
  let summary = "move the kept rows of a cache to its front";
  let description = [{
    Gathers, per sequence and for every head, the rows of the kept positions
    (the tokens of the chosen chunks in ascending order, then for `paper` the
    window `[T - w, T)`) to rows `[0, kept)` of the result. The capacity is
    unchanged; rows past the new length are unspecified. Results: the
    compacted cache (same type as `cache`) and the new lengths. On memrefs
    the destination may be `cache` itself: kept positions ascend, so row `i`
    is always read from a position `>= i` before it is overwritten.

    ```mlir
    %kc, %newlen = chunkkv.compact #policy layout(bhsd)
        ins(%k, %ids, %len : tensor<2x2x128x16xf32>, tensor<2x3xi64>,
                             tensor<2xi64>)
        outs(%k_init, %len_init : tensor<2x2x128x16xf32>, tensor<2xi64>)
        -> tensor<2x2x128x16xf32>, tensor<2xi64>
    ```
  }];
  let arguments = (ins
    ChunkKV_PolicyAttr:$policy,
    ChunkKV_LayoutAttr:$layout,
    ChunkKV_TensorOrMemRef:$cache,
    ChunkKV_TensorOrMemRef:$chunk_ids,
    ChunkKV_TensorOrMemRef:$lengths,
    ChunkKV_TensorOrMemRef:$cache_init,
    ChunkKV_TensorOrMemRef:$lengths_init);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $policy `layout` `(` custom<Layout>($layout) `)`
    `ins` `(` $cache `,` $chunk_ids `,` $lengths `:` type($cache) `,`
              type($chunk_ids) `,` type($lengths) `)`
    `outs` `(` $cache_init `,` $lengths_init `:` type($cache_init) `,`
               type($lengths_init) `)`
    attr-dict (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return ::mlir::MutableOperandRange(getOperation(), /*start=*/3,
                                         /*length=*/2);
    }
  }];
}

#endif // CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVOPS_TD
