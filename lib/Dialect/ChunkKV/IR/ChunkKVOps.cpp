//===- ChunkKVOps.cpp - chunkkv operations --------------------------------===//
//
// Verifiers, memory effects and result-shape reification of the chunkkv ops.
// Every diagnostic names the operand it is about and the value expected.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::chunkkv;

//===----------------------------------------------------------------------===//
// Custom directives
//===----------------------------------------------------------------------===//

/// `layout(bhsd)`: the layout as a bare keyword.
static ParseResult parseLayout(OpAsmParser &parser, LayoutAttr &layout) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<Layout> parsed = symbolizeLayout(keyword);
  if (!parsed)
    return parser.emitError(loc, "expected layout 'bhsd' or 'bshd', got '")
           << keyword << "'";
  layout = LayoutAttr::get(parser.getContext(), *parsed);
  return success();
}

static void printLayout(OpAsmPrinter &printer, Operation *, LayoutAttr layout) {
  printer << stringifyLayout(layout.getValue());
}

#define GET_OP_CLASSES
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shared verification helpers
//===----------------------------------------------------------------------===//

namespace {
/// The four dimensions of a cache operand, whatever its layout.
struct CacheDims {
  int64_t batch, heads, capacity, headDim;
};

/// Checks shapes and element types of one op, naming operands in messages.
class OperandChecker {
public:
  explicit OperandChecker(Operation *op) : op(op) {}

  LogicalResult rank(StringRef name, Value value, int64_t expected,
                     StringRef shape) {
    int64_t actual = cast<ShapedType>(value.getType()).getRank();
    if (actual == expected)
      return success();
    return op->emitOpError() << name << ": expected rank " << expected << " ("
                             << shape << "), got rank " << actual;
  }

  /// Checks that a static size equals the expected one; dynamic sizes on
  /// either side are accepted.
  LogicalResult dim(StringRef name, StringRef what, int64_t actual,
                    int64_t expected, StringRef source) {
    if (ShapedType::isDynamic(actual) || ShapedType::isDynamic(expected) ||
        actual == expected)
      return success();
    return op->emitOpError() << name << ": expected " << what << " = "
                             << expected << " (" << source << "), got "
                             << actual;
  }

  LogicalResult floatCache(StringRef name, Value value) {
    Type element = getElementTypeOrSelf(value.getType());
    if (isa<Float32Type, Float16Type, BFloat16Type>(element))
      return success();
    return op->emitOpError()
           << name << ": expected f32, f16 or bf16 elements, got " << element;
  }

  LogicalResult sameElementType(StringRef name, Value value, StringRef source,
                                Value reference) {
    Type actual = getElementTypeOrSelf(value.getType());
    Type expected = getElementTypeOrSelf(reference.getType());
    if (actual == expected)
      return success();
    return op->emitOpError() << name << ": expected element type " << expected
                             << " (as " << source << "), got " << actual;
  }

  LogicalResult integer(StringRef name, Value value) {
    Type element = getElementTypeOrSelf(value.getType());
    if (element.isSignlessInteger(32) || element.isSignlessInteger(64))
      return success();
    return op->emitOpError()
           << name << ": expected i32 or i64 elements, got " << element;
  }

  LogicalResult f32(StringRef name, Value value) {
    Type element = getElementTypeOrSelf(value.getType());
    if (element.isF32())
      return success();
    return op->emitOpError()
           << name << ": expected f32 elements, got " << element;
  }

  /// Requires every shaped operand to be a tensor, or every one a memref.
  LogicalResult uniformSemantics() {
    bool anyTensor = llvm::any_of(op->getOperandTypes(), [](Type t) {
      return isa<RankedTensorType>(t);
    });
    bool anyMemRef = llvm::any_of(op->getOperandTypes(),
                                  [](Type t) { return isa<MemRefType>(t); });
    if (anyTensor && anyMemRef)
      return op->emitOpError()
             << "expected all operands to be tensors or all to be memrefs";
    return success();
  }

  /// Reads a rank-4 cache type in the given layout.
  static CacheDims cacheDims(Value cache, Layout layout) {
    ArrayRef<int64_t> shape = cast<ShapedType>(cache.getType()).getShape();
    if (layout == Layout::bhsd)
      return {shape[0], shape[1], shape[2], shape[3]};
    return {shape[0], shape[2], shape[1], shape[3]};
  }

  /// kvpress leaves every sequence with `T <= w` or `T < C` untouched; a
  /// static capacity that implies it for all sequences is an error.
  LogicalResult capacityForPolicy(StringRef name, int64_t capacity,
                                  PolicyAttr policy) {
    if (policy.getKind() != PolicyKind::kvpress ||
        ShapedType::isDynamic(capacity))
      return success();
    if (capacity <= policy.getWindow())
      return op->emitOpError()
             << name << ": expected capacity S > window (" << policy.getWindow()
             << ") under the kvpress policy, got " << capacity;
    if (capacity < policy.getChunkSize())
      return op->emitOpError()
             << name << ": expected capacity S >= chunk size ("
             << policy.getChunkSize() << ") under the kvpress policy, got "
             << capacity;
    return success();
  }

private:
  Operation *op;
};
} // namespace

