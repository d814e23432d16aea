//===- ChunkKVToGPU.cpp - chunkkv ops to gpu dialect kernels --------------===//
//
// Lowers the memref forms of chunk_score, topk_chunks and compact to
// gpu.launch kernels plus the device scratch buffers between them: which ops
// the kernels take, the patterns and the pass. The kernels of each op are in
// ScoreKernels.cpp, TopkKernel.cpp and CompactKernels.cpp; their division of
// work is described in Passes.td, and the numbers follow docs/semantics.md
// exactly like the CPU lowering.
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
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

namespace mlir {
namespace chunkkv {
#define GEN_PASS_DEF_CHUNKKVTOGPUPASS
#include "chunkkv/Conversion/Passes.h.inc"
} // namespace chunkkv
} // namespace mlir

using namespace mlir;
using namespace mlir::chunkkv;
using namespace mlir::chunkkv::gpukernels;

namespace {

/// Shared memory a block may declare statically (bytes).
constexpr int64_t kStaticSharedBytes = 48 * 1024;
/// The most shared memory any CUDA GPU gives one block (sm_90: 227 KiB).
constexpr int64_t kMaxSharedBytes = 227 * 1024;

//===----------------------------------------------------------------------===//
// Patterns and pass
//===----------------------------------------------------------------------===//

/// Why the GPU kernels cannot take `op`, or an empty string.
std::string unsupportedReason(Operation *op) {
  if (llvm::any_of(op->getOperandTypes(),
                   [](Type t) { return isa<RankedTensorType>(t); }))
    return "expects the memref form (bufferize first): the GPU kernels "
           "read and write device buffers";
  auto checkCache = [](Value cache, bool queriesInRegisters) -> std::string {
    auto type = cast<MemRefType>(cache.getType());
    int64_t headDim = type.getDimSize(3);
    Type element = type.getElementType();
    if (ShapedType::isDynamic(headDim))
      return "expects a static head dimension";
    if (!type.isLastDimUnitStride())
      return "expects caches with unit stride along the head dimension";
    int64_t lanes = vectorLanes(element);
    if (headDim % lanes != 0)
      return "expects the head dimension to be a multiple of " +
             std::to_string(lanes) + " (16-byte rows of " +
             std::to_string(lanes) + " elements), got " +
             std::to_string(headDim);
    if (queriesInRegisters && headDim > kMaxHeadDim)
      return "expects a head dimension of at most " +
             std::to_string(kMaxHeadDim) + ", got " + std::to_string(headDim);
    return "";
  };
  if (auto score = dyn_cast<ChunkScoreOp>(op)) {
    auto q = cast<MemRefType>(score.getQueries().getType());
    if (!q.isLastDimUnitStride())
      return "expects queries with unit stride along the head dimension";
    std::string reason =
        checkCache(score.getKeys(), /*queriesInRegisters=*/true);
    if (!reason.empty())
      return reason;
    auto k = cast<MemRefType>(score.getKeys().getType());
    int64_t tokens = k.getDimSize(capacityDim(score.getLayout()));
    if (!ShapedType::isDynamic(tokens) && tokens >= kMaxCapacity)
      return "expects caches of fewer than 2^31 tokens, got " +
             std::to_string(tokens);
    int64_t kvHeads = k.getDimSize(headsDim(score.getLayout()));
    if (!q.isDynamicDim(1) && !ShapedType::isDynamic(kvHeads) &&
        q.getDimSize(1) / kvHeads * score.getPolicy().getWindow() >
            kMaxQueriesPerGroup)
      return "expects at most " + std::to_string(kMaxQueriesPerGroup) +
             " window queries per kv head (G * w)";
    return "";
  }
  if (auto compact = dyn_cast<CompactOp>(op))
    return checkCache(compact.getCache(), /*queriesInRegisters=*/false);
  return "";
}

/// Whether `a` and `b` may run side by side: neither reads or writes a
/// buffer that the other writes. Buffers are told apart by SSA value, as in
/// telling in-place compactions from others.
bool independentCompactions(CompactOp a, CompactOp b) {
  auto writes = [](CompactOp op, Value buffer) {
    return buffer == op.getCacheInit() || buffer == op.getLengthsInit();
  };
  return llvm::none_of(b->getOperands(),
                       [&](Value v) { return writes(a, v); }) &&
         llvm::none_of(a->getOperands(), [&](Value v) { return writes(b, v); });
}

/// `op` and the compact ops after it that emitCompactionKernels can lower with
/// it: each follows the previous one past host ops without memory effects
/// or regions, and is independent of every earlier one.
SmallVector<CompactOp> compactGroup(CompactOp op,
                                    bool (*canLower)(Operation *)) {
  SmallVector<CompactOp> group{op};
  for (Operation *next = op->getNextNode(); next; next = next->getNextNode()) {
    auto compact = dyn_cast<CompactOp>(next);
    if (!compact) {
      if (next->getNumRegions() != 0 || !isMemoryEffectFree(next))
        break;
      continue;
    }
    if (!canLower(compact) || !llvm::all_of(group, [&](CompactOp member) {
          return independentCompactions(member, compact);
        }))
      break;
    group.push_back(compact);
  }
  return group;
}

/// Lowers `op` together with the compact ops after it that form a group
/// (compactGroup), at the place of the last: what the ops in between
/// compute cannot depend on memory, so moving the group's device work past
/// them changes nothing they see.
struct CompactGroupLowering : public OpConversionPattern<CompactOp> {
  CompactGroupLowering(MLIRContext *ctx, bool (*canLower)(Operation *))
      : OpConversionPattern<CompactOp>(ctx), canLower(canLower) {}

