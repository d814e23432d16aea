//===- KernelOutlining.cpp - chunkkv-gpu-kernel-outlining -----------------===//
//
// Upstream's gpu-kernel-outlining builds each gpu.func from its gpu.launch
// but drops the launch's discardable attributes, among them the launch
// bounds (nvvm.minctasm, nvvm.maxnreg) that chunkkv-lower-to-gpu sets per
// kernel. This pass runs upstream's outlining and moves those attributes
// onto the outlined functions.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Conversion/Passes.h"

#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/PassManager.h"

namespace mlir {
namespace chunkkv {
#define GEN_PASS_DEF_CHUNKKVGPUKERNELOUTLININGPASS
#include "chunkkv/Conversion/Passes.h.inc"
} // namespace chunkkv
} // namespace mlir

using namespace mlir;

namespace {
/// The discardable attributes of every gpu.launch and gpu.launch_func of
/// `module`, in walk order (empty for a gpu.launch_func).
SmallVector<DictionaryAttr> launchAttributes(ModuleOp module) {
  SmallVector<DictionaryAttr> attributes;
  module.walk([&](Operation *op) {
    if (isa<gpu::LaunchOp>(op))
      attributes.push_back(op->getDiscardableAttrDictionary());
    else if (isa<gpu::LaunchFuncOp>(op))
      attributes.push_back(DictionaryAttr::get(op->getContext()));
  });
  return attributes;
}

struct ChunkKVGPUKernelOutliningPass
    : public chunkkv::impl::ChunkKVGPUKernelOutliningPassBase<
          ChunkKVGPUKernelOutliningPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<DictionaryAttr> before = launchAttributes(module);

    OpPassManager outlining(ModuleOp::getOperationName());
    outlining.addPass(createGpuKernelOutliningPass());
    if (failed(runPipeline(outlining, module)))
      return signalPassFailure();

    // Outlining replaces each gpu.launch, where it stands, by one
    // gpu.launch_func: the launches pair up in walk order.
    SmallVector<gpu::LaunchFuncOp> after;
    module.walk([&](gpu::LaunchFuncOp op) { after.push_back(op); });
    if (after.size() != before.size()) {
      module.emitError("chunkkv-gpu-kernel-outlining: expected one "
                       "gpu.launch_func per gpu.launch, found ")
          << after.size() << " for " << before.size();
      return signalPassFailure();
    }
    for (auto [launch, attributes] : llvm::zip_equal(after, before)) {
      if (attributes.empty())
        continue;
      auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernel());
      if (!kernel) {
        launch.emitError("chunkkv-gpu-kernel-outlining: no gpu.func ")
            << launch.getKernel();
        return signalPassFailure();
      }
      for (NamedAttribute attribute : attributes)
        kernel->setAttr(attribute.getName(), attribute.getValue());
    }
  }
};
} // namespace
