//===- ApproximateMath.cpp - polynomial math on the host ------------------===//

#include "chunkkv/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir {
namespace chunkkv {
#define GEN_PASS_DEF_CHUNKKVAPPROXIMATEMATHPASS
#include "chunkkv/Conversion/Passes.h.inc"
} // namespace chunkkv
} // namespace mlir

using namespace mlir;

namespace {
struct ChunkKVApproximateMathPass
    : public chunkkv::impl::ChunkKVApproximateMathPassBase<
          ChunkKVApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
