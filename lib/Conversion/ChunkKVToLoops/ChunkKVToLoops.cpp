//===- ChunkKVToLoops.cpp - chunkkv ops to loops --------------------------===//
//
// Lowers chunk_score, topk_chunks and compact to scf loops over memrefs with
// vector kernels. Tensor forms are first rewritten into memref forms between
// bufferization.to_buffer / to_tensor. The numbers follow docs/semantics.md;
// the pass description in Passes.td explains the algorithms.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Conversion/KernelBuilder.h"
#include "chunkkv/Conversion/Passes.h"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

namespace mlir {
namespace chunkkv {
#define GEN_PASS_DEF_CHUNKKVTOLOOPSPASS
#include "chunkkv/Conversion/Passes.h.inc"
} // namespace chunkkv
} // namespace mlir

using namespace mlir;
using namespace mlir::chunkkv;

using Pred = arith::CmpIPredicate;

namespace {

/// Keys of one register tile of the logits kernel, and vectors of queries.
constexpr int64_t kKeysPerTile = 4;
constexpr int64_t kVectorsPerTile = 4;

Value fillVector(KernelBuilder &b, VectorType type, Value scalar) {
  return vector::BroadcastOp::create(b, type, scalar);
}

//===----------------------------------------------------------------------===//
// chunk_score
//===----------------------------------------------------------------------===//

/// Emits the memref form of chunk_score. See Passes.td for the algorithm.
class ChunkScoreLowering {
public:
  ChunkScoreLowering(KernelBuilder &b, ChunkScoreOp op, int64_t vectorWidth)
      : b(b), op(op), policy(op.getPolicy()), layout(op.getLayout()),
        formulas(b, policy),
        f32Vector(VectorType::get({vectorWidth}, b.getF32Type())),
        i32Vector(VectorType::get({vectorWidth}, b.getI32Type())),
        width(vectorWidth) {}

  void emit();

private:
  // Per-(sequence, kv head) stages.
  void stageQueries(Value batch, Value kvHead);
  void computeLogits(Value batch, Value kvHead, Value length);
  void logitsTile(Value batch, Value kvHead, Value key0, int64_t numKeys,
                  Value vec0, int64_t numVecs);
  void exponentiate(Value length);
  void tokenSums(Value prefix, Value factor);
  Value poolAndAccumulate(Value batch, Value prefix, Value globalMax);
  void chunkScores(Value batch, Value length, Value globalMax);

  Value vecOffset(Value vec) { return b.mul(vec, b.index(width)); }

  KernelBuilder &b;
  ChunkScoreOp op;
  PolicyAttr policy;
  Layout layout;
  PolicyFormulas formulas;
  VectorType f32Vector, i32Vector;
  int64_t width;

