//===- ScoreKernels.cpp - chunk_score as GPU kernels ----------------------===//
//
// The kernels of chunk_score: softmax statistics over spans of keys (FMA
// loops, or mma.sync / wgmma tensor-core tiles with keys staged by
// cp.async), their combination per window query, and the token or chunk
// sums that follow; docs/gpu.md describes each.
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/StringExtras.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::chunkkv;
using namespace mlir::chunkkv::gpukernels;

using Pred = arith::CmpIPredicate;

namespace {

/// Keys whose logits one thread computes together (independent FMA chains).
constexpr int64_t kKeysPerStep = 4;
/// Query features per vector register in the score kernels.
constexpr int64_t kFeatureVector = 4; // == the 4 lanes of vector shuffles
/// Window queries of one block of the tensor-core score kernels: `mma-warps`
/// warps (GPUScoreOptions::mmaWarps) of `mma-row-tiles` 16-row mma tiles
/// (GPUScoreOptions::mmaRowTiles); a lane holds rows `group + 8 * i` for
/// i < 2 * mma-row-tiles.
constexpr int64_t kMmaRows = 16;
/// Warps of a tensor-core score block where `mma-warps` does not apply.
constexpr int64_t kDefaultMmaWarps = 4;
/// Keys per step of a warp: four 8-key mma tiles, independent accumulators.
constexpr int64_t kMmaTiles = 4;
constexpr int64_t kMmaKeysPerStep = 8 * kMmaTiles;
/// Features of one 16-byte load of f16/bf16 per lane; four lanes share a
/// key row, so the head dimension must be a multiple of 32.
constexpr int64_t kMmaFeatureStride = 32;
/// Starting maximum of the tensor-core statistics: finite, so that a row
/// without visible keys yet never computes exp(-inf - -inf).
constexpr double kNoMaximum = -1e30;
/// Chunk slots of one mma.sync n-tile in the single-pass score kernel.
constexpr int64_t kSlotsPerMmaTile = 8;
/// Spans whose statistics a lane of the combine kernel loads at once.
constexpr int64_t kCombineSpans = 4;
/// Warps of the single-pass chunk kernel, and the query rows of each of
/// kChunkSumHeads kv heads that a lane loads at once (16-byte loads of
/// kPartialVector partials and kShareVector shares): enough loads in
/// flight to hide memory latency.
constexpr int64_t kChunkSumWarps = 8;
constexpr int64_t kChunkSumRows = 16;
constexpr int64_t kChunkSumHeads = 2;
constexpr int64_t kPartialVector = 8;
/// Blocks per SM the chunk kernel's registers are bounded for: ptxas
/// issues the twelve 16-byte loads of two kv heads before their first use
/// (one wait for memory) in about 122 registers on sm_90, two blocks;
/// bounded for three (80 registers) it splits them, two waits.
constexpr int64_t kChunkSumBlocksPerSM = 2;
/// The same for the combine kernel: four blocks (62 registers on sm_90),
/// one wait for its kCombineSpans spans per lane instead of four.
constexpr int64_t kCombineBlocksPerSM = 4;
/// Shares (f32) of one 16-byte load in the chunk kernel; kChunkSumRows
/// rows are a multiple, and so 16-byte aligned in the padded share rows.
constexpr int64_t kShareVector = 4;

double negInfinity() { return -std::numeric_limits<double>::infinity(); }

/// Bounds the registers of the kernel `launch` outlines for `blocks` blocks
/// per SM (nvvm.minctasm, PTX .minnctapersm). Besides occupancy this moves
/// ptxas's scheduling: with no bound it may keep a kernel's registers low
/// by placing each global load just before its use, a wait for memory
/// each, where a bound lets it issue a block of loads before the first use.
void boundRegisters(gpu::LaunchOp launch, int64_t blocks) {
  launch->setAttr(
      NVVM::NVVMDialect::getMinctasmAttrName(),
      IntegerAttr::get(IntegerType::get(launch.getContext(), 32), blocks));
}

/// Sum (or maximum) of `value` over the 32 lanes of a warp, in every lane.
Value warpReduce(KernelBuilder &b, Value value, bool maximum) {
  for (int64_t offset = kThreadsPerWarp / 2; offset > 0; offset /= 2) {
    Value other = shuffle(b, value, offset, gpu::ShuffleMode::XOR);
    if (!maximum)
      value = b.addf(value, other);
    else if (isa<FloatType>(value.getType()))
      value = b.maxf(value, other);
    else
      value = b.max(value, other);
  }
  return value;
}

/// Entries per row of the single-pass kernel's chunk slots in shared memory
/// (8 bytes each), for rows of `slots`: a half-warp's slot accesses take
/// rows g < 4 and slots 2q (+ 1) for the lanes (g, q), and rows whose
/// stride is 3, 5, 11 or 13 modulo 16 entries put up to three quads of
/// each on distinct banks (a step of 32 keys reaches at most six slots of
/// chunks of 8 tokens or more).
int64_t chunkSlotStride(int64_t slots) {
  int64_t stride = slots;
  while (!llvm::is_contained({3, 5, 11, 13}, stride % 16))
    ++stride;
  return stride;
}

/// The 16-byte column of shared memory that holds column `column` of the
/// tensor-core kernels' staged key row `row` (rows of `rowVectors` 16-byte
/// vectors, unpadded). The eight lanes of a quarter-warp read four columns
/// of two adjacent rows: rows of a multiple of 128 bytes would put both on
/// the same banks, so odd rows swap the halves of every 128 bytes (column
/// ^ 4); rows of an odd multiple of 64 bytes alternate halves as they are.
Value stagedKeyColumn(KernelBuilder &b, int64_t rowVectors, Value row,
                      Value column) {
  if (rowVectors % 8 != 0)
    return column;
  Value swap = b.mul(b.andI(row, b.index(1)), b.index(4));
  return arith::XOrIOp::create(b, column, swap);
}

/// Bytes of a core matrix of the warpgroup mma's shared-memory operand:
/// eight keys of one 16-byte column, one key every 16 bytes.
constexpr int64_t kCoreMatrixBytes = 128;
/// Features of one k-step of the warpgroup mma (m64nNk16).
constexpr int64_t kWarpgroupMmaDepth = 16;

/// Where column `column` (16 bytes) of staged key `row` goes in a step's
/// [kMmaKeysPerStep, headDim] buffer for the warpgroup mma, as (row,
/// feature) indices of that buffer: wgmma reads its B operand without a
/// swizzle as K-major core matrices, so the step is laid out column by
/// column, each column's kMmaTiles core matrices (keys 8i to 8i + 7) one
/// after the other. A descriptor's leading byte offset (the next 8
/// features) is then kMmaTiles core matrices, its stride byte offset (the
/// next 8 keys) one.
std::array<Value, 2> warpgroupStagedKey(KernelBuilder &b, int64_t headDim,
                                        Value row, Value column) {
  Value eight = b.index(8);
  Value matrix = b.add(b.mul(column, b.index(kMmaTiles)), b.div(row, eight));
  Value element = b.mul(b.add(b.mul(matrix, eight), b.rem(row, eight)), eight);
  return {b.div(element, b.index(headDim)), b.rem(element, b.index(headDim))};
}

/// The wgmma shared-memory descriptor of a B operand at the shared-window
/// byte `address` (index) in warpgroupStagedKey's layout, as an index:
/// bits 0-13 the address / 16, 16-29 the leading byte offset / 16, 32-45
/// the stride byte offset / 16, no swizzle. Later k-steps and stages add
/// their byte offset / 16 (the address field does not overflow: shared
/// memory is below 256 KiB).
Value warpgroupDescriptor(KernelBuilder &b, Value address) {
  int64_t leading = kMmaTiles * kCoreMatrixBytes, stride = kCoreMatrixBytes;
  Value start = b.div(b.rem(address, b.index(1 << 18)), b.index(16));
  return b.add(start, b.index((leading / 16) << 16 | (stride / 16) << 32));
}

/// f32 accumulators of one warp's 16 rows of a warpgroup mma step.
constexpr int64_t kWarpgroupAccumulators = 4 * kMmaTiles;

/// The struct of `count` f32 that inline PTX with as many "=f" returns.
Type floatStruct(KernelBuilder &b, int64_t count) {
  return LLVM::LLVMStructType::getLiteral(
      b.getContext(), SmallVector<Type>(count, b.getF32Type()));
}

/// Constraints "=f" for `outputs` f32, then `inputs`, then (where `tied`)
/// each output again as an input tied to it.
std::string floatOutputConstraints(int64_t outputs, ArrayRef<StringRef> inputs,
                                   bool tied) {
  SmallVector<std::string> all(outputs, "=f");
  for (StringRef input : inputs)
    all.push_back(input.str());
  for (int64_t i = 0; tied && i < outputs; ++i)
    all.push_back(std::to_string(i));
  return llvm::join(all, ",");
}

SmallVector<Value> structFields(KernelBuilder &b, Value value, int64_t count) {
  SmallVector<Value> fields;
  for (int64_t i = 0; i < count; ++i)
    fields.push_back(LLVM::ExtractValueOp::create(b, value, i));
  return fields;
}

Value inlinePtx(KernelBuilder &b, Type result, ValueRange operands,
                StringRef text, StringRef constraints) {
  return LLVM::InlineAsmOp::create(b, result, operands, text, constraints,
                                   /*has_side_effects=*/true,
                                   /*is_align_stack=*/false,
                                   LLVM::tailcallkind::TailCallKind::None,
                                   LLVM::AsmDialectAttr(), ArrayAttr())
      .getResult(0);
}

/// One k-step of a warpgroup's wgmma.mma_async over kMmaKeysPerStep keys:
/// `a`, this warp's four A registers (mma.sync's m16n8k16 layout, the
/// warp's 16 of the warpgroup's 64 rows), times the keys' 16 features at
/// `descriptor` (i64), plus `accumulators` (none: D = A * B). Inline PTX,
/// as the NVVM op takes A from shared memory only; the result must not be
/// read before warpgroupMmaWait.
Value warpgroupMmaStep(KernelBuilder &b, ArrayRef<Value> a, Value descriptor,
                       Value accumulators, Type element) {
  int64_t outputs = kWarpgroupAccumulators;
  std::string text = "wgmma.mma_async.sync.aligned.m64n" +
                     std::to_string(kMmaKeysPerStep) + "k" +
                     std::to_string(kWarpgroupMmaDepth) + ".f32";
  std::string type = element.isBF16() ? ".bf16" : ".f16";
  text += type + type + " {";
  for (int64_t i = 0; i < outputs; ++i)
    text += (i ? ", $" : "$") + std::to_string(i);
  text += "}, {";
  for (int64_t i = 0; i < 4; ++i)
    text += (i ? ", $" : "$") + std::to_string(outputs + i);
  // scale-d 0 (D = A * B) or 1; A and B not negated; B K-major.
  text += "}, $" + std::to_string(outputs + 4) + ", " +
          (accumulators ? "1" : "0") + ", 1, 1, 0;";
  SmallVector<Value> operands;
  for (Value reg : a)
    operands.push_back(LLVM::BitcastOp::create(b, b.getI32Type(), reg));
  operands.push_back(descriptor);
  if (accumulators)
    llvm::append_range(operands, structFields(b, accumulators, outputs));
  return inlinePtx(b, floatStruct(b, outputs), operands, text,
                   floatOutputConstraints(outputs, {"r", "r", "r", "r", "l"},
                                          /*tied=*/bool(accumulators)));
}

/// Commits the warpgroup mma of a step and waits for it; returns the fields
/// of the accumulator structs `accumulators` one after the other, passed
/// through the wait so that nothing reads them before it.
SmallVector<Value> warpgroupMmaWait(KernelBuilder &b,
                                    ArrayRef<Value> accumulators) {
  NVVM::WgmmaGroupSyncAlignedOp::create(b);
  SmallVector<Value> fields;
  for (Value accumulator : accumulators)
    llvm::append_range(fields,
                       structFields(b, accumulator, kWarpgroupAccumulators));
  int64_t count = fields.size();
  Value waited = inlinePtx(b, floatStruct(b, count), fields,
                           "wgmma.wait_group.sync.aligned 0;",
                           floatOutputConstraints(count, {}, /*tied=*/true));
  return structFields(b, waited, count);
}

/// Emits the kernels of chunk_score:
///  1. softmax statistics: per (span of keys, kv head, sequence) block, one
///     thread per window query of the group computes its logits against the
///     keys staged in shared memory and keeps an online maximum and sum;
///  2. combine: per window query, the statistics of all spans;
///  3. token sums: the same blocks recompute the logits of the prefix keys
///     and add up `exp(x - max) * factor / sum` over the group's queries;
///  4. pooling, group mean and head sum per token (and kvpress's maximum);
///  5. chunk reduction.
/// The paper policy on tensor cores reads K once instead: its chunk scores
/// are linear in the probabilities, so kernel 1 also sums each query's
/// `2^(x - span max)` into the chunks its span's keys add to (pooling
/// weights included), kernel 2 combines the statistics, and a last kernel
/// adds up the partials per chunk, each weighted by its span's share
/// `2^(span max - max) * factor / sum` of the query's softmax. kvpress needs
/// every token's pooled score for its batch maximum and keeps the token pass.
class ChunkScoreGPULowering {
public:
  ChunkScoreGPULowering(KernelBuilder &b, ChunkScoreOp op,
                        GPUScoreOptions options)
      : b(b), op(op), policy(op.getPolicy()), layout(op.getLayout()),
        formulas(b, policy), tokensPerBlock(options.tokensPerBlock),
        allowSinglePass(options.singlePass), rowTiles(options.mmaRowTiles),
        laneRows(2 * rowTiles), requestedMmaWarps(options.mmaWarps),
        keyStages(options.keyStages), minBlocksPerSM(options.minBlocksPerSM),
        sharedMemoryPerBlock(options.sharedMemoryPerBlock),
        warpgroupMma(options.warpgroupMma), queue(b) {}

