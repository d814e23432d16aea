//===- KernelBuilder.cpp - IR-building helpers of the lowerings -----------===//

#include "chunkkv/Conversion/KernelBuilder.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

#include "llvm/ADT/SetVector.h"

#include <cstdint>

using namespace mlir;
using namespace mlir::chunkkv;

Value KernelBuilder::index(int64_t value) {
  return arith::ConstantIndexOp::create(*this, value);
}

Value KernelBuilder::f32(double value) {
  return arith::ConstantOp::create(*this, getF32FloatAttr(value));
}

Value KernelBuilder::f64(double value) {
  return arith::ConstantOp::create(*this, getF64FloatAttr(value));
}

Value KernelBuilder::i32(int64_t value) {
  return arith::ConstantOp::create(*this, getI32IntegerAttr(value));
}

Value KernelBuilder::boolean(bool value) {
  return arith::ConstantOp::create(*this, getBoolAttr(value));
}

Value KernelBuilder::toIndex(Value value) {
  if (value.getType().isIndex())
    return value;
  return arith::IndexCastOp::create(*this, getIndexType(), value);
}

Value KernelBuilder::fromIndex(Value value, Type type) {
  if (value.getType() == type)
    return value;
  return arith::IndexCastOp::create(*this, type, value);
}

Value KernelBuilder::toF32(Value value) {
  if (value.getType().isF32())
    return value;
  return arith::ExtFOp::create(*this, getF32Type(), value);
}

Value KernelBuilder::indexToFloat(Value value, FloatType type) {
  Value asInt = value;
  if (value.getType().isIndex())
    asInt = arith::IndexCastOp::create(*this, getI64Type(), value);
  return arith::SIToFPOp::create(*this, type, asInt);
}

Value KernelBuilder::dim(Value memref, int64_t index) {
  return memref::DimOp::create(*this, memref, index);
}

Value KernelBuilder::load(Value memref, ValueRange indices) {
  return memref::LoadOp::create(*this, memref, indices);
}

void KernelBuilder::store(Value value, Value memref, ValueRange indices) {
  memref::StoreOp::create(*this, value, memref, indices);
}

void KernelBuilder::forLoop(Value lb, Value ub, Value step,
                            function_ref<void(Value)> body) {
  auto loop = scf::ForOp::create(*this, lb, ub, step);
  OpBuilder::InsertionGuard guard(*this);
  setInsertionPoint(loop.getBody()->getTerminator());
  body(loop.getInductionVar());
}

SmallVector<Value>
KernelBuilder::forLoop(Value lb, Value ub, Value step, ValueRange inits,
                       function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  auto loop = scf::ForOp::create(*this, lb, ub, step, inits);
  {
    OpBuilder::InsertionGuard guard(*this);
    setInsertionPointToEnd(loop.getBody());
    SmallVector<Value> next =
        body(loop.getInductionVar(), loop.getRegionIterArgs());
    scf::YieldOp::create(*this, next);
  }
  return SmallVector<Value>(loop.getResults());
}

