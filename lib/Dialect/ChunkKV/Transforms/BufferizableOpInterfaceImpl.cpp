//===- BufferizableOpInterfaceImpl.cpp - chunkkv bufferization ------------===//
//
// The chunkkv ops are in destination-passing style: each result bufferizes
// into the buffer of its tied init. No op reads its inits (every element it
// defines is written, and compact leaves rows past the new length
// unspecified), so One-Shot Bufferize need not copy init contents, and
// compact may overwrite the cache it reads.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Dialect/ChunkKV/Transforms/BufferizableOpInterfaceImpl.h"

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.h"

#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::bufferization;
using namespace mlir::chunkkv;

namespace {
template <typename OpTy>
struct ChunkKVOpInterface
    : public DstBufferizableOpInterfaceExternalModel<ChunkKVOpInterface<OpTy>,
                                                     OpTy> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &opOperand,
                              const AnalysisState &state) const {
    return !cast<DestinationStyleOpInterface>(op).isDpsInit(&opOperand);
  }

  /// compact may write its cache in place: kept positions ascend, so each
  /// row is read before a lower-or-equal row index is written.
  bool isNotConflicting(Operation *op, OpOperand *uRead, OpOperand *uWrite,
                        const AnalysisState &state) const {
    auto compact = dyn_cast<CompactOp>(op);
    return compact && uRead == &compact.getCacheMutable() &&
           uWrite == &compact.getCacheInitMutable();
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto dps = cast<DestinationStyleOpInterface>(op);
    if (!dps.hasPureTensorSemantics())
      return success();
    SmallVector<Value> buffers, initBuffers;
    for (OpOperand &operand : op->getOpOperands()) {
      FailureOr<Value> buffer =
          getBuffer(rewriter, operand.get(), options, state);
      if (failed(buffer))
        return failure();
      buffers.push_back(*buffer);
      if (dps.isDpsInit(&operand))
        initBuffers.push_back(*buffer);
    }
    rewriter.setInsertionPoint(op);
    createMemRefForm(rewriter, op, buffers);
    replaceOpWithBufferizedValues(rewriter, op, initBuffers);
    return success();
  }
};
} // namespace

void mlir::chunkkv::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, ChunkKVDialect *) {
    ChunkScoreOp::attachInterface<ChunkKVOpInterface<ChunkScoreOp>>(*ctx);
    TopkChunksOp::attachInterface<ChunkKVOpInterface<TopkChunksOp>>(*ctx);
    CompactOp::attachInterface<ChunkKVOpInterface<CompactOp>>(*ctx);
  });
}
