//===- GPUPipeline.cpp - chunkkv-gpu-pipeline -----------------------------===//
//
// From chunkkv ops in memref form on device buffers to LLVM dialect host code
// that launches the kernels, embedded as a cubin, PTX or fatbin. The stages
// after the chunkkv lowering are those of upstream's
// gpu-lower-to-nvvm-pipeline, with the CUDA toolkit named explicitly: the
// kernels call libdevice (expf), and upstream would look for it only through
// environment variables.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Conversion/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace {
/// The options of chunkkv-gpu-pipeline that chunkkv-lower-to-gpu takes.
chunkkv::GPUScoreOptions
scoreOptions(const chunkkv::GPUPipelineOptions &options) {
  return {options.tokensPerBlock, options.singlePass,
          options.mmaRowTiles,    options.keyStages,
          options.minBlocksPerSM, options.sharedMemoryPerBlock,
          options.mmaWarps,       options.warpgroupMma};
}
} // namespace

std::string chunkkv::checkGPUPipelineOptions(const GPUPipelineOptions &options) {
  llvm::StringRef format = options.format.getValue();
  if (format != "isa" && format != "bin" && format != "fatbin")
    return "format must be isa, bin or fatbin, got '" + format.str() + "'";
  llvm::StringRef chip = options.chip.getValue();
  unsigned version = 0;
  llvm::StringRef digits = chip;
  if (!digits.consume_front("sm_") || digits.consumeInteger(10, version) ||
      version < 70)
    return "chip must be sm_70 or newer (sm_80, sm_90, sm_90a, ...), got '" +
           chip.str() + "'";
  if (options.warpgroupMma && chip != "sm_90a")
    return "warpgroup-mma needs chip=sm_90a (wgmma exists on sm_90a only), "
           "got '" +
           chip.str() + "'";
  if (options.dependentLaunches && version < 90)
    return "dependent-launches needs chip=sm_90 or newer (griddepcontrol), "
           "got '" +
           chip.str() + "'";
  return checkGPUScoreOptions(scoreOptions(options));
}

void chunkkv::buildGPUPipeline(OpPassManager &pm,
                               const GPUPipelineOptions &options) {
  GPUScoreOptions score = scoreOptions(options);
  pm.addPass(createChunkKVToGPUPass(ChunkKVToGPUPassOptions{
      score.tokensPerBlock, score.singlePass, score.mmaRowTiles,
      score.keyStages, score.minBlocksPerSM, score.sharedMemoryPerBlock,
      score.mmaWarps, score.warpgroupMma}));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createChunkKVGPUKernelOutliningPass());
  if (options.dependentLaunches)
    pm.addNestedPass<gpu::GPUModuleOp>(createChunkKVGPUDependentLaunchesPass());

  // Host and kernel code down to the LLVM dialect, as upstream does it.
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(memref::createExpandStridedMetadataPass());

  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  std::string features = options.features;
  if (features.empty()) {
    unsigned version = 0;
    llvm::StringRef digits = llvm::StringRef(options.chip).drop_front(3);
    digits.consumeInteger(10, version);
    features = version >= 90 ? "+ptx80" : "+ptx70";
  }
  target.features = features;
  target.optLevel = options.optLevel;
  llvm::SmallString<128> libdevice(options.cudaPath.getValue());
  llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
  if (!options.cudaPath.empty() && llvm::sys::fs::exists(libdevice))
    target.linkLibs.push_back(libdevice.str().str());
  pm.addPass(createGpuNVVMAttachTarget(target));
  pm.addPass(createLowerAffinePass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(
      createChunkKVExternDynamicSharedMemoryPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());

  pm.addPass(createGpuToLLVMConversionPass());
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = options.cudaPath;
  binary.compilationTarget = options.format;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}
