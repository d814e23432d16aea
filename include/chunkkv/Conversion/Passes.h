//===- Passes.h - chunkkv lowering passes and pipelines ---------*- C++ -*-===//

#ifndef CHUNKKV_CONVERSION_PASSES_H
#define CHUNKKV_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

#include <memory>

namespace mlir {
class RewritePatternSet;
class TypeConverter;

namespace chunkkv {

#define GEN_PASS_DECL
#include "chunkkv/Conversion/Passes.h.inc"

/// Patterns lowering the chunkkv ops (tensor and memref forms) to loops.
void populateChunkKVToLoopsPatterns(RewritePatternSet &patterns,
                                    int64_t vectorWidth);

/// Options of `chunkkv-cpu-pipeline`.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector in the generated kernels"),
      llvm::cl::init(16)};
};

/// chunkkv ops (tensor or memref forms) and the code around them, down to
/// the LLVM dialect: lower-to-loops, one-shot bufferization, math
/// approximation, then the upstream conversions to LLVM.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

#define GEN_PASS_REGISTRATION
#include "chunkkv/Conversion/Passes.h.inc"

/// Registers the lowering passes and the `chunkkv-cpu-pipeline` pipeline.
void registerChunkKVConversionPassesAndPipelines();

} // namespace chunkkv
} // namespace mlir

#endif // CHUNKKV_CONVERSION_PASSES_H