  void emit();

private:
  /// Statistics (pass 1) or token sums (pass 2) with FMA loops: f32
  /// caches and head dimensions that the tensor-core kernels do not take.
  void emitScoreKernel(bool tokenPass);
  /// The same on tensor cores, mma.sync or (warpgroup-mma) wgmma: f16/bf16,
  /// head dimension a multiple of 32. Each block takes a span of keys and
  /// rowsPerMmaBlock window queries of one kv head (ScoreBlock).
  void emitTensorCoreScoreKernel(bool tokenPass);
  /// `acc + a * b` on one 16x8x16 tile (`a` four and `b` two registers of
  /// two f16/bf16 each) or, for `element` tf32, one 16x8x8 tile (registers
  /// of one tf32 each, as i32); `acc` four f32.
  SmallVector<Value> mma(ArrayRef<Value> a, ArrayRef<Value> b,
                         ArrayRef<Value> acc, Type element);
  void emitCombineKernel();
  /// The softmax statistics (max, sum) of two parts of a row, as one.
  SmallVector<Value> combineStatistics(Value max1, Value sum1, Value max2,
                                       Value sum2);
  void emitPoolKernel();
  void emitChunkKernel();
  /// Single pass: chunk score = sum over kv heads, queries and spans of
  /// the span's softmax share * chunk partial.
  void emitChunkPartialsKernel();

  /// Keys on each side of a token that its pooled score averages over.
  int64_t poolReach() const { return policy.getPool() / 2; }
  /// What one key in one chunk weighs in the slot mma's B fragments: 2.0
  /// without pooling (see poolCounts), else 1.0 per pooled position.
  int64_t slotCountUnit() const { return poolReach() == 0 ? 2 : 1; }
  /// Slots of one step's chunks.
  int64_t stepSlots() const { return chunksTouched(kMmaKeysPerStep); }
  /// Whether, without pooling, the slot mma's last n-tile has a column to
  /// spare: it then weighs every key of the step alike (slotCountUnit()),
  /// which makes it each row's sum of the step's exponentials, instead of a
  /// tree of adds per lane. (With pooling, bounds that take every key cost
  /// ptxas more than the adds.)
  bool rowSumsBySlotMma() const {
    return poolReach() == 0 && stepSlots() % kSlotsPerMmaTile != 0;
  }
  /// Chunks whose pooled scores `keys` consecutive keys add to, at most.
  int64_t chunksTouched(int64_t keys) const {
    return (keys - 1 + 2 * poolReach()) / policy.getChunkSize() + 2;
  }
  /// The keys of span `spanIndex` of sequence `batch` that a score kernel
  /// takes: every visible key for the statistics, the prefix for the token
  /// sums; `active` when the sequence is scored and the span holds any.
  struct SpanBounds {
    Value prefix, start, end, active;
  };
  SpanBounds spanBounds(Value batch, Value spanIndex, bool tokenPass);
  /// `sum` over the chunk's tokens `[start, stop)`, or their mean for
  /// `aggregate = mean`.
  Value aggregateChunk(Value sum, Value start, Value stop);
  /// Keys per span of the single-pass score kernel: the most, up to
  /// tokens-per-block, whose chunk slots fit in sharedMemoryPerBlock next
  /// to the staged keys; 0 when not even one step's do.
  int64_t singlePassSpanLength() const;
  /// Bytes of a block's chunk slots for spans of `slots` slots: per row of
  /// the block, rows of chunkSlotStride(slots) vector<2xf32> entries.
  int64_t chunkSlotBytes(int64_t slots) const {
    return rowsPerMmaBlock * chunkSlotStride(slots) * 2 * 4;
  }
  /// Shared buffers of the single-pass score kernel, per warp: the rows'
  /// final maxima `[rows]`, and per chunk slot of the span a partial sum
  /// and the maximum it is relative to, as one vector<2xf32>
  /// `[rows, slots]`.
  struct ChunkPartialBuffers {
    Value rowMaxima, slots;
  };
  /// Adds one step's exponentials (keys `[key0, key0 + kMmaKeysPerStep)`)
  /// to the warp's chunk slots. `terms[h]` are the lane's values of row
  /// `group + 8h` in the mma accumulator order (term i: key
  /// `8 * (i / 2) + 2 * quad + i % 2`), relative to `maxima[h]`. Every lane
  /// of the warp calls it. Positions (`key0`, the span, the prefix) are i32.
  /// With rowSumsBySlotMma(), returns per h the sum of row `group + 8h`'s
  /// terms times slotCountUnit() in the lanes with quad 3 (other values in
  /// the others).
  SmallVector<Value> addStepToChunkSlots(const ChunkPartialBuffers &buffers,
                                         Value warp, Value group, Value quad,
                                         Value key0, Value spanStart,
                                         Value spanEnd, Value prefix,
                                         ArrayRef<SmallVector<Value>> terms,
                                         ArrayRef<Value> maxima);
  /// The B fragment of one 8-key tile of the slot mma: the lane's two
  /// registers (tf32, as i32) of pooling counts `pool * avg_pool1d weight`
  /// of the keys at step offsets `pairOffset + keyOffsets[i]` (i32) in the
  /// chunk at step offsets `[chunkStart, chunkEnd)`, zero at offsets from
  /// `limit` on; without pooling, where `everyKey` (i1, if given) holds,
  /// every key's weight.
  SmallVector<Value> poolCounts(Value pairOffset, ArrayRef<int64_t> keyOffsets,
                                Value chunkStart, Value chunkEnd, Value limit,
                                Value everyKey);

  /// One block of a tensor-core score kernel: its place in the grid, its
  /// span of keys, this lane's window queries and the block's buffers.
  struct ScoreBlock {
    bool tokenPass = false;
    /// Single pass: the statistics kernel also sums into chunk slots.
    bool chunkSlots = false;
    /// The logits' base-2 scale and -inf (created before the launch).
    Value scale, negInf;
    Value rowGroup, spanIndex, kvHead, batch, thread, lane, warp, group, quad;
    SpanBounds span;
    /// The span's positions as i32 (the capacity is below kMaxCapacity):
    /// the loop's masks, clamps and chunk numbers are single 32-bit
    /// instructions.
    Value prefix, spanStart, spanEnd;
    /// The block's first window query row.
    Value firstRow;
    /// Per row of the lane (`group + 8h` of each of the warp's 16-row
    /// tiles): its window query row, clamped to the last; whether it is
    /// one; the last key it sees (i32); its features as the mma's A pairs
    /// (two f16/bf16 each).
    SmallVector<Value> rows, real, lastVisible;
    SmallVector<SmallVector<Value>> queryPairs;
    /// Token pass: each row's final maximum and probability scale.
    SmallVector<Value> statMax, statScale;
    /// Staged keys [keyStages, kMmaKeysPerStep, D]; token pass: per warp,
    /// each key's sum over the warp's rows [warps, span].
    Value keyTiles, warpSums;
    /// The warpgroup mma's descriptor of stage 0's keys.
    Value keyDescriptor;
    ChunkPartialBuffers partials;
    /// With rowSumsBySlotMma(), what the slot mma's row sums weigh in this
    /// lane's running sums (1/slotCountUnit() in the lanes with quad 3, 0
    /// in the others); else null, and the lanes add up their terms.
    Value sumWeight;
  };
  /// A step's logits, [row tile][8-key tile]: four f32 accumulators each,
  /// in mma.sync's m16n8 layout.
  using StepLogits = SmallVector<SmallVector<SmallVector<Value>>>;
  /// The body of a score block whose span holds keys: loads its queries,
  /// runs the steps of its span and writes what the pass computes.
  void emitScoreSpan(ScoreBlock &block, gpu::LaunchOp launch);
  /// The window query row of row `rowInWarp` of the warp's 16-row tiles.
  Value queryRowOf(const ScoreBlock &block, Value rowInWarp);
  /// Fills ScoreBlock's per-row values and query pairs.
  void loadQueryRows(ScoreBlock &block);
  /// The four A registers of row tile `rowTile` for k-step `kStep`.
  SmallVector<Value> queryFragment(const ScoreBlock &block, int64_t rowTile,
                                   int64_t kStep);
  /// Starts copying the keys of the step at `key0` (i32) into stage
  /// `stage`; returns this thread's group of copies.
  Value copyKeyStep(const ScoreBlock &block, Value key0, Value stage);
  /// Waits for the copies the next step reads (`copies`: the latest group).
  void waitForKeyStep(Value copies);
  /// The logits of the keys staged in `stage`, by wgmma or by mma.sync.
  StepLogits warpgroupMmaLogits(const ScoreBlock &block, Value stage);
  StepLogits mmaSyncLogits(const ScoreBlock &block, Value stage);
  /// One step of keys `[key0, key0 + kMmaKeysPerStep)`: `iters` are the
  /// rows' running (maximum, sum) pairs and the stage, as is the result.
  SmallVector<Value> scoreStep(const ScoreBlock &block, Value key0,
                               ValueRange iters);
  /// The step's statistics from its logits, with masks where `masked`:
  /// the new (maximum, sum) pairs, then (chunk slots) each row's terms; in
  /// the token pass, stores the keys' sums to warpSums.
  SmallVector<Value> stepStatistics(const ScoreBlock &block,
                                    const StepLogits &acc, Value key0,
                                    ValueRange iters, bool masked);
  void writeTokenSums(const ScoreBlock &block);
  /// Stores the span's statistics of each row (and, for the chunk slots,
  /// its final maximum).
  void writeSpanStatistics(const ScoreBlock &block, ValueRange stats);
  void writeChunkPartials(const ScoreBlock &block);
  Type keyElementType() { return getElementTypeOrSelf(op.getKeys().getType()); }
  /// 16-row tiles' rows per warp.
  int64_t warpRows() const { return kMmaRows * rowTiles; }
  /// k-steps of one mma over the head dimension (16 features each).
  int64_t mmaKSteps() const { return 2 * headDim / kMmaFeatureStride; }