static StringRef layoutShape(Layout layout) {
  return layout == Layout::bhsd ? "[B, Hkv, S, D]" : "[B, S, Hkv, D]";
}

/// Number of chunk-score slots for a (possibly dynamic) capacity.
static int64_t numScoreChunks(PolicyAttr policy, int64_t capacity) {
  if (ShapedType::isDynamic(capacity))
    return ShapedType::kDynamic;
  return policy.getNumScoreChunks(capacity);
}

/// Number of chunk-id slots for a (possibly dynamic) number of score slots.
static int64_t maxSelectedChunks(PolicyAttr policy, int64_t numChunks) {
  if (ShapedType::isDynamic(numChunks))
    return ShapedType::kDynamic;
  return policy.getMaxSelectedChunks(numChunks);
}

static int64_t dimOf(Value value, unsigned index) {
  return cast<ShapedType>(value.getType()).getDimSize(index);
}

//===----------------------------------------------------------------------===//
// Shared interface implementations
//===----------------------------------------------------------------------===//

/// DPS inputs that are memrefs are read, DPS inits that are memrefs are
/// written; tensor operands have no memory effects.
static void
getDpsEffects(DestinationStyleOpInterface op,
              SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                  &effects) {
  for (OpOperand *input : op.getDpsInputOperands())
    if (isa<MemRefType>(input->get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), input,
                           SideEffects::DefaultResource::get());
  for (OpOperand &init : op.getDpsInitsMutable())
    if (isa<MemRefType>(init.get().getType()))
      effects.emplace_back(MemoryEffects::Write::get(), &init,
                           SideEffects::DefaultResource::get());
}

/// Each tensor result has the shape of its tied init.
static LogicalResult
reifyFromInits(DestinationStyleOpInterface op, OpBuilder &builder,
               ReifiedRankedShapedTypeDims &reifiedReturnShapes) {
  for (OpOperand &init : op.getDpsInitsMutable())
    if (isa<RankedTensorType>(init.get().getType()))
      reifiedReturnShapes.push_back(
          tensor::getMixedSizes(builder, op.getLoc(), init.get()));
  return success();
}

#define CHUNKKV_DPS_INTERFACES(OP)                                             \
  void OP::getEffects(                                                         \
      SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>      \
          &effects) {                                                          \
    getDpsEffects(*this, effects);                                             \
  }                                                                            \
  LogicalResult OP::reifyResultShapes(                                         \
      OpBuilder &builder, ReifiedRankedShapedTypeDims &reifiedReturnShapes) {  \
    return reifyFromInits(*this, builder, reifiedReturnShapes);                \
  }

CHUNKKV_DPS_INTERFACES(ChunkScoreOp)
CHUNKKV_DPS_INTERFACES(TopkChunksOp)
CHUNKKV_DPS_INTERFACES(CompactOp)

#undef CHUNKKV_DPS_INTERFACES

Operation *mlir::chunkkv::createMemRefForm(OpBuilder &builder, Operation *op,
                                           ValueRange buffers) {
  OperationState state(op->getLoc(), op->getName(), buffers, TypeRange{},
                       llvm::to_vector(op->getDiscardableAttrs()));
  state.propertiesAttr = op->getPropertiesAsAttribute();
  return builder.create(state);
}

//===----------------------------------------------------------------------===//
// ChunkScoreOp
//===----------------------------------------------------------------------===//

