//===- DependentLaunches.cpp - chunkkv-gpu-dependent-launches -------------===//
//
// Consecutive kernels on one stream normally start only after the previous
// kernel has ended: its last blocks drain, then the next grid is launched
// and its blocks scheduled, a few microseconds per kernel boundary in which
// the GPU does little. With programmatic dependent launch (sm_90), a kernel
// launched with programmatic stream serialization may start once every
// block of the previous one has executed `griddepcontrol.launch_dependents`
// (or ended); its threads then wait in `griddepcontrol.wait` until the
// previous kernel has ended and its memory is visible. This pass puts both
// at the start of every kernel of a GPU module and marks the module, so
// that chunkkv's runtime launches its kernels that way.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir {
namespace chunkkv {
#define GEN_PASS_DEF_CHUNKKVGPUDEPENDENTLAUNCHESPASS
#include "chunkkv/Conversion/Passes.h.inc"
} // namespace chunkkv
} // namespace mlir

using namespace mlir;

namespace {
/// The global whose presence tells chunkkv's CUDA runtime
/// (runtime/CudaRuntime.cpp) that every kernel of the module waits for the
/// previous kernel before touching memory.
constexpr llvm::StringLiteral kMarkerName = "chunkkv_dependent_launches";

/// Whether `kernel` waits for the kernels before it before any op that may
/// have an effect: side-effect-free ops (constants, thread ids) may come
/// first.
bool waitsFirst(gpu::GPUFuncOp kernel) {
  for (Operation &op : kernel.getBody().front()) {
    if (auto control = dyn_cast<NVVM::GriddepcontrolOp>(op))
      return control.getKind() == NVVM::GridDepActionKind::wait;
    if (!isPure(&op))
      return false;
  }
  return false;
}

struct ChunkKVGPUDependentLaunchesPass
    : public chunkkv::impl::ChunkKVGPUDependentLaunchesPassBase<
          ChunkKVGPUDependentLaunchesPass> {
  void runOnOperation() override {
    gpu::GPUModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Type i32 = b.getI32Type();
    Operation *existing = SymbolTable::lookupSymbolIn(module, kMarkerName);
    auto marker = dyn_cast_or_null<LLVM::GlobalOp>(existing);
    if (existing && (!marker || marker.getGlobalType() != i32)) {
      existing->emitOpError("chunkkv-gpu-dependent-launches: expected the "
                            "symbol '")
          << kMarkerName << "' to be an i32 llvm.mlir.global";
      return signalPassFailure();
    }

    bool anyKernel = false;
    for (auto kernel : module.getOps<gpu::GPUFuncOp>()) {
      if (!kernel.isKernel())
        continue;
      anyKernel = true;
      if (waitsFirst(kernel))
        continue;
      b.setInsertionPointToStart(&kernel.getBody().front());
      Location loc = kernel.getLoc();
      NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::wait);
      NVVM::GriddepcontrolOp::create(
          b, loc, NVVM::GridDepActionKind::launch_dependents);
    }
    if (!anyKernel || marker)
      return;
    b.setInsertionPointToStart(module.getBody());
    LLVM::GlobalOp::create(
        b, module.getLoc(), i32, /*isConstant=*/true, LLVM::Linkage::External,
        kMarkerName, b.getI32IntegerAttr(1), /*alignment=*/4,
        static_cast<unsigned>(NVVM::NVVMMemorySpace::Global));
  }
};
} // namespace