void KernelBuilder::ifThen(Value cond, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(*this, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(*this);
  setInsertionPoint(ifOp.thenBlock()->getTerminator());
  body();
}

SmallVector<Value>
KernelBuilder::ifThenElse(TypeRange types, Value cond,
                          function_ref<SmallVector<Value>()> thenBody,
                          function_ref<SmallVector<Value>()> elseBody) {
  auto ifOp = scf::IfOp::create(*this, types, cond, /*withElseRegion=*/true);
  auto fill = [&](Block *block, function_ref<SmallVector<Value>()> body) {
    OpBuilder::InsertionGuard guard(*this);
    setInsertionPointToStart(block);
    scf::YieldOp::create(*this, body());
  };
  fill(ifOp.thenBlock(), thenBody);
  fill(ifOp.elseBlock(), elseBody);
  return SmallVector<Value>(ifOp.getResults());
}

//===----------------------------------------------------------------------===//
// Policy formulas
//===----------------------------------------------------------------------===//

Value PolicyFormulas::scoredLength(Value length) {
  if (isPaper())
    return b.sub(length, b.index(window()));
  return length;
}

Value PolicyFormulas::numChunks(Value length) {
  Value scored = b.max(scoredLength(length), b.index(0));
  return b.ceilDiv(scored, b.index(chunkSize()));
}

Value PolicyFormulas::tokenBudget(Value length) {
  if (std::optional<int64_t> budget = policy.getBudget())
    return b.index(*budget);
  // floor(r * T + 0.5) in double, as the reference computes it.
  Value scaled = b.mulf(b.f64(policy.getKeepRatio().getValueAsDouble()),
                        b.indexToFloat(length, b.getF64Type()));
  Value rounded = math::FloorOp::create(b, b.addf(scaled, b.f64(0.5)));
  return b.toIndex(arith::FPToSIOp::create(b, b.getI64Type(), rounded));
}

Value PolicyFormulas::keepsWhole(Value length) {
  Value shortSequence =
      b.cmp(arith::CmpIPredicate::sle, length, b.index(window()));
  if (isPaper())
    return b.orI(shortSequence, b.cmp(arith::CmpIPredicate::sle, length,
                                      tokenBudget(length)));
  if (policy.getCompressionRatio().getValueAsDouble() == 0.0)
    return b.boolean(true);
  return b.orI(shortSequence, b.cmp(arith::CmpIPredicate::slt, length,
                                    b.index(chunkSize())));
}

Value PolicyFormulas::numSelected(Value length) {
  Value chunks = numChunks(length);
  if (isPaper()) {
    // min(n, (L - w) / C), and 0 when L <= w.
    Value spare = b.max(b.sub(tokenBudget(length), b.index(window())),
                        b.index(0));
    return b.min(chunks, b.div(spare, b.index(chunkSize())));
  }
  // kvpress: min(n, max(1, int(n * (1 - cr)))) with the product in double.
  double keep = 1.0 - policy.getCompressionRatio().getValueAsDouble();
  Value product =
      b.mulf(b.indexToFloat(chunks, b.getF64Type()), b.f64(keep));
  Value truncated =
      b.toIndex(arith::FPToSIOp::create(b, b.getI64Type(), product));
  return b.min(chunks, b.max(truncated, b.index(1)));
}

SmallVector<Value> mlir::chunkkv::cacheIndex(Layout layout, Value batch,
                                             Value head, Value position,
                                             Value feature) {
  if (layout == Layout::bhsd)
    return {batch, head, position, feature};
  return {batch, position, head, feature};
}

Value mlir::chunkkv::clampedLength(KernelBuilder &b, Value lengths,
                                   Value batch, Value capacity) {
  Value length = b.toIndex(b.load(lengths, batch));
  return b.min(b.max(length, b.index(0)), capacity);
}

Value mlir::chunkkv::orderedScoreKey(KernelBuilder &b, Value score) {
  Type i32 = b.getI32Type();
  Value isZero = arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, score,
                                       b.f32(0.0));
  Value bits = b.select(isZero, b.i32(0),
                        arith::BitcastOp::create(b, i32, score));
  Value negative = b.cmp(arith::CmpIPredicate::slt, bits, b.i32(0));
  Value key = b.select(negative, arith::XOrIOp::create(b, bits, b.i32(-1)),
                       arith::XOrIOp::create(b, bits, b.i32(INT32_MIN)));
  Value isNaN = arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, score,
                                      score);
  return b.select(isNaN, b.i32(0), key);
}

namespace {
/// The ops a conversion inserted and has not erased.
struct CreatedOps : public RewriterBase::Listener {
  void notifyOperationInserted(Operation *op, OpBuilder::InsertPoint) override {
    ops.insert(op);
  }
  void notifyOperationErased(Operation *op) override { ops.remove(op); }

  llvm::SetVector<Operation *> ops;
};
} // namespace

LogicalResult
mlir::chunkkv::lowerChunkKVOps(Operation *root, RewritePatternSet &&patterns,
                               SmallVectorImpl<Operation *> *created) {
  ConversionTarget target(*root->getContext());
  target.addIllegalDialect<ChunkKVDialect>();
  target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
  CreatedOps listener;
  ConversionConfig config;
  if (created)
    config.listener = &listener;
  if (failed(applyPartialConversion(root, target, std::move(patterns), config)))
    return failure();
  if (created)
    llvm::append_range(*created, listener.ops);
  return success();
}
