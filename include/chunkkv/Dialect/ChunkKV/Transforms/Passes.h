//===- Passes.h - chunkkv transformation passes -----------------*- C++ -*-===//

#ifndef CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_PASSES_H
#define CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
namespace chunkkv {

#define GEN_PASS_DECL
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h.inc"

/// Options of `chunkkv-compress`: the policy (as chunkkv-insert-compression
/// takes it), the reuse interval, the prefill function, report.
struct CompressPipelineOptions
    : public PassPipelineOptions<CompressPipelineOptions> {
  PassOptions::Option<std::string> policy{
      *this, "policy", llvm::cl::desc("paper or kvpress"),
      llvm::cl::init("paper")};
  PassOptions::Option<int64_t> chunkSize{
      *this, "chunk-size", llvm::cl::desc("tokens per chunk (0: default)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> window{
      *this, "window", llvm::cl::desc("observation window (0: default)"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> pool{
      *this, "pool", llvm::cl::desc("pooling kernel (0: default)"),
      llvm::cl::init(0)};
  PassOptions::Option<std::string> aggregate{
      *this, "aggregate", llvm::cl::desc("sum or mean (empty: default)"),
      llvm::cl::init("")};
  PassOptions::Option<int64_t> budget{
      *this, "budget", llvm::cl::desc("tokens kept (paper; -1: unset)"),
      llvm::cl::init(-1)};
  PassOptions::Option<double> keepRatio{
      *this, "keep-ratio",
      llvm::cl::desc("fraction of tokens kept (paper; negative: unset)"),
      llvm::cl::init(-1.0)};
  PassOptions::Option<double> compressionRatio{
      *this, "compression-ratio",
      llvm::cl::desc("fraction of chunks removed (kvpress; negative: unset)"),
      llvm::cl::init(-1.0)};
  PassOptions::Option<int64_t> reuse{
      *this, "reuse",
      llvm::cl::desc("layers per selection (1: every layer selects)"),
      llvm::cl::init(1)};
  PassOptions::Option<std::string> function{
      *this, "function", llvm::cl::desc("the prefill function"),
      llvm::cl::init("prefill")};
  PassOptions::Option<bool> promptLengths{
      *this, "prompt-lengths",
      llvm::cl::desc("right-padded prompts of different lengths (see "
                     "chunkkv-insert-compression)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> report{
      *this, "report", llvm::cl::desc("print what each stage did"),
      llvm::cl::init(false)};
};

/// chunkkv-detect-kv-cache, chunkkv-insert-compression,
/// chunkkv-reuse-indices, canonicalize, CSE.
void buildCompressPipeline(OpPassManager &pm,
                           const CompressPipelineOptions &options);

/// Registers `chunkkv-compress`.
void registerChunkKVCompressPipeline();

} // namespace chunkkv
} // namespace mlir

#endif // CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_PASSES_H
