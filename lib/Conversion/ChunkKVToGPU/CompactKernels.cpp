//===- CompactKernels.cpp - compact as GPU kernels ------------------------===//
//
// The plan and row-gather kernels of a group of compact ops.
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"

#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::chunkkv;
using namespace mlir::chunkkv::gpukernels;

using Pred = arith::CmpIPredicate;

namespace {

/// Blocks per sequence of the grid-stride row gather, and the 16-byte
/// vectors a thread loads at once per iteration.
constexpr int64_t kGatherBlocks = 512;
constexpr int64_t kGatherUnroll = 4;

/// One compaction of a CompactGPULowering group, and its device buffers.
struct Compaction {
  Compaction(KernelBuilder &b, CompactOp op)
      : op(op), layout(op.getLayout()), formulas(b, op.getPolicy()) {}

  bool inPlace() { return op.getCache() == op.getCacheInit(); }

  CompactOp op;
  Layout layout;
  PolicyFormulas formulas;
  Value batchSize, heads, capacity;
  Value sourceRows; // [B, S] i32
  Value newLengths; // [B] i32
  Value staging;    // in place: the gathered rows before the copy back
};

/// Compact ops lowered together (compactGroup, ChunkKVToGPU.cpp): consecutive,
/// and none touches a buffer that another writes, so their device work may run
/// side by side. Two kernels serve them all: a plan (a block per sequence and
/// op) turns the chosen chunk ids into the source row of every kept row
/// with a block-wide scan of chunk sizes, and the new length; then a
/// grid-stride gather copies whole rows with 16-byte vectors. In place, the
/// gather goes through a second buffer and a copy back, as blocks run in no
/// particular order. Each kernel is one launch for the whole group, its
/// blocks numbered by op as well, so K and V of one selection pay the
/// plan's latency (a few dependent memory round trips) once.
class CompactGPULowering {
public:
  CompactGPULowering(KernelBuilder &b, ArrayRef<CompactOp> ops)
      : b(b), queue(b) {
    for (CompactOp op : ops)
      compactions.emplace_back(b, op);
  }

  void emit();

private:
  /// One gather of a launch: rows `[0, newLength)` of every sequence from
  /// `src` to `dst`; row r comes from row `sourceRows[b, r]` of `src`, or
  /// from row r when `mapped` is false.
  struct RowCopy {
    Compaction *compaction;
    Value src, dst;
    bool mapped;
  };

  /// Runs `body(i)`, for each of the `count` ops of a launch, in the blocks
  /// whose op index `member` is i and whose sequence `batch` that op has.
  /// With one op the grid has exactly its sequences: no test.
  void forMember(Value member, Value batch, size_t count,
                 function_ref<Value(size_t)> batchSizeOf,
                 function_ref<void(size_t)> body);
  void emitPlanKernel();
  void emitPlan(Compaction &c, Value batch, Value thread, Value warpSums);
  void emitGatherKernel(ArrayRef<RowCopy> copies);
  void emitGather(const RowCopy &copy, Value batch, Value first, Value stride);