  /// The logits' scale (the op's, or 1/sqrt(D)) times log2(e): the score
  /// kernels keep logits in base-2 units, so that every exponential is one
  /// exp2 (ex2.approx) and the softmax is unchanged.
  Value log2Scale() {
    double scale = 1.0 / std::sqrt(static_cast<double>(headDim));
    if (std::optional<APFloat> attr = op.getScale())
      scale = attr->convertToDouble();
    return b.f32(scale * M_LOG2E);
  }
  /// The sum (or maximum) of `values`, as a balanced tree of operations.
  Value treeReduce(ArrayRef<Value> values, bool maximum) {
    SmallVector<Value> level(values);
    while (level.size() > 1) {
      SmallVector<Value> up;
      for (size_t i = 0; i + 1 < level.size(); i += 2)
        up.push_back(maximum ? b.maxf(level[i], level[i + 1])
                             : b.addf(level[i], level[i + 1]));
      if (level.size() % 2)
        up.push_back(level.back());
      level = std::move(up);
    }
    return level.front();
  }
  /// A chunk slot of the single-pass kernel: (sum, the maximum it is
  /// relative to).
  Value slotValue(Value sum, Value max) {
    return vector::FromElementsOp::create(
        b, VectorType::get({2}, b.getF32Type()), ValueRange{sum, max});
  }
  /// A slot's sum made relative to `max` instead of its own maximum.
  Value slotSumRelativeTo(Value slot, Value max) {
    Value sum = vector::ExtractOp::create(b, slot, ArrayRef<int64_t>{0});
    Value slotMax = vector::ExtractOp::create(b, slot, ArrayRef<int64_t>{1});
    return b.mulf(sum, exp2Diff(slotMax, max));
  }
  /// An f32 as a tf32 mma.sync operand: its bits, of which the tensor cores
  /// read the upper 19.
  Value tf32Bits(Value x) {
    return arith::BitcastOp::create(b, b.getI32Type(), x);
  }
  /// `2^(a - c)` as one ex2.approx.ftz. math.exp2 would become libdevice's
  /// non-flushing ex2, which ptxas wraps in a range check and two scalings
  /// (four instructions instead of one); what the flush loses is a term below
  /// 2^-126 of its row's maximum.
  Value exp2Diff(Value a, Value c) {
    return exp2(arith::SubFOp::create(b, a, c));
  }
  /// `2^(x * scale - c)` for a raw logit x, the scaling fused into the
  /// subtraction (one fma instead of a mul and a sub per logit).
  Value exp2ScaledDiff(Value x, Value scale, Value c) {
    return exp2(math::FmaOp::create(b, x, scale, arith::NegFOp::create(b, c)));
  }
  Value exp2(Value x) {
    return LLVM::CallIntrinsicOp::create(
               b, b.getF32Type(), b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
               ValueRange{x})
        .getResult(0);
  }
  /// `dot(q, k)` for the staged keys `key0 .. key0 + kKeysPerStep`.
  SmallVector<Value> logits(Value keyTile, Value key0,
                            ArrayRef<Value> queryFeatures);

  KernelBuilder &b;
  ChunkScoreOp op;
  PolicyAttr policy;
  Layout layout;
  PolicyFormulas formulas;
  int64_t tokensPerBlock;
  bool allowSinglePass;
  /// 16-row mma tiles per warp; each staged key fragment feeds that many
  /// mma. Each lane holds laneRows rows, a block rowsPerMmaBlock.
  int64_t rowTiles, laneRows, rowsPerMmaBlock;
  /// Warps of a tensor-core score block: mma-warps, or 4 where a step's key
  /// vectors do not split evenly over mma-warps warps (see emit()).
  int64_t requestedMmaWarps, mmaWarps;
  /// Steps of keys in the tensor-core kernels' shared memory: one in use,
  /// keyStages - 1 being copied (cp.async).
  int64_t keyStages;
  /// Blocks per SM the tensor-core kernels' registers must allow (0: any).
  int64_t minBlocksPerSM;
  /// Bytes of shared memory a block of the single-pass statistics kernel
  /// may take, its chunk slots (dynamic shared memory) included.
  int64_t sharedMemoryPerBlock;
  /// Logits by warpgroup mma (wgmma) instead of mma.sync.
  bool warpgroupMma;
  DeviceQueue queue;
  int64_t headDim = 0;
  bool useTensorCores = false;
  /// K read once (paper policy on tensor cores, chunk slots that fit).
  bool singlePass = false;
  /// Keys per block of the score kernels: tokens-per-block, or fewer for
  /// the single-pass kernel.
  int64_t spanLength = 0;
  /// Chunk slots of one span in the single-pass kernel.
  int64_t slotsPerSpan = 0;

  Value zero, one, window, batchSize, kvHeads, capacity, groupSize;
  Value numQueries, threadsPerGroup, numSpans;
  // [B, Hkv, G*w, spans] f32 partial statistics.
  Value spanMax, spanSum;
  Value rowMax, rowScale; // [B, Hkv, G*w] f32 final statistics
  Value tokenSums;        // [B, Hkv, row groups, S] f32 sums of probabilities
  Value rowGroups;        // blocks that split the G*w queries of a kv head
  Value sequenceSums;     // [B, S] f32 pooled per-token scores
  Value windowMax;        // [1] i32 bits of kvpress's batch maximum
  // Single pass: [B, Hkv, spans, slots, rows] bf16 chunk partials and
  // [B, Hkv, spans, rows] f32 each span's share of a row's score (the
  // combine kernel's), rows padded to a multiple of kChunkSumRows. A slot's
  // rows are contiguous: the chunk kernel's lane reads a block of them with
  // 16-byte loads, with no clamps and no masks: the padding rows' partials
  // and shares are written as 0.
  Value chunkPartials, spanShares;
  Value paddedRows;
};

void ChunkScoreGPULowering::emit() {
  Value q = op.getQueries(), k = op.getKeys();
  headDim = cast<MemRefType>(k.getType()).getDimSize(3);
  Type element = getElementTypeOrSelf(k.getType());
  useTensorCores =
      (element.isF16() || element.isBF16()) && headDim % kMmaFeatureStride == 0;
  // Every thread of a block copies the same number of a step's 16-byte key
  // vectors (4 * D of them): eight warps need a head dimension that is a
  // multiple of 64, others keep four.
  int64_t stepVectors = kMmaKeysPerStep * headDim / 8;
  mmaWarps = stepVectors % (requestedMmaWarps * kThreadsPerWarp) == 0
                 ? requestedMmaWarps
                 : kDefaultMmaWarps;
  rowsPerMmaBlock = mmaWarps * rowTiles * kMmaRows;
  spanLength = tokensPerBlock;
  if (useTensorCores && formulas.isPaper() && allowSinglePass) {
    int64_t keys = singlePassSpanLength();
    singlePass = keys > 0;
    if (singlePass) {
      spanLength = keys;
      slotsPerSpan = chunksTouched(keys);
    }
  }

  zero = b.index(0);
  one = b.index(1);
  window = b.index(policy.getWindow());
  batchSize = b.dim(k, 0);
  kvHeads = b.dim(k, headsDim(layout));
  capacity = b.dim(k, capacityDim(layout));
  // The score kernels number keys with 32-bit positions; a static capacity
  // was checked before lowering.
  if (ShapedType::isDynamic(
          cast<MemRefType>(k.getType()).getDimSize(capacityDim(layout))))
    cf::AssertOp::create(
        b, b.cmp(Pred::slt, capacity, b.index(kMaxCapacity)),
        "chunkkv.chunk_score on GPU: expects caches of fewer than 2^31 tokens");
  groupSize = b.div(b.dim(q, 1), kvHeads);
  numQueries = b.mul(groupSize, window);
  Value warp = b.index(kThreadsPerWarp);
  threadsPerGroup = b.mul(b.ceilDiv(numQueries, warp), warp);
  numSpans = b.max(b.ceilDiv(capacity, b.index(spanLength)), one);

  Type f32 = b.getF32Type();
  // The buffers the statistics kernel writes are allocated before its
  // launch, the others after it: each allocation is a driver call on the
  // host, and the later ones overlap the kernel instead of delaying it.
  spanMax = queue.alloc(f32, {batchSize, kvHeads, numQueries, numSpans});
  spanSum = queue.alloc(f32, {batchSize, kvHeads, numQueries, numSpans});
  SmallVector<Value> scratch = {spanMax, spanSum};
  auto allocRowStatistics = [&]() {
    rowMax = queue.alloc(f32, {batchSize, kvHeads, numQueries});
    rowScale = queue.alloc(f32, {batchSize, kvHeads, numQueries});
    llvm::append_range(scratch, ArrayRef<Value>{rowMax, rowScale});
  };
  rowGroups =
      useTensorCores ? b.ceilDiv(numQueries, b.index(rowsPerMmaBlock)) : one;

  if (singlePass) {
    // bf16: f32's range, so no partial underflows where f32 would not, and
    // a relative error below 2^-9 on each, within the 1e-2 that f16/bf16
    // caches are held to; half the bytes the statistics kernel writes and
    // the chunk kernel reads.
    paddedRows = b.mul(b.ceilDiv(numQueries, b.index(kChunkSumRows)),
                       b.index(kChunkSumRows));
    int64_t dynamic = ShapedType::kDynamic;
    chunkPartials = queue.alloc(
        MemRefType::get({dynamic, dynamic, dynamic, slotsPerSpan, dynamic},
                        b.getBF16Type()),
        {batchSize, kvHeads, numSpans, paddedRows});
    scratch.push_back(chunkPartials);
    emitTensorCoreScoreKernel(/*tokenPass=*/false);
    allocRowStatistics();
    spanShares = queue.alloc(f32, {batchSize, kvHeads, numSpans, paddedRows});
    scratch.push_back(spanShares);
    emitCombineKernel();
    emitChunkPartialsKernel();
  } else {
    auto scoreKernel = [&](bool tokenPass) {
      if (useTensorCores)
        emitTensorCoreScoreKernel(tokenPass);
      else
        emitScoreKernel(tokenPass);
    };
    scoreKernel(/*tokenPass=*/false);
    allocRowStatistics();
    tokenSums = queue.alloc(f32, {batchSize, kvHeads, rowGroups, capacity});
    sequenceSums = queue.alloc(f32, {batchSize, capacity});
    windowMax = queue.alloc(b.getI32Type(), {one});
    llvm::append_range(scratch,
                       ArrayRef<Value>{tokenSums, sequenceSums, windowMax});
    // 0 is the bit pattern of +0.0, below every pooled probability sum.
    queue.memset(windowMax, b.i32(0));
    emitCombineKernel();
    scoreKernel(/*tokenPass=*/true);
    emitPoolKernel();
    emitChunkKernel();
  }

  for (Value buffer : scratch)
    queue.free(buffer);
  queue.finish();
}

int64_t ChunkScoreGPULowering::singlePassSpanLength() const {
  int64_t keyBytes = keyStages * kMmaKeysPerStep * headDim * 2;
  int64_t maximaBytes = rowsPerMmaBlock * 4;
  for (int64_t keys = tokensPerBlock; keys >= kMmaKeysPerStep;
       keys -= kMmaKeysPerStep) {
    if (keyBytes + maximaBytes + chunkSlotBytes(chunksTouched(keys)) <=
        sharedMemoryPerBlock)
      return keys;
  }
  return 0;
}

ChunkScoreGPULowering::SpanBounds
ChunkScoreGPULowering::spanBounds(Value batch, Value spanIndex,
                                  bool tokenPass) {
  Value length = clampedLength(b, op.getLengths(), batch, capacity);
  Value prefix = b.sub(length, window);
  Value end = tokenPass ? prefix : length;
  Value start = b.mul(spanIndex, b.index(spanLength));
  Value active =
      b.andI(b.cmp(Pred::sgt, prefix, zero), b.cmp(Pred::slt, start, end));
  return {prefix, start, b.min(b.add(start, b.index(spanLength)), end), active};
}

Value ChunkScoreGPULowering::aggregateChunk(Value sum, Value start,
                                            Value stop) {
  if (policy.getAggregate() != Aggregate::mean)
    return sum;
  return b.divf(sum, b.indexToFloat(b.sub(stop, start), b.getF32Type()));
}

SmallVector<Value>
ChunkScoreGPULowering::logits(Value keyTile, Value key0,
                              ArrayRef<Value> queryFeatures) {
  // One scalar FMA chain per key keeps the accumulators to kKeysPerStep
  // registers next to the D registers of the query.
  SmallVector<Value> acc(kKeysPerStep, b.f32(0.0));
  for (int64_t d = 0, e = queryFeatures.size(); d < e; d += kFeatureVector) {
    for (int64_t u = 0; u < kKeysPerStep; ++u) {
      // Every thread reads the same address: a shared-memory broadcast.
      Value keys = b.load(
          keyTile, {b.add(key0, b.index(u)), b.index(d / kFeatureVector)});
      for (int64_t lane = 0; lane < kFeatureVector; ++lane)
        acc[u] = math::FmaOp::create(
            b, queryFeatures[d + lane],
            vector::ExtractOp::create(b, keys, ArrayRef<int64_t>{lane}),
            acc[u]);
    }
  }
  return acc;
}

void ChunkScoreGPULowering::emitScoreKernel(bool tokenPass) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  Value q = op.getQueries(), k = op.getKeys();
  Type element = getElementTypeOrSelf(k.getType());
  int64_t lanes = vectorLanes(element);
  int64_t vectorsPerRow = headDim / lanes;
  Value scale = log2Scale();

