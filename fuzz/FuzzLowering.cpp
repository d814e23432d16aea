//===- FuzzLowering.cpp - fuzz the chunkkv passes on arbitrary modules ----===//
//
// Parses the input; when it verifies, runs the chunkkv passes on it:
// chunkkv-detect-kv-cache, then chunkkv-cpu-pipeline (bufferization,
// chunkkv-lower-to-loops, the LLVM lowering); on a copy of the input,
// chunkkv-lower-to-gpu with chunkkv-gpu-kernel-outlining, as
// chunkkv-gpu-pipeline runs them (kernel code generation is left out: it
// is slow and upstream's); and on another, chunkkv-compress. A pass may
// reject the module with a diagnostic; crashes and sanitizer reports are
// findings.
//
//===----------------------------------------------------------------------===//

#include "FuzzCommon.h"

#include "chunkkv/Conversion/Passes.h"
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  chunkkv::FuzzContext fuzz;
  mlir::OwningOpRef<mlir::ModuleOp> module = fuzz.parse(data, size);
  if (!module)
    return 0;
  mlir::OwningOpRef<mlir::ModuleOp> copy = module->clone();
  mlir::OwningOpRef<mlir::ModuleOp> model = module->clone();
  mlir::PassManager pm(&fuzz.context);
  pm.addPass(mlir::chunkkv::createChunkKVDetectKVCachePass());
  mlir::chunkkv::buildCPUPipeline(pm, mlir::chunkkv::CPUPipelineOptions());
  (void)pm.run(*module);

  mlir::PassManager gpu(&fuzz.context);
  gpu.addPass(mlir::chunkkv::createChunkKVToGPUPass());
  gpu.addPass(mlir::createCanonicalizerPass());
  gpu.addPass(mlir::chunkkv::createChunkKVGPUKernelOutliningPass());
  (void)gpu.run(*copy);

  mlir::PassManager compress(&fuzz.context);
  mlir::chunkkv::CompressPipelineOptions options;
  options.chunkSize = 2;
  options.window = 4;
  options.budget = 8;
  options.reuse = 2;
  mlir::chunkkv::buildCompressPipeline(compress, options);
  (void)compress.run(*model);
  return 0;
}
