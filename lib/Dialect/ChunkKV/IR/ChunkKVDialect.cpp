//===- ChunkKVDialect.cpp - chunkkv dialect -------------------------------===//

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::chunkkv;

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.cpp.inc"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVEnums.cpp.inc"

namespace {
/// Prints policies as `#policy` aliases at the top of a module, so that ops
/// sharing one policy stay short.
struct ChunkKVOpAsmInterface : public OpAsmDialectInterface {
  using OpAsmDialectInterface::OpAsmDialectInterface;

  AliasResult getAlias(Attribute attr, raw_ostream &os) const override {
    if (isa<PolicyAttr>(attr)) {
      os << "policy";
      return AliasResult::OverridableAlias;
    }
    return AliasResult::NoAlias;
  }
};
} // namespace

void ChunkKVDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.cpp.inc"
      >();
  addInterfaces<ChunkKVOpAsmInterface>();
}
