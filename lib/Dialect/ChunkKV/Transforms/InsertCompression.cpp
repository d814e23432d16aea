//===- InsertCompression.cpp - chunkkv-insert-compression -----------------===//
//
// After prefill, compresses every detected layer's caches with ChunkKV:
// window queries, chunk_score, topk_chunks, compact of K and V; the function
// returns the compacted caches and the per-layer valid lengths.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.h"
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

#include "llvm/Support/raw_ostream.h"

#include <map>

namespace mlir {
namespace chunkkv {
#define GEN_PASS_DEF_CHUNKKVINSERTCOMPRESSIONPASS
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h.inc"
} // namespace chunkkv
} // namespace mlir

using namespace mlir;
using namespace mlir::chunkkv;

namespace {

/// The ops of one layer that chunkkv-detect-kv-cache found.
struct LayerOps {
  tensor::InsertSliceOp keyWrite, valueWrite;
  Layout layout = Layout::bhsd;
  Operation *query = nullptr;

  /// Records `op` if it is one of the layer's cache writes.
  void recordWrite(KVAttr kv, Operation *op) {
    layout = kv.getLayout();
    if (kv.getRole() == KVRole::k_write)
      keyWrite = dyn_cast<tensor::InsertSliceOp>(op);
    else if (kv.getRole() == KVRole::v_write)
      valueWrite = dyn_cast<tensor::InsertSliceOp>(op);
  }
};

/// Why `layer` cannot be compressed, or an empty string. Its ops must be in
/// `home` (the function's or the layer loop's body), and `leaves(cache)`
/// must hold for its written caches (returned, or stored back into the
/// loop's stacked caches).
std::string unsupportedReason(LayerOps layer, Block *home,
                              function_ref<bool(Value)> leaves,
                              int64_t window) {
  if (!layer.keyWrite || !layer.valueWrite)
    return "its K and V writes are not tensor.insert_slice ops";
  if (!layer.query || layer.query->getNumResults() != 1)
    return "no single-result query op";
  if (layer.query->getBlock() != home)
    return "its query op is in a nested region";
  for (tensor::InsertSliceOp write : {layer.keyWrite, layer.valueWrite}) {
    if (write->getBlock() != home)
      return "a cache write is in a nested region";
    if (write.getSourceType().getRank() != 4 ||
        write.getResultType().getRank() != 4)
      return "a cache write is not of rank-4 rows into a rank-4 cache";
    if (!leaves(write.getResult()))
      return "a written cache is neither returned nor stored back into the "
             "layer loop's caches";
    if (!write.getResultType().hasStaticShape() ||
        !write.getSourceType().hasStaticShape())
      return "a cache or a write has a dynamic shape";
  }
  auto queries = dyn_cast<RankedTensorType>(layer.query->getResult(0).getType());
  int64_t seqDim = layer.layout == Layout::bhsd ? 2 : 1;
  int64_t written = layer.keyWrite.getSourceType().getDimSize(seqDim);
  if (!queries || queries.getRank() != 4 || !queries.hasStaticShape() ||
      queries.getDimSize(1) != written ||
      queries.getDimSize(3) != layer.keyWrite.getSourceType().getDimSize(3))
    return "queries are not [B, T, Hq, D] with T the written rows";
  if (written < window)
    return "the prompt (" + std::to_string(written) +
           " tokens) is shorter than the window (" + std::to_string(window) +
           ")";
  return "";
}

/// In a layer loop, the op that stores the layer's written cache `cache`
/// back into the loop-carried stacked caches (yielded), or null.
tensor::InsertSliceOp storeBackOf(scf::ForOp loop, Value cache) {
  for (Operation *user : cache.getUsers()) {
    auto back = dyn_cast<tensor::InsertSliceOp>(user);
    if (!back || back.getSource() != cache || back->getBlock() != loop.getBody())
      continue;
    auto iterArg = dyn_cast<BlockArgument>(back.getDest());
    if (!iterArg || !llvm::is_contained(loop.getRegionIterArgs(), iterArg))
      continue;
    unsigned index = iterArg.getArgNumber() - loop.getNumInductionVars();
    if (loop.getYieldedValues()[index] == back.getResult() &&
        back.getResult().hasOneUse())
      return back;
  }
  return {};
}

/// The key of the one layer of a layer loop's body in the layer maps.
constexpr int64_t kLoopLayer = -1;

/// Calls `visit(layer, kv, op)` for every op of `function` that detection
/// marked: with layer indices (unrolled), or without them, as kLoopLayer,
/// when `inLoop`.
void forEachLayerOp(func::FuncOp function, bool inLoop,
                    function_ref<void(int64_t, KVAttr, Operation *)> visit) {
  function.walk([&](Operation *op) {
    auto kv = op->getAttrOfType<KVAttr>(ChunkKVDialect::kKVAttrName);
    if (kv && kv.getLayer().has_value() != inLoop)
      visit(kv.getLayer().value_or(kLoopLayer), kv, op);
  });
}

/// One layer of the decode function: its cache writes and the attention
/// ops (between QK^T and PV) whose bodies use the decode position, that is,
/// the causal masks.
struct DecodeLayer : LayerOps {
  SmallVector<linalg::GenericOp> masks;
};

/// The decode function as chunkkv-insert-compression rewrites it.
struct DecodeRewrite {
  func::FuncOp function;
  BlockArgument position;
  std::map<int64_t, DecodeLayer> layers;
  /// For a layer loop: the loop, its trip count, and its one (loop-body)
  /// layer in `layers`.
  scf::ForOp loop;
  int64_t numLayers = 0;
  /// With per-sequence positions: the other generics that use the position
  /// (RoPE), which then read each sequence's own.
  SmallVector<linalg::GenericOp> ropes;
};

/// A `[B, ...]` linalg.generic whose loop 0 is the sequence.
bool isPerSequenceGeneric(linalg::GenericOp generic, int64_t batch) {
  if (generic->getNumResults() != 1)
    return false;
  auto type = dyn_cast<RankedTensorType>(generic->getResult(0).getType());
  return type && type.getRank() == 4 && type.getDimSize(0) == batch &&
         generic.getIndexingMapsArray().back().isIdentity();
}

/// Replaces, inside `generic`, the uses of `position` by `values[b]` with b
/// the generic's loop 0.
void readPerSequence(linalg::GenericOp generic, Value position, Value values) {
  Block &body = generic.getRegion().front();
  ImplicitLocOpBuilder b(generic.getLoc(), &body, body.begin());
  Value sequence = linalg::IndexOp::create(b, 0);
  Value value = tensor::ExtractOp::create(b, values, ValueRange{sequence});
  Value index = arith::IndexCastOp::create(b, b.getIndexType(), value);
  position.replaceUsesWithIf(index, [&](OpOperand &use) {
    return generic->isProperAncestor(use.getOwner());
  });
}

/// The layer loop (marked by detection) directly in `function`'s body, or
/// null; `tripCount` gets its static trip count (from 0, step 1).
scf::ForOp findLayerLoop(func::FuncOp function, int64_t &tripCount) {
  for (auto loop : function.getBody().front().getOps<scf::ForOp>()) {
    if (!loop->hasAttr(ChunkKVDialect::kLayerLoopAttrName))
      continue;
    std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound());
    std::optional<int64_t> upper = getConstantIntValue(loop.getUpperBound());
    std::optional<int64_t> step = getConstantIntValue(loop.getStep());
    if (!lower || !upper || !step || *lower != 0 || *step != 1)
      return {};
    tripCount = *upper;
    return loop;
  }
  return {};
}