  LogicalResult
  matchAndRewrite(CompactOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!canLower(op))
      return failure();
    SmallVector<CompactOp> group = compactGroup(op, canLower);
    SmallVector<Location> locations;
    for (CompactOp member : group)
      locations.push_back(member.getLoc());
    rewriter.setInsertionPoint(group.back());
    KernelBuilder b(rewriter.getFusedLoc(locations), rewriter);
    emitCompactionKernels(b, group);
    for (CompactOp member : group)
      rewriter.eraseOp(member);
    return success();
  }

  bool (*canLower)(Operation *);
};

/// A rewrite of the device work that the lowering created (`lowered`): the
/// device work and code already in the input stay as they are.
template <typename OpTy>
struct LoweredOpPattern : public OpRewritePattern<OpTy> {
  LoweredOpPattern(MLIRContext *ctx, const DenseSet<Operation *> &lowered)
      : OpRewritePattern<OpTy>(ctx), lowered(lowered) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const final {
    if (!lowered.contains(op))
      return failure();
    return rewriteLowered(op, rewriter);
  }

  virtual LogicalResult rewriteLowered(OpTy op,
                                       PatternRewriter &rewriter) const = 0;

  const DenseSet<Operation *> &lowered;
};

/// `gpu.wait [%t]` followed, past host ops without memory effects, by
/// `%u = gpu.wait async`: the second op's device work (the next chunkkv op)
/// continues the first one's stream instead of waiting for it. Consecutive
/// ops then share one stream and one synchronisation at the end.
struct JoinDeviceQueues : public LoweredOpPattern<gpu::WaitOp> {
  using LoweredOpPattern::LoweredOpPattern;

  LogicalResult rewriteLowered(gpu::WaitOp wait,
                               PatternRewriter &rewriter) const override {
    if (wait.getAsyncToken() || wait.getAsyncDependencies().size() != 1)
      return failure();
    Operation *next = wait->getNextNode();
    while (next && next->getNumRegions() == 0 && isMemoryEffectFree(next) &&
           !isa<gpu::WaitOp>(next))
      next = next->getNextNode();
    auto start = dyn_cast_or_null<gpu::WaitOp>(next);
    if (!start || !lowered.contains(start) || !start.getAsyncToken() ||
        !start.getAsyncDependencies().empty())
      return failure();
    rewriter.replaceOp(start, wait.getAsyncDependencies().front());
    rewriter.eraseOp(wait);
    return success();
  }
};

