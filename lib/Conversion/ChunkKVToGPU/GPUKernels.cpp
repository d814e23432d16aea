//===- GPUKernels.cpp - what the GPU kernels of chunkkv ops share ---------===//
//
// The device queue of one op and the warp and block primitives of the
// kernels of chunkkv-lower-to-gpu.
//
//===----------------------------------------------------------------------===//

#include "GPUKernels.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::chunkkv;
using namespace mlir::chunkkv::gpukernels;

using Pred = arith::CmpIPredicate;

MemRefType gpukernels::workgroupBuffer(MLIRContext *ctx,
                                       ArrayRef<int64_t> shape, Type element) {
  return MemRefType::get(
      shape, element, MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
}

DeviceQueue::DeviceQueue(KernelBuilder &b) : b(b) {
  tokenType = gpu::AsyncTokenType::get(b.getContext());
  token = gpu::WaitOp::create(b, tokenType, ValueRange{}).getAsyncToken();
}

Value DeviceQueue::alloc(Type element, ValueRange sizes) {
  SmallVector<int64_t> shape(sizes.size(), ShapedType::kDynamic);
  return alloc(MemRefType::get(shape, element), sizes);
}

Value DeviceQueue::alloc(MemRefType type, ValueRange dynamicSizes) {
  auto op = gpu::AllocOp::create(b, type, tokenType, ValueRange{token},
                                 dynamicSizes, ValueRange{},
                                 /*hostShared=*/false);
  token = op.getAsyncToken();
  return op.getMemref();
}

void DeviceQueue::free(Value buffer) {
  token = gpu::DeallocOp::create(b, tokenType, ValueRange{token}, buffer)
              .getAsyncToken();
}

void DeviceQueue::memset(Value buffer, Value value) {
  token = gpu::MemsetOp::create(b, tokenType, ValueRange{token}, buffer, value)
              .getAsyncToken();
}

void DeviceQueue::launch(StringRef name, std::array<Value, 3> grid,
                         Value blockSize, ArrayRef<Type> shared,
                         function_ref<void(gpu::LaunchOp)> body,
                         Value dynamicSharedBytes) {
  Value one = b.index(1);
  auto op = gpu::LaunchOp::create(
      b, grid[0], grid[1], grid[2], blockSize, one, one, dynamicSharedBytes,
      tokenType, ValueRange{token}, TypeRange(shared), TypeRange{}, nullptr,
      nullptr, nullptr,
      /*module=*/nullptr, FlatSymbolRefAttr::get(b.getContext(), name));
  token = op.getAsyncToken();
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&op.getBody().front());
  body(op);
  gpu::TerminatorOp::create(b);
}

void DeviceQueue::finish() {
  gpu::WaitOp::create(b, Type(), ValueRange{token});
}

Value gpukernels::shuffle(KernelBuilder &b, Value value, int64_t offset,
                          gpu::ShuffleMode mode) {
  return gpu::ShuffleOp::create(b, value, b.i32(offset), b.i32(kThreadsPerWarp),
                                mode)
      .getShuffleResult();
}

std::pair<Value, Value> gpukernels::blockScan(KernelBuilder &b, Value value,
                                              Value thread, Value warpSums) {
  Value lane = b.rem(thread, b.index(kThreadsPerWarp));
  Value warp = b.div(thread, b.index(kThreadsPerWarp));
  for (int64_t offset = 1; offset < kThreadsPerWarp; offset *= 2) {
    Value below = shuffle(b, value, offset, gpu::ShuffleMode::UP);
    value = b.select(b.cmp(Pred::sge, lane, b.index(offset)),
                     b.add(value, below), value);
  }
  b.ifThen(b.cmp(Pred::eq, lane, b.index(kThreadsPerWarp - 1)),
           [&]() { b.store(value, warpSums, warp); });
  gpu::BarrierOp::create(b);
  // The first warp turns the warp totals into inclusive prefix sums.
  b.ifThen(b.cmp(Pred::eq, warp, b.index(0)), [&]() {
    Value total = b.load(warpSums, lane);
    for (int64_t offset = 1; offset < kThreadsPerWarp; offset *= 2) {
      Value below = shuffle(b, total, offset, gpu::ShuffleMode::UP);
      total = b.select(b.cmp(Pred::sge, lane, b.index(offset)),
                       b.add(total, below), total);
    }
    b.store(total, warpSums, lane);
  });
  gpu::BarrierOp::create(b);
  Value before = b.ifThenElse(
      {b.getI32Type()}, b.cmp(Pred::sgt, warp, b.index(0)),
      [&]() -> SmallVector<Value> {
        return {b.load(warpSums, b.sub(warp, b.index(1)))};
      },
      [&]() -> SmallVector<Value> { return {b.i32(0)}; })[0];
  Value blockTotal =
      b.load(warpSums, b.index(kScanBlockSize / kThreadsPerWarp - 1));
  gpu::BarrierOp::create(b);
  return {b.add(value, before), blockTotal};
}

int64_t gpukernels::vectorLanes(Type element) {
  return kVectorBytes / (element.getIntOrFloatBitWidth() / 8);
}

Value gpukernels::alignedLoad(KernelBuilder &b, VectorType type, Value memref,
                              ValueRange indices, int64_t alignment) {
  return vector::LoadOp::create(b, type, memref, indices,
                                /*nontemporal=*/false,
                                llvm::MaybeAlign(alignment));
}

void gpukernels::alignedStore(KernelBuilder &b, Value value, Value memref,
                              ValueRange indices, int64_t alignment) {
  vector::StoreOp::create(b, value, memref, indices, /*nontemporal=*/false,
                          llvm::MaybeAlign(alignment));
}
