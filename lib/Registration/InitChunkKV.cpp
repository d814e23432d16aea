//===- InitChunkKV.cpp - register chunkkv with an MLIR context ------------===//

#include "chunkkv/InitChunkKV.h"

#include "chunkkv/Conversion/Passes.h"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"
#include "chunkkv/Dialect/ChunkKV/Transforms/BufferizableOpInterfaceImpl.h"
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

void mlir::chunkkv::registerChunkKVDialects(DialectRegistry &registry) {
  registry.insert<ChunkKVDialect>();
  // The upstream dialects with their external interface models (One-Shot
  // Bufferize and buffer deallocation need those of func, scf, arith, ...).
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerBufferizableOpInterfaceExternalModels(registry);
  // gpu-module-to-binary translates kernels to LLVM IR.
  registerAllToLLVMIRTranslations(registry);
}

void mlir::chunkkv::registerChunkKVPasses() {
  registerAllPasses();
  registerChunkKVTransformsPasses();
  registerChunkKVCompressPipeline();
  registerChunkKVConversionPassesAndPipelines();
}