/// The linalg.generic ops reachable from `qk`'s results before `pv` whose
/// regions use `position`.
SmallVector<linalg::GenericOp> findMasks(Operation *qk, Operation *pv,
                                         Value position) {
  SmallVector<linalg::GenericOp> masks;
  SmallVector<Operation *> worklist = {qk};
  llvm::SmallPtrSet<Operation *, 16> seen = {qk};
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    for (Operation *user : op->getUsers()) {
      if (user == pv || !seen.insert(user).second)
        continue;
      if (auto generic = dyn_cast<linalg::GenericOp>(user))
        if (llvm::any_of(position.getUses(), [&](OpOperand &use) {
              return generic->isProperAncestor(use.getOwner());
            }))
          masks.push_back(generic);
      worklist.push_back(user);
    }
  }
  return masks;
}

/// Analyses the decode function; fills `rewrite` or returns why it cannot
/// be rewritten for compressed caches of `batch` sequences and `layers`.
std::string analyseDecode(func::FuncOp decode, int64_t batch,
                          const std::map<int64_t, LayerOps> &prefillLayers,
                          bool perSequencePositions, DecodeRewrite &rewrite) {
  if (!llvm::hasSingleElement(decode.getBody()))
    return "it has more than one block";
  std::map<int64_t, Operation *> qks, pvs;
  bool prefillLoop = prefillLayers.count(kLoopLayer);
  rewrite.loop = findLayerLoop(decode, rewrite.numLayers);
  if (prefillLoop != static_cast<bool>(rewrite.loop))
    return "prefill and decode do not both run their layers in a loop";
  forEachLayerOp(decode, static_cast<bool>(rewrite.loop),
                 [&](int64_t index, KVAttr kv, Operation *op) {
    rewrite.layers[index].recordWrite(kv, op);
    switch (kv.getRole()) {
    case KVRole::qk:
      qks[index] = op;
      break;
    case KVRole::pv:
      pvs[index] = op;
      break;
    default:
      break;
    }
  });
  if (rewrite.layers.size() != prefillLayers.size())
    return "it has " + std::to_string(rewrite.layers.size()) +
           " detected layers, prefill " +
           std::to_string(prefillLayers.size());
  for (auto &[index, layer] : rewrite.layers) {
    std::string where = "layer " + std::to_string(index) + ": ";
    if (!layer.keyWrite || !layer.valueWrite || !qks.count(index) ||
        !pvs.count(index))
      return where + "no tensor.insert_slice writes or no attention";
    int64_t seqDim = layer.layout == Layout::bhsd ? 2 : 1;
    Operation *home = rewrite.loop ? rewrite.loop.getOperation()
                                   : decode.getOperation();
    for (tensor::InsertSliceOp write : {layer.keyWrite, layer.valueWrite}) {
      if (write->getParentOp() != home ||
          write.getSourceType().getRank() != 4 ||
          write.getResultType().getRank() != 4)
        return where + "a write is nested or not of rank-4 rows into a "
                       "rank-4 cache";
      auto offset = dyn_cast_if_present<Value>(write.getMixedOffsets()[seqDim]);
      auto argument = dyn_cast_if_present<BlockArgument>(offset);
      if (!argument || argument.getOwner()->getParentOp() != decode)
        return where + "the write offset is not a function argument";
      if (rewrite.position && rewrite.position != argument)
        return where + "the layers write at different positions";
      rewrite.position = argument;
      RankedTensorType source = write.getSourceType();
      if (!source.hasStaticShape() || source.getDimSize(seqDim) != 1 ||
          source.getDimSize(0) != batch)
        return where + "the write is not one row of each of the " +
               std::to_string(batch) + " sequences";
      for (int64_t d = 0; d < 4; ++d)
        if (d != seqDim && (!write.isDynamicOffset(d) &&
                            write.getStaticOffset(d) != 0))
          return where + "the write does not cover whole rows";
    }
    layer.masks = findMasks(qks[index], pvs[index], rewrite.position);
    if (layer.masks.empty())
      return where + "no causal mask that uses the position";
    for (linalg::GenericOp mask : layer.masks)
      if (!isPerSequenceGeneric(mask, batch))
        return where + "a mask is not a [B, ...] generic with loop 0 the "
                       "sequence";
  }
  if (perSequencePositions) {
    // Every other use of the position must be in a [B, ...] generic (RoPE).
    llvm::SmallPtrSet<Operation *, 16> handled;
    for (auto &entry : rewrite.layers) {
      handled.insert(entry.second.keyWrite);
      handled.insert(entry.second.valueWrite);
      for (linalg::GenericOp mask : entry.second.masks)
        handled.insert(mask);
    }
    for (OpOperand &use : rewrite.position.getUses()) {
      Operation *user = use.getOwner();
      if (llvm::any_of(handled, [&](Operation *op) {
            return op == user || op->isProperAncestor(user);
          }))
        continue;
      auto generic = user->getParentOfType<linalg::GenericOp>();
      if (!generic || !isPerSequenceGeneric(generic, batch))
        return "the position is used outside [B, ...] generics (RoPE)";
      if (!llvm::is_contained(rewrite.ropes, generic))
        rewrite.ropes.push_back(generic);
    }
  }
  rewrite.function = decode;
  return "";
}