  // Sizes.
  Value zero, one, window, capacity, headDim, kvHeads, groupSize;
  Value numQueries, numVectors;
  // Scratch buffers.
  Value queriesT;   // [D, Mp] f32, scaled window queries of one group
  Value thresholds; // [Mp] i32, last visible key of each query
  Value logits;     // [S, Mp] f32, logits then exponentials
  Value rowMax, rowSum, rowScale; // [Mp] f32
  Value tokens;     // [S] f32, per-token sums of one kv head
  Value sums;       // [B, S] f32, per-token scores of each sequence
};

void ChunkScoreLowering::emit() {
  Value q = op.getQueries(), k = op.getKeys(), out = op.getInit();
  zero = b.index(0);
  one = b.index(1);
  window = b.index(policy.getWindow());
  Value batchSize = b.dim(k, 0);
  kvHeads = b.dim(k, headsDim(layout));
  capacity = b.dim(k, capacityDim(layout));
  headDim = b.dim(k, 3);
  groupSize = b.div(b.dim(q, 1), kvHeads);
  numQueries = b.mul(groupSize, window);
  numVectors = b.ceilDiv(numQueries, b.index(width));
  Value paddedQueries = vecOffset(numVectors);

  auto alloc = [&](Type element, ValueRange sizes) -> Value {
    SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
    return memref::AllocOp::create(b, MemRefType::get(shape, element), sizes);
  };
  Type f32 = b.getF32Type();
  queriesT = alloc(f32, {headDim, paddedQueries});
  thresholds = alloc(b.getI32Type(), {paddedQueries});
  logits = alloc(f32, {capacity, paddedQueries});
  rowMax = alloc(f32, {paddedQueries});
  rowSum = alloc(f32, {paddedQueries});
  rowScale = alloc(f32, {paddedQueries});
  tokens = alloc(f32, {capacity});
  sums = alloc(f32, {batchSize, capacity});

  Value negInf = b.f32(-std::numeric_limits<double>::infinity());
  Value numSlots = b.dim(out, 1);
  b.forLoop(zero, batchSize, one, [&](Value batch) {
    b.forLoop(zero, numSlots, one,
              [&](Value slot) { b.store(negInf, out, {batch, slot}); });
  });

  // Paper: per-token sum over queries, mean over the group. kvpress: mean
  // over queries, mean over the group.
  Value factor = b.divf(b.f32(1.0), b.indexToFloat(groupSize, b.getF32Type()));
  if (!formulas.isPaper())
    factor = b.divf(factor, b.f32(policy.getWindow()));

  // Phase 1: per-token scores of every sequence, and the maximum over the
  // batch that kvpress gives the window.
  Value globalMax =
      b.forLoop(zero, batchSize, one, {negInf},
                [&](Value batch, ValueRange iters) -> SmallVector<Value> {
                  Value length =
                      clampedLength(b, op.getLengths(), batch, capacity);
                  Value prefix = b.sub(length, window);
                  Value hasPrefix = b.cmp(Pred::sgt, prefix, zero);
                  return b.ifThenElse(
                      {f32}, hasPrefix,
                      [&]() -> SmallVector<Value> {
                        b.forLoop(zero, prefix, one, [&](Value j) {
                          b.store(b.f32(0.0), sums, {batch, j});
                        });
                        // Query m = (head in group) * w + i sits at P + i.
                        Value intMax =
                            b.i32(std::numeric_limits<int32_t>::max());
                        b.forLoop(zero, paddedQueries, one, [&](Value m) {
                          Value last = b.add(prefix, b.rem(m, window));
                          Value real = b.cmp(Pred::slt, m, numQueries);
                          b.store(b.select(real,
                                           b.fromIndex(last, b.getI32Type()),
                                           intMax),
                                  thresholds, m);
                        });
                        return b.forLoop(
                            zero, kvHeads, one, {iters[0]},
                            [&](Value kvHead,
                                ValueRange inner) -> SmallVector<Value> {
                              stageQueries(batch, kvHead);
                              computeLogits(batch, kvHead, length);
                              exponentiate(length);
                              tokenSums(prefix, factor);
                              return {poolAndAccumulate(batch, prefix,
                                                        inner[0])};
                            });
                      },
                      [&]() -> SmallVector<Value> { return {iters[0]}; });
                })[0];

  // Phase 2: chunk scores.
  b.forLoop(zero, batchSize, one, [&](Value batch) {
    chunkScores(batch, clampedLength(b, op.getLengths(), batch, capacity),
                globalMax);
  });

  for (Value buffer : {queriesT, thresholds, logits, rowMax, rowSum, rowScale,
                       tokens, sums})
    memref::DeallocOp::create(b, buffer);
}

/// queriesT[d, m] = scale * q[b, g*G + m / w, m % w, d], zero for padding.
void ChunkScoreLowering::stageQueries(Value batch, Value kvHead) {
  Value q = op.getQueries();
  Value scale;
  if (std::optional<APFloat> attr = op.getScale())
    scale = b.f32(attr->convertToDouble());
  else
    scale = b.divf(b.f32(1.0),
                   math::SqrtOp::create(
                       b, b.indexToFloat(headDim, b.getF32Type())));
  Value firstHead = b.mul(kvHead, groupSize);
  b.forLoop(zero, vecOffset(numVectors), one, [&](Value m) {
    Value real = b.cmp(Pred::slt, m, numQueries);
    b.ifThen(real, [&]() {
      Value head = b.add(firstHead, b.div(m, window));
      Value row = b.rem(m, window);
      b.forLoop(zero, headDim, one, [&](Value d) {
        Value value = b.toF32(b.load(q, {batch, head, row, d}));
        b.store(b.mulf(value, scale), queriesT, {d, m});
      });
    });
    b.ifThen(arith::XOrIOp::create(b, real, b.boolean(true)), [&]() {
      b.forLoop(zero, headDim, one,
                [&](Value d) { b.store(b.f32(0.0), queriesT, {d, m}); });
    });
  });
}

/// Logits of all keys `[0, T)` against the staged queries, masked and
/// written to `logits`, with each query's maximum in `rowMax`.
void ChunkScoreLowering::computeLogits(Value batch, Value kvHead,
                                       Value length) {
  Value negInf = b.f32(-std::numeric_limits<double>::infinity());
  b.forLoop(zero, numVectors, one, [&](Value vec) {
    vector::StoreOp::create(b, fillVector(b, f32Vector, negInf), rowMax,
                            vecOffset(vec));
  });
  Value keysPerTile = b.index(kKeysPerTile);
  Value fullKeys = b.sub(length, b.rem(length, keysPerTile));
  Value vecsPerTile = b.index(kVectorsPerTile);
  Value fullVecs = b.sub(numVectors, b.rem(numVectors, vecsPerTile));
  auto keyTiles = [&](Value key0, int64_t numKeys) {
    b.forLoop(zero, fullVecs, vecsPerTile, [&](Value vec0) {
      logitsTile(batch, kvHead, key0, numKeys, vec0, kVectorsPerTile);
    });
    b.forLoop(fullVecs, numVectors, one, [&](Value vec0) {
      logitsTile(batch, kvHead, key0, numKeys, vec0, 1);
    });
  };
  b.forLoop(zero, fullKeys, keysPerTile,
            [&](Value key0) { keyTiles(key0, kKeysPerTile); });
  b.forLoop(fullKeys, length, one, [&](Value key0) { keyTiles(key0, 1); });
}

/// One register tile: `numKeys` keys x `numVecs` vectors of queries,
/// accumulated over D with broadcast FMAs.
void ChunkScoreLowering::logitsTile(Value batch, Value kvHead, Value key0,
                                    int64_t numKeys, Value vec0,
                                    int64_t numVecs) {
  Value k = op.getKeys();
  SmallVector<Value> keys, columns;
  for (int64_t r = 0; r < numKeys; ++r)
    keys.push_back(b.add(key0, b.index(r)));
  for (int64_t c = 0; c < numVecs; ++c)
    columns.push_back(vecOffset(b.add(vec0, b.index(c))));

  SmallVector<Value> zeros(numKeys * numVecs,
                           fillVector(b, f32Vector, b.f32(0.0)));
  SmallVector<Value> acc = b.forLoop(
      zero, headDim, one, zeros,
      [&](Value d, ValueRange iters) -> SmallVector<Value> {
        SmallVector<Value> queryVecs;
        for (Value column : columns)
          queryVecs.push_back(
              vector::LoadOp::create(b, f32Vector, queriesT, {d, column}));
        SmallVector<Value> next;
        for (int64_t r = 0; r < numKeys; ++r) {
          Value key = b.toF32(
              b.load(k, cacheIndex(layout, batch, kvHead, keys[r], d)));
          Value keyVec = fillVector(b, f32Vector, key);
          for (int64_t c = 0; c < numVecs; ++c)
            next.push_back(vector::FMAOp::create(
                b, keyVec, queryVecs[c], iters[r * numVecs + c]));
        }
        return next;
      });

  Value negInf = fillVector(
      b, f32Vector, b.f32(-std::numeric_limits<double>::infinity()));
  for (int64_t r = 0; r < numKeys; ++r) {
    Value keyVec =
        fillVector(b, i32Vector, b.fromIndex(keys[r], b.getI32Type()));
    for (int64_t c = 0; c < numVecs; ++c) {
      Value last =
          vector::LoadOp::create(b, i32Vector, thresholds, columns[c]);
      Value visible = b.cmp(Pred::sle, keyVec, last);
      Value masked = b.select(visible, acc[r * numVecs + c], negInf);
      vector::StoreOp::create(b, masked, logits, {keys[r], columns[c]});
      Value max = vector::LoadOp::create(b, f32Vector, rowMax, columns[c]);
      vector::StoreOp::create(b, b.maxf(max, masked), rowMax, columns[c]);
    }
  }
}

/// logits[j, m] = exp(logits[j, m] - rowMax[m]); rowSum[m] = sum over j.
void ChunkScoreLowering::exponentiate(Value length) {
  Value zeroVec = fillVector(b, f32Vector, b.f32(0.0));
  b.forLoop(zero, numVectors, one, [&](Value vec) {
    vector::StoreOp::create(b, zeroVec, rowSum, vecOffset(vec));
  });
  b.forLoop(zero, length, one, [&](Value j) {
    b.forLoop(zero, numVectors, one, [&](Value vec) {
      Value column = vecOffset(vec);
      Value x = vector::LoadOp::create(b, f32Vector, logits, {j, column});
      Value max = vector::LoadOp::create(b, f32Vector, rowMax, column);
      Value e = math::ExpOp::create(b, arith::SubFOp::create(b, x, max));
      vector::StoreOp::create(b, e, logits, {j, column});
      Value sum = vector::LoadOp::create(b, f32Vector, rowSum, column);
      vector::StoreOp::create(b, b.addf(sum, e), rowSum, column);
    });
  });
}

/// tokens[j] = factor * sum over queries of probabilities, for j < P.
void ChunkScoreLowering::tokenSums(Value prefix, Value factor) {
  Value factorVec = fillVector(b, f32Vector, factor);
  Value zeroVec = fillVector(b, f32Vector, b.f32(0.0));
  Value numQueriesVec =
      fillVector(b, i32Vector, b.fromIndex(numQueries, b.getI32Type()));
  SmallVector<int32_t> lanes = llvm::to_vector(llvm::seq<int32_t>(0, width));
  Value laneIds = arith::ConstantOp::create(
      b, DenseElementsAttr::get(i32Vector, ArrayRef<int32_t>(lanes)));
  b.forLoop(zero, numVectors, one, [&](Value vec) {
    Value column = vecOffset(vec);
    Value queryIds = b.add(
        fillVector(b, i32Vector, b.fromIndex(column, b.getI32Type())), laneIds);
    Value real = b.cmp(Pred::slt, queryIds, numQueriesVec);
    Value sum = vector::LoadOp::create(b, f32Vector, rowSum, column);
    vector::StoreOp::create(b, b.select(real, b.divf(factorVec, sum), zeroVec),
                            rowScale, column);
  });
  b.forLoop(zero, prefix, one, [&](Value j) {
    Value acc = b.forLoop(
        zero, numVectors, one, {zeroVec},
        [&](Value vec, ValueRange iters) -> SmallVector<Value> {
          Value column = vecOffset(vec);
          Value e = vector::LoadOp::create(b, f32Vector, logits, {j, column});
          Value s = vector::LoadOp::create(b, f32Vector, rowScale, column);
          return {vector::FMAOp::create(b, e, s, iters[0])};
        })[0];
    b.store(vector::ReductionOp::create(b, vector::CombiningKind::ADD, acc),
            tokens, j);
  });
}

/// Average-pools `tokens[0, P)` (zero padding, divisor p), adds it to the
/// sequence's scores and returns the running maximum of pooled values.
Value ChunkScoreLowering::poolAndAccumulate(Value batch, Value prefix,
                                            Value globalMax) {
  int64_t half = policy.getPool() / 2;
  Value invPool = b.f32(1.0 / static_cast<double>(policy.getPool()));
  return b.forLoop(
      zero, prefix, one, {globalMax},
      [&](Value j, ValueRange iters) -> SmallVector<Value> {
        Value pooled = b.load(tokens, j);
        if (half > 0) {
          Value lo = b.max(b.sub(j, b.index(half)), zero);
          Value hi = b.min(b.add(j, b.index(half + 1)), prefix);
          Value sum = b.forLoop(lo, hi, one, {b.f32(0.0)},
                                [&](Value t, ValueRange acc)
                                    -> SmallVector<Value> {
                                  return {b.addf(acc[0], b.load(tokens, t))};
                                })[0];
          pooled = b.mulf(sum, invPool);
        }
        b.store(b.addf(b.load(sums, {batch, j}), pooled), sums, {batch, j});
        return {b.maxf(iters[0], pooled)};
      })[0];
}

/// Chunk reduction of one sequence into the result row.
void ChunkScoreLowering::chunkScores(Value batch, Value length,
                                     Value globalMax) {
  Value out = op.getInit();
  Value prefix = b.sub(length, window);
  Value chunk = b.index(policy.getChunkSize());
  b.ifThen(b.cmp(Pred::sgt, prefix, zero), [&]() {
    Value scored = formulas.scoredLength(length);
    Value numChunks = b.min(formulas.numChunks(length), b.dim(out, 1));
    // kvpress gives every window token of every kv head the score m + 1.
    Value windowScore = b.mulf(b.indexToFloat(kvHeads, b.getF32Type()),
                               b.addf(globalMax, b.f32(1.0)));
    bool mean = policy.getAggregate() == Aggregate::mean;
    b.forLoop(zero, numChunks, one, [&](Value c) {
      Value start = b.mul(c, chunk);
      Value end = b.min(b.add(start, chunk), scored);
      Value sum = b.forLoop(
          start, end, one, {b.f32(0.0)},
          [&](Value j, ValueRange acc) -> SmallVector<Value> {
            Value token = b.load(sums, {batch, b.min(j, prefix)});
            if (!formulas.isPaper())
              token = b.select(b.cmp(Pred::slt, j, prefix), token,
                               windowScore);
            return {b.addf(acc[0], token)};
          })[0];
      if (mean)
        sum = b.divf(sum, b.indexToFloat(b.sub(end, start), b.getF32Type()));
      b.store(sum, out, {batch, c});
    });
  });
}

//===----------------------------------------------------------------------===//
// topk_chunks
//===----------------------------------------------------------------------===//

/// Emits the memref form of topk_chunks: radix select per sequence.
class TopkLowering {
public:
  TopkLowering(KernelBuilder &b, TopkChunksOp op)
      : b(b), op(op), formulas(b, op.getPolicy()) {}

