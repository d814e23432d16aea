//===- TopkKernel.cpp - topk_chunks as a GPU kernel -----------------------===//
//
// The radix select of topk_chunks, one block per sequence.
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::chunkkv;
using namespace mlir::chunkkv::gpukernels;

using Pred = arith::CmpIPredicate;

namespace {

/// Consecutive chunks a thread of the top-k kernel takes per pass over the
/// scores: their loads are in flight together, and the index-order pass
/// needs a block scan per kScanBlockSize * kTopkChunksPerThread chunks.
constexpr int64_t kTopkChunksPerThread = 4;
/// Tiles whose scores a radix pass of the top-k kernel loads at once: one
/// wait for memory per kTopkTilesPerLoad tiles (12288 chunks). Four would
/// spill on sm_80 within the 64 registers of a 1024-thread block.
constexpr int64_t kTopkTilesPerLoad = 3;
/// Bits of the top-k kernel's radix digits, from the top of the 32-bit
/// keys: three passes of 11, 11 and 10 bits. Scores of one sequence share
/// their sign and most of their exponent, so 8-bit digits needed three
/// passes (24 bits) before the k-th largest key's prefix was usually
/// unique; 11-bit digits usually get there in two. The histogram has
/// 2^11 bins, two per thread of the block.
constexpr int64_t kRadixBits = 11;
constexpr int64_t kRadixBins = int64_t(1) << kRadixBits;
constexpr int64_t kRadixPasses = (32 + kRadixBits - 1) / kRadixBits;

/// One block per sequence: a radix select (up to kRadixPasses passes of
/// kRadixBits-bit digits with a shared histogram) finds the k-th largest key
/// and how many of the keys equal to it are taken, or stops at a prefix whose
/// keys are all taken; block-wide scans then take chunks in index order, so
/// ties go to the lower index and the ids come out ascending. Each pass walks
/// the scores in tiles where thread t holds kTopkChunksPerThread
/// consecutive chunks (in index order, thread by thread).
class TopkGPULowering {
public:
  TopkGPULowering(KernelBuilder &b, TopkChunksOp op)
      : b(b), op(op), formulas(b, op.getPolicy()), queue(b) {}

  void emit();

private:
  /// The chunks `tile0 + j * tileSize + thread * kTopkChunksPerThread + u`
  /// (j < tiles) of sequence `batch`: whether each is below `numChunks`,
  /// and its score or ordered key.
  struct TileKeys {
    SmallVector<Value> chunks, valid, scores, keys;
  };
  /// Appends the chunks of the tile at `tile0` that `thread` holds, and
  /// whether each is below `numChunks`.
  void addTileChunks(TileKeys &tile, Value tile0, Value thread,
                     Value numChunks);
  /// Issues the loads of `tiles` tiles; `keys` stays empty.
  TileKeys loadScores(Value batch, Value tile0, Value thread, Value numChunks,
                      int64_t tiles);
  /// The block of one sequence: its shared buffers (a kRadixBins-bin histogram,
  /// the block scans' warp sums, values broadcast to the block), its place,
  /// and (chooseChunks) what it chooses from.
  struct SequenceBlock {
    Value histogram, warpSums, common;
    Value batch, thread, isFirst;
    /// The thread's lane (i32).
    Value lane;
    /// Chunks to choose from; the sequence's last chunk and how many tokens
    /// it lacks of a whole chunk.
    Value numChunks, lastChunk, lastShortfall;
    /// The ordered key of the last chunk chosen, the bits of keys that it
    /// compares with (i32: -1 unless the radix select stopped early), and
    /// how many keys equal to it are taken.
    Value threshold, thresholdMask, numEqual;
  };
  /// Chooses the chunks of a sequence that keeps part of its tokens: ids
  /// ascending, and the kept length.
  void chooseChunks(SequenceBlock &seq, Value length);
  /// Radix pass `pass` over the keys: `state` is (prefix, mask, remaining)
  /// after the previous passes; returns them for the next pass, and whether
  /// the remaining keys are all those with the prefix.
  SmallVector<Value> radixPass(const SequenceBlock &seq, Value pass,
                               ValueRange state);
  /// Adds the digit (the bits `digitMask` at `shift`) of each key of tile
  /// `j` of `tile` that has `prefix` under `mask` to the histogram.
  void countDigits(const SequenceBlock &seq, const TileKeys &tile, int64_t j,
                   Value prefix, Value mask, Value shift, Value digitMask);
  /// Takes the chosen chunks of the tile at `tile0` in index order; `iters`
  /// are (ids written, equal keys taken, the tile's scores), the result the
  /// same for the next tile.
  SmallVector<Value> takeTile(const SequenceBlock &seq, Value tile0,
                              ValueRange iters);

