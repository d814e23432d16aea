//===- ExternDynamicSharedMemory.cpp - chunkkv-extern-dynamic-shared-memory ===//
//
// convert-gpu-to-nvvm declares the memory of gpu.dynamic_shared_memory as an
// internal zero-sized array in address space 3. LLVM's optimizer takes an
// internal global for the whole object, and every access to one of no
// bytes for undefined behaviour, so a kernel's stores and loads to its
// dynamic shared memory may vanish at -O1 and above. Declared external it
// is PTX's `.extern .shared` array, whose size the launch sets.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir {
namespace chunkkv {
#define GEN_PASS_DEF_CHUNKKVEXTERNDYNAMICSHAREDMEMORYPASS
#include "chunkkv/Conversion/Passes.h.inc"
} // namespace chunkkv
} // namespace mlir

using namespace mlir;

namespace {
/// Whether `global` is a zero-sized array in shared (workgroup) memory: the
/// form in which the NVVM lowering declares dynamic shared memory.
bool isDynamicSharedMemory(LLVM::GlobalOp global) {
  auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
  return array && array.getNumElements() == 0 &&
         global.getAddrSpace() == NVVM::NVVMMemorySpace::Shared;
}

struct ChunkKVExternDynamicSharedMemoryPass
    : public chunkkv::impl::ChunkKVExternDynamicSharedMemoryPassBase<
          ChunkKVExternDynamicSharedMemoryPass> {
  void runOnOperation() override {
    for (auto global : getOperation().getOps<LLVM::GlobalOp>())
      if (isDynamicSharedMemory(global))
        global.setLinkage(LLVM::Linkage::External);
  }
};
} // namespace