  void emit();

private:
  /// Order-preserving unsigned key of an f32 score; NaN is the lowest key
  /// and -0 equals +0.
  /// Key of the `count`-th largest score among `[0, n)`, and how many chunks
  /// with exactly that key are to be taken.
  std::pair<Value, Value> radixSelect(Value batch, Value numChunks,
                                      Value count);
  /// Writes the chosen ids ascending; returns the tokens they hold.
  Value takeChosen(Value batch, Value length, Value numChunks,
                   Value threshold, Value numEqual);

  KernelBuilder &b;
  TopkChunksOp op;
  PolicyFormulas formulas;
  Value zero, one, histogram;
};

std::pair<Value, Value> TopkLowering::radixSelect(Value batch,
                                                  Value numChunks,
                                                  Value count) {
  Value scores = op.getScores();
  Value bins = b.index(256);
  SmallVector<Value> found = b.forLoop(
      zero, b.index(4), one,
      {b.i32(0), b.i32(0), b.fromIndex(count, b.getI32Type())},
      [&](Value pass, ValueRange iters) -> SmallVector<Value> {
        Value prefix = iters[0], mask = iters[1], remaining = iters[2];
        Value shift = b.fromIndex(b.sub(b.index(24), b.mul(pass, b.index(8))),
                                  b.getI32Type());
        b.forLoop(zero, bins, one,
                  [&](Value bin) { b.store(b.i32(0), histogram, bin); });
        b.forLoop(zero, numChunks, one, [&](Value c) {
          Value key = orderedScoreKey(b, b.load(scores, {batch, c}));
          b.ifThen(b.cmp(Pred::eq, b.andI(key, mask), prefix), [&]() {
            Value digit = b.toIndex(b.andI(
                arith::ShRUIOp::create(b, key, shift), b.i32(255)));
            b.store(b.add(b.load(histogram, digit), b.i32(1)), histogram,
                    digit);
          });
        });
        // Scan digits from the top until `remaining` keys are covered.
        SmallVector<Value> scan = b.forLoop(
            zero, bins, one, {b.i32(0), b.i32(-1), remaining},
            [&](Value i, ValueRange state) -> SmallVector<Value> {
              Value cumulative = state[0], digit = state[1], left = state[2];
              Value bin = b.sub(b.index(255), i);
              Value total = b.add(cumulative, b.load(histogram, bin));
              Value searching = b.cmp(Pred::slt, digit, b.i32(0));
              Value hit = b.andI(searching, b.cmp(Pred::sge, total, remaining));
              return {b.select(searching, total, cumulative),
                      b.select(hit, b.fromIndex(bin, b.getI32Type()), digit),
                      b.select(hit, b.sub(remaining, cumulative), left)};
            });
        Value nextPrefix = b.orI(
            prefix, arith::ShLIOp::create(b, scan[1], shift));
        Value nextMask = b.orI(mask, arith::ShLIOp::create(b, b.i32(255), shift));
        return {nextPrefix, nextMask, scan[2]};
      });
  return {found[0], found[2]};
}

Value TopkLowering::takeChosen(Value batch, Value length, Value numChunks,
                               Value threshold, Value numEqual) {
  Value ids = op.getChunkIdsInit();
  Type idType = getElementTypeOrSelf(ids.getType());
  Value chunk = b.index(formulas.chunkSize());
  Value scored = formulas.scoredLength(length);
  SmallVector<Value> state = b.forLoop(
      zero, numChunks, one, {zero, b.i32(0), zero},
      [&](Value c, ValueRange iters) -> SmallVector<Value> {
        Value position = iters[0], equalTaken = iters[1], tokens = iters[2];
        Value key = orderedScoreKey(b, b.load(op.getScores(), {batch, c}));
        Value equal = b.cmp(Pred::eq, key, threshold);
        Value take = b.orI(b.cmp(Pred::ugt, key, threshold),
                           b.andI(equal, b.cmp(Pred::slt, equalTaken,
                                               numEqual)));
        b.ifThen(take, [&]() {
          b.store(b.fromIndex(c, idType), ids, {batch, position});
        });
        Value start = b.mul(c, chunk);
        Value size = b.min(chunk, b.sub(scored, start));
        return {b.select(take, b.add(position, one), position),
                b.select(b.andI(take, equal), b.add(equalTaken, b.i32(1)),
                         equalTaken),
                b.select(take, b.add(tokens, size), tokens)};
      });
  return state[2];
}

void TopkLowering::emit() {
  zero = b.index(0);
  one = b.index(1);
  Value scores = op.getScores(), ids = op.getChunkIdsInit();
  Value kept = op.getKeptLengthsInit();
  Type idType = getElementTypeOrSelf(ids.getType());
  Type lengthType = getElementTypeOrSelf(kept.getType());
  histogram = memref::AllocOp::create(
      b, MemRefType::get({256}, b.getI32Type()), ValueRange{});
  Value maxChunks = b.dim(scores, 1), maxChosen = b.dim(ids, 1);
  Value noChunk = b.fromIndex(b.index(-1), idType);
  b.forLoop(zero, b.dim(scores, 0), one, [&](Value batch) {
    Value length = b.max(b.toIndex(b.load(op.getLengths(), batch)), zero);
    b.forLoop(zero, maxChosen, one,
              [&](Value i) { b.store(noChunk, ids, {batch, i}); });
    Value keptLength = b.ifThenElse(
        {b.getIndexType()}, formulas.keepsWhole(length),
        [&]() -> SmallVector<Value> { return {length}; },
        [&]() -> SmallVector<Value> {
          Value numChunks = b.min(formulas.numChunks(length), maxChunks);
          Value count = b.min(formulas.numSelected(length),
                              b.min(maxChosen, numChunks));
          Value chosenTokens = b.ifThenElse(
              {b.getIndexType()}, b.cmp(Pred::sgt, count, zero),
              [&]() -> SmallVector<Value> {
                auto [threshold, numEqual] =
                    radixSelect(batch, numChunks, count);
                return {takeChosen(batch, length, numChunks, threshold,
                                   numEqual)};
              },
              [&]() -> SmallVector<Value> { return {zero}; })[0];
          if (formulas.isPaper())
            chosenTokens = b.add(chosenTokens, b.index(formulas.window()));
          return {chosenTokens};
        })[0];
    b.store(b.fromIndex(keptLength, lengthType), kept, batch);
  });
  memref::DeallocOp::create(b, histogram);
}

//===----------------------------------------------------------------------===//
// compact
//===----------------------------------------------------------------------===//

/// Emits the memref form of compact: whole-row copies in ascending order.
class CompactLowering {
public:
  CompactLowering(KernelBuilder &b, CompactOp op, int64_t vectorWidth)
      : b(b), op(op), layout(op.getLayout()), formulas(b, op.getPolicy()),
        width(vectorWidth) {}

