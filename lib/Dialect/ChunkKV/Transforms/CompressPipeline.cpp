//===- CompressPipeline.cpp - chunkkv-compress ----------------------------===//

#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void chunkkv::buildCompressPipeline(OpPassManager &pm,
                                    const CompressPipelineOptions &options) {
  pm.addPass(createChunkKVDetectKVCachePass(
      ChunkKVDetectKVCachePassOptions{options.report}));
  ChunkKVInsertCompressionPassOptions insert;
  insert.policyKind = options.policy;
  insert.chunkSize = options.chunkSize;
  insert.window = options.window;
  insert.pool = options.pool;
  insert.aggregate = options.aggregate;
  insert.budget = options.budget;
  insert.keepRatio = options.keepRatio;
  insert.compressionRatio = options.compressionRatio;
  insert.function = options.function;
  insert.promptLengths = options.promptLengths;
  insert.report = options.report;
  pm.addPass(createChunkKVInsertCompressionPass(insert));
  pm.addPass(createChunkKVReuseIndicesPass(
      ChunkKVReuseIndicesPassOptions{options.reuse, options.report}));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void chunkkv::registerChunkKVCompressPipeline() {
  PassPipelineRegistration<CompressPipelineOptions>(
      "chunkkv-compress",
      "Find the KV caches, compress them with ChunkKV after prefill, and "
      "reuse selections across layers",
      buildCompressPipeline);
}