  SmallVector<Type> shared = {
      // Vectors as elements give the buffer the 16-byte alignment of
      // vector<4xf32>, which 16-byte shared loads and stores need.
      workgroupBuffer(ctx, {kKeysPerTile, headDim / kFeatureVector},
                      VectorType::get({kFeatureVector}, f32))};
  if (tokenPass)
    shared.push_back(workgroupBuffer(
        ctx, {kMaxQueriesPerGroup / kThreadsPerWarp, kKeysPerTile}, f32));

  queue.launch(
      tokenPass ? "chunkkv_score_tokens" : "chunkkv_score_stats",
      {numSpans, kvHeads, batchSize}, threadsPerGroup, shared,
      [&](gpu::LaunchOp launchOp) {
        Value keyTile = launchOp.getWorkgroupAttributions()[0];
        Value spanIndex = launchOp.getBlockIds().x;
        Value kvHead = launchOp.getBlockIds().y;
        Value batch = launchOp.getBlockIds().z;
        Value thread = launchOp.getThreadIds().x;
        Value blockSize = launchOp.getBlockSize().x;

        SpanBounds span = spanBounds(batch, spanIndex, tokenPass);
        Value prefix = span.prefix, spanStart = span.start, spanEnd = span.end;
        b.ifThen(span.active, [&]() {
          Value row = thread;
          Value real = b.cmp(Pred::slt, row, numQueries);
          Value safeRow = b.min(row, b.sub(numQueries, one));
          Value head = b.add(b.mul(kvHead, groupSize), b.div(safeRow, window));
          Value query = b.rem(safeRow, window);
          Value lastVisible = b.add(prefix, query);

          // The scaled window query stays in registers for the whole span.
          auto queryType = VectorType::get({kFeatureVector}, element);
          auto f32Vector = VectorType::get({kFeatureVector}, f32);
          Value scaleVector = vector::BroadcastOp::create(b, f32Vector, scale);
          SmallVector<Value> queryFeatures;
          int64_t queryAlign =
              kFeatureVector * element.getIntOrFloatBitWidth() / 8;
          for (int64_t d = 0; d < headDim; d += kFeatureVector) {
            Value raw = alignedLoad(
                b, queryType, q, {batch, head, query, b.index(d)}, queryAlign);
            if (!element.isF32())
              raw = arith::ExtFOp::create(b, f32Vector, raw);
            Value scaled = b.mulf(raw, scaleVector);
            for (int64_t lane = 0; lane < kFeatureVector; ++lane)
              queryFeatures.push_back(vector::ExtractOp::create(
                  b, scaled, ArrayRef<int64_t>{lane}));
          }

          Value statMax, statScale;
          if (tokenPass) {
            statMax = b.load(rowMax, {batch, kvHead, safeRow});
            statScale = b.select(
                real, b.load(rowScale, {batch, kvHead, safeRow}), b.f32(0.0));
          }
          Value warpSlots = tokenPass
                                ? Value(launchOp.getWorkgroupAttributions()[1])
                                : Value();
          Value lane = b.rem(thread, b.index(kThreadsPerWarp));
          Value warp = b.div(thread, b.index(kThreadsPerWarp));
          Value numWarps = b.div(blockSize, b.index(kThreadsPerWarp));

          auto loadedType = VectorType::get({lanes}, element);
          auto stagedType = VectorType::get({lanes}, f32);
          Value tileElements = b.index(kKeysPerTile * vectorsPerRow);
          SmallVector<Value> stats = b.forLoop(
              spanStart, spanEnd, b.index(kKeysPerTile),
              {b.f32(negInfinity()), b.f32(0.0)},
              [&](Value tile0, ValueRange iters) -> SmallVector<Value> {
                // Stage the tile's keys as f32 with 16-byte loads.
                gpu::BarrierOp::create(b);
                b.forLoop(thread, tileElements, blockSize, [&](Value e) {
                  Value key = b.div(e, b.index(vectorsPerRow));
                  Value feature =
                      b.mul(b.rem(e, b.index(vectorsPerRow)), b.index(lanes));
                  Value position = b.add(tile0, key);
                  Value inside = b.cmp(Pred::slt, position, spanEnd);
                  Value safe = b.min(position, b.sub(spanEnd, one));
                  Value raw = alignedLoad(
                      b, loadedType, k,
                      cacheIndex(layout, batch, kvHead, safe, feature),
                      kVectorBytes);
                  if (!element.isF32())
                    raw = arith::ExtFOp::create(b, stagedType, raw);
                  Value zeros =
                      vector::BroadcastOp::create(b, stagedType, b.f32(0.0));
                  Value staged = b.select(inside, raw, zeros);
                  for (int64_t part = 0; part < lanes; part += kFeatureVector) {
                    Value slice = vector::ShuffleOp::create(
                        b, staged, staged,
                        ArrayRef<int64_t>{part, part + 1, part + 2, part + 3});
                    Value column =
                        b.add(b.div(feature, b.index(kFeatureVector)),
                              b.index(part / kFeatureVector));
                    b.store(slice, keyTile, {key, column});
                  }
                });
                gpu::BarrierOp::create(b);

                SmallVector<Value> next = b.forLoop(
                    zero, b.index(kKeysPerTile), b.index(kKeysPerStep),
                    {iters[0], iters[1]},
                    [&](Value key0, ValueRange running) -> SmallVector<Value> {
                      SmallVector<Value> dots =
                          logits(keyTile, key0, queryFeatures);
                      Value max = running[0], sum = running[1];
                      for (int64_t u = 0; u < kKeysPerStep; ++u) {
                        Value slot = b.add(key0, b.index(u));
                        Value position = b.add(tile0, slot);
                        Value valid =
                            b.andI(real, b.cmp(Pred::slt, position, spanEnd));
                        if (!tokenPass) {
                          valid = b.andI(
                              valid, b.cmp(Pred::sle, position, lastVisible));
                          Value newMax = b.maxf(max, dots[u]);
                          Value rescaled = b.mulf(sum, exp2Diff(max, newMax));
                          Value added =
                              b.addf(rescaled, exp2Diff(dots[u], newMax));
                          max = b.select(valid, newMax, max);
                          sum = b.select(valid, added, sum);
                          continue;
                        }
                        Value p = b.mulf(exp2Diff(dots[u], statMax), statScale);
                        p = warpReduce(b, b.select(valid, p, b.f32(0.0)),
                                       /*maximum=*/false);
                        b.ifThen(b.cmp(Pred::eq, lane, zero), [&]() {
                          b.store(p, warpSlots, {warp, slot});
                        });
                      }
                      return {max, sum};
                    });
                if (tokenPass) {
                  gpu::BarrierOp::create(b);
                  Value position = b.add(tile0, thread);
                  b.ifThen(
                      b.andI(b.cmp(Pred::slt, thread, b.index(kKeysPerTile)),
                             b.cmp(Pred::slt, position, spanEnd)),
                      [&]() {
                        Value total = b.forLoop(
                            zero, numWarps, one, {b.f32(0.0)},
                            [&](Value w, ValueRange acc) -> SmallVector<Value> {
                              return {b.addf(acc[0],
                                             b.load(warpSlots, {w, thread}))};
                            })[0];
                        b.store(total, tokenSums,
                                {batch, kvHead, zero, position});
                      });
                }
                return next;
              });
          if (!tokenPass)
            b.ifThen(real, [&]() {
              b.store(stats[0], spanMax, {batch, kvHead, row, spanIndex});
              b.store(stats[1], spanSum, {batch, kvHead, row, spanIndex});
            });
        });
      });
}

SmallVector<Value> ChunkScoreGPULowering::mma(ArrayRef<Value> a,
                                              ArrayRef<Value> bOperand,
                                              ArrayRef<Value> acc,
                                              Type element) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  auto resultType = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
  std::optional<std::array<NVVM::MMATypes, 2>> types;
  SmallVector<Value> aRegs(a), bRegs(bOperand);
  int64_t depth = 16;
  if (element.isBF16()) {
    // bf16 multiplicands travel as i32 registers of two values each.
    types = {NVVM::MMATypes::bf16, NVVM::MMATypes::bf16};
    for (Value &reg : llvm::concat<Value>(aRegs, bRegs))
      reg = LLVM::BitcastOp::create(b, b.getI32Type(), reg);
  } else if (element.isTF32()) {
    // tf32 multiplicands are i32 registers of one value each, k = 8.
    types = {NVVM::MMATypes::tf32, NVVM::MMATypes::tf32};
    depth = 8;
  }
  Value result = NVVM::MmaOp::create(
      b, resultType, aRegs, bRegs, acc, ArrayRef<int64_t>{16, 8, depth},
      std::nullopt, std::nullopt, types,
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, result, i));
  return out;
}

void ChunkScoreGPULowering::emitTensorCoreScoreKernel(bool tokenPass) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  Type element = keyElementType();
  ScoreBlock block;
  block.tokenPass = tokenPass;
  block.chunkSlots = singlePass && !tokenPass;
  block.scale = log2Scale();
  block.negInf = b.f32(negInfinity());
  Value blockThreads = b.index(mmaWarps * kThreadsPerWarp);

  // Keys are staged once per block in shared memory, keyStages steps
  // deep, their columns placed by stagedKeyColumn.
  SmallVector<Type> shared = {
      workgroupBuffer(ctx, {keyStages, kMmaKeysPerStep, headDim}, element)};
  if (tokenPass)
    shared.push_back(workgroupBuffer(ctx, {mmaWarps, spanLength}, f32));
  // The chunk slots, the part of the block's shared memory that grows with
  // the span, are dynamic shared memory: a block may take more than the 48
  // KiB of static shared memory PTX allows (sharedMemoryPerBlock).
  Value slotBytes;
  if (block.chunkSlots) {
    shared.push_back(workgroupBuffer(ctx, {mmaWarps, warpRows()}, f32));
    slotBytes = b.i32(chunkSlotBytes(slotsPerSpan));
  }
  queue.launch(
      tokenPass ? "chunkkv_score_tokens" : "chunkkv_score_stats",
      {rowGroups, numSpans, b.mul(kvHeads, batchSize)}, blockThreads, shared,
      [&](gpu::LaunchOp launchOp) {
        if (minBlocksPerSM > 0)
          boundRegisters(launchOp, minBlocksPerSM);
        block.rowGroup = launchOp.getBlockIds().x;
        block.spanIndex = launchOp.getBlockIds().y;
        block.kvHead = b.rem(launchOp.getBlockIds().z, kvHeads);
        block.batch = b.div(launchOp.getBlockIds().z, kvHeads);
        block.thread = launchOp.getThreadIds().x;
        block.lane = b.rem(block.thread, b.index(kThreadsPerWarp));
        block.warp = b.div(block.thread, b.index(kThreadsPerWarp));
        block.group = b.div(block.lane, b.index(4));
        block.quad = b.rem(block.lane, b.index(4));
        block.span = spanBounds(block.batch, block.spanIndex, tokenPass);
        b.ifThen(block.span.active, [&]() { emitScoreSpan(block, launchOp); });
      },
      slotBytes);
}

