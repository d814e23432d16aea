//===- GPUKernels.h - what the GPU kernels of chunkkv ops share -*- C++ -*-===//
//
// Private to chunkkv-lower-to-gpu: the limits and constants its kernels
// share, the device queue of one op, the warp and block primitives, and the
// entry points of each op's kernels (ScoreKernels.cpp, TopkKernel.cpp,
// CompactKernels.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef CHUNKKV_LIB_CONVERSION_CHUNKKVTOGPU_GPUKERNELS_H
#define CHUNKKV_LIB_CONVERSION_CHUNKKVTOGPU_GPUKERNELS_H

#include "chunkkv/Conversion/KernelBuilder.h"
#include "chunkkv/Conversion/Passes.h"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include <utility>

namespace mlir {
namespace chunkkv {
namespace gpukernels {

constexpr int64_t kThreadsPerWarp = 32;
/// Keys staged in shared memory at a time by the score kernels.
constexpr int64_t kKeysPerTile = 32;
/// Bytes moved by one vector load or store of the caches.
constexpr int64_t kVectorBytes = 16;
/// Threads of the pooling, chunk and copy kernels.
constexpr int64_t kBlockSize = 256;
/// Threads of the one-block-per-sequence top-k and compaction-plan kernels.
constexpr int64_t kScanBlockSize = 1024;
/// Caches the score kernels take: fewer tokens than this, so that key
/// positions are 32-bit.
constexpr int64_t kMaxCapacity = int64_t(1) << 31;
/// Largest head dimension whose window queries stay in registers.
constexpr int64_t kMaxHeadDim = 128;
/// Most threads of a block: one per window query of a kv-head group.
constexpr int64_t kMaxQueriesPerGroup = 1024;

/// The type of a workgroup (shared) buffer of `shape` and `element`.
MemRefType workgroupBuffer(MLIRContext *ctx, ArrayRef<int64_t> shape,
                           Type element);

/// The device work of one op, ordered on one stream: every allocation,
/// memset, launch and free depends on the previous one through an async
/// token, and `finish` waits for the last. The host lowering turns this into
/// one stream per op and a single synchronisation at its end.
class DeviceQueue {
public:
  explicit DeviceQueue(KernelBuilder &b);

  /// A device buffer of `sizes` (all dynamic).
  Value alloc(Type element, ValueRange sizes);
  /// A device buffer of `type`, with the sizes of its dynamic dimensions.
  Value alloc(MemRefType type, ValueRange dynamicSizes);
  void free(Value buffer);
  void memset(Value buffer, Value value);

  /// Emits a `gpu.launch` of the kernel `name` (the name it gets when
  /// outlined) with a 3-d grid and a 1-d block of `blockSize` threads, plus
  /// workgroup (shared) buffers of the given types and, if given, the i32
  /// `dynamicSharedBytes` of dynamic shared memory; `body` fills the kernel
  /// and receives the launch op.
  void launch(StringRef name, std::array<Value, 3> grid, Value blockSize,
              ArrayRef<Type> shared, function_ref<void(gpu::LaunchOp)> body,
              Value dynamicSharedBytes = nullptr);

  /// Waits for everything queued.
  void finish();

private:
  KernelBuilder &b;
  Type tokenType;
  Value token;
};

/// `value` from the lane `offset` away in `mode` (gpu.shuffle over a warp).
Value shuffle(KernelBuilder &b, Value value, int64_t offset,
              gpu::ShuffleMode mode);

/// Inclusive prefix sum of the i32 `value` over the threads of a block of
/// kScanBlockSize (32 warps of 32) threads, and the block's total.
/// `warpSums` is a workgroup buffer of kScanBlockSize / 32 i32. Every thread
/// of the block must call it.
std::pair<Value, Value> blockScan(KernelBuilder &b, Value value, Value thread,
                                  Value warpSums);

/// Elements of one 16-byte vector of `element`.
int64_t vectorLanes(Type element);

/// A vector load or store of `memref` at `indices` that LLVM may take as
/// aligned to `alignment` bytes.
Value alignedLoad(KernelBuilder &b, VectorType type, Value memref,
                  ValueRange indices, int64_t alignment);
void alignedStore(KernelBuilder &b, Value value, Value memref,
                  ValueRange indices, int64_t alignment);

/// The GPU kernels of one `OpTy` op, for EmitterPattern: `emit` is defined
/// with the op's kernels.
template <typename OpTy> class GPUKernels {
public:
  GPUKernels(KernelBuilder &b, OpTy op, const GPUScoreOptions &options)
      : b(b), op(op), options(options) {}

  void emit();

private:
  KernelBuilder &b;
  OpTy op;
  GPUScoreOptions options;
};

/// The statistics, combine and token or chunk kernels of a chunk_score op
/// (ScoreKernels.cpp).
template <> void GPUKernels<ChunkScoreOp>::emit();
/// The radix select of each sequence's chunks (TopkKernel.cpp).
template <> void GPUKernels<TopkChunksOp>::emit();

/// The plan and gather kernels of compact ops that may run side by side,
/// in one launch each (CompactKernels.cpp).
void emitCompactionKernels(KernelBuilder &b, ArrayRef<CompactOp> group);

} // namespace gpukernels
} // namespace chunkkv
} // namespace mlir

#endif // CHUNKKV_LIB_CONVERSION_CHUNKKVTOGPU_GPUKERNELS_H