/// `acc = body(sequence, lengths[sequence] as index, acc)` for every
/// sequence of the batch, as an scf.for starting from `init`; the result.
Value foldSequences(
    ImplicitLocOpBuilder &b, int64_t batch, Value lengths, Value init,
    function_ref<Value(ImplicitLocOpBuilder &, Value, Value, Value)> body) {
  auto loop = scf::ForOp::create(
      b, arith::ConstantIndexOp::create(b, 0),
      arith::ConstantIndexOp::create(b, batch),
      arith::ConstantIndexOp::create(b, 1), ValueRange{init},
      [&](OpBuilder &nested, Location loc, Value sequence, ValueRange iters) {
        ImplicitLocOpBuilder ib(loc, nested);
        Value length =
            tensor::ExtractOp::create(ib, lengths, ValueRange{sequence});
        Value index = arith::IndexCastOp::create(ib, ib.getIndexType(), length);
        scf::YieldOp::create(ib, body(ib, sequence, index, iters[0]));
      });
  return loop.getResult(0);
}

/// Rewrites one decode layer for compressed caches: sequence b's row is
/// written at `lengths[b]` (an scf.for of single-row tensor.insert_slices
/// in place of the shared-offset write) and the masks see the rows up to it.
void rewriteDecodeLayer(DecodeLayer &layer, Value lengths,
                        BlockArgument position, int64_t batch) {
  int64_t seqDim = layer.layout == Layout::bhsd ? 2 : 1;
  for (tensor::InsertSliceOp write : {layer.keyWrite, layer.valueWrite}) {
    ImplicitLocOpBuilder b(write.getLoc(), write);
    RankedTensorType source = write.getSourceType();
    SmallVector<int64_t> pieceShape(source.getShape());
    pieceShape[0] = 1;
    Value written = foldSequences(
        b, batch, lengths, write.getDest(),
        [&](ImplicitLocOpBuilder &ib, Value sequence, Value row, Value cache) {
          SmallVector<OpFoldResult> offsets(4, ib.getIndexAttr(0));
          offsets[0] = sequence;
          SmallVector<OpFoldResult> sizes, strides(4, ib.getIndexAttr(1));
          for (int64_t size : pieceShape)
            sizes.push_back(ib.getIndexAttr(size));
          Value piece = tensor::ExtractSliceOp::create(
              ib, RankedTensorType::get(pieceShape, source.getElementType()),
              write.getSource(), offsets, sizes, strides);
          offsets[seqDim] = row;
          return tensor::InsertSliceOp::create(ib, piece, cache, offsets, sizes,
                                               strides)
              .getResult();
        });
    write.getResult().replaceAllUsesWith(written);
    write.erase();
  }
  // Masks: the sequence's length stands where the position stood.
  for (linalg::GenericOp mask : layer.masks)
    readPerSequence(mask, position, lengths);
}