/// Whether the device op `deviceOp` may read or write `buffer`: it or its
/// kernel body uses it, or a host op that is not a free, a memset or a
/// kernel of its own uses it (a view, say, through which a kernel may).
bool mayTouch(Operation *deviceOp, Value buffer) {
  return llvm::any_of(buffer.getUsers(), [&](Operation *user) {
    return deviceOp->isAncestor(user) ||
           !(isa<gpu::DeallocOp, gpu::MemsetOp>(user) ||
             user->getParentOfType<gpu::LaunchOp>());
  });
}

/// `%d = gpu.dealloc async [%t] %buffer` whose token only the next device
/// op of the chain waits for, an op that does not use `%buffer` and is not
/// a free: the free moves after that op. Repeated, a chain's frees gather at
/// its end, after its last kernel, so that consecutive kernels follow each
/// other on the stream with nothing in between (a kernel launched with
/// programmatic stream serialization then directly follows the one it depends
/// on).
struct SinkDeallocs : public LoweredOpPattern<gpu::DeallocOp> {
  using LoweredOpPattern::LoweredOpPattern;

  LogicalResult rewriteLowered(gpu::DeallocOp dealloc,
                               PatternRewriter &rewriter) const override {
    Value token = dealloc.getAsyncToken();
    if (!token || !token.hasOneUse() ||
        dealloc.getAsyncDependencies().size() != 1)
      return failure();
    Operation *next = *token.getUsers().begin();
    auto async = dyn_cast<gpu::AsyncOpInterface>(next);
    // Frees in a row stay in their order.
    if (!async || isa<gpu::DeallocOp>(next) || !async.getAsyncToken() ||
        async.getAsyncDependencies().size() != 1 ||
        next->getBlock() != dealloc->getBlock())
      return failure();
    if (mayTouch(next, dealloc.getMemref()))
      return failure();
    Value before = dealloc.getAsyncDependencies().front();
    Value after = async.getAsyncToken();
    rewriter.modifyOpInPlace(next,
                             [&]() { next->replaceUsesOfWith(token, before); });
    rewriter.replaceAllUsesWith(after, token);
    rewriter.modifyOpInPlace(dealloc, [&]() {
      dealloc->moveAfter(next);
      dealloc->replaceUsesOfWith(before, after);
    });
    return success();
  }
};

/// Collects into `ops`, operands first, the ops after `point` in its block
/// that compute `value`; false where one of them has memory effects or
/// regions, and so cannot move before `point`.
bool collectHostValueAfter(Value value, Operation *point,
                           llvm::SetVector<Operation *> &ops) {
  Operation *def = value.getDefiningOp();
  // A value of another block dominates the block of its user (the op to
  // move), and so `point`.
  if (!def || def->getBlock() != point->getBlock() ||
      def->isBeforeInBlock(point) || ops.contains(def))
    return true;
  if (def == point || def->getNumRegions() != 0 || !isMemoryEffectFree(def))
    return false;
  for (Value operand : def->getOperands())
    if (!collectHostValueAfter(operand, point, ops))
      return false;
  ops.insert(def);
  return true;
}

/// `%m, %t = gpu.alloc async [%k]` or `%t = gpu.memset async [%k] %buffer`
/// where `%k` is the token of a launch (or, for an allocation, a memset)
/// that only this op waits for, and that does not use the memset's buffer:
/// the op moves before it, with the host ops without memory effects that
/// compute its operands. Repeated, a chain's allocations and memsets gather
/// at its start, before its first kernel, so that consecutive kernels follow
/// each other on the stream with nothing in between (the frees gather at its
/// end: SinkDeallocs). Stream order holds for every buffer: the kernel passed
/// does not touch it. Memsets pass kernels only, so two never swap back and
/// forth.
template <typename OpTy>
struct HoistBeforeKernels : public LoweredOpPattern<OpTy> {
  using LoweredOpPattern<OpTy>::LoweredOpPattern;

