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
/// The gpu.launch and gpu.launch_func ops of `module`, in walk order.
SmallVector<Operation *> launches(ModuleOp module) {
  SmallVector<Operation *> ops;
  module.walk([&](Operation *op) {
    if (isa<gpu::LaunchOp, gpu::LaunchFuncOp>(op))
      ops.push_back(op);
  });
  return ops;
}

struct ChunkKVGPUKernelOutliningPass
    : public chunkkv::impl::ChunkKVGPUKernelOutliningPassBase<
          ChunkKVGPUKernelOutliningPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<DictionaryAttr> attributes;
    for (Operation *op : launches(module))
      attributes.push_back(isa<gpu::LaunchOp>(op)
                               ? op->getDiscardableAttrDictionary()
                               : DictionaryAttr::get(&getContext()));

    OpPassManager outlining(ModuleOp::getOperationName());
    outlining.addPass(createGpuKernelOutliningPass());
    if (failed(runPipeline(outlining, module)))
      return signalPassFailure();

    // Outlining replaces a gpu.launch, where it stands, by one
    // gpu.launch_func: launches before and after pair up in walk order.
    SmallVector<Operation *> outlined = launches(module);
    if (outlined.size() != attributes.size()) {
      module.emitError("chunkkv-gpu-kernel-outlining: expected one "
                       "gpu.launch_func per gpu.launch, found ")
          << outlined.size() << " launches for " << attributes.size();
      return signalPassFailure();
    }
    for (auto [op, launchAttributes] : llvm::zip_equal(outlined, attributes)) {
      auto launch = dyn_cast<gpu::LaunchFuncOp>(op);
      if (!launch || launchAttributes.empty())
        continue;
      auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
          launch, launch.getKernel());
      if (!kernel) {
        launch.emitError("chunkkv-gpu-kernel-outlining: no gpu.func ")
            << launch.getKernel();
        return signalPassFailure();
      }
      for (NamedAttribute attribute : launchAttributes)
        kernel->setAttr(attribute.getName(), attribute.getValue());
    }
  }
};
} // namespace