/// Rewrites decode for compressed caches. Unrolled layers: one
/// `tensor<Bxi64>` of lengths per layer becomes an argument; a layer loop:
/// one `tensor<LxBxi64>`, whose row l the loop's iteration l uses. Layer l
/// writes its row of sequence b at lengths[l][b] and its masks see the rows
/// up to it; RoPE keeps the true position. The lengths plus one are
/// appended to the results.
void rewriteDecode(DecodeRewrite &rewrite, int64_t batch) {
  func::FuncOp decode = rewrite.function;
  MLIRContext *ctx = decode.getContext();
  Type i64 = IntegerType::get(ctx, 64);
  auto ret = cast<func::ReturnOp>(decode.getBody().front().getTerminator());
  SmallVector<Value> arguments, layerLengths;
  if (rewrite.loop) {
    auto stackType = RankedTensorType::get({rewrite.numLayers, batch}, i64);
    unsigned index = decode.getNumArguments();
    (void)decode.insertArgument(index, stackType, DictionaryAttr(),
                                decode.getLoc());
    arguments.push_back(decode.getArgument(index));
    Block *body = rewrite.loop.getBody();
    ImplicitLocOpBuilder b(rewrite.loop.getLoc(), body, body->begin());
    SmallVector<OpFoldResult> offsets = {rewrite.loop.getInductionVar(),
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1),
                                       b.getIndexAttr(batch)};
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    layerLengths.push_back(tensor::ExtractSliceOp::create(
        b, RankedTensorType::get({batch}, i64), arguments.back(), offsets,
        sizes, strides));
  } else {
    auto lengthsType = RankedTensorType::get({batch}, i64);
    for (size_t i = 0; i < rewrite.layers.size(); ++i) {
      unsigned index = decode.getNumArguments();
      (void)decode.insertArgument(index, lengthsType, DictionaryAttr(),
                                  decode.getLoc());
      arguments.push_back(decode.getArgument(index));
    }
    layerLengths = arguments;
  }
  size_t slot = 0;
  for (auto &entry : rewrite.layers)
    rewriteDecodeLayer(entry.second, layerLengths[slot++], rewrite.position,
                       batch);
  if (!rewrite.ropes.empty()) {
    // Right-padded prompts: RoPE at each sequence's own true position, from
    // one more appended argument.
    unsigned index = decode.getNumArguments();
    (void)decode.insertArgument(index, RankedTensorType::get({batch}, i64),
                                DictionaryAttr(), decode.getLoc());
    for (linalg::GenericOp rope : rewrite.ropes)
      readPerSequence(rope, rewrite.position, decode.getArgument(index));
  }
  ImplicitLocOpBuilder b(ret.getLoc(), ret);
  SmallVector<Value> results(ret.getOperands());
  for (Value lengths : arguments) {
    auto type = cast<RankedTensorType>(lengths.getType());
    Value ones = arith::ConstantOp::create(
        b, DenseElementsAttr::get(type, b.getI64IntegerAttr(1)));
    results.push_back(arith::AddIOp::create(b, lengths, ones));
  }
  func::ReturnOp::create(b, results);
  ret.erase();
  SmallVector<Type> resultTypes;
  for (Value result : results)
    resultTypes.push_back(result.getType());
  decode.setFunctionType(
      FunctionType::get(ctx, decode.getArgumentTypes(), resultTypes));
}