void ChunkScoreGPULowering::emitScoreSpan(ScoreBlock &block,
                                          gpu::LaunchOp launchOp) {
  MLIRContext *ctx = b.getContext();
  block.prefix = b.toI32(block.span.prefix);
  block.spanStart = b.toI32(block.span.start);
  block.spanEnd = b.toI32(block.span.end);
  block.firstRow = b.mul(block.rowGroup, b.index(rowsPerMmaBlock));
  loadQueryRows(block);
  if (block.tokenPass)
    for (int64_t half = 0; half < laneRows; ++half) {
      Value row = block.rows[half];
      block.statMax.push_back(b.load(rowMax, {block.batch, block.kvHead, row}));
      block.statScale.push_back(b.select(
          block.real[half], b.load(rowScale, {block.batch, block.kvHead, row}),
          b.f32(0.0)));
    }
  block.keyTiles = launchOp.getWorkgroupAttributions()[0];
  if (block.tokenPass)
    block.warpSums = launchOp.getWorkgroupAttributions()[1];
  if (block.chunkSlots) {
    auto slotsType = workgroupBuffer(
        ctx, {mmaWarps, warpRows(), chunkSlotStride(slotsPerSpan)},
        VectorType::get({2}, b.getF32Type()));
    auto dynamicShared = gpu::DynamicSharedMemoryOp::create(
        b, MemRefType::get({ShapedType::kDynamic}, b.getI8Type(),
                           MemRefLayoutAttrInterface(),
                           slotsType.getMemorySpace()));
    Value slots = memref::ViewOp::create(b, slotsType, dynamicShared,
                                         b.index(0), ValueRange{});
    block.partials = {launchOp.getWorkgroupAttributions()[1], slots};
    // Empty slots; the first step's barrier orders this before other lanes
    // add to them.
    Value empty = slotValue(b.f32(0.0), b.f32(kNoMaximum));
    b.forLoop(block.lane, b.index(warpRows() * slotsPerSpan),
              b.index(kThreadsPerWarp), [&](Value e) {
                Value row = b.div(e, b.index(slotsPerSpan));
                Value slot = b.rem(e, b.index(slotsPerSpan));
                b.store(empty, block.partials.slots, {block.warp, row, slot});
              });
  }
  if (warpgroupMma)
    block.keyDescriptor = warpgroupDescriptor(
        b, memref::ExtractAlignedPointerAsIndexOp::create(b, block.keyTiles));

  Value prologue;
  for (int64_t stage = 0; stage + 1 < keyStages; ++stage)
    prologue = copyKeyStep(
        block, b.add(block.spanStart, b.i32(stage * kMmaKeysPerStep)),
        b.index(stage));
  waitForKeyStep(prologue);
  // With the step's row sums from the slot mma, the lanes with quad 3 hold
  // them (see addStepToChunkSlots) and keep the running sums, the others
  // keep 0.
  if (block.chunkSlots && rowSumsBySlotMma())
    block.sumWeight =
        b.select(b.cmp(Pred::eq, block.quad, b.index(3)),
                 b.f32(1.0 / static_cast<double>(slotCountUnit())), b.f32(0.0));
  // Per lane row its running (maximum, sum), then the stage of the step.
  Value noMax = b.f32(kNoMaximum);
  SmallVector<Value> inits;
  for (int64_t half = 0; half < laneRows; ++half)
    llvm::append_range(inits, ArrayRef<Value>{noMax, b.f32(0.0)});
  inits.push_back(b.i32(0));
  SmallVector<Value> stats =
      b.forLoop(block.spanStart, block.spanEnd, b.i32(kMmaKeysPerStep), inits,
                [&](Value key0, ValueRange iters) {
                  return scoreStep(block, key0, iters);
                });

  if (block.tokenPass) {
    writeTokenSums(block);
    return;
  }
  writeSpanStatistics(block, stats);
  if (block.chunkSlots)
    writeChunkPartials(block);
}

Value ChunkScoreGPULowering::queryRowOf(const ScoreBlock &block,
                                        Value rowInWarp) {
  // The warp's rows are consecutive, except with the warpgroup mma of two
  // row tiles, whose row tile m of warp w of a warpgroup is rows 64m + 16w
  // to 64m + 16w + 15 of the warpgroup's.
  if (!warpgroupMma || rowTiles == 1)
    return b.add(
        b.add(block.firstRow, b.mul(block.warp, b.index(kMmaRows * rowTiles))),
        rowInWarp);
  Value sixteen = b.index(kMmaRows);
  Value warpgroupRow =
      b.mul(b.div(block.warp, b.index(4)), b.index(4 * kMmaRows * rowTiles));
  Value tileRow = b.add(b.mul(b.div(rowInWarp, sixteen), b.index(4 * kMmaRows)),
                        b.mul(b.rem(block.warp, b.index(4)), sixteen));
  return b.add(b.add(block.firstRow, warpgroupRow),
               b.add(tileRow, b.rem(rowInWarp, sixteen)));
}

void ChunkScoreGPULowering::loadQueryRows(ScoreBlock &block) {
  Value q = op.getQueries();
  Type element = keyElementType();
  // Lane (g, t) of a warp holds, for each 16-byte load j, features
  // [32j + 8t, 32j + 8t + 8) of a row as four pairs. mma.sync k-step s takes
  // pairs 2s and 2s + 1 as the lane's two k-pairs: a fixed permutation of
  // the features, the same for queries and keys, so the dot products are
  // unchanged and every key row is read with 16-byte loads. The warpgroup
  // mma reads the keys' features in order, and takes the queries' so: k-step
  // s takes pairs 2s and 2s + 1, features 16s + 2 * quad and 8 more.
  int64_t loads = headDim / kMmaFeatureStride;
  auto pairType = VectorType::get({2}, element);
  auto rowType = VectorType::get({8}, element);
  block.queryPairs.resize(laneRows);
  for (int64_t half = 0; half < laneRows; ++half) {
    Value row = queryRowOf(block, b.add(block.group, b.index(8 * half)));
    Value isReal = b.cmp(Pred::slt, row, numQueries);
    Value safe = b.min(row, b.sub(numQueries, one));
    Value head = b.add(b.mul(block.kvHead, groupSize), b.div(safe, window));
    Value query = b.rem(safe, window);
    block.rows.push_back(safe);
    block.real.push_back(isReal);
    block.lastVisible.push_back(b.add(block.prefix, b.toI32(query)));
    SmallVector<Value> &pairs = block.queryPairs[half];
    if (warpgroupMma) {
      Value zeros = vector::BroadcastOp::create(
          b, pairType,
          arith::ConstantOp::create(b, b.getFloatAttr(element, 0.0)));
      for (int64_t p = 0; p < 4 * loads; ++p) {
        Value feature = b.add(b.index(8 * p), b.mul(block.quad, b.index(2)));
        Value data =
            alignedLoad(b, pairType, q, {block.batch, head, query, feature}, 4);
        pairs.push_back(b.select(isReal, data, zeros));
      }
      continue;
    }
    Value zeros = vector::BroadcastOp::create(
        b, rowType, arith::ConstantOp::create(b, b.getFloatAttr(element, 0.0)));
    for (int64_t j = 0; j < loads; ++j) {
      Value feature =
          b.add(b.index(kMmaFeatureStride * j), b.mul(block.quad, b.index(8)));
      Value data = alignedLoad(
          b, rowType, q, {block.batch, head, query, feature}, kVectorBytes);
      data = b.select(isReal, data, zeros);
      for (int64_t p = 0; p < 4; ++p)
        pairs.push_back(vector::ShuffleOp::create(
            b, data, data, ArrayRef<int64_t>{2 * p, 2 * p + 1}));
    }
  }
}

Value ChunkScoreGPULowering::copyKeyStep(const ScoreBlock &block, Value key0,
                                         Value stage) {
  // One step's key rows, copied by the whole block with coalesced 16-byte
  // cp.async (global to shared, no registers): this thread's share, as one
  // group. Rows past the span reread its last key; the steps that start
  // past it (the ring's last refills) read nothing and stage zeros.
  MLIRContext *ctx = b.getContext();
  int64_t rowVectors = headDim / 8;
  int64_t loadsPerThread =
      kMmaKeysPerStep * rowVectors / (mmaWarps * kThreadsPerWarp);
  auto tokenType = nvgpu::DeviceAsyncTokenType::get(ctx);
  SmallVector<Value> copies;
  Value elements =
      b.select(b.cmp(Pred::slt, key0, block.spanEnd), b.index(8), b.index(0));
  for (int64_t i = 0; i < loadsPerThread; ++i) {
    Value e = b.add(block.thread, b.index(i * mmaWarps * kThreadsPerWarp));
    Value row, column;
    std::array<Value, 2> target;
    if (warpgroupMma) {
      // Eight lanes copy one column of eight keys: 128 contiguous bytes of
      // shared memory, one core matrix.
      Value eight = b.index(8);
      row = b.add(b.rem(e, eight),
                  b.mul(b.div(e, b.index(8 * rowVectors)), eight));
      column = b.rem(b.div(e, eight), b.index(rowVectors));
      target = warpgroupStagedKey(b, headDim, row, column);
    } else {
      row = b.div(e, b.index(rowVectors));
      column = b.rem(e, b.index(rowVectors));
      target = {row,
                b.mul(stagedKeyColumn(b, rowVectors, row, column), b.index(8))};
    }
    Value key = b.add(key0, b.toI32(row));
    Value safe = b.toIndex(b.min(key, b.sub(block.spanEnd, b.i32(1))));
    copies.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, tokenType, block.keyTiles, ValueRange{stage, target[0], target[1]},
        op.getKeys(),
        cacheIndex(layout, block.batch, block.kvHead, safe,
                   b.mul(column, b.index(8))),
        b.getIndexAttr(8), elements,
        /*bypassL1=*/b.getUnitAttr()));
  }
  return nvgpu::DeviceAsyncCreateGroupOp::create(b, tokenType, copies);
}

void ChunkScoreGPULowering::waitForKeyStep(Value copies) {
  // Waits until at most keyStages - 2 of this thread's copies after the one
  // the next step uses are in flight.
  MLIRContext *ctx = b.getContext();
  nvgpu::DeviceAsyncWaitOp::create(b, copies,
                                   b.getI32IntegerAttr(keyStages - 2));
  // wgmma reads shared memory through the async proxy: the copies' writes
  // (generic proxy) need a proxy fence before the barrier that precedes the
  // reads.
  if (warpgroupMma)
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKindAttr::get(ctx, NVVM::ProxyKind::async_shared),
        NVVM::SharedSpaceAttr::get(ctx, NVVM::SharedSpace::shared_cta));
}

ChunkScoreGPULowering::StepLogits
ChunkScoreGPULowering::warpgroupMmaLogits(const ScoreBlock &block,
                                          Value stage) {
  NVVM::WgmmaFenceAlignedOp::create(b);
  int64_t stageBytes =
      kMmaKeysPerStep * headDim * keyElementType().getIntOrFloatBitWidth() / 8;
  Value stageDescriptor =
      b.add(block.keyDescriptor, b.mul(stage, b.index(stageBytes / 16)));
  // One chain of k-steps per row tile, on the same keys.
  SmallVector<Value> results(rowTiles);
  for (int64_t s = 0; s < mmaKSteps(); ++s) {
    // The step's 16-byte columns 2s and 2s + 1.
    int64_t columns = kWarpgroupMmaDepth / 8;
    int64_t offset = columns * s * kMmaTiles * kCoreMatrixBytes;
    Value descriptor = b.fromIndex(b.add(stageDescriptor, b.index(offset / 16)),
                                   b.getI64Type());
    for (int64_t m = 0; m < rowTiles; ++m)
      results[m] = warpgroupMmaStep(b, queryFragment(block, m, s), descriptor,
                                    results[m], keyElementType());
  }
  // The accumulators of each 16-row tile of 8-key tiles, as mma.sync's.
  SmallVector<Value> fields = warpgroupMmaWait(b, results);
  StepLogits acc(rowTiles, SmallVector<SmallVector<Value>>(kMmaTiles));
  for (int64_t m = 0; m < rowTiles; ++m)
    for (int64_t tile = 0; tile < kMmaTiles; ++tile)
      for (int64_t i = 0; i < 4; ++i)
        acc[m][tile].push_back(fields[(m * kMmaTiles + tile) * 4 + i]);
  return acc;
}

ChunkScoreGPULowering::StepLogits
ChunkScoreGPULowering::mmaSyncLogits(const ScoreBlock &block, Value stage) {
  int64_t rowVectors = headDim / 8;
  auto rowType = VectorType::get({8}, keyElementType());
  StepLogits acc(rowTiles, SmallVector<SmallVector<Value>>(
                               kMmaTiles, SmallVector<Value>(4, b.f32(0.0))));
  SmallVector<SmallVector<Value>> keyPairs(kMmaTiles);
  for (int64_t tile = 0; tile < kMmaTiles; ++tile)
    for (int64_t j = 0; j < headDim / kMmaFeatureStride; ++j) {
      Value row = b.add(b.index(8 * tile), block.group);
      Value column = stagedKeyColumn(
          b, rowVectors, row,
          b.add(b.index(kMmaFeatureStride / 8 * j), block.quad));
      Value data =
          alignedLoad(b, rowType, block.keyTiles,
                      {stage, row, b.mul(column, b.index(8))}, kVectorBytes);
      for (int64_t p = 0; p < 4; ++p)
        keyPairs[tile].push_back(vector::ShuffleOp::create(
            b, data, data, ArrayRef<int64_t>{2 * p, 2 * p + 1}));
    }
  // Every staged key fragment feeds rowTiles mma.sync.
  for (int64_t s = 0; s < mmaKSteps(); ++s)
    for (int64_t tile = 0; tile < kMmaTiles; ++tile)
      for (int64_t m = 0; m < rowTiles; ++m)
        acc[m][tile] = mma(queryFragment(block, m, s),
                           {keyPairs[tile][2 * s], keyPairs[tile][2 * s + 1]},
                           acc[m][tile], keyElementType());
  return acc;
}

