//===- ReuseIndices.cpp - chunkkv-reuse-indices ---------------------------===//
//
// Layer-wise index reuse: follower layers compact with their leader's chosen
// chunks; their own scoring and selection go away.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.h"
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

#include "llvm/Support/raw_ostream.h"

#include <map>

namespace mlir {
namespace chunkkv {
#define GEN_PASS_DEF_CHUNKKVREUSEINDICESPASS
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h.inc"
} // namespace chunkkv
} // namespace mlir

using namespace mlir;
using namespace mlir::chunkkv;

namespace {

/// The chunkkv ops of one layer (marked `chunkkv.layer`) in one function.
struct LayerSelection {
  SmallVector<ChunkScoreOp> scores;
  SmallVector<TopkChunksOp> selections;
  SmallVector<CompactOp> compactions;
};

std::optional<int64_t> layerOf(Operation *op) {
  if (auto layer = op->getAttrOfType<IntegerAttr>(ChunkKVDialect::kLayerAttrName))
    return layer.getInt();
  return std::nullopt;
}

struct ChunkKVReuseIndicesPass
    : public chunkkv::impl::ChunkKVReuseIndicesPassBase<
          ChunkKVReuseIndicesPass> {
  using Base::Base;

  void runOnOperation() override {
    if (interval < 1) {
      getOperation()->emitError()
          << "chunkkv-reuse-indices: interval must be >= 1, got "
          << static_cast<int64_t>(interval);
      return signalPassFailure();
    }
    getOperation()->walk([&](FunctionOpInterface function) {
      reuseIn(function);
    });
    SmallVector<scf::ForOp> loops;
    getOperation()->walk([&](scf::ForOp loop) {
      if (loop->hasAttr(ChunkKVDialect::kLayerLoopAttrName))
        loops.push_back(loop);
    });
    for (scf::ForOp loop : loops)
      reuseInLoop(loop);
  }

private:
  void note(const Twine &message) {
    if (report)
      llvm::errs() << "chunkkv-reuse-indices: " << message << "\n";
  }

  /// A layer loop: the selection becomes loop-carried and is recomputed
  /// only in iterations `l % interval == 0`, inside an scf.if.
  void reuseInLoop(scf::ForOp loop) {
    if (interval == 1)
      return;
    SmallVector<TopkChunksOp> selections(
        loop.getBody()->getOps<TopkChunksOp>());
    if (selections.empty())
      return;
    if (selections.size() != 1) {
      note("a layer loop with several chunkkv.topk_chunks in its body; left "
           "as it is");
      return;
    }
    TopkChunksOp topk = selections.front();
    Value ids = topk.getResult(0);
    if (!topk.getResult(1).use_empty() ||
        !llvm::all_of(ids.getUsers(),
                      [](Operation *user) { return isa<CompactOp>(user); })) {
      note("a layer loop whose selection is used other than by "
           "chunkkv.compact; left as it is");
      return;
    }
    auto score = topk.getScores().getDefiningOp<ChunkScoreOp>();
    IRRewriter rewriter(loop.getContext());
    rewriter.setInsertionPoint(loop);
    auto idsType = cast<RankedTensorType>(ids.getType());
    Value init = tensor::EmptyOp::create(rewriter, loop.getLoc(),
                                         idsType.getShape(),
                                         idsType.getElementType());
    int64_t every = interval;
    (void)cast<LoopLikeOpInterface>(loop.getOperation())
        .replaceWithAdditionalYields(
            rewriter, ValueRange{init},
            /*replaceInitOperandUsesInLoop=*/false,
            [&](OpBuilder &, Location loc,
                ArrayRef<BlockArgument> newArgs) -> SmallVector<Value> {
              Value layer =
                  cast<scf::ForOp>(newArgs.front().getOwner()->getParentOp())
                      .getInductionVar();
              OpBuilder b(topk);
              Value remainder = arith::RemUIOp::create(
                  b, loc, layer, arith::ConstantIndexOp::create(b, loc, every));
              Value leads = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::eq, remainder,
                  arith::ConstantIndexOp::create(b, loc, 0));
              auto select = scf::IfOp::create(b, loc, TypeRange{idsType},
                                              leads, /*withElseRegion=*/true);
              ids.replaceAllUsesWith(select.getResult(0));
              OpBuilder thenBuilder =
                  select.getThenBodyBuilder();
              scf::YieldOp thenYield =
                  scf::YieldOp::create(thenBuilder, loc, ids);
              if (score && score->hasOneUse())
                score->moveBefore(thenYield);
              topk->moveBefore(thenYield);
              OpBuilder elseBuilder = select.getElseBodyBuilder();
              scf::YieldOp::create(elseBuilder, loc, newArgs[0]);
              return {select.getResult(0)};
            });
    note("the layer loop selects in iterations l % " + Twine(every) +
         " == 0 and carries the selection to the others");
  }

  void reuseIn(FunctionOpInterface function) {
    std::map<int64_t, LayerSelection> layers;
    function.walk([&](Operation *op) {
      std::optional<int64_t> layer = layerOf(op);
      if (!layer)
        return;
      if (auto score = dyn_cast<ChunkScoreOp>(op))
        layers[*layer].scores.push_back(score);
      else if (auto topk = dyn_cast<TopkChunksOp>(op))
        layers[*layer].selections.push_back(topk);
      else if (auto compact = dyn_cast<CompactOp>(op))
        layers[*layer].compactions.push_back(compact);
    });
    for (auto &[index, layer] : layers) {
      int64_t leader = index / interval * interval;
      if (leader == index)
        continue;
      auto found = layers.find(leader);
      if (found == layers.end() || found->second.selections.size() != 1) {
        note("@" + function.getName() + " layer " + Twine(index) + ": leader " +
             Twine(leader) + " has no single selection; left as it is");
        continue;
      }
      TopkChunksOp leaderSelection = found->second.selections.front();
      // The leader's ids must be available where the follower compacts.
      if (llvm::any_of(layer.compactions, [&](CompactOp compact) {
            return compact->getBlock() != leaderSelection->getBlock() ||
                   compact->isBeforeInBlock(leaderSelection);
          })) {
        note("@" + function.getName() + " layer " + Twine(index) +
             ": compacts before its leader selects; left as it is");
        continue;
      }
      for (CompactOp compact : layer.compactions) {
        compact.getChunkIdsMutable().assign(leaderSelection.getResult(0));
        compact->setAttr(ChunkKVDialect::kLeaderAttrName,
                         IntegerAttr::get(IntegerType::get(&getContext(), 64),
                                          leader));
      }
      // The follower's own selection is now unused, and so its scores.
      for (TopkChunksOp topk : layer.selections)
        if (topk->use_empty())
          topk->erase();
      for (ChunkScoreOp score : layer.scores)
        if (score->use_empty())
          score->erase();
      note("@" + function.getName() + " layer " + Twine(index) +
           ": reuses the selection of layer " + Twine(leader));
    }
  }
};

} // namespace