struct ChunkKVInsertCompressionPass
    : public chunkkv::impl::ChunkKVInsertCompressionPassBase<
          ChunkKVInsertCompressionPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  PolicyAttr buildPolicy();
  /// Emits the selection and compaction of one layer before `ret`; returns
  /// the compacted K, V and the new lengths.
  std::array<Value, 3> compressLayer(ImplicitLocOpBuilder &b,
                                     LayerOps layer, PolicyAttr policy,
                                     int64_t index,
                                     Value promptLengths = Value());
  /// Compresses the layer in the body of `loop`: the compacted caches are
  /// stored back into the stacked caches, and a new loop-carried
  /// `tensor<LxBxi64>` collects every layer's lengths; returns it.
  Value compressLayerLoop(scf::ForOp loop, LayerOps layer, PolicyAttr policy,
                          int64_t numLayers, int64_t batch, Value prompts);
  void note(const Twine &message) {
    if (report)
      llvm::errs() << "chunkkv-insert-compression: " << message << "\n";
  }
};

Value ChunkKVInsertCompressionPass::compressLayerLoop(scf::ForOp loop,
                                                      LayerOps layer,
                                                      PolicyAttr policy,
                                                      int64_t numLayers,
                                                      int64_t batch,
                                                      Value prompts) {
  tensor::InsertSliceOp keyBack = storeBackOf(loop, layer.keyWrite.getResult());
  tensor::InsertSliceOp valueBack =
      storeBackOf(loop, layer.valueWrite.getResult());
  IRRewriter rewriter(loop.getContext());
  rewriter.setInsertionPoint(loop);
  Type i64 = rewriter.getI64Type();
  Value stackInit = tensor::EmptyOp::create(
      rewriter, loop.getLoc(), ArrayRef<int64_t>{numLayers, batch}, i64);
  FailureOr<LoopLikeOpInterface> newLoop =
      cast<LoopLikeOpInterface>(loop.getOperation())
          .replaceWithAdditionalYields(
              rewriter, ValueRange{stackInit},
              /*replaceInitOperandUsesInLoop=*/false,
              [&](OpBuilder &builder, Location loc,
                  ArrayRef<BlockArgument> newArgs) -> SmallVector<Value> {
                ImplicitLocOpBuilder b(loc, builder);
                auto [keys, values, lengths] =
                    compressLayer(b, layer, policy, /*index=*/-1, prompts);
                // The stored-back caches are the compacted ones.
                for (auto [back, cache] :
                     {std::pair{keyBack, keys}, std::pair{valueBack, values}}) {
                  back->moveBefore(b.getInsertionBlock(),
                                   b.getInsertionPoint());
                  back.getSourceMutable().assign(cache);
                }
                Value layerIndex =
                    cast<scf::ForOp>(newArgs.front().getOwner()->getParentOp())
                        .getInductionVar();
                SmallVector<OpFoldResult> offsets = {layerIndex,
                                                     b.getIndexAttr(0)};
                SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1),
                                                   b.getIndexAttr(batch)};
                SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
                return {tensor::InsertSliceOp::create(b, lengths, newArgs[0],
                                                      offsets, sizes, strides)};
              });
  return newLoop->getOperation()->getResults().back();
}