  KernelBuilder &b;
  DeviceQueue queue;
  SmallVector<Compaction> compactions;
  Value zero, one, maxBatchSize;
};

void CompactGPULowering::emit() {
  zero = b.index(0);
  one = b.index(1);
  for (Compaction &c : compactions) {
    Value cache = c.op.getCache();
    c.batchSize = b.dim(cache, 0);
    c.heads = b.dim(cache, headsDim(c.layout));
    c.capacity = b.dim(cache, capacityDim(c.layout));
    c.sourceRows = queue.alloc(b.getI32Type(), {c.batchSize, c.capacity});
    c.newLengths = queue.alloc(b.getI32Type(), {c.batchSize});
    maxBatchSize =
        maxBatchSize ? b.max(maxBatchSize, c.batchSize) : c.batchSize;
  }
  emitPlanKernel();
  SmallVector<RowCopy> gathers, copiesBack;
  for (Compaction &c : compactions) {
    Value dst = c.op.getCacheInit();
    if (c.inPlace()) {
      auto type = cast<MemRefType>(dst.getType());
      SmallVector<Value> sizes;
      for (int64_t i = 0; i < type.getRank(); ++i)
        if (type.isDynamicDim(i))
          sizes.push_back(b.dim(dst, i));
      c.staging = queue.alloc(
          MemRefType::get(type.getShape(), type.getElementType()), sizes);
      copiesBack.push_back({&c, c.staging, dst, /*mapped=*/false});
      dst = c.staging;
    }
    gathers.push_back({&c, c.op.getCache(), dst, /*mapped=*/true});
  }
  emitGatherKernel(gathers);
  if (!copiesBack.empty())
    emitGatherKernel(copiesBack);
  for (Compaction &c : compactions) {
    if (c.staging)
      queue.free(c.staging);
    queue.free(c.sourceRows);
    queue.free(c.newLengths);
  }
  queue.finish();
}

void CompactGPULowering::forMember(Value member, Value batch, size_t count,
                                   function_ref<Value(size_t)> batchSizeOf,
                                   function_ref<void(size_t)> body) {
  if (count == 1)
    return body(0);
  for (size_t i = 0; i < count; ++i) {
    Value mine = b.andI(b.cmp(Pred::eq, member, b.index(i)),
                        b.cmp(Pred::slt, batch, batchSizeOf(i)));
    b.ifThen(mine, [&]() { body(i); });
  }
}

void CompactGPULowering::emitPlanKernel() {
  Type i32 = b.getI32Type();
  Value members = b.index(compactions.size());
  queue.launch("chunkkv_compact_plan", {maxBatchSize, members, one},
               b.index(kScanBlockSize),
               {workgroupBuffer(b.getContext(),
                                {kScanBlockSize / kThreadsPerWarp}, i32)},
               [&](gpu::LaunchOp launchOp) {
                 Value batch = launchOp.getBlockIds().x;
                 forMember(
                     launchOp.getBlockIds().y, batch, compactions.size(),
                     [&](size_t i) { return compactions[i].batchSize; },
                     [&](size_t i) {
                       emitPlan(compactions[i], batch,
                                launchOp.getThreadIds().x,
                                launchOp.getWorkgroupAttributions()[0]);
                     });
               });
}

void CompactGPULowering::emitPlan(Compaction &c, Value batch, Value thread,
                                  Value warpSums) {
  Type i32 = b.getI32Type();
  Value block = b.index(kScanBlockSize);
  Value ids = c.op.getChunkIds();
  Value maxChosen = b.dim(ids, 1);
  PolicyFormulas &formulas = c.formulas;
  Value chunk = b.index(formulas.chunkSize());
  Type lengthType = getElementTypeOrSelf(c.op.getLengthsInit().getType());
  Value length = clampedLength(b, c.op.getLengths(), batch, c.capacity);
  auto mapRows = [&](Value src, Value dst, Value count) {
    b.forLoop(thread, count, block, [&](Value r) {
      b.store(b.fromIndex(b.add(src, r), i32), c.sourceRows,
              {batch, b.add(dst, r)});
    });
  };
  Value newLength = b.ifThenElse(
      {b.getIndexType()}, formulas.keepsWhole(length),
      [&]() -> SmallVector<Value> {
        // Out of place, a whole sequence is copied as it is.
        bool copiesWhole = !c.inPlace();
        mapRows(zero, zero, copiesWhole ? length : zero);
        return {copiesWhole ? length : zero};
      },
      [&]() -> SmallVector<Value> {
        Value scored = formulas.scoredLength(length);
        Value numChunks = formulas.numChunks(length);
        Value written = b.forLoop(
            zero, maxChosen, block, {b.i32(0)},
            [&](Value tile0, ValueRange iters) -> SmallVector<Value> {
              Value i = b.add(tile0, thread);
              Value inside = b.cmp(Pred::slt, i, maxChosen);
              Value id = b.toIndex(
                  b.load(ids, {batch, b.min(i, b.sub(maxChosen, one))}));
              Value valid =
                  b.andI(inside, b.andI(b.cmp(Pred::sge, id, zero),
                                        b.cmp(Pred::slt, id, numChunks)));
              Value start = b.mul(id, chunk);
              Value size =
                  b.select(valid, b.min(chunk, b.sub(scored, start)), zero);
              Value size32 = b.fromIndex(size, i32);
              auto [end, total] = blockScan(b, size32, thread, warpSums);
              Value dst = b.toIndex(b.add(iters[0], b.sub(end, size32)));
              b.forLoop(zero, size, one, [&](Value r) {
                b.store(b.fromIndex(b.add(start, r), i32), c.sourceRows,
                        {batch, b.add(dst, r)});
              });
              return {b.add(iters[0], total)};
            })[0];
        Value rows = b.toIndex(written);
        if (!formulas.isPaper())
          return {rows};
        Value window = b.index(formulas.window());
        mapRows(scored, rows, window);
        return {b.add(rows, window)};
      })[0];
  b.ifThen(b.cmp(Pred::eq, thread, zero), [&]() {
    Value reported = formulas.keepsWhole(length);
    // The op reports the valid length even where nothing was copied.
    Value result = b.select(reported, length, newLength);
    b.store(b.fromIndex(result, lengthType), c.op.getLengthsInit(), batch);
    b.store(b.fromIndex(newLength, i32), c.newLengths, batch);
  });
}

void CompactGPULowering::emitGatherKernel(ArrayRef<RowCopy> copies) {
  Value block = b.index(kBlockSize);
  Value gridX = b.index(kGatherBlocks);
  queue.launch("chunkkv_compact_gather",
               {gridX, maxBatchSize, b.index(copies.size())}, block, {},
               [&](gpu::LaunchOp launchOp) {
                 Value batch = launchOp.getBlockIds().y;
                 Value first = b.add(b.mul(launchOp.getBlockIds().x, block),
                                     launchOp.getThreadIds().x);
                 forMember(
                     launchOp.getBlockIds().z, batch, copies.size(),
                     [&](size_t i) { return copies[i].compaction->batchSize; },
                     [&](size_t i) {
                       emitGather(copies[i], batch, first, b.mul(gridX, block));
                     });
               });
}

void CompactGPULowering::emitGather(const RowCopy &copy, Value batch,
                                    Value first, Value stride) {
  const Compaction &c = *copy.compaction;
  Type element = getElementTypeOrSelf(copy.src.getType());
  int64_t lanes = vectorLanes(element);
  int64_t headDim = cast<MemRefType>(copy.src.getType()).getDimSize(3);
  Value vectorsPerRow = b.index(headDim / lanes);
  auto vectorType = VectorType::get({lanes}, element);
  Value rows = b.toIndex(b.load(c.newLengths, batch));
  Value perRow = b.mul(c.heads, vectorsPerRow);
  Value total = b.mul(rows, perRow);
  // Element e is (row, column) = (e / perRow, e % perRow) of the rows'
  // vectors of every head; a thread's elements lie `stride` apart, so each
  // position follows from the previous one with an add and a carry
  // instead of a 64-bit division.
  Value strideRows = b.div(stride, perRow);
  Value strideColumns = b.rem(stride, perRow);
  auto advance = [&](std::pair<Value, Value> at) -> std::pair<Value, Value> {
    Value column = b.add(at.second, strideColumns);
    Value carry = b.cmp(Pred::sge, column, perRow);
    return {b.add(b.add(at.first, strideRows), b.select(carry, one, zero)),
            b.select(carry, b.sub(column, perRow), column)};
  };
  Value firstAt[] = {b.div(first, perRow), b.rem(first, perRow)};
  b.forLoop(
      first, total, b.mul(stride, b.index(kGatherUnroll)), ValueRange(firstAt),
      [&](Value, ValueRange at) -> SmallVector<Value> {
        // Every address, then every load, then the stores: the loads of the
        // kGatherUnroll vectors are in flight together (the first element of
        // an iteration always exists; the others may lie past the end).
        SmallVector<Value> inside, rowsOut, heads, features;
        std::pair<Value, Value> position{at[0], at[1]};
        for (int64_t u = 0; u < kGatherUnroll; ++u) {
          if (u > 0)
            position = advance(position);
          auto [row, column] = position;
          inside.push_back(u == 0 ? Value() : b.cmp(Pred::slt, row, rows));
          rowsOut.push_back(row);
          heads.push_back(b.div(column, vectorsPerRow));
          features.push_back(
              b.mul(b.rem(column, vectorsPerRow), b.index(lanes)));
        }
        auto ifInside = [&](int64_t u, Type type, Value outside,
                            function_ref<Value()> value) -> Value {
          if (!inside[u])
            return value();
          return b.ifThenElse(
              type, inside[u],
              [&]() -> SmallVector<Value> { return {value()}; },
              [&]() -> SmallVector<Value> { return {outside}; })[0];
        };
        SmallVector<Value> rowsIn(rowsOut);
        if (copy.mapped)
          for (int64_t u = 0; u < kGatherUnroll; ++u)
            rowsIn[u] = ifInside(u, b.getIndexType(), zero, [&]() {
              return b.toIndex(b.load(c.sourceRows, {batch, rowsOut[u]}));
            });
        Value nothing =
            arith::ConstantOp::create(b, vectorType, b.getZeroAttr(vectorType));
        SmallVector<Value> data;
        for (int64_t u = 0; u < kGatherUnroll; ++u)
          data.push_back(ifInside(u, vectorType, nothing, [&]() {
            return alignedLoad(
                b, vectorType, copy.src,
                cacheIndex(c.layout, batch, heads[u], rowsIn[u], features[u]),
                kVectorBytes);
          }));
        for (int64_t u = 0; u < kGatherUnroll; ++u) {
          auto store = [&]() {
            alignedStore(
                b, data[u], copy.dst,
                cacheIndex(c.layout, batch, heads[u], rowsOut[u], features[u]),
                kVectorBytes);
          };
          if (inside[u])
            b.ifThen(inside[u], store);
          else
            store();
        }
        position = advance(position);
        return {position.first, position.second};
      });
}

} // namespace

void gpukernels::emitCompactionKernels(KernelBuilder &b,
                                       ArrayRef<CompactOp> group) {
  CompactGPULowering(b, group).emit();
}
