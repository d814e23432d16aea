//===- DecomposeAggregates.cpp - decompose linalg.softmax and friends -----===//

#include "chunkkv/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir {
namespace chunkkv {
#define GEN_PASS_DEF_CHUNKKVDECOMPOSEAGGREGATESPASS
#include "chunkkv/Conversion/Passes.h.inc"
} // namespace chunkkv
} // namespace mlir

using namespace mlir;

namespace {
struct ChunkKVDecomposeAggregatesPass
    : public chunkkv::impl::ChunkKVDecomposeAggregatesPassBase<
          ChunkKVDecomposeAggregatesPass> {
  void runOnOperation() override {
    SmallVector<linalg::AggregatedOpInterface> aggregates;
    getOperation()->walk(
        [&](linalg::AggregatedOpInterface op) { aggregates.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::AggregatedOpInterface op : aggregates) {
      // Decompositions build tensor IR: they apply before bufferization.
      auto dps = dyn_cast<DestinationStyleOpInterface>(op.getOperation());
      if (dps && !dps.hasPureTensorSemantics()) {
        op->emitError("chunkkv-decompose-aggregates: expected tensor operands "
                      "(decompose this op before bufferization)");
        return signalPassFailure();
      }
      rewriter.setInsertionPoint(op);
      FailureOr<SmallVector<Value>> replacement = op.decomposeOperation(rewriter);
      if (failed(replacement)) {
        op->emitError("chunkkv-decompose-aggregates: cannot decompose this op");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, *replacement);
    }
  }
};
} // namespace