PolicyAttr ChunkKVInsertCompressionPass::buildPolicy() {
  MLIRContext *ctx = &getContext();
  // A location, not the op: the diagnostic is about the options, and
  // printing the whole module with it would bury it.
  auto emitError = [&]() {
    return mlir::emitError(getOperation()->getLoc(),
                           "chunkkv-insert-compression: ");
  };
  std::optional<PolicyKind> kind = symbolizePolicyKind(policyKind);
  if (!kind) {
    emitError() << "policy: expected 'paper' or 'kvpress', got '"
                << policyKind << "'";
    return {};
  }
  PolicyDefaults defaults = getPolicyDefaults(*kind);
  Aggregate aggregateKind = defaults.aggregate;
  if (!aggregate.empty()) {
    std::optional<Aggregate> parsed = symbolizeAggregate(aggregate);
    if (!parsed) {
      emitError() << "aggregate: expected 'sum' or 'mean', got '" << aggregate
                  << "'";
      return {};
    }
    aggregateKind = *parsed;
  }
  auto ratio = [&](double value) -> FloatAttr {
    if (value < 0)
      return {};
    return FloatAttr::get(Float64Type::get(ctx), value);
  };
  auto orDefault = [](int64_t value, int64_t fallback) {
    return value > 0 ? value : fallback;
  };
  return PolicyAttr::getChecked(
      emitError, ctx, *kind, orDefault(chunkSize, defaults.chunkSize),
      orDefault(window, defaults.window), orDefault(pool, defaults.pool),
      aggregateKind,
      budget >= 0 ? std::optional<int64_t>(budget) : std::nullopt,
      ratio(keepRatio), ratio(compressionRatio), /*reuseInterval=*/int64_t(1));
}