  LogicalResult rewriteLowered(OpTy op,
                               PatternRewriter &rewriter) const override {
    Value token = op.getAsyncToken();
    if (!token || op.getAsyncDependencies().size() != 1)
      return failure();
    Value before = op.getAsyncDependencies().front();
    Operation *previous = before.getDefiningOp();
    bool passable = isa_and_nonnull<gpu::LaunchOp>(previous);
    if constexpr (std::is_same_v<OpTy, gpu::AllocOp>)
      passable |= isa_and_nonnull<gpu::MemsetOp>(previous);
    else if (passable && mayTouch(previous, op.getDst()))
      return failure();
    if (!passable || !before.hasOneUse() ||
        previous->getBlock() != op->getBlock())
      return failure();
    auto async = cast<gpu::AsyncOpInterface>(previous);
    if (async.getAsyncDependencies().size() != 1)
      return failure();
    llvm::SetVector<Operation *> operands;
    for (Value operand : op->getOperands())
      if (operand != before &&
          !collectHostValueAfter(operand, previous, operands))
        return failure();
    for (Operation *host : operands)
      rewriter.moveOpBefore(host, previous);
    Value first = async.getAsyncDependencies().front();
    rewriter.replaceAllUsesWith(token, before);
    rewriter.modifyOpInPlace(op,
                             [&]() { op->replaceUsesOfWith(before, first); });
    rewriter.modifyOpInPlace(
        previous, [&]() { previous->replaceUsesOfWith(first, token); });
    rewriter.moveOpBefore(op, previous);
    return success();
  }
};

/// Bytes between the buffers that coalesceAllocations carves out of one
/// allocation: every buffer starts as aligned as a pool allocation's 16-byte
/// vector accesses need, and more.
constexpr int64_t kCarveAlignment = 256;

/// The one free of `alloc`'s buffer, or null where it has none or several.
gpu::DeallocOp soleFree(gpu::AllocOp alloc) {
  gpu::DeallocOp free;
  for (Operation *user : alloc.getMemref().getUsers()) {
    auto dealloc = dyn_cast<gpu::DeallocOp>(user);
    if (dealloc && free)
      return nullptr;
    if (dealloc)
      free = dealloc;
  }
  return free;
}

/// Whether `alloc` can become a view of a larger device allocation: a
/// buffer of whole bytes with the identity layout, freed once.
bool isCarvable(gpu::AllocOp alloc) {
  MemRefType type = alloc.getType();
  Type element = type.getElementType();
  if (!alloc.getAsyncToken() || alloc.getAsyncDependencies().size() != 1 ||
      !alloc.getSymbolOperands().empty() || alloc.getHostShared() ||
      !type.getLayout().isIdentity() || !element.isIntOrFloat() ||
      element.getIntOrFloatBitWidth() % 8 != 0)
    return false;
  gpu::DeallocOp free = soleFree(alloc);
  return free && free.getAsyncToken() &&
         free.getAsyncDependencies().size() == 1 &&
         free->getBlock() == alloc->getBlock();
}

/// The lowered chains' runs of consecutive allocations (each waits for the
/// previous one alone) of buffers isCarvable takes.
SmallVector<SmallVector<gpu::AllocOp>>
allocationRuns(Operation *root, const DenseSet<Operation *> &lowered) {
  SmallVector<SmallVector<gpu::AllocOp>> runs;
  root->walk([&](gpu::AllocOp alloc) {
    if (!lowered.contains(alloc) || !isCarvable(alloc))
      return;
    if (!runs.empty()) {
      Value previous = runs.back().back().getAsyncToken();
      if (previous.hasOneUse() &&
          alloc.getAsyncDependencies().front() == previous) {
        runs.back().push_back(alloc);
        return;
      }
    }
    runs.push_back({alloc});
  });
  return runs;
}