SmallVector<Value> ChunkScoreGPULowering::queryFragment(const ScoreBlock &block,
                                                        int64_t rowTile,
                                                        int64_t kStep) {
  ArrayRef<Value> low = block.queryPairs[2 * rowTile],
                  high = block.queryPairs[2 * rowTile + 1];
  return {low[2 * kStep], high[2 * kStep], low[2 * kStep + 1],
          high[2 * kStep + 1]};
}

SmallVector<Value> ChunkScoreGPULowering::scoreStep(const ScoreBlock &block,
                                                    Value key0,
                                                    ValueRange iters) {
  // The stages form a ring: this step's keys are in stage `stage`, and the
  // copy of step + keyStages - 1 goes to the stage before it, which every
  // warp finished reading (the previous step) before this barrier. The
  // barrier also makes every thread's completed copies visible to the
  // block.
  Value stage32 = iters[2 * laneRows];
  Value stage = b.toIndex(stage32);
  Value lastStage = b.i32(keyStages - 1);
  gpu::BarrierOp::create(b);
  Value refill = b.select(b.cmp(Pred::eq, stage32, b.i32(0)), lastStage,
                          b.sub(stage32, b.i32(1)));
  Value copies =
      copyKeyStep(block, b.add(key0, b.i32((keyStages - 1) * kMmaKeysPerStep)),
                  b.toIndex(refill));
  StepLogits acc = warpgroupMma ? warpgroupMmaLogits(block, stage)
                                : mmaSyncLogits(block, stage);

  // Steps wholly inside the span and below the window need no masks: rows
  // past G*w have zero queries and zero weights.
  Value unmaskedEnd = block.tokenPass
                          ? block.spanEnd
                          : b.min(block.spanEnd, b.add(block.prefix, b.i32(1)));
  Value unmasked =
      b.cmp(Pred::sle, b.add(key0, b.i32(kMmaKeysPerStep)), unmaskedEnd);
  int64_t results =
      2 * laneRows + (block.chunkSlots ? laneRows * 2 * kMmaTiles : 0);
  SmallVector<Type> statTypes(results, b.getF32Type());
  SmallVector<Value> next = b.ifThenElse(
      statTypes, unmasked,
      [&]() { return stepStatistics(block, acc, key0, iters, false); },
      [&]() { return stepStatistics(block, acc, key0, iters, true); });
  if (block.chunkSlots) {
    SmallVector<SmallVector<Value>> terms(laneRows);
    SmallVector<Value> maxima;
    for (int64_t half = 0; half < laneRows; ++half) {
      ArrayRef<Value> halfTerms = ArrayRef<Value>(next).slice(
          2 * laneRows + half * 2 * kMmaTiles, 2 * kMmaTiles);
      terms[half].assign(halfTerms.begin(), halfTerms.end());
      maxima.push_back(next[2 * half]);
    }
    SmallVector<Value> rowSums = addStepToChunkSlots(
        block.partials, block.warp, block.group, block.quad, key0,
        block.spanStart, block.spanEnd, block.prefix, terms, maxima);
    next.resize(2 * laneRows);
    for (auto [half, rowSum] : llvm::enumerate(rowSums)) {
      Value rescaled =
          b.mulf(next[2 * half + 1], exp2Diff(iters[2 * half], next[2 * half]));
      next[2 * half + 1] = b.addf(rescaled, b.mulf(rowSum, block.sumWeight));
    }
  }
  waitForKeyStep(copies);
  next.push_back(b.select(b.cmp(Pred::eq, stage32, lastStage), b.i32(0),
                          b.add(stage32, b.i32(1))));
  return next;
}

SmallVector<Value>
ChunkScoreGPULowering::stepStatistics(const ScoreBlock &block,
                                      const StepLogits &acc, Value key0,
                                      ValueRange iters, bool masked) {
  SmallVector<Value> next(iters.begin(), iters.begin() + 2 * laneRows);
  // This step's logits per row (statistics pass).
  SmallVector<SmallVector<Value>> stepLogits(laneRows);
  for (int64_t tile = 0; tile < kMmaTiles; ++tile) {
    // Accumulator i: row `group + 8 * (i / 2)`, key `2 * quad + i % 2` of
    // the tile.
    Value key = b.add(
        key0, b.toI32(b.add(b.index(8 * tile), b.mul(block.quad, b.index(2)))));
    Value keys[2] = {key, b.add(key, b.i32(1))};
    Value sums[2] = {b.f32(0.0), b.f32(0.0)};
    for (int64_t half = 0; half < laneRows; ++half) {
      for (int64_t c = 0; c < 2; ++c) {
        // The raw logit: the scale is positive, so the maxima are taken
        // before it is applied.
        Value x = acc[half / 2][tile][2 * (half % 2) + c];
        Value valid;
        if (masked)
          valid = b.andI(block.real[half],
                         b.cmp(Pred::slt, keys[c], block.spanEnd));
        if (block.tokenPass) {
          Value p = b.mulf(exp2ScaledDiff(x, block.scale, block.statMax[half]),
                           block.statScale[half]);
          if (masked)
            p = b.select(valid, p, b.f32(0.0));
          sums[c] = b.addf(sums[c], p);
          continue;
        }
        if (masked)
          x = b.select(
              b.andI(valid, b.cmp(Pred::sle, keys[c], block.lastVisible[half])),
              x, block.negInf);
        stepLogits[half].push_back(x);
      }
    }
    if (!block.tokenPass)
      continue;
    // Sum the 16 rows: lanes with the same quad hold the same keys.
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t offset : {4, 8, 16})
        sums[c] =
            b.addf(sums[c], shuffle(b, sums[c], offset, gpu::ShuffleMode::XOR));
    b.ifThen(b.cmp(Pred::eq, block.group, zero), [&]() {
      for (int64_t c = 0; c < 2; ++c)
        b.store(sums[c], block.warpSums,
                {block.warp, b.toIndex(b.sub(keys[c], block.spanStart))});
    });
  }
  // One rescale per step: the running max moves once. The four lanes of a
  // row share it, so that it is also the reference of the row's chunk
  // partials.
  for (int64_t half = 0; half < laneRows && !block.tokenPass; ++half) {
    Value max = next[2 * half], sum = next[2 * half + 1];
    Value stepMax = treeReduce(stepLogits[half], /*maximum=*/true);
    for (int64_t offset : {1, 2})
      stepMax =
          b.maxf(stepMax, shuffle(b, stepMax, offset, gpu::ShuffleMode::XOR));
    Value newMax = b.maxf(max, b.mulf(stepMax, block.scale));
    SmallVector<Value> terms;
    for (Value x : stepLogits[half])
      terms.push_back(exp2ScaledDiff(x, block.scale, newMax));
    next[2 * half] = newMax;
    // Else the slot mma sums the terms (scoreStep).
    if (!block.sumWeight)
      next[2 * half + 1] = b.addf(b.mulf(sum, exp2Diff(max, newMax)),
                                  treeReduce(terms, /*maximum=*/false));
    // The terms leave the branch for the chunk slots.
    if (block.chunkSlots)
      llvm::append_range(next, terms);
  }
  return next;
}

void ChunkScoreGPULowering::writeTokenSums(const ScoreBlock &block) {
  gpu::BarrierOp::create(b);
  Value blockThreads = b.index(mmaWarps * kThreadsPerWarp);
  b.forLoop(block.thread, b.sub(block.span.end, block.span.start), blockThreads,
            [&](Value e) {
              Value total = b.f32(0.0);
              for (int64_t w = 0; w < mmaWarps; ++w)
                total = b.addf(total, b.load(block.warpSums, {b.index(w), e}));
              b.store(total, tokenSums,
                      {block.batch, block.kvHead, block.rowGroup,
                       b.add(block.span.start, e)});
            });
}

void ChunkScoreGPULowering::writeSpanStatistics(const ScoreBlock &block,
                                                ValueRange stats) {
  // Combine the statistics of the four lanes that share a row.
  for (int64_t half = 0; half < laneRows; ++half) {
    Value max = stats[2 * half], sum = stats[2 * half + 1];
    for (int64_t offset : {1, 2}) {
      SmallVector<Value> both = combineStatistics(
          max, sum, shuffle(b, max, offset, gpu::ShuffleMode::XOR),
          shuffle(b, sum, offset, gpu::ShuffleMode::XOR));
      max = both[0];
      sum = both[1];
    }
    Value row = block.rows[half];
    b.ifThen(b.andI(block.real[half], b.cmp(Pred::eq, block.quad, zero)),
             [&]() {
               b.store(max, spanMax,
                       {block.batch, block.kvHead, row, block.spanIndex});
               b.store(sum, spanSum,
                       {block.batch, block.kvHead, row, block.spanIndex});
             });
    if (block.chunkSlots)
      b.ifThen(b.cmp(Pred::eq, block.quad, zero), [&]() {
        b.store(max, block.partials.rowMaxima,
                {block.warp, b.add(block.group, b.index(8 * half))});
      });
  }
}

void ChunkScoreGPULowering::writeChunkPartials(const ScoreBlock &block) {
  // The chunk slots, relative to the span's maximum (the rows' running
  // maximum after the last step); the combine kernel's shares take
  // avg_pool1d's 1/p and the keys' weight. Per 16-row tile, lane l writes
  // row l % 16 of every other slot from l / 16: each store instruction
  // writes two slots' 32-byte runs of rows, and in shared memory a slot's
  // rows fall on distinct banks (their strides are odd modulo 16). Padding
  // rows get 0, so that the chunk kernel needs no masks. (A lane per row of
  // two tiles would give the slot loop a constant trip count, which LLVM
  // unrolls whole: 28 more registers for the wgmma form of two tiles.)
  NVVM::SyncWarpOp::create(b, b.i32(-1));
  Value sixteen = b.index(kMmaRows);
  Value tileRow = b.rem(block.lane, sixteen);
  Value firstSlot = b.div(block.lane, sixteen);
  Value slotStep = b.index(kThreadsPerWarp / kMmaRows);
  for (int64_t tile = 0; tile < rowTiles; ++tile) {
    Value row = b.add(b.index(tile * kMmaRows), tileRow);
    Value queryRow = queryRowOf(block, row);
    Value isQuery = b.cmp(Pred::slt, queryRow, numQueries);
    b.ifThen(b.cmp(Pred::slt, queryRow, paddedRows), [&]() {
      Value max = b.load(block.partials.rowMaxima, {block.warp, row});
      b.forLoop(firstSlot, b.index(slotsPerSpan), slotStep, [&](Value slot) {
        Value value = slotSumRelativeTo(
            b.load(block.partials.slots, {block.warp, row, slot}), max);
        value = b.select(isQuery, value, b.f32(0.0));
        b.store(arith::TruncFOp::create(b, b.getBF16Type(), value),
                chunkPartials,
                {block.batch, block.kvHead, block.spanIndex, slot, queryRow});
      });
    });
  }
}