  void emit();

private:
  /// Copies rows `[src, src + count)` to `[dst, dst + count)` of every head.
  void copyRows(Value batch, Value src, Value dst, Value count);

  KernelBuilder &b;
  CompactOp op;
  Layout layout;
  PolicyFormulas formulas;
  int64_t width;
  Value zero, one, heads, headDim;
};

void CompactLowering::copyRows(Value batch, Value src, Value dst,
                               Value count) {
  Value cache = op.getCache(), out = op.getCacheInit();
  auto vecType = VectorType::get(
      {width}, getElementTypeOrSelf(cache.getType()));
  // Rows are copied with vectors when both buffers are contiguous along D.
  bool contiguous = cast<MemRefType>(cache.getType()).isLastDimUnitStride() &&
                    cast<MemRefType>(out.getType()).isLastDimUnitStride();
  Value step = b.index(width);
  Value fullFeatures =
      contiguous ? b.sub(headDim, b.rem(headDim, step)) : zero;
  b.forLoop(zero, heads, one, [&](Value head) {
    b.forLoop(zero, count, one, [&](Value r) {
      Value from = b.add(src, r), to = b.add(dst, r);
      if (contiguous)
        b.forLoop(zero, fullFeatures, step, [&](Value d) {
          Value row = vector::LoadOp::create(
              b, vecType, cache, cacheIndex(layout, batch, head, from, d));
          vector::StoreOp::create(b, row, out,
                                  cacheIndex(layout, batch, head, to, d));
        });
      b.forLoop(fullFeatures, headDim, one, [&](Value d) {
        b.store(b.load(cache, cacheIndex(layout, batch, head, from, d)), out,
                cacheIndex(layout, batch, head, to, d));
      });
    });
  });
}

void CompactLowering::emit() {
  zero = b.index(0);
  one = b.index(1);
  Value cache = op.getCache(), ids = op.getChunkIds();
  heads = b.dim(cache, headsDim(layout));
  headDim = b.dim(cache, 3);
  Value capacity = b.dim(cache, capacityDim(layout));
  Value maxChosen = b.dim(ids, 1);
  Value chunk = b.index(formulas.chunkSize());
  Type lengthType = getElementTypeOrSelf(op.getLengthsInit().getType());
  b.forLoop(zero, b.dim(cache, 0), one, [&](Value batch) {
    Value length = clampedLength(b, op.getLengths(), batch, capacity);
    Value newLength = b.ifThenElse(
        {b.getIndexType()}, formulas.keepsWhole(length),
        [&]() -> SmallVector<Value> {
          // In place, a sequence kept whole is already where it belongs.
          if (op.getCache() != op.getCacheInit())
            copyRows(batch, zero, zero, length);
          return {length};
        },
        [&]() -> SmallVector<Value> {
          Value scored = formulas.scoredLength(length);
          Value numChunks = formulas.numChunks(length);
          Value dst = b.forLoop(
              zero, maxChosen, one, {zero},
              [&](Value i, ValueRange iters) -> SmallVector<Value> {
                Value id = b.toIndex(b.load(ids, {batch, i}));
                Value valid = b.andI(b.cmp(Pred::sge, id, zero),
                                     b.cmp(Pred::slt, id, numChunks));
                return b.ifThenElse(
                    {b.getIndexType()}, valid,
                    [&]() -> SmallVector<Value> {
                      Value start = b.mul(id, chunk);
                      Value size = b.min(chunk, b.sub(scored, start));
                      copyRows(batch, start, iters[0], size);
                      return {b.add(iters[0], size)};
                    },
                    [&]() -> SmallVector<Value> { return {iters[0]}; });
              })[0];
          if (formulas.isPaper()) {
            Value window = b.index(formulas.window());
            copyRows(batch, scored, dst, window);
            dst = b.add(dst, window);
          }
          return {dst};
        })[0];
    b.store(b.fromIndex(newLength, lengthType), op.getLengthsInit(), batch);
  });
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

bool hasTensorSemantics(Operation *op) {
  return llvm::any_of(op->getOperandTypes(),
                      [](Type t) { return isa<RankedTensorType>(t); });
}

/// Rewrites a tensor-form op into its memref form: inputs through
/// `bufferization.to_buffer`, outs into fresh allocations that become the
/// results through `bufferization.to_tensor`. Every out element that the op
/// defines is written, so the allocations need not copy the inits.
template <typename OpTy>
struct BufferizeTensorForm : public OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!hasTensorSemantics(op))
      return failure();
    Location loc = op.getLoc();
    auto dps = cast<DestinationStyleOpInterface>(op.getOperation());
    auto memrefTypeOf = [](Value tensor) {
      auto type = cast<RankedTensorType>(tensor.getType());
      return MemRefType::get(type.getShape(), type.getElementType());
    };
    SmallVector<Value> operands, buffers;
    for (OpOperand &operand : op->getOpOperands()) {
      Value tensor = operand.get();
      if (!dps.isDpsInit(&operand)) {
        operands.push_back(bufferization::ToBufferOp::create(
            rewriter, loc, memrefTypeOf(tensor), tensor, /*readOnly=*/true));
        continue;
      }
      SmallVector<Value> dynamicSizes;
      auto type = cast<RankedTensorType>(tensor.getType());
      for (int64_t i = 0, e = type.getRank(); i < e; ++i)
        if (type.isDynamicDim(i))
          dynamicSizes.push_back(tensor::DimOp::create(rewriter, loc, tensor, i));
      Value buffer = memref::AllocOp::create(rewriter, loc,
                                             memrefTypeOf(tensor), dynamicSizes);
      operands.push_back(buffer);
      buffers.push_back(buffer);
    }
    createMemRefForm(rewriter, op, operands);
    SmallVector<Value> results;
    for (auto [buffer, result] : llvm::zip(buffers, op->getResults()))
      results.push_back(bufferization::ToTensorOp::create(
          rewriter, loc, result.getType(), buffer, /*restrict=*/true,
          /*writable=*/true));
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct ChunkKVToLoopsPass
    : public chunkkv::impl::ChunkKVToLoopsPassBase<ChunkKVToLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorWidth < 1) {
      getOperation()->emitError()
          << "chunkkv-lower-to-loops: vector-width must be >= 1, got "
          << static_cast<int64_t>(vectorWidth);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    populateChunkKVToLoopsPatterns(patterns, vectorWidth);
    if (failed(lowerChunkKVOps(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::chunkkv::populateChunkKVToLoopsPatterns(RewritePatternSet &patterns,
                                                   int64_t vectorWidth) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<BufferizeTensorForm<ChunkScoreOp>,
               BufferizeTensorForm<TopkChunksOp>,
               BufferizeTensorForm<CompactOp>>(ctx);
  auto isMemRefForm = [](Operation *op) { return !hasTensorSemantics(op); };
  patterns.add<EmitterPattern<ChunkScoreOp, ChunkScoreLowering>,
               EmitterPattern<CompactOp, CompactLowering>,
               EmitterPattern<TopkChunksOp, TopkLowering>>(
      ctx, vectorWidth, +isMemRefForm);
}