/// Whether the buffers of `run` are used only after its last allocation,
/// where coalesceAllocations defines their views.
bool usedAfterRun(MutableArrayRef<gpu::AllocOp> run) {
  Operation *last = run.back();
  return llvm::all_of(run, [&](gpu::AllocOp alloc) {
    return llvm::all_of(alloc.getMemref().getUsers(), [&](Operation *user) {
      Operation *inBlock = last->getBlock()->findAncestorOpInBlock(*user);
      return inBlock && last->isBeforeInBlock(inBlock);
    });
  });
}

/// Replaces the allocations of `run` by one allocation of bytes and a
/// `memref.view` of it per buffer, and their frees by one free where the
/// last of them was: one driver call each, where there were one per buffer.
void coalesceAllocations(MutableArrayRef<gpu::AllocOp> run,
                         RewriterBase &rewriter) {
  gpu::AllocOp first = run.front(), last = run.back();
  Location loc = first.getLoc();
  // At the last allocation, where every size is defined.
  rewriter.setInsertionPoint(last);
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(rewriter, loc, value);
  };
  Value alignment = index(kCarveAlignment);
  Value total = index(0);
  SmallVector<Value> shifts;
  for (gpu::AllocOp alloc : run) {
    MemRefType type = alloc.getType();
    int64_t staticBytes = type.getElementTypeBitWidth() / 8;
    for (int64_t size : type.getShape())
      if (!ShapedType::isDynamic(size))
        staticBytes *= size;
    Value bytes = index(staticBytes);
    for (Value size : alloc.getDynamicSizes())
      bytes = arith::MulIOp::create(rewriter, loc, bytes, size);
    shifts.push_back(total);
    Value padded = arith::MulIOp::create(
        rewriter, loc,
        arith::CeilDivSIOp::create(rewriter, loc, bytes, alignment), alignment);
    total = arith::AddIOp::create(rewriter, loc, total, padded);
  }
  auto bytesType =
      MemRefType::get({ShapedType::kDynamic}, rewriter.getIntegerType(8));
  auto base = gpu::AllocOp::create(
      rewriter, loc, bytesType, first.getAsyncToken().getType(),
      first.getAsyncDependencies(), ValueRange{total}, ValueRange{},
      /*hostShared=*/false);
  rewriter.replaceAllUsesWith(last.getAsyncToken(), base.getAsyncToken());

  gpu::DeallocOp lastFree;
  for (auto [alloc, shift] : llvm::zip_equal(run, shifts)) {
    gpu::DeallocOp free = soleFree(alloc);
    if (!lastFree || lastFree->isBeforeInBlock(free))
      lastFree = free;
    Value view =
        memref::ViewOp::create(rewriter, loc, alloc.getType(), base.getMemref(),
                               shift, alloc.getDynamicSizes());
    rewriter.replaceAllUsesExcept(alloc.getMemref(), view, free);
  }
  rewriter.setInsertionPoint(lastFree);
  auto baseFree = gpu::DeallocOp::create(
      rewriter, lastFree.getLoc(), lastFree.getAsyncToken().getType(),
      lastFree.getAsyncDependencies(), base.getMemref());
  rewriter.replaceOp(lastFree, baseFree.getAsyncToken());
  // Each buffer's free (all but the one replaced), then the allocations,
  // the last first: each one's token is only the next one's dependency.
  for (gpu::AllocOp alloc : run)
    for (Operation *user :
         llvm::make_early_inc_range(alloc.getMemref().getUsers()))
      rewriter.replaceOp(user,
                         cast<gpu::DeallocOp>(user).getAsyncDependencies());
  for (gpu::AllocOp alloc : llvm::reverse(run))
    rewriter.eraseOp(alloc);
}