LogicalResult ChunkScoreOp::verify() {
  OperandChecker check(*this);
  PolicyAttr policy = getPolicy();
  Layout layout = getLayout();
  if (failed(check.uniformSemantics()) ||
      failed(check.rank("queries", getQueries(), 4, "[B, Hq, w, D]")) ||
      failed(check.rank("keys", getKeys(), 4, layoutShape(layout))) ||
      failed(check.rank("lengths", getLengths(), 1, "[B]")) ||
      failed(check.rank("init", getInit(), 2, "[B, n]")) ||
      failed(check.floatCache("queries", getQueries())) ||
      failed(check.sameElementType("keys", getKeys(), "queries",
                                   getQueries())) ||
      failed(check.integer("lengths", getLengths())) ||
      failed(check.f32("init", getInit())))
    return failure();

  CacheDims keys = OperandChecker::cacheDims(getKeys(), layout);
  int64_t queryHeads = dimOf(getQueries(), 1);
  if (failed(check.dim("queries", "batch size B", dimOf(getQueries(), 0),
                       keys.batch, "from keys")) ||
      failed(check.dim("queries", "window w", dimOf(getQueries(), 2),
                       policy.getWindow(), "from the policy")) ||
      failed(check.dim("queries", "head dim D", dimOf(getQueries(), 3),
                       keys.headDim, "from keys")) ||
      failed(check.dim("lengths", "batch size B", dimOf(getLengths(), 0),
                       keys.batch, "from keys")) ||
      failed(check.dim("init", "batch size B", dimOf(getInit(), 0),
                       keys.batch, "from keys")) ||
      failed(check.dim("init", "number of chunks n", dimOf(getInit(), 1),
                       numScoreChunks(policy, keys.capacity),
                       "from the capacity of keys and the policy")) ||
      failed(check.capacityForPolicy("keys", keys.capacity, policy)))
    return failure();

  if (keys.heads == 0)
    return emitOpError() << "keys: expected at least one kv head";
  if (!ShapedType::isDynamic(queryHeads) &&
      !ShapedType::isDynamic(keys.heads) && queryHeads % keys.heads != 0)
    return emitOpError() << "queries: expected the number of query heads (Hq = "
                         << queryHeads
                         << ") to be a multiple of the number of kv heads (Hkv "
                            "= "
                         << keys.heads << ")";

  if (std::optional<APFloat> scale = getScale()) {
    if (!scale->isFiniteNonZero() || scale->isNegative())
      return emitOpError() << "scale: expected a positive finite number, got "
                           << scale->convertToFloat();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// TopkChunksOp
//===----------------------------------------------------------------------===//

LogicalResult TopkChunksOp::verify() {
  OperandChecker check(*this);
  if (failed(check.uniformSemantics()) ||
      failed(check.rank("scores", getScores(), 2, "[B, n]")) ||
      failed(check.rank("lengths", getLengths(), 1, "[B]")) ||
      failed(check.rank("chunk_ids_init", getChunkIdsInit(), 2, "[B, k]")) ||
      failed(check.rank("kept_lengths_init", getKeptLengthsInit(), 1, "[B]")) ||
      failed(check.f32("scores", getScores())) ||
      failed(check.integer("lengths", getLengths())) ||
      failed(check.integer("chunk_ids_init", getChunkIdsInit())) ||
      failed(check.sameElementType("kept_lengths_init", getKeptLengthsInit(),
                                   "lengths", getLengths())))
    return failure();

  int64_t batch = dimOf(getScores(), 0);
  int64_t numChunks = dimOf(getScores(), 1);
  return success(
      succeeded(check.dim("lengths", "batch size B", dimOf(getLengths(), 0),
                          batch, "from scores")) &&
      succeeded(check.dim("chunk_ids_init", "batch size B",
                          dimOf(getChunkIdsInit(), 0), batch, "from scores")) &&
      succeeded(check.dim("kept_lengths_init", "batch size B",
                          dimOf(getKeptLengthsInit(), 0), batch,
                          "from scores")) &&
      succeeded(check.dim("chunk_ids_init", "number of chosen chunks k",
                          dimOf(getChunkIdsInit(), 1),
                          maxSelectedChunks(getPolicy(), numChunks),
                          "from the number of score chunks and the policy")));
}

//===----------------------------------------------------------------------===//
// CompactOp
//===----------------------------------------------------------------------===//

LogicalResult CompactOp::verify() {
  OperandChecker check(*this);
  PolicyAttr policy = getPolicy();
  Layout layout = getLayout();
  if (failed(check.uniformSemantics()) ||
      failed(check.rank("cache", getCache(), 4, layoutShape(layout))) ||
      failed(check.rank("chunk_ids", getChunkIds(), 2, "[B, k]")) ||
      failed(check.rank("lengths", getLengths(), 1, "[B]")) ||
      failed(check.rank("cache_init", getCacheInit(), 4, layoutShape(layout))) ||
      failed(check.rank("lengths_init", getLengthsInit(), 1, "[B]")) ||
      failed(check.floatCache("cache", getCache())) ||
      failed(check.sameElementType("cache_init", getCacheInit(), "cache",
                                   getCache())) ||
      failed(check.integer("chunk_ids", getChunkIds())) ||
      failed(check.integer("lengths", getLengths())) ||
      failed(check.sameElementType("lengths_init", getLengthsInit(), "lengths",
                                   getLengths())))
    return failure();

  CacheDims cache = OperandChecker::cacheDims(getCache(), layout);
  CacheDims init = OperandChecker::cacheDims(getCacheInit(), layout);
  return success(
      succeeded(check.dim("chunk_ids", "batch size B", dimOf(getChunkIds(), 0),
                          cache.batch, "from cache")) &&
      succeeded(check.dim("lengths", "batch size B", dimOf(getLengths(), 0),
                          cache.batch, "from cache")) &&
      succeeded(check.dim("lengths_init", "batch size B",
                          dimOf(getLengthsInit(), 0), cache.batch,
                          "from cache")) &&
      succeeded(check.dim("cache_init", "batch size B", init.batch,
                          cache.batch, "from cache")) &&
      succeeded(check.dim("cache_init", "number of kv heads Hkv", init.heads,
                          cache.heads, "from cache")) &&
      succeeded(check.dim("cache_init", "capacity S", init.capacity,
                          cache.capacity, "from cache")) &&
      succeeded(check.dim("cache_init", "head dim D", init.headDim,
                          cache.headDim, "from cache")) &&
      succeeded(check.dim(
          "chunk_ids", "number of chosen chunks k", dimOf(getChunkIds(), 1),
          maxSelectedChunks(policy, numScoreChunks(policy, cache.capacity)),
          "from the capacity of cache and the policy")) &&
      succeeded(check.capacityForPolicy("cache", cache.capacity, policy)));
}
