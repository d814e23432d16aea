//===- KernelBuilder.h - IR-building helpers of the lowerings ---*- C++ -*-===//
//
// Shorthands for the index arithmetic, loops and branches that the chunkkv
// lowerings (CPU loops and GPU kernels) emit, the cache layout helpers, and
// the policy formulas of docs/semantics.md as IR.
//
//===----------------------------------------------------------------------===//

#ifndef CHUNKKV_CONVERSION_KERNELBUILDER_H
#define CHUNKKV_CONVERSION_KERNELBUILDER_H

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

#include <type_traits>

namespace mlir {
namespace chunkkv {

/// An ImplicitLocOpBuilder with arithmetic, memory and control-flow helpers.
class KernelBuilder : public ImplicitLocOpBuilder {
public:
  using ImplicitLocOpBuilder::ImplicitLocOpBuilder;

  // Constants.
  Value index(int64_t value);
  Value f32(double value);
  Value f64(double value);
  Value i32(int64_t value);
  Value boolean(bool value);

  // Integer arithmetic on values of one type (index or integer).
  Value add(Value a, Value b) { return arith::AddIOp::create(*this, a, b); }
  Value sub(Value a, Value b) { return arith::SubIOp::create(*this, a, b); }
  Value mul(Value a, Value b) { return arith::MulIOp::create(*this, a, b); }
  Value div(Value a, Value b) { return arith::DivSIOp::create(*this, a, b); }
  Value rem(Value a, Value b) { return arith::RemSIOp::create(*this, a, b); }
  Value ceilDiv(Value a, Value b) {
    return arith::CeilDivSIOp::create(*this, a, b);
  }
  Value min(Value a, Value b) { return arith::MinSIOp::create(*this, a, b); }
  Value max(Value a, Value b) { return arith::MaxSIOp::create(*this, a, b); }
  Value cmp(arith::CmpIPredicate pred, Value a, Value b) {
    return arith::CmpIOp::create(*this, pred, a, b);
  }
  Value select(Value cond, Value a, Value b) {
    return arith::SelectOp::create(*this, cond, a, b);
  }
  Value andI(Value a, Value b) { return arith::AndIOp::create(*this, a, b); }
  Value orI(Value a, Value b) { return arith::OrIOp::create(*this, a, b); }

  // Floating-point arithmetic.
  Value addf(Value a, Value b) { return arith::AddFOp::create(*this, a, b); }
  Value mulf(Value a, Value b) { return arith::MulFOp::create(*this, a, b); }
  Value divf(Value a, Value b) { return arith::DivFOp::create(*this, a, b); }
  Value maxf(Value a, Value b) {
    return arith::MaximumFOp::create(*this, a, b);
  }

  /// Integer or index value converted to index / to `type`.
  Value toIndex(Value value);
  Value fromIndex(Value value, Type type);
  Value toI32(Value value) { return fromIndex(value, getI32Type()); }
  /// Any float (f16, bf16, f32) scalar extended to f32.
  Value toF32(Value value);
  /// A signed integer or index converted to f32 / f64.
  Value indexToFloat(Value value, FloatType type);

  Value dim(Value memref, int64_t index);
  Value load(Value memref, ValueRange indices);
  void store(Value value, Value memref, ValueRange indices);

  /// `for (iv = lb; iv < ub; iv += step) body(iv)`.
  void forLoop(Value lb, Value ub, Value step,
               function_ref<void(Value)> body);
  /// The same with loop-carried values; `body` returns the next values.
  SmallVector<Value>
  forLoop(Value lb, Value ub, Value step, ValueRange inits,
          function_ref<SmallVector<Value>(Value, ValueRange)> body);
  /// Runs `body` when `cond` holds.
  void ifThen(Value cond, function_ref<void()> body);
  /// Yields the values of `thenBody` or `elseBody`.
  SmallVector<Value> ifThenElse(TypeRange types, Value cond,
                                function_ref<SmallVector<Value>()> thenBody,
                                function_ref<SmallVector<Value>()> elseBody);
};

/// The per-sequence formulas of a policy, emitted on index values.
class PolicyFormulas {
public:
  PolicyFormulas(KernelBuilder &b, PolicyAttr policy)
      : b(b), policy(policy) {}

  bool isPaper() const { return policy.getKind() == PolicyKind::paper; }
  int64_t chunkSize() const { return policy.getChunkSize(); }
  int64_t window() const { return policy.getWindow(); }

  /// Tokens the chunks tile: `T - w` (paper) or `T` (kvpress).
  Value scoredLength(Value length);
  /// `ceil(scoredLength / C)`, at least 0.
  Value numChunks(Value length);
  /// i1: the sequence is kept whole and no selection happens.
  Value keepsWhole(Value length);
  /// Chunks chosen for a sequence that is not kept whole.
  Value numSelected(Value length);

private:
  /// The paper policy's token budget `L` for length `T`.
  Value tokenBudget(Value length);

  KernelBuilder &b;
  PolicyAttr policy;
};

/// Replaces an op of type `OpTy` for which `canLower` holds by what
/// `Emitter(builder, op[, option]).emit()` builds: the pattern of every
/// chunkkv lowering (`option` is the lowering's tuning, passed to emitters
/// that take one).
template <typename OpTy, typename Emitter, typename Option = int64_t>
struct EmitterPattern : public OpConversionPattern<OpTy> {
  EmitterPattern(MLIRContext *ctx, Option option, bool (*canLower)(Operation *))
      : OpConversionPattern<OpTy>(ctx), option(option), canLower(canLower) {}

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (!canLower(op))
      return failure();
    KernelBuilder b(op.getLoc(), rewriter);
    if constexpr (std::is_constructible_v<Emitter, KernelBuilder &, OpTy,
                                          Option>)
      Emitter(b, op, option).emit();
    else
      Emitter(b, op).emit();
    rewriter.eraseOp(op);
    return success();
  }

  Option option;
  bool (*canLower)(Operation *);
};

/// Applies `patterns` as a partial conversion of `root` in which every
/// chunkkv op is illegal and every other op legal: the driver of the
/// lowerings. Where `created` is given, it receives the ops that the
/// conversion created and that remain (so that later clean-ups can take
/// these alone and leave the rest of the input as it was).
LogicalResult lowerChunkKVOps(Operation *root, RewritePatternSet &&patterns,
                              SmallVectorImpl<Operation *> *created = nullptr);

/// Index of element (batch, head, position, feature) of a cache.
SmallVector<Value> cacheIndex(Layout layout, Value batch, Value head,
                              Value position, Value feature);
/// Dimension positions of the heads and the capacity in a cache.
inline int64_t headsDim(Layout layout) {
  return layout == Layout::bhsd ? 1 : 2;
}
inline int64_t capacityDim(Layout layout) {
  return layout == Layout::bhsd ? 2 : 1;
}
/// An i32 key whose unsigned order is the order of the f32 `score`, with
/// -0.0 == 0.0 and NaN below everything, for radix selection.
Value orderedScoreKey(KernelBuilder &b, Value score);
/// Valid length of sequence `batch`, clamped to `[0, capacity]`.
Value clampedLength(KernelBuilder &b, Value lengths, Value batch,
                    Value capacity);

} // namespace chunkkv
} // namespace mlir

#endif // CHUNKKV_CONVERSION_KERNELBUILDER_H