std::array<Value, 3>
ChunkKVInsertCompressionPass::compressLayer(ImplicitLocOpBuilder &b,
                                            LayerOps layer,
                                            PolicyAttr policy, int64_t index,
                                            Value promptLengths) {
  Value keys = layer.keyWrite.getResult();
  Value values = layer.valueWrite.getResult();
  auto cacheType = cast<RankedTensorType>(keys.getType());
  Value queries = layer.query->getResult(0);
  auto queryType = cast<RankedTensorType>(queries.getType());
  int64_t batch = queryType.getDimSize(0), written = queryType.getDimSize(1),
          heads = queryType.getDimSize(2), dim = queryType.getDimSize(3);
  int64_t window = policy.getWindow();
  Type f32 = b.getF32Type(), i64 = b.getI64Type();

  // The last w queries, as [B, Hq, w, D]: of the T written rows, or of
  // each sequence's prompt (right-padded prompts).
  SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0),
                                       b.getIndexAttr(written - window),
                                       b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {
      b.getIndexAttr(batch), b.getIndexAttr(window), b.getIndexAttr(heads),
      b.getIndexAttr(dim)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  auto windowType =
      RankedTensorType::get({batch, window, heads, dim}, queryType.getElementType());
  Value lastRows;
  if (!promptLengths) {
    lastRows = tensor::ExtractSliceOp::create(b, windowType, queries, offsets,
                                              sizes, strides);
  } else {
    Value empty = tensor::EmptyOp::create(b, windowType.getShape(),
                                          queryType.getElementType());
    sizes[0] = b.getIndexAttr(1);
    lastRows = foldSequences(
        b, batch, promptLengths, empty,
        [&](ImplicitLocOpBuilder &ib, Value sequence, Value end,
            Value gathered) {
          // Clamped into [0, T - w]: shorter prompts keep everything and
          // their scores are not used.
          Value start = arith::MaxSIOp::create(
              ib, arith::SubIOp::create(
                      ib, end, arith::ConstantIndexOp::create(ib, window)),
              arith::ConstantIndexOp::create(ib, 0));
          start = arith::MinSIOp::create(
              ib, start, arith::ConstantIndexOp::create(ib, written - window));
          SmallVector<OpFoldResult> from = {sequence, start, ib.getIndexAttr(0),
                                            ib.getIndexAttr(0)};
          SmallVector<OpFoldResult> to = {sequence, ib.getIndexAttr(0),
                                          ib.getIndexAttr(0), ib.getIndexAttr(0)};
          auto rowType = RankedTensorType::get({1, window, heads, dim},
                                               queryType.getElementType());
          Value rows = tensor::ExtractSliceOp::create(ib, rowType, queries, from,
                                                      sizes, strides);
          return tensor::InsertSliceOp::create(ib, rows, gathered, to, sizes,
                                               strides)
              .getResult();
        });
  }
  Value transposedInit = tensor::EmptyOp::create(
      b, ArrayRef<int64_t>{batch, heads, window, dim},
      queryType.getElementType());
  Value windowQueries =
      linalg::TransposeOp::create(b, lastRows, transposedInit,
                                  ArrayRef<int64_t>{0, 2, 1, 3})
          .getResult()
          .front();

  // Every sequence holds the rows up to the end of the prefill write.
  int64_t seqDim = layer.layout == Layout::bhsd ? 2 : 1;
  Value offset = getValueOrCreateConstantIndexOp(
      b, b.getLoc(), layer.keyWrite.getMixedOffsets()[seqDim]);
  Value end = arith::AddIOp::create(b, offset,
                                    arith::ConstantIndexOp::create(b, written));
  Value endI64 = arith::IndexCastOp::create(b, i64, end);
  auto lengthsType = RankedTensorType::get({batch}, i64);
  Value lengths = tensor::SplatOp::create(b, lengthsType, endI64);
  if (promptLengths) {
    // Right-padded prompts: the write offset plus each prompt's length.
    Value offsetI64 = arith::IndexCastOp::create(b, i64, offset);
    lengths = arith::AddIOp::create(
        b, promptLengths, tensor::SplatOp::create(b, lengthsType, offsetI64));
  }

  int64_t capacity = cacheType.getDimSize(seqDim);
  int64_t numChunks = policy.getNumScoreChunks(capacity);
  int64_t maxChosen = policy.getMaxSelectedChunks(numChunks);
  auto layerAttr = b.getI64IntegerAttr(index);
  // Unrolled layers are marked with their index; a loop body's ops are not.
  auto mark = [&](Operation *op) {
    if (index >= 0)
      op->setAttr(ChunkKVDialect::kLayerAttrName, layerAttr);
    return op;
  };

  Value scoresInit =
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{batch, numChunks}, f32);
  Value scores =
      mark(ChunkScoreOp::create(b, TypeRange{scoresInit.getType()}, policy,
                                layer.layout, FloatAttr(), windowQueries, keys,
                                lengths, scoresInit))
          ->getResult(0);
  Value idsInit =
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{batch, maxChosen}, i64);
  Value keptInit = tensor::EmptyOp::create(b, ArrayRef<int64_t>{batch}, i64);
  Operation *topk = mark(TopkChunksOp::create(
      b, TypeRange{idsInit.getType(), keptInit.getType()}, policy, scores,
      lengths, idsInit, keptInit));
  Value ids = topk->getResult(0);
  auto compact = [&](Value cache) {
    Value lengthsInit =
        tensor::EmptyOp::create(b, ArrayRef<int64_t>{batch}, i64);
    return mark(CompactOp::create(
        b, TypeRange{cache.getType(), lengthsInit.getType()}, policy,
        layer.layout, cache, ids, lengths, cache, lengthsInit));
  };
  Operation *compactKeys = compact(keys);
  Operation *compactValues = compact(values);
  return {compactKeys->getResult(0), compactValues->getResult(0),
          compactKeys->getResult(1)};
}