  KernelBuilder &b;
  TopkChunksOp op;
  PolicyFormulas formulas;
  DeviceQueue queue;
};

void TopkGPULowering::addTileChunks(TileKeys &tile, Value tile0, Value thread,
                                    Value numChunks) {
  Value first = b.add(tile0, b.mul(thread, b.index(kTopkChunksPerThread)));
  for (int64_t u = 0; u < kTopkChunksPerThread; ++u) {
    Value c = b.add(first, b.index(u));
    tile.chunks.push_back(c);
    tile.valid.push_back(b.cmp(Pred::slt, c, numChunks));
  }
}

TopkGPULowering::TileKeys TopkGPULowering::loadScores(Value batch, Value tile0,
                                                      Value thread,
                                                      Value numChunks,
                                                      int64_t tiles) {
  TileKeys tile;
  for (int64_t j = 0; j < tiles; ++j)
    addTileChunks(
        tile, b.add(tile0, b.index(j * kScanBlockSize * kTopkChunksPerThread)),
        thread, numChunks);
  // All loads after the addresses, so that they are in flight together.
  Value last = b.sub(numChunks, b.index(1));
  for (Value c : tile.chunks)
    tile.scores.push_back(b.load(op.getScores(), {batch, b.min(c, last)}));
  return tile;
}

void TopkGPULowering::emit() {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  Value zero = b.index(0), one = b.index(1);
  Value block = b.index(kScanBlockSize);
  Value scores = op.getScores(), ids = op.getChunkIdsInit();
  Value kept = op.getKeptLengthsInit();
  Type idType = getElementTypeOrSelf(ids.getType());
  Type lengthType = getElementTypeOrSelf(kept.getType());
  Value maxChosen = b.dim(ids, 1);
  SmallVector<Type> shared = {
      workgroupBuffer(ctx, {kRadixBins}, i32), // histogram
      workgroupBuffer(ctx, {kScanBlockSize / kThreadsPerWarp},
                      i32),            // scan sums
      workgroupBuffer(ctx, {4}, i32)}; // broadcast
  queue.launch("chunkkv_topk", {b.dim(scores, 0), one, one}, block, shared,
               [&](gpu::LaunchOp launchOp) {
                 SequenceBlock seq;
                 seq.histogram = launchOp.getWorkgroupAttributions()[0];
                 seq.warpSums = launchOp.getWorkgroupAttributions()[1];
                 seq.common = launchOp.getWorkgroupAttributions()[2];
                 seq.batch = launchOp.getBlockIds().x;
                 seq.thread = launchOp.getThreadIds().x;
                 seq.isFirst = b.cmp(Pred::eq, seq.thread, zero);
                 seq.lane = b.fromIndex(
                     b.rem(seq.thread, b.index(kThreadsPerWarp)), i32);
                 Value length =
                     b.max(b.toIndex(b.load(op.getLengths(), seq.batch)), zero);
                 Value noChunk = b.fromIndex(b.index(-1), idType);
                 b.forLoop(seq.thread, maxChosen, block, [&](Value i) {
                   b.store(noChunk, ids, {seq.batch, i});
                 });
                 gpu::BarrierOp::create(b);
                 Value keepsWhole = formulas.keepsWhole(length);
                 b.ifThen(b.andI(keepsWhole, seq.isFirst), [&]() {
                   b.store(b.fromIndex(length, lengthType), kept, seq.batch);
                 });
                 b.ifThen(arith::XOrIOp::create(b, keepsWhole, b.boolean(true)),
                          [&]() { chooseChunks(seq, length); });
               });
  queue.finish();
}

void TopkGPULowering::chooseChunks(SequenceBlock &seq, Value length) {
  Type i32 = b.getI32Type();
  Value zero = b.index(0), one = b.index(1);
  Value tileSize = b.index(kScanBlockSize * kTopkChunksPerThread);
  Value ids = op.getChunkIdsInit(), kept = op.getKeptLengthsInit();
  Type lengthType = getElementTypeOrSelf(kept.getType());
  Value maxChunks = b.dim(op.getScores(), 1), maxChosen = b.dim(ids, 1);
  seq.numChunks = b.min(formulas.numChunks(length), maxChunks);
  Value count =
      b.min(formulas.numSelected(length), b.min(maxChosen, seq.numChunks));
  Value scored = formulas.scoredLength(length);
  Value chunk = b.index(formulas.chunkSize());
  seq.lastChunk = b.sub(formulas.numChunks(length), one);
  seq.lastShortfall = b.sub(chunk, b.sub(scored, b.mul(seq.lastChunk, chunk)));
  // Radix select: after pass p, `prefix` holds the top bits of the k-th
  // largest key that passes 0 to p found, `mask` selects them, and
  // `remaining` is how many keys with that prefix are still to take. Once
  // that is all of them (at random scores, usually after the second pass)
  // the later passes would only rank keys that are all taken: they are
  // skipped.
  auto radixSelect = [&]() -> SmallVector<Value> {
    SmallVector<Value> state = b.forLoop(
        zero, b.index(kRadixPasses), one,
        {b.i32(0), b.i32(0), b.fromIndex(count, i32), b.boolean(false)},
        [&](Value pass, ValueRange iters) {
          return b.ifThenElse(
              iters.getTypes(), iters[3],
              [&]() { return SmallVector<Value>(iters); },
              [&]() { return radixPass(seq, pass, iters); });
        });
    state.pop_back();
    return state;
  };
  // Without chunks to choose, a threshold no key reaches takes none.
  SmallVector<Type> selectTypes(3, i32);
  SmallVector<Value> found =
      b.ifThenElse(selectTypes, b.cmp(Pred::sgt, count, zero), radixSelect,
                   [&]() -> SmallVector<Value> {
                     return {b.i32(-1), b.i32(-1), b.i32(0)};
                   });
  seq.threshold = found[0];
  seq.thresholdMask = found[1];
  seq.numEqual = found[2];
  b.ifThen(seq.isFirst, [&]() { b.store(b.i32(0), seq.common, b.index(2)); });
  gpu::BarrierOp::create(b);
  // Take chunks in index order, a tile at a time. Each tile's scores were
  // loaded during the previous one (the loop carries them).
  SmallVector<Type> tileTypes(kTopkChunksPerThread, b.getF32Type());
  SmallVector<Value> firstScores = b.ifThenElse(
      tileTypes, b.cmp(Pred::sgt, seq.numChunks, zero),
      [&]() -> SmallVector<Value> {
        return loadScores(seq.batch, zero, seq.thread, seq.numChunks, 1).scores;
      },
      [&]() -> SmallVector<Value> {
        return SmallVector<Value>(kTopkChunksPerThread, b.f32(0.0));
      });
  SmallVector<Value> inits = {b.i32(0), b.i32(0)};
  llvm::append_range(inits, firstScores);
  SmallVector<Value> taken = b.forLoop(zero, seq.numChunks, tileSize, inits,
                                       [&](Value tile0, ValueRange iters) {
                                         return takeTile(seq, tile0, iters);
                                       });
  gpu::BarrierOp::create(b);
  b.ifThen(seq.isFirst, [&]() {
    Value tokens = b.sub(b.mul(b.toIndex(taken[0]), chunk),
                         b.toIndex(b.load(seq.common, b.index(2))));
    if (formulas.isPaper())
      tokens = b.add(tokens, b.index(formulas.window()));
    b.store(b.fromIndex(tokens, lengthType), kept, seq.batch);
  });
}

SmallVector<Value> TopkGPULowering::radixPass(const SequenceBlock &seq,
                                              Value pass, ValueRange state) {
  Type i32 = b.getI32Type();
  Value zero = b.index(0), one = b.index(1);
  Value tileSize = b.index(kScanBlockSize * kTopkChunksPerThread);
  Value prefix = state[0], mask = state[1], remaining = state[2];
  // Pass p takes bits [shift, top) of the keys, top = 32 - p * kRadixBits.
  Value top = b.sub(b.index(32), b.mul(pass, b.index(kRadixBits)));
  Value shiftBits = b.max(b.sub(top, b.index(kRadixBits)), zero);
  Value shift = b.fromIndex(shiftBits, i32);
  Value digitMask =
      b.sub(arith::ShLIOp::create(b, b.i32(1),
                                  b.fromIndex(b.sub(top, shiftBits), i32)),
            b.i32(1));
  static_assert(kRadixBins == 2 * kScanBlockSize,
                "two histogram bins per thread");
  for (int64_t h = 0; h < kRadixBins / kScanBlockSize; ++h)
    b.store(b.i32(0), seq.histogram,
            b.add(seq.thread, b.index(h * kScanBlockSize)));
  gpu::BarrierOp::create(b);
  // kTopkTilesPerLoad tiles per wait for memory while they are all below
  // numChunks, then the rest a tile at a time: a last load of whole tiles
  // past numChunks would cost as much as a full one.
  Value loadSize = b.mul(tileSize, b.index(kTopkTilesPerLoad));
  Value wholeLoads = b.mul(b.div(seq.numChunks, loadSize), loadSize);
  b.forLoop(zero, wholeLoads, loadSize, [&](Value tile0) {
    TileKeys tile = loadScores(seq.batch, tile0, seq.thread, seq.numChunks,
                               kTopkTilesPerLoad);
    for (int64_t j = 0; j < kTopkTilesPerLoad; ++j)
      countDigits(seq, tile, j, prefix, mask, shift, digitMask);
  });
  b.forLoop(wholeLoads, seq.numChunks, tileSize, [&](Value tile0) {
    countDigits(seq, loadScores(seq.batch, tile0, seq.thread, seq.numChunks, 1),
                0, prefix, mask, shift, digitMask);
  });
  gpu::BarrierOp::create(b);
  // Bins from the top, two per thread (`high`, then `high - 1`): the digit
  // is where the running count of keys reaches `remaining`.
  Value high = b.sub(b.index(kRadixBins - 1), b.mul(seq.thread, b.index(2)));
  Value low = b.sub(high, one);
  Value highCount = b.load(seq.histogram, high);
  Value lowCount = b.load(seq.histogram, low);
  Value pairCount = b.add(highCount, lowCount);
  Value through = blockScan(b, pairCount, seq.thread, seq.warpSums).first;
  Value above = b.sub(through, pairCount);
  Value belowLow = b.add(above, highCount);
  Value inHigh = b.andI(b.cmp(Pred::slt, above, remaining),
                        b.cmp(Pred::sge, belowLow, remaining));
  Value inLow = b.andI(b.cmp(Pred::slt, belowLow, remaining),
                       b.cmp(Pred::sge, through, remaining));
  Value allOfBin = b.index(3);
  b.ifThen(b.orI(inHigh, inLow), [&]() {
    Value left = b.sub(remaining, b.select(inHigh, above, belowLow));
    Value binCount = b.select(inHigh, highCount, lowCount);
    b.store(b.fromIndex(b.select(inHigh, high, low), i32), seq.common, zero);
    b.store(left, seq.common, one);
    b.store(arith::ExtUIOp::create(b, i32, b.cmp(Pred::eq, left, binCount)),
            seq.common, allOfBin);
  });
  gpu::BarrierOp::create(b);
  Value digit = b.load(seq.common, zero);
  Value left = b.load(seq.common, one);
  Value done = b.cmp(Pred::ne, b.load(seq.common, allOfBin), b.i32(0));
  gpu::BarrierOp::create(b);
  return {b.orI(prefix, arith::ShLIOp::create(b, digit, shift)),
          b.orI(mask, arith::ShLIOp::create(b, digitMask, shift)), left, done};
}

void TopkGPULowering::countDigits(const SequenceBlock &seq,
                                  const TileKeys &tile, int64_t j, Value prefix,
                                  Value mask, Value shift, Value digitMask) {
  Type i32 = b.getI32Type();
  for (int64_t u = j * kTopkChunksPerThread; u < (j + 1) * kTopkChunksPerThread;
       ++u) {
    Value key = orderedScoreKey(b, tile.scores[u]);
    Value counted =
        b.andI(tile.valid[u], b.cmp(Pred::eq, b.andI(key, mask), prefix));
    Value digit = b.andI(arith::ShRUIOp::create(b, key, shift), digitMask);
    // Scores share their leading bits, so most lanes of a warp count the
    // same few digits: one atomic per distinct digit, from its lowest lane,
    // adding how many lanes have it (kRadixBins marks a lane that counts
    // nothing).
    Value peers = NVVM::MatchSyncOp::create(
        b, i32, b.i32(-1), b.select(counted, digit, b.i32(kRadixBins)),
        NVVM::MatchSyncKind::any);
    Value lowerLanes =
        b.sub(arith::ShLIOp::create(b, b.i32(1), seq.lane), b.i32(1));
    Value leads =
        b.andI(counted, b.cmp(Pred::eq, b.andI(peers, lowerLanes), b.i32(0)));
    b.ifThen(leads, [&]() {
      memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi,
                                  LLVM::CtPopOp::create(b, peers),
                                  seq.histogram, ValueRange{b.toIndex(digit)});
    });
  }
}

