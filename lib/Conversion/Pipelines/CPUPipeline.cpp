//===- CPUPipeline.cpp - chunkkv-cpu-pipeline -----------------------------===//
//
// From chunkkv ops (tensor or memref forms) and the func/arith/scf/tensor/
// linalg code around them to the LLVM dialect.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Conversion/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void chunkkv::buildCPUPipeline(OpPassManager &pm,
                               const CPUPipelineOptions &options) {
  // Elementwise arith/math on tensors and aggregates such as linalg.softmax
  // become linalg generics; then tensors become
  // buffers (the chunkkv ops bufferize into their memref forms) and what does
  // not escape is freed: the deallocation passes reject
  // IR that already frees buffers, as the chunkkv lowering's scratch does.
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createChunkKVDecomposeAggregatesPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // Layer loops carry their hidden state in fresh buffers each iteration.
  bufferize.allowReturnAllocsFromLoops = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());

  pm.addPass(createChunkKVToLoopsPass(
      ChunkKVToLoopsPassOptions{options.vectorWidth}));
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createChunkKVApproximateMathPass());

  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void chunkkv::registerChunkKVConversionPassesAndPipelines() {
  registerChunkKVConversionPasses();
  PassPipelineRegistration<CPUPipelineOptions>(
      "chunkkv-cpu-pipeline",
      "Lower chunkkv ops (tensor or memref forms) and the code around them "
      "to the LLVM dialect for the host",
      buildCPUPipeline);
  // Options are checked before the pipeline runs: a bad chip or format
  // would otherwise fail deep inside the NVVM stages.
  registerPassPipeline(
      "chunkkv-gpu-pipeline",
      "Lower chunkkv ops on device buffers to GPU kernels (NVVM, embedded as "
      "cubin/PTX/fatbin) and LLVM dialect host code that launches them",
      [](OpPassManager &pm, StringRef text,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        GPUPipelineOptions options;
        if (failed(options.parseFromString(text)))
          return failure();
        std::string problem = checkGPUPipelineOptions(options);
        if (!problem.empty())
          return errorHandler("chunkkv-gpu-pipeline: " + problem);
        buildGPUPipeline(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> handler) {
        handler(GPUPipelineOptions());
      });
}