SmallVector<Value> ChunkScoreGPULowering::addStepToChunkSlots(
    const ChunkPartialBuffers &buffers, Value warp, Value group, Value quad,
    Value key0, Value spanStart, Value spanEnd, Value prefix,
    ArrayRef<SmallVector<Value>> terms, ArrayRef<Value> maxima) {
  // The step's slot n is chunk `firstChunk + n`. One mma.sync per 8 keys
  // and 8 slots sums the rows' terms (A) weighted by the keys' pooling
  // counts in each chunk (B). The terms go in as tf32, f32's range with 10
  // fraction bits: their f32 bits as they are, of which the tensor cores
  // read the upper 19 (a relative error below 2^-10 per term, whether the
  // hardware truncates or rounds; a cvt.rna would cost three instructions
  // per term on sm_90). The accumulators of the logits' mma hold each row's
  // keys 2t and 2t + 1 of an 8-key tile in lane t, which an m16n8k8 A
  // fragment takes as its columns t and t + 4; B's rows t and t + 4 are the
  // counts of the same two keys.
  int64_t chunk = policy.getChunkSize();
  int64_t reach = poolReach();
  int64_t slotTiles = llvm::divideCeil(stepSlots(), kSlotsPerMmaTile);
  // Positions are i32 (see ScoreBlock): the chunk numbers
  // below are a few 32-bit instructions per step, where index (64-bit)
  // divisions by the chunk size take a dozen.
  Value zero32 = b.i32(0), one32 = b.i32(1);
  Value stepEnd =
      b.min(b.min(b.add(key0, b.i32(kMmaKeysPerStep)), spanEnd), prefix);
  auto chunkAtOrAfter = [&](Value position) {
    return arith::DivUIOp::create(
        b, b.max(b.sub(position, b.i32(reach)), zero32), b.i32(chunk));
  };
  Value firstChunk = chunkAtOrAfter(key0);
  // Not negative: the span's sequence has a prefix, so stepEnd >= 1.
  Value lastChunk = arith::DivUIOp::create(
      b,
      b.min(b.add(b.sub(stepEnd, one32), b.i32(reach)), b.sub(prefix, one32)),
      b.i32(chunk));
  // The step's slots that hold chunks: n <= lastSlot (-1 when the step has
  // no prefix key); slot n is the span's slot `firstSpanSlot + n`.
  Value lastSlot = b.select(
      b.cmp(Pred::slt, key0, stepEnd),
      b.min(b.sub(lastChunk, firstChunk), b.i32(stepSlots() - 1)), b.i32(-1));
  Value firstSpanSlot = b.toIndex(b.sub(firstChunk, chunkAtOrAfter(spanStart)));
  // Earlier steps' keys (below key0) add to chunks up to
  // (key0 - 1 + reach) / C, at most (2 * reach + C - 2) / C past firstChunk:
  // only the step's first carrySlots slots can hold a sum already.
  int64_t carrySlots =
      std::max<int64_t>(0, (2 * reach + chunk - 2) / chunk) + 1;
  // Offsets from key0: keys from `limit` on add to no chunk.
  Value limit = b.sub(stepEnd, key0);
  Value prefixOffset = b.sub(prefix, key0);
  Value firstOffset = b.sub(b.mul(firstChunk, b.i32(chunk)), key0);
  Value pairOffset = b.toI32(b.mul(quad, b.index(2)));

  // A fragments per row tile m and 8-key tile: rows group and group + 8 of
  // the tile, keys 2 * quad and 2 * quad + 1.
  SmallVector<SmallVector<Value>> fragments;
  for (int64_t m = 0; m < rowTiles; ++m)
    for (int64_t tile = 0; tile < kMmaTiles; ++tile) {
      ArrayRef<Value> top = terms[2 * m], bottom = terms[2 * m + 1];
      fragments.push_back({tf32Bits(top[2 * tile]), tf32Bits(bottom[2 * tile]),
                           tf32Bits(top[2 * tile + 1]),
                           tf32Bits(bottom[2 * tile + 1])});
    }

  SmallVector<Value> rowSums;
  for (int64_t tile = 0; tile < slotTiles; ++tile) {
    // This lane's slot in the B fragment: column `group` of the n-tile.
    Value slot = b.add(b.index(kSlotsPerMmaTile * tile), group);
    Value chunkStart = b.add(firstOffset, b.toI32(b.mul(slot, b.index(chunk))));
    Value chunkEnd = b.min(b.add(chunkStart, b.i32(chunk)), prefixOffset);
    // The last column of the last n-tile, when no chunk needs it, sums
    // every key: its rows' sums of the step's terms.
    Value sumColumn;
    if (tile == slotTiles - 1 && rowSumsBySlotMma())
      sumColumn = b.cmp(Pred::eq, group, b.index(kSlotsPerMmaTile - 1));
    SmallVector<SmallVector<Value>> acc(rowTiles,
                                        SmallVector<Value>(4, b.f32(0.0)));
    for (int64_t keyTile = 0; keyTile < kMmaTiles; ++keyTile) {
      SmallVector<Value> counts =
          poolCounts(pairOffset, {8 * keyTile, 8 * keyTile + 1}, chunkStart,
                     chunkEnd, limit, sumColumn);
      for (int64_t m = 0; m < rowTiles; ++m)
        acc[m] = mma(fragments[m * kMmaTiles + keyTile], counts, acc[m],
                     b.getTF32Type());
    }
    // acc[m][i]: row `group + 8 * (2m + i / 2)`, slot `2 * quad + i % 2`:
    // the sum column's in lanes with quad 3, i odd.
    if (sumColumn)
      for (int64_t m = 0; m < rowTiles; ++m)
        llvm::append_range(rowSums, ArrayRef<Value>{acc[m][1], acc[m][3]});
    for (int64_t m = 0; m < rowTiles; ++m)
      for (int64_t i = 0; i < 4; ++i) {
        int64_t lowestSlot = kSlotsPerMmaTile * tile + i % 2;
        Value n = b.add(b.i32(lowestSlot), pairOffset);
        b.ifThen(b.cmp(Pred::sle, n, lastSlot), [&]() {
          int64_t half = 2 * m + i / 2;
          Value row = b.add(group, b.index(8 * half));
          Value spanSlot = b.add(firstSpanSlot, b.toIndex(n));
          Value reference = maxima[half];
          Value sum = acc[m][i];
          // The slot may hold an earlier step's sum, relative to that step's
          // maximum: rescale it to this one's. Slots from carrySlots on
          // start in this step, whatever the lane.
          if (lowestSlot < carrySlots) {
            Value old = b.load(buffers.slots, {warp, row, spanSlot});
            sum = b.addf(slotSumRelativeTo(old, reference), sum);
          }
          b.store(slotValue(sum, reference), buffers.slots,
                  {warp, row, spanSlot});
        });
      }
  }
  return rowSums;
}

SmallVector<Value> ChunkScoreGPULowering::poolCounts(
    Value pairOffset, ArrayRef<int64_t> keyOffsets, Value chunkStart,
    Value chunkEnd, Value limit, Value everyKey) {
  // The bounds relative to the lane's pair, so that each key compares them
  // with a constant: offsets relative to the step took adds per key.
  Value first = b.sub(chunkStart, pairOffset);
  Value end = b.sub(chunkEnd, pairOffset);
  Value keysEnd = b.sub(limit, pairOffset);
  SmallVector<Value> counts;
  if (poolReach() == 0) {
    // Without pooling a key weighs 2.0 inside the chunk and 0 outside
    // (slotCountUnit), bit t of a mask of the offsets [first, end) shifted
    // to bit 30: 0x40000000 is 2.0f, a shift and an and per key, where 1.0f
    // (0x3F800000, seven bits) took three SASS instructions and two
    // compares with the bounds four. The bounds clamp to [0, 31], which
    // keeps the shifts defined and the bits of every offset t < 31 as they
    // are.
    auto clampBit = [&](Value x) {
      return b.min(b.max(x, b.i32(0)), b.i32(31));
    };
    Value ones = b.i32(-1);
    Value mask = b.andI(
        arith::ShLIOp::create(b, ones, clampBit(first)),
        arith::XOrIOp::create(
            b, arith::ShLIOp::create(b, ones, clampBit(b.min(end, keysEnd))),
            ones));
    if (everyKey)
      mask = b.select(everyKey, ones, mask);
    for (int64_t t : keyOffsets) {
      assert(t >= 0 && t < 31 && "a key offset below the mask's clamp");
      Value atBit30 = arith::ShLIOp::create(b, mask, b.i32(30 - t));
      counts.push_back(b.andI(atBit30, b.i32(0x40000000)));
    }
    return counts;
  }
  assert(!everyKey && "pooled counts weigh every key only in their chunk");
  int64_t reach = poolReach();
  for (int64_t t : keyOffsets) {
    // Positions of the chunk within `reach` of key t.
    Value low = b.max(first, b.i32(t - reach));
    Value high = b.min(end, b.i32(t + reach + 1));
    Value count = b.max(b.sub(high, low), b.i32(0));
    count = b.select(b.cmp(Pred::sgt, keysEnd, b.i32(t)), count, b.i32(0));
    counts.push_back(
        tf32Bits(arith::SIToFPOp::create(b, b.getF32Type(), count)));
  }
  return counts;
}

void ChunkScoreGPULowering::emitCombineKernel() {
  Value block = b.index(kBlockSize);
  Value warpSize = b.index(kThreadsPerWarp);
  Value rows = b.mul(b.mul(batchSize, kvHeads), numQueries);
  // Paper: sum over queries, mean over the group; kvpress: both means.
  Value factor = b.divf(b.f32(1.0), b.indexToFloat(groupSize, b.getF32Type()));
  if (!formulas.isPaper())
    factor = b.divf(factor, b.f32(policy.getWindow()));
  // One warp per window query: lanes take every 32nd span, then combine.
  Value rowsPerBlock = b.index(kBlockSize / kThreadsPerWarp);
  queue.launch(
      "chunkkv_score_combine", {b.ceilDiv(rows, rowsPerBlock), one, one}, block,
      {}, [&](gpu::LaunchOp launchOp) {
        boundRegisters(launchOp, kCombineBlocksPerSM);
        Value thread = launchOp.getThreadIds().x;
        Value lane = b.rem(thread, warpSize);
        Value flat = b.add(b.mul(launchOp.getBlockIds().x, rowsPerBlock),
                           b.div(thread, warpSize));
        Value inside = b.cmp(Pred::slt, flat, rows);
        Value safe = b.min(flat, b.sub(rows, one));
        Value row = b.rem(safe, numQueries);
        Value kvHead = b.rem(b.div(safe, numQueries), kvHeads);
        Value batch = b.div(safe, b.mul(numQueries, kvHeads));
        Value length = clampedLength(b, op.getLengths(), batch, capacity);
        // Sequences without a prefix were not scored: no partials to read.
        Value used = b.select(b.andI(inside, b.cmp(Pred::sgt, length, window)),
                              b.ceilDiv(length, b.index(spanLength)), zero);
        // kCombineSpans spans per lane at a time, their loads in flight
        // together; a span past `used` counts as empty.
        Value lastUsed = b.sub(used, one);
        SmallVector<Value> total = b.forLoop(
            lane, used, b.index(kThreadsPerWarp * kCombineSpans),
            {b.f32(negInfinity()), b.f32(0.0)},
            [&](Value span0, ValueRange acc) -> SmallVector<Value> {
              SmallVector<Value> maxima, sums;
              for (int64_t u = 0; u < kCombineSpans; ++u) {
                Value span = b.add(span0, b.index(u * kThreadsPerWarp));
                Value inside = b.cmp(Pred::slt, span, used);
                Value safe = b.min(span, lastUsed);
                maxima.push_back(b.select(
                    inside, b.load(spanMax, {batch, kvHead, row, safe}),
                    b.f32(negInfinity())));
                sums.push_back(b.select(
                    inside, b.load(spanSum, {batch, kvHead, row, safe}),
                    b.f32(0.0)));
              }
              SmallVector<Value> combined(acc);
              for (int64_t u = 0; u < kCombineSpans; ++u)
                combined = combineStatistics(combined[0], combined[1],
                                             maxima[u], sums[u]);
              return combined;
            });
        for (int64_t offset = kThreadsPerWarp / 2; offset > 0; offset /= 2)
          total = combineStatistics(
              total[0], total[1],
              shuffle(b, total[0], offset, gpu::ShuffleMode::XOR),
              shuffle(b, total[1], offset, gpu::ShuffleMode::XOR));
        Value scale = b.divf(factor, total[1]);
        b.ifThen(b.andI(inside, b.cmp(Pred::eq, lane, zero)), [&]() {
          b.store(total[0], rowMax, {batch, kvHead, row});
          b.store(scale, rowScale, {batch, kvHead, row});
        });
        if (!singlePass)
          return;
        // Each span's share of the row's score, `scale * 2^(span max - max)`,
        // for the chunk kernel, divided by what the statistics kernel's slots
        // count per key (avg_pool1d's p, and the B fragments' weight).
        Value shareScale =
            b.mulf(scale, b.f32(1.0 / static_cast<double>(policy.getPool() *
                                                          slotCountUnit())));
        // kCombineSpans spans per lane at a time, their maxima loaded
        // together (one wait for memory each, where a span at a time waited
        // once per span). The padding rows' shares are 0 (row r's warp
        // writes rows G·w + r, G·w + r + G·w, ... below paddedRows), so that
        // the chunk kernel needs no masks.
        b.forLoop(
            lane, used, b.index(kThreadsPerWarp * kCombineSpans),
            [&](Value span0) {
              SmallVector<Value> spans, maxima;
              for (int64_t u = 0; u < kCombineSpans; ++u) {
                spans.push_back(b.add(span0, b.index(u * kThreadsPerWarp)));
                maxima.push_back(b.load(
                    spanMax, {batch, kvHead, row, b.min(spans[u], lastUsed)}));
              }
              for (int64_t u = 0; u < kCombineSpans; ++u) {
                auto writeShare = [&]() {
                  Value share =
                      b.mulf(shareScale, exp2Diff(maxima[u], total[0]));
                  b.store(share, spanShares, {batch, kvHead, spans[u], row});
                  b.forLoop(b.add(numQueries, row), paddedRows, numQueries,
                            [&](Value padding) {
                              b.store(b.f32(0.0), spanShares,
                                      {batch, kvHead, spans[u], padding});
                            });
                };
                // The first span of an iteration is below `used`.
                if (u == 0)
                  writeShare();
                else
                  b.ifThen(b.cmp(Pred::slt, spans[u], used), writeShare);
              }
            });
      });
}