void ChunkKVInsertCompressionPass::runOnOperation() {
  PolicyAttr policy = buildPolicy();
  if (!policy)
    return signalPassFailure();
  auto prefill = getOperation().lookupSymbol<func::FuncOp>(function);
  if (!prefill || prefill.isExternal()) {
    note("no function @" + function + " with a body; nothing compressed");
    return;
  }
  if (!llvm::hasSingleElement(prefill.getBody())) {
    note("@" + function + " has more than one block; nothing compressed");
    return;
  }
  auto ret = cast<func::ReturnOp>(prefill.getBody().front().getTerminator());

  // The layers that detection found, in layer order; a layer loop's body
  // is one layer (kLoopLayer).
  int64_t numLayers = 0;
  scf::ForOp layerLoop = findLayerLoop(prefill, numLayers);
  bool anyLoop = false;
  prefill.walk([&](scf::ForOp loop) {
    anyLoop |= loop->hasAttr(ChunkKVDialect::kLayerLoopAttrName);
  });
  std::map<int64_t, LayerOps> layers;
  forEachLayerOp(prefill, static_cast<bool>(layerLoop),
                 [&](int64_t index, KVAttr kv, Operation *op) {
    layers[index].recordWrite(kv, op);
    if (kv.getRole() == KVRole::query)
      layers[index].query = op;
  });
  if (anyLoop && !layerLoop) {
    note("@" + function + " runs its layers in a loop whose bounds are not "
         "0 to a constant by 1; nothing compressed");
    return;
  }
  if (layers.empty()) {
    note("@" + function + " has no detected KV caches (run "
         "chunkkv-detect-kv-cache first); nothing compressed");
    return;
  }
  // All layers or none: a partly compressed model would mix cache states.
  Block *home = layerLoop ? layerLoop.getBody() : &prefill.getBody().front();
  auto leaves = [&](Value cache) {
    if (layerLoop)
      return static_cast<bool>(storeBackOf(layerLoop, cache));
    return llvm::is_contained(ret.getOperands(), cache);
  };
  for (auto &[index, layer] : layers) {
    std::string reason =
        unsupportedReason(layer, home, leaves, policy.getWindow());
    if (!reason.empty()) {
      std::string where =
          index == kLoopLayer ? "the layer loop" : "layer " + std::to_string(index);
      note("@" + function + " " + where + ": " + reason +
           "; nothing compressed");
      return;
    }
  }

  // The decode function must fit the compressed caches; check it before
  // changing anything.
  int64_t batch = cast<RankedTensorType>(
                      layers.begin()->second.keyWrite.getResult().getType())
                      .getDimSize(0);
  DecodeRewrite decodeRewrite;
  if (!decodeFunction.empty()) {
    auto decode = getOperation().lookupSymbol<func::FuncOp>(decodeFunction);
    if (decode && !decode.isExternal()) {
      std::string reason = analyseDecode(decode, batch, layers,
                                         promptLengths, decodeRewrite);
      if (!reason.empty()) {
        note("@" + decodeFunction + ": " + reason +
             "; nothing compressed (its caches would not fit a compressed "
             "prefill)");
        return;
      }
    } else {
      note("no function @" + decodeFunction + " with a body: only @" +
           function + " is rewritten");
    }
  }

  Value prompts;
  if (promptLengths) {
    unsigned index = prefill.getNumArguments();
    (void)prefill.insertArgument(
        index, RankedTensorType::get({batch}, IntegerType::get(&getContext(), 64)),
        DictionaryAttr(), prefill.getLoc());
    prompts = prefill.getArgument(index);
  }
  ImplicitLocOpBuilder b(ret.getLoc(), ret);
  SmallVector<Value> results(ret.getOperands());
  if (layerLoop) {
    // The loop is replaced (a new loop-carried value): read its results
    // from the return afterwards.
    Value stack = compressLayerLoop(layerLoop, layers[kLoopLayer], policy,
                                    numLayers, batch, prompts);
    results.assign(ret.getOperands().begin(), ret.getOperands().end());
    results.push_back(stack);
    note("@" + function + " layer loop: compressed");
  } else {
    SmallVector<Value> newLengths;
    for (auto &[index, layer] : layers) {
      auto [keys, values, lengths] =
          compressLayer(b, layer, policy, index, prompts);
      for (Value &result : results) {
        if (result == layer.keyWrite.getResult())
          result = keys;
        else if (result == layer.valueWrite.getResult())
          result = values;
      }
      newLengths.push_back(lengths);
      note("@" + function + " layer " + Twine(index) + ": compressed");
    }
    llvm::append_range(results, newLengths);
  }
  func::ReturnOp::create(b, results);
  ret.erase();
  SmallVector<Type> resultTypes;
  for (Value result : results)
    resultTypes.push_back(result.getType());
  prefill.setFunctionType(FunctionType::get(
      &getContext(), prefill.getArgumentTypes(), resultTypes));
  if (decodeRewrite.function) {
    rewriteDecode(decodeRewrite, batch);
    note("@" + decodeFunction + ": writes and masks use the per-layer "
         "lengths");
  }
}

} // namespace
