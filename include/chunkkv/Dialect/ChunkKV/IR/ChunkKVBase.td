//===- ChunkKVBase.td - chunkkv dialect and enums ---------*- tablegen -*-===//
//
// The chunkkv dialect: ChunkKV KV-cache compression (chunk scores from the
// observation window, top-k chunk selection, compaction, layer-wise reuse).
//
//===----------------------------------------------------------------------===//

#ifndef CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVBASE_TD
#define CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def ChunkKV_Dialect : Dialect {
  let name = "chunkkv";
  let cppNamespace = "::mlir::chunkkv";
  let summary = "ChunkKV KV-cache compression";
  let description = [{
    Ops that score fixed-size chunks of a KV cache with the attention of the
    observation window (the last `w` prompt queries), select the top-k chunks
    under a token budget, and compact the cache so that the kept rows come
    first. Every op carries a `#chunkkv.policy` attribute; the numbers they
    compute are defined in `docs/semantics.md`.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes; defined next to their storage classes.
    void registerAttributes();

    /// Discardable attributes written by chunkkv-detect-kv-cache: the role
    /// of an op (#chunkkv.kv), the layer loop, a function's layer count.
    static constexpr ::llvm::StringLiteral kKVAttrName = "chunkkv.kv";
    static constexpr ::llvm::StringLiteral kLayerLoopAttrName =
        "chunkkv.layer_loop";
    /// On the chunkkv ops that chunkkv-insert-compression adds: the layer
    /// whose cache they compress.
    static constexpr ::llvm::StringLiteral kLayerAttrName = "chunkkv.layer";
    /// On a compact that chunkkv-reuse-indices pointed at another layer's
    /// selection: that (leader) layer.
    static constexpr ::llvm::StringLiteral kLeaderAttrName = "chunkkv.leader";
    static constexpr ::llvm::StringLiteral kNumLayersAttrName =
        "chunkkv.kv_layers";
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def ChunkKV_PolicyKind : I32Enum<"PolicyKind", "ChunkKV selection policy", [
  I32EnumCase<"paper", 0>,
  I32EnumCase<"kvpress", 1>
]> {
  let cppNamespace = "::mlir::chunkkv";
}

def ChunkKV_Aggregate : I32Enum<"Aggregate", "chunk score aggregation", [
  I32EnumCase<"sum", 0>,
  I32EnumCase<"mean", 1>
]> {
  let cppNamespace = "::mlir::chunkkv";
}

def ChunkKV_KVRole : I32Enum<"KVRole", "role of an op in a layer's attention", [
  I32EnumCase<"k_write", 0>,
  I32EnumCase<"v_write", 1>,
  I32EnumCase<"query", 2>,
  I32EnumCase<"qk", 3>,
  I32EnumCase<"pv", 4>,
  I32EnumCase<"k_read", 5>,
  I32EnumCase<"v_read", 6>
]> {
  let cppNamespace = "::mlir::chunkkv";
}

def ChunkKV_Layout : I32Enum<"Layout", "KV cache layout", [
  I32EnumCase<"bhsd", 0>,
  I32EnumCase<"bshd", 1>
]> {
  let cppNamespace = "::mlir::chunkkv";
}

#endif // CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVBASE_TD
