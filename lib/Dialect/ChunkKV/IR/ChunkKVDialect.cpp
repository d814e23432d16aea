//===- ChunkKVDialect.cpp - chunkkv dialect -------------------------------===//

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
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

//===----------------------------------------------------------------------===//
// Discardable attributes written by chunkkv-detect-kv-cache
//===----------------------------------------------------------------------===//

static LogicalResult verifyKVRole(Operation *op, KVAttr kv) {
  switch (kv.getRole()) {
  case KVRole::k_write:
  case KVRole::v_write:
    if (!isa<tensor::InsertSliceOp, memref::CopyOp, linalg::CopyOp>(op))
      return op->emitOpError()
             << "'chunkkv.kv' role " << stringifyKVRole(kv.getRole())
             << " expects a tensor.insert_slice, memref.copy or linalg.copy";
    break;
  case KVRole::qk:
  case KVRole::pv: {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (!linalgOp || linalgOp.getNumDpsInputs() != 2 ||
        linalgOp.getNumReductionLoops() < 1)
      return op->emitOpError()
             << "'chunkkv.kv' role " << stringifyKVRole(kv.getRole())
             << " expects a linalg contraction of two inputs";
    break;
  }
  case KVRole::query:
  case KVRole::k_read:
  case KVRole::v_read:
    if (op->getNumResults() == 0 && !isa<linalg::LinalgOp>(op))
      return op->emitOpError()
             << "'chunkkv.kv' role " << stringifyKVRole(kv.getRole())
             << " expects an op that produces a value";
    break;
  }
  if (std::optional<int64_t> layer = kv.getLayer()) {
    if (*layer < 0)
      return op->emitOpError() << "'chunkkv.kv' expects layer >= 0, got "
                               << *layer;
    return success();
  }
  for (auto loop = op->getParentOfType<scf::ForOp>(); loop;
       loop = loop->getParentOfType<scf::ForOp>())
    if (loop->hasAttr(ChunkKVDialect::kLayerLoopAttrName))
      return success();
  return op->emitOpError() << "'chunkkv.kv' without a layer expects to be "
                              "inside an scf.for marked '"
                           << ChunkKVDialect::kLayerLoopAttrName << "'";
}

LogicalResult ChunkKVDialect::verifyOperationAttribute(Operation *op,
                                                       NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  if (name == kKVAttrName) {
    auto kv = dyn_cast<KVAttr>(attr.getValue());
    if (!kv)
      return op->emitOpError() << "'" << name
                               << "' expects a #chunkkv.kv attribute";
    return verifyKVRole(op, kv);
  }
  if (name == kLayerLoopAttrName) {
    if (!isa<scf::ForOp>(op) || !isa<UnitAttr>(attr.getValue()))
      return op->emitOpError() << "'" << name
                               << "' expects a unit attribute on an scf.for";
    return success();
  }
  if (name == kNumLayersAttrName) {
    auto layers = dyn_cast<IntegerAttr>(attr.getValue());
    if (!isa<FunctionOpInterface>(op) || !layers || layers.getInt() < 1)
      return op->emitOpError() << "'" << name
                               << "' expects a positive integer on a function";
    return success();
  }
  if (name == kLayerAttrName) {
    auto layer = dyn_cast<IntegerAttr>(attr.getValue());
    if (!isa<ChunkScoreOp, TopkChunksOp, CompactOp>(op) || !layer ||
        layer.getInt() < 0)
      return op->emitOpError() << "'" << name
                               << "' expects a layer index >= 0 on a chunkkv op";
    return success();
  }
  if (name == kLeaderAttrName) {
    auto leader = dyn_cast<IntegerAttr>(attr.getValue());
    auto compact = dyn_cast<CompactOp>(op);
    if (!compact || !leader || leader.getInt() < 0)
      return op->emitOpError() << "'" << name
                               << "' expects a layer index >= 0 on a "
                                  "chunkkv.compact";
    // On tensors, the chosen chunks must come from the named layer's
    // selection (after bufferization they travel through buffers).
    if (!isa<RankedTensorType>(compact.getChunkIds().getType()))
      return success();
    auto topk = compact.getChunkIds().getDefiningOp<TopkChunksOp>();
    auto topkLayer =
        topk ? topk->getAttrOfType<IntegerAttr>(kLayerAttrName) : IntegerAttr();
    if (!topkLayer || topkLayer.getInt() != leader.getInt())
      return op->emitOpError()
             << "'" << name << "' names layer " << leader.getInt()
             << ", but the chunk ids do not come from a chunkkv.topk_chunks "
                "of that layer";
    return success();
  }
  return op->emitOpError() << "unknown chunkkv attribute '" << name << "'";
}