SmallVector<Value> ChunkScoreGPULowering::combineStatistics(Value max1,
                                                            Value sum1,
                                                            Value max2,
                                                            Value sum2) {
  // A part without visible keys has sum 0 and may have max -inf, where
  // exp(-inf - -inf) would be NaN: take the other part as it is.
  Value zeroSum = b.f32(0.0);
  Value empty1 =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, sum1, zeroSum);
  Value empty2 =
      arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, sum2, zeroSum);
  Value max = b.maxf(max1, max2);
  Value sum = b.addf(b.mulf(sum1, exp2Diff(max1, max)),
                     b.mulf(sum2, exp2Diff(max2, max)));
  return {b.select(empty1, max2, b.select(empty2, max1, max)),
          b.select(empty1, sum2, b.select(empty2, sum1, sum))};
}

void ChunkScoreGPULowering::emitPoolKernel() {
  Value block = b.index(kBlockSize);
  int64_t half = poolReach();
  Value invPool = b.f32(1.0 / static_cast<double>(policy.getPool()));
  Type i32 = b.getI32Type();
  queue.launch(
      "chunkkv_score_pool", {b.ceilDiv(capacity, block), batchSize, one}, block,
      {}, [&](gpu::LaunchOp launchOp) {
        Value j = b.add(b.mul(launchOp.getBlockIds().x, block),
                        launchOp.getThreadIds().x);
        Value batch = launchOp.getBlockIds().y;
        Value length = clampedLength(b, op.getLengths(), batch, capacity);
        Value prefix = b.sub(length, window);
        Value inside = b.cmp(Pred::slt, j, prefix);
        Value groupMax = b.ifThenElse(
            {b.getF32Type()}, inside,
            [&]() -> SmallVector<Value> {
              SmallVector<Value> acc = b.forLoop(
                  zero, kvHeads, one, {b.f32(0.0), b.f32(0.0)},
                  [&](Value kvHead, ValueRange iters) -> SmallVector<Value> {
                    auto tokenSum = [&](Value t) {
                      return b.forLoop(
                          zero, rowGroups, one, {b.f32(0.0)},
                          [&](Value g, ValueRange s) -> SmallVector<Value> {
                            return {
                                b.addf(s[0], b.load(tokenSums,
                                                    {batch, kvHead, g, t}))};
                          })[0];
                    };
                    Value pooled = tokenSum(j);
                    if (half > 0) {
                      Value lo = b.max(b.sub(j, b.index(half)), zero);
                      Value hi = b.min(b.add(j, b.index(half + 1)), prefix);
                      Value sum = b.forLoop(
                          lo, hi, one, {b.f32(0.0)},
                          [&](Value t, ValueRange s) -> SmallVector<Value> {
                            return {b.addf(s[0], tokenSum(t))};
                          })[0];
                      pooled = b.mulf(sum, invPool);
                    }
                    return {b.addf(iters[0], pooled), b.maxf(iters[1], pooled)};
                  });
              b.store(acc[0], sequenceSums, {batch, j});
              return {acc[1]};
            },
            [&]() -> SmallVector<Value> { return {b.f32(0.0)}; })[0];
        if (formulas.isPaper())
          return;
        // Pooled sums are >= 0, so their bits order like signed integers.
        Value bits = arith::BitcastOp::create(b, i32, groupMax);
        Value warpMax = warpReduce(b, bits, /*maximum=*/true);
        Value lane = b.rem(launchOp.getThreadIds().x, b.index(kThreadsPerWarp));
        b.ifThen(b.cmp(Pred::eq, lane, zero), [&]() {
          memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::maxs, warpMax,
                                      windowMax, ValueRange{zero});
        });
      });
}

void ChunkScoreGPULowering::emitChunkKernel() {
  Value out = op.getInit();
  Value block = b.index(kBlockSize);
  Value numSlots = b.dim(out, 1);
  Value chunk = b.index(policy.getChunkSize());
  queue.launch(
      "chunkkv_score_chunks", {b.ceilDiv(numSlots, block), batchSize, one},
      block, {}, [&](gpu::LaunchOp launchOp) {
        Value c = b.add(b.mul(launchOp.getBlockIds().x, block),
                        launchOp.getThreadIds().x);
        Value batch = launchOp.getBlockIds().y;
        b.ifThen(b.cmp(Pred::slt, c, numSlots), [&]() {
          Value length = clampedLength(b, op.getLengths(), batch, capacity);
          Value prefix = b.sub(length, window);
          Value scored = formulas.scoredLength(length);
          Value numChunks = b.min(formulas.numChunks(length), numSlots);
          Value real = b.andI(b.cmp(Pred::sgt, prefix, zero),
                              b.cmp(Pred::slt, c, numChunks));
          Value score = b.ifThenElse(
              {b.getF32Type()}, real,
              [&]() -> SmallVector<Value> {
                Value maxBits = b.load(windowMax, zero);
                Value globalMax =
                    arith::BitcastOp::create(b, b.getF32Type(), maxBits);
                Value windowScore =
                    b.mulf(b.indexToFloat(kvHeads, b.getF32Type()),
                           b.addf(globalMax, b.f32(1.0)));
                Value start = b.mul(c, chunk);
                Value stop = b.min(b.add(start, chunk), scored);
                Value sum = b.forLoop(
                    start, stop, one, {b.f32(0.0)},
                    [&](Value j, ValueRange acc) -> SmallVector<Value> {
                      Value token =
                          b.load(sequenceSums, {batch, b.min(j, prefix)});
                      if (!formulas.isPaper())
                        token = b.select(b.cmp(Pred::slt, j, prefix), token,
                                         windowScore);
                      return {b.addf(acc[0], token)};
                    })[0];
                return {aggregateChunk(sum, start, stop)};
              },
              [&]() -> SmallVector<Value> {
                return {b.f32(negInfinity())};
              })[0];
          b.store(score, out, {batch, c});
        });
      });
}

void ChunkScoreGPULowering::emitChunkPartialsKernel() {
  Value out = op.getInit();
  Value numSlots = b.dim(out, 1);
  Value chunk = b.index(policy.getChunkSize());
  Value reach = b.index(poolReach());
  Value span = b.index(spanLength);
  Value warpSize = b.index(kThreadsPerWarp);
  Value warps = b.index(kChunkSumWarps);
  // A block takes 32 chunks (one per lane); its warps split each kv head's
  // query rows, kChunkSumRows at a time for kChunkSumHeads kv heads
  // together, and add up their sums in shared memory.
  queue.launch(
      "chunkkv_score_chunk_sums",
      {b.ceilDiv(numSlots, warpSize), batchSize, one},
      b.index(kChunkSumWarps * kThreadsPerWarp),
      {workgroupBuffer(b.getContext(), {kChunkSumWarps, kThreadsPerWarp},
                       b.getF32Type())},
      [&](gpu::LaunchOp launchOp) {
        boundRegisters(launchOp, kChunkSumBlocksPerSM);
        Value warpTotals = launchOp.getWorkgroupAttributions()[0];
        Value thread = launchOp.getThreadIds().x;
        Value lane = b.rem(thread, warpSize);
        Value warp = b.div(thread, warpSize);
        Value c = b.add(b.mul(launchOp.getBlockIds().x, warpSize), lane);
        Value batch = launchOp.getBlockIds().y;
        Value length = clampedLength(b, op.getLengths(), batch, capacity);
        Value prefix = b.sub(length, window);
        Value numChunks = b.min(formulas.numChunks(length), numSlots);
        Value real = b.andI(b.cmp(Pred::sgt, prefix, zero),
                            b.cmp(Pred::slt, c, numChunks));
        Value chunkStart = b.mul(c, chunk);
        // The spans holding the prefix keys that add to chunk c.
        Value firstKey = b.max(b.sub(chunkStart, reach), zero);
        Value endKey = b.min(b.add(b.add(chunkStart, chunk), reach), prefix);
        Value firstSpan = b.div(firstKey, span);
        Value endSpan = b.select(
            real, b.add(b.div(b.sub(endKey, one), span), one), firstSpan);
        Value total = b.forLoop(
            firstSpan, endSpan, one, {b.f32(0.0)},
            [&](Value s, ValueRange spanAcc) -> SmallVector<Value> {
              Value slot = b.sub(
                  c, b.div(b.max(b.sub(b.mul(s, span), reach), zero), chunk));
              // kChunkSumHeads kv heads' blocks of kChunkSumRows rows per
              // wait for memory: the slot's rows are contiguous, 16-byte
              // loads at constant offsets of one address per head, which
              // ptxas issues before the first use. A head past the last
              // reads the last one's and adds nothing.
              Value lastHead = b.sub(kvHeads, one);
              return b.forLoop(
                  zero, kvHeads, b.index(kChunkSumHeads), {spanAcc[0]},
                  [&](Value head0, ValueRange headAcc) -> SmallVector<Value> {
                    return b.forLoop(
                        b.mul(warp, b.index(kChunkSumRows)), numQueries,
                        b.mul(warps, b.index(kChunkSumRows)), {headAcc[0]},
                        [&](Value row0, ValueRange acc) -> SmallVector<Value> {
                          auto shareType =
                              VectorType::get({kShareVector}, b.getF32Type());
                          auto partialType = VectorType::get({kPartialVector},
                                                             b.getBF16Type());
                          SmallVector<Value> heads, shares, partials;
                          for (int64_t h = 0; h < kChunkSumHeads; ++h)
                            heads.push_back(
                                b.min(b.add(head0, b.index(h)), lastHead));
                          for (Value kvHead : heads) {
                            for (int64_t u = 0; u < kChunkSumRows;
                                 u += kShareVector)
                              shares.push_back(alignedLoad(
                                  b, shareType, spanShares,
                                  {batch, kvHead, s, b.add(row0, b.index(u))},
                                  kVectorBytes));
                            for (int64_t u = 0; u < kChunkSumRows;
                                 u += kPartialVector)
                              partials.push_back(
                                  alignedLoad(b, partialType, chunkPartials,
                                              {batch, kvHead, s, slot,
                                               b.add(row0, b.index(u))},
                                              kVectorBytes));
                          }
                          // Each head's sum over its rows, a chain of fmas
                          // (fewer instructions and live values than
                          // products added as a tree). The padding rows'
                          // shares and partials are 0.
                          SmallVector<Value> sums;
                          for (int64_t h = 0; h < kChunkSumHeads; ++h) {
                            Value sum = b.f32(0.0);
                            for (int64_t u = 0; u < kChunkSumRows; ++u) {
                              int64_t i = h * kChunkSumRows + u;
                              Value share = vector::ExtractOp::create(
                                  b, shares[i / kShareVector],
                                  ArrayRef<int64_t>{i % kShareVector});
                              Value partial = vector::ExtractOp::create(
                                  b, partials[i / kPartialVector],
                                  ArrayRef<int64_t>{i % kPartialVector});
                              partial = arith::ExtFOp::create(b, b.getF32Type(),
                                                              partial);
                              sum = math::FmaOp::create(b, share, partial, sum);
                            }
                            sums.push_back(sum);
                          }
                          Value sum = acc[0];
                          for (int64_t h = 0; h < kChunkSumHeads; ++h) {
                            Value realHead = b.cmp(
                                Pred::slt, b.add(head0, b.index(h)), kvHeads);
                            sum =
                                b.addf(sum, h == 0 ? sums[h]
                                                   : b.select(realHead, sums[h],
                                                              b.f32(0.0)));
                          }
                          return {sum};
                        });
                  });
            })[0];
        b.store(total, warpTotals, {warp, lane});
        gpu::BarrierOp::create(b);
        b.ifThen(
            b.andI(b.cmp(Pred::eq, warp, zero), b.cmp(Pred::slt, c, numSlots)),
            [&]() {
              Value sum = b.f32(0.0);
              for (int64_t w = 0; w < kChunkSumWarps; ++w)
                sum = b.addf(sum, b.load(warpTotals, {b.index(w), lane}));
              sum = aggregateChunk(sum, chunkStart,
                                   b.min(b.add(chunkStart, chunk), prefix));
              b.store(b.select(real, sum, b.f32(negInfinity())), out,
                      {batch, c});
            });
      });
}

} // namespace

template <> void gpukernels::GPUKernels<ChunkScoreOp>::emit() {
  ChunkScoreGPULowering(b, op, options).emit();
}