SmallVector<Value> TopkGPULowering::takeTile(const SequenceBlock &seq,
                                             Value tile0, ValueRange iters) {
  Type i32 = b.getI32Type();
  Value tileSize = b.index(kScanBlockSize * kTopkChunksPerThread);
  Value ids = op.getChunkIdsInit();
  Type idType = getElementTypeOrSelf(ids.getType());
  Value position = iters[0], equalTaken = iters[1];
  TileKeys next = loadScores(seq.batch, b.add(tile0, tileSize), seq.thread,
                             seq.numChunks, 1);
  TileKeys tile;
  addTileChunks(tile, tile0, seq.thread, seq.numChunks);
  // Keys compare under the threshold's mask (every bit unless the radix
  // select stopped early).
  for (Value score : iters.drop_front(2))
    tile.keys.push_back(b.andI(orderedScoreKey(b, score), seq.thresholdMask));
  // Keys above the threshold, and the first numEqual keys equal to it.
  SmallVector<Value> equal, above;
  Value equalCount = b.i32(0);
  for (auto [valid, key] : llvm::zip(tile.valid, tile.keys)) {
    equal.push_back(b.andI(valid, b.cmp(Pred::eq, key, seq.threshold)));
    above.push_back(b.andI(valid, b.cmp(Pred::ugt, key, seq.threshold)));
    equalCount =
        b.add(equalCount, arith::ExtUIOp::create(b, i32, equal.back()));
  }
  auto [equalEnd, equalTotal] =
      blockScan(b, equalCount, seq.thread, seq.warpSums);
  // Equal keys before this thread's, counting earlier tiles.
  Value equalSeen = b.add(equalTaken, b.sub(equalEnd, equalCount));
  SmallVector<Value> take;
  Value takeCount = b.i32(0);
  for (auto [isEqual, isAbove] : llvm::zip(equal, above)) {
    take.push_back(b.orI(
        isAbove, b.andI(isEqual, b.cmp(Pred::slt, equalSeen, seq.numEqual))));
    equalSeen = b.add(equalSeen, arith::ExtUIOp::create(b, i32, isEqual));
    takeCount = b.add(takeCount, arith::ExtUIOp::create(b, i32, take.back()));
  }
  auto [takeEnd, takeTotal] = blockScan(b, takeCount, seq.thread, seq.warpSums);
  Value slot = b.add(position, b.sub(takeEnd, takeCount));
  for (int64_t u = 0; u < kTopkChunksPerThread; ++u) {
    Value c = tile.chunks[u], isTaken = take[u];
    b.ifThen(isTaken, [&]() {
      b.store(b.fromIndex(c, idType), ids, {seq.batch, b.toIndex(slot)});
      b.ifThen(b.cmp(Pred::eq, c, seq.lastChunk), [&]() {
        b.store(b.fromIndex(seq.lastShortfall, i32), seq.common, b.index(2));
      });
    });
    slot = b.add(slot, arith::ExtUIOp::create(b, i32, isTaken));
  }
  SmallVector<Value> results = {b.add(position, takeTotal),
                                b.add(equalTaken, equalTotal)};
  llvm::append_range(results, next.scores);
  return results;
}

} // namespace

template <> void gpukernels::GPUKernels<TopkChunksOp>::emit() {
  TopkGPULowering(b, op).emit();
}