struct ChunkKVToGPUPass
    : public chunkkv::impl::ChunkKVToGPUPassBase<ChunkKVToGPUPass> {
  using Base::Base;

  void runOnOperation() override {
    GPUScoreOptions options{
        tokensPerBlock, singlePass,           mmaRowTiles, keyStages,
        minBlocksPerSM, sharedMemoryPerBlock, mmaWarps,    warpgroupMma};
    std::string invalid = checkGPUScoreOptions(options);
    if (!invalid.empty()) {
      getOperation()->emitError() << "chunkkv-lower-to-gpu: " << invalid;
      return signalPassFailure();
    }
    // Report every op the kernels cannot take, with the reason, before
    // changing anything.
    bool unsupported = false;
    getOperation()->walk([&](Operation *op) {
      if (!isa<ChunkScoreOp, TopkChunksOp, CompactOp>(op))
        return;
      std::string reason = unsupportedReason(op);
      if (reason.empty())
        return;
      op->emitOpError("cannot be lowered to GPU kernels: ") << reason;
      unsupported = true;
    });
    if (unsupported)
      return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    populateChunkKVToGPUPatterns(patterns, options);
    SmallVector<Operation *> created;
    if (failed(lowerChunkKVOps(getOperation(), std::move(patterns), &created)))
      return signalPassFailure();
    if (created.empty())
      return;
    DenseSet<Operation *> lowered(created.begin(), created.end());
    RewritePatternSet joins(&getContext());
    joins.add<JoinDeviceQueues, HoistBeforeKernels<gpu::AllocOp>,
              HoistBeforeKernels<gpu::MemsetOp>, SinkDeallocs>(&getContext(),
                                                               lowered);
    if (failed(applyPatternsGreedily(getOperation(), std::move(joins))))
      return signalPassFailure();
    IRRewriter rewriter(&getContext());
    for (SmallVector<gpu::AllocOp> &run :
         allocationRuns(getOperation(), lowered))
      if (run.size() > 1 && usedAfterRun(run))
        coalesceAllocations(run, rewriter);
  }
};

} // namespace

std::string
mlir::chunkkv::checkGPUScoreOptions(const GPUScoreOptions &options) {
  if (options.tokensPerBlock < kKeysPerTile ||
      options.tokensPerBlock % kKeysPerTile != 0)
    return "tokens-per-block must be a positive multiple of " +
           std::to_string(kKeysPerTile) + ", got " +
           std::to_string(options.tokensPerBlock);
  if (options.mmaRowTiles != 1 && options.mmaRowTiles != 2)
    return "mma-row-tiles must be 1 or 2, got " +
           std::to_string(options.mmaRowTiles);
  if (options.keyStages < 2 || options.keyStages > 4)
    return "key-stages must be 2, 3 or 4, got " +
           std::to_string(options.keyStages);
  if (options.mmaWarps != 4 && options.mmaWarps != 8)
    return "mma-warps must be 4 or 8, got " + std::to_string(options.mmaWarps);
  if (options.minBlocksPerSM < 0 || options.minBlocksPerSM > 4)
    return "min-blocks-per-sm must be 0 (no bound) to 4, got " +
           std::to_string(options.minBlocksPerSM);
  if (options.sharedMemoryPerBlock < kStaticSharedBytes ||
      options.sharedMemoryPerBlock > kMaxSharedBytes)
    return "shared-memory-per-block must be " +
           std::to_string(kStaticSharedBytes) + " to " +
           std::to_string(kMaxSharedBytes) + " bytes, got " +
           std::to_string(options.sharedMemoryPerBlock);
  return "";
}

void mlir::chunkkv::populateChunkKVToGPUPatterns(
    RewritePatternSet &patterns, const GPUScoreOptions &options) {
  MLIRContext *ctx = patterns.getContext();
  auto isSupported = [](Operation *op) {
    return unsupportedReason(op).empty();
  };
  patterns.add<
      EmitterPattern<ChunkScoreOp, GPUKernels<ChunkScoreOp>, GPUScoreOptions>,
      EmitterPattern<TopkChunksOp, GPUKernels<TopkChunksOp>, GPUScoreOptions>>(
      ctx, options, +isSupported);
  patterns.add<CompactGroupLowering>(ctx, +isSupported);
}
