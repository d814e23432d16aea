//===- ChunkKVPlugin.cpp - chunkkv as an mlir-opt plugin ------------------===//
//
//   mlir-opt --load-dialect-plugin=libChunkKVPlugin.so \
//            --load-pass-plugin=libChunkKVPlugin.so in.mlir -chunkkv-...
//
// Registers the chunkkv dialect (with its bufferization models) and the
// chunkkv passes and pipelines in a driver that already has the upstream
// dialects and passes.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Conversion/Passes.h"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"
#include "chunkkv/Dialect/ChunkKV/Transforms/BufferizableOpInterfaceImpl.h"
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"

extern "C" LLVM_ATTRIBUTE_WEAK ::mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "ChunkKV", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            registry->insert<mlir::chunkkv::ChunkKVDialect>();
            mlir::chunkkv::registerBufferizableOpInterfaceExternalModels(
                *registry);
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK ::mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "ChunkKV", LLVM_VERSION_STRING, []() {
            mlir::chunkkv::registerChunkKVTransformsPasses();
            mlir::chunkkv::registerChunkKVConversionPassesAndPipelines();
          }};
}
