//===- ChunkKVAttrs.cpp - chunkkv attributes ------------------------------===//
//
// The policy attribute: its textual form, its verifier, and the formulas of
// docs/semantics.md that turn a policy and a length into chunk counts.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::chunkkv;

#define GET_ATTRDEF_CLASSES
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVAttrs.cpp.inc"

void ChunkKVDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVAttrs.cpp.inc"
      >();
}

PolicyDefaults mlir::chunkkv::getPolicyDefaults(PolicyKind kind) {
  if (kind == PolicyKind::kvpress)
    return {20, 64, 5, Aggregate::mean};
  return {10, 32, 1, Aggregate::sum};
}

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

//===----------------------------------------------------------------------===//
// Parsing and printing
//===----------------------------------------------------------------------===//

Attribute PolicyAttr::parse(AsmParser &parser, Type) {
  MLIRContext *ctx = parser.getContext();
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess())
    return {};

  StringRef kindName;
  SMLoc kindLoc = parser.getCurrentLocation();
  if (parser.parseKeyword(&kindName))
    return {};
  std::optional<PolicyKind> kind = symbolizePolicyKind(kindName);
  if (!kind) {
    parser.emitError(kindLoc, "expected policy kind 'paper' or 'kvpress', got '")
        << kindName << "'";
    return {};
  }

  PolicyDefaults defaults = getPolicyDefaults(*kind);
  int64_t chunkSize = defaults.chunkSize, window = defaults.window,
          pool = defaults.pool, reuse = 1;
  Aggregate aggregate = defaults.aggregate;
  std::optional<int64_t> budget;
  FloatAttr keepRatio, compressionRatio;

  llvm::StringSet<> seen;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (!seen.insert(key).second) {
      parser.emitError(keyLoc, "policy parameter '") << key << "' given twice";
      return {};
    }
    auto parseRatio = [&](FloatAttr &into) -> ParseResult {
      double value;
      if (parser.parseFloat(value))
        return failure();
      into = FloatAttr::get(Float64Type::get(ctx), value);
      return success();
    };
    ParseResult result = failure();
    if (key == "chunk") {
      result = parser.parseInteger(chunkSize);
    } else if (key == "window") {
      result = parser.parseInteger(window);
    } else if (key == "pool") {
      result = parser.parseInteger(pool);
    } else if (key == "reuse") {
      result = parser.parseInteger(reuse);
    } else if (key == "budget") {
      int64_t value;
      result = parser.parseInteger(value);
      budget = value;
    } else if (key == "keep_ratio") {
      result = parseRatio(keepRatio);
    } else if (key == "compression_ratio") {
      result = parseRatio(compressionRatio);
    } else if (key == "aggregate") {
      SMLoc valueLoc = parser.getCurrentLocation();
      StringRef name;
      if (parser.parseKeyword(&name))
        return {};
      std::optional<Aggregate> parsed = symbolizeAggregate(name);
      if (!parsed) {
        parser.emitError(valueLoc,
                         "expected aggregate 'sum' or 'mean', got '")
            << name << "'";
        return {};
      }
      aggregate = *parsed;
      result = success();
    } else {
      parser.emitError(keyLoc, "unknown policy parameter '")
          << key
          << "'; expected chunk, window, pool, aggregate, budget, "
             "keep_ratio, compression_ratio or reuse";
      return {};
    }
    if (failed(result))
      return {};
  }
  if (parser.parseGreater())
    return {};

  return parser.getChecked<PolicyAttr>(loc, ctx, *kind, chunkSize, window,
                                       pool, aggregate, budget, keepRatio,
                                       compressionRatio, reuse);
}

void PolicyAttr::print(AsmPrinter &printer) const {
  printer << "<" << stringifyPolicyKind(getKind())
          << ", chunk = " << getChunkSize() << ", window = " << getWindow()
          << ", pool = " << getPool()
          << ", aggregate = " << stringifyAggregate(getAggregate());
  if (getBudget())
    printer << ", budget = " << *getBudget();
  if (getKeepRatio()) {
    printer << ", keep_ratio = ";
    printer.printFloat(getKeepRatio().getValue());
  }
  if (getCompressionRatio()) {
    printer << ", compression_ratio = ";
    printer.printFloat(getCompressionRatio().getValue());
  }
  printer << ", reuse = " << getReuseInterval() << ">";
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

LogicalResult
PolicyAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                   PolicyKind kind, int64_t chunkSize, int64_t window,
                   int64_t pool, Aggregate aggregate,
                   std::optional<int64_t> budget, FloatAttr keepRatio,
                   FloatAttr compressionRatio, int64_t reuseInterval) {
  if (chunkSize <= 0)
    return emitError() << "policy: chunk size must be > 0, got " << chunkSize;
  if (window <= 0)
    return emitError() << "policy: window must be > 0, got " << window;
  if (pool < 1 || pool % 2 == 0)
    return emitError() << "policy: pooling kernel must be odd and >= 1, got "
                       << pool;
  if (reuseInterval < 1)
    return emitError() << "policy: reuse interval must be >= 1, got "
                       << reuseInterval;
  int numBudgets = (budget ? 1 : 0) + (keepRatio ? 1 : 0) +
                   (compressionRatio ? 1 : 0);
  if (numBudgets != 1)
    return emitError() << "policy: expected exactly one of budget, keep_ratio "
                          "or compression_ratio, got "
                       << numBudgets;

  if (kind == PolicyKind::kvpress) {
    if (!compressionRatio)
      return emitError() << "policy: the kvpress policy takes "
                            "compression_ratio, not budget or keep_ratio";
    double cr = compressionRatio.getValueAsDouble();
    if (!(cr >= 0.0 && cr < 1.0))
      return emitError() << "policy: compression_ratio must be in [0, 1), got "
                         << cr;
    if (aggregate != Aggregate::mean)
      return emitError()
             << "policy: the kvpress policy aggregates chunks by mean, got "
             << stringifyAggregate(aggregate);
    return success();
  }

  if (compressionRatio)
    return emitError() << "policy: the paper policy takes budget or "
                          "keep_ratio, not compression_ratio";
  if (budget && *budget < window)
    return emitError() << "policy: budget (" << *budget
                       << ") must be >= window (" << window << ")";
  if (keepRatio) {
    double r = keepRatio.getValueAsDouble();
    if (!(r > 0.0 && r <= 1.0))
      return emitError() << "policy: keep_ratio must be in (0, 1], got " << r;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Policy formulas
//===----------------------------------------------------------------------===//

int64_t PolicyAttr::getNumScoreChunks(int64_t capacity) const {
  if (getKind() == PolicyKind::kvpress)
    return ceilDiv(std::max<int64_t>(capacity, 0), getChunkSize());
  return ceilDiv(std::max<int64_t>(capacity - getWindow(), 0), getChunkSize());
}

int64_t PolicyAttr::getTokenBudget(int64_t length) const {
  assert(getKind() == PolicyKind::paper && "token budgets are paper-only");
  if (getBudget())
    return *getBudget();
  double r = getKeepRatio().getValueAsDouble();
  return static_cast<int64_t>(std::floor(r * static_cast<double>(length) + 0.5));
}

/// Chunks the paper policy may choose under budget `budget`.
static int64_t paperChunksUnderBudget(int64_t budget, int64_t window,
                                      int64_t chunkSize, int64_t numChunks) {
  if (budget <= window)
    return 0;
  return std::min(numChunks, (budget - window) / chunkSize);
}

/// kvpress's `max(1, int(n * (1 - cr)))`, evaluated in IEEE double as
/// kvpress does, then bounded by `n`.
static int64_t kvpressChunksKept(int64_t numChunks, double compressionRatio) {
  if (numChunks == 0)
    return 0;
  auto kept = static_cast<int64_t>(static_cast<double>(numChunks) *
                                   (1.0 - compressionRatio));
  return std::min(numChunks, std::max<int64_t>(1, kept));
}

int64_t PolicyAttr::getMaxSelectedChunks(int64_t numScoreChunks) const {
  if (getKind() == PolicyKind::kvpress)
    return kvpressChunksKept(numScoreChunks,
                             getCompressionRatio().getValueAsDouble());
  // The longest sequence with `numScoreChunks` chunks has the largest budget.
  int64_t longest = numScoreChunks * getChunkSize() + getWindow();
  return paperChunksUnderBudget(getTokenBudget(longest), getWindow(),
                                getChunkSize(), numScoreChunks);
}

bool PolicyAttr::keepsWholeSequence(int64_t length) const {
  if (length <= getWindow())
    return true;
  if (getKind() == PolicyKind::kvpress)
    return length < getChunkSize() ||
           getCompressionRatio().getValueAsDouble() == 0.0;
  return length <= getTokenBudget(length);
}

int64_t PolicyAttr::getNumSelectedChunks(int64_t length) const {
  if (getKind() == PolicyKind::kvpress)
    return kvpressChunksKept(getNumScoreChunks(length),
                             getCompressionRatio().getValueAsDouble());
  return paperChunksUnderBudget(getTokenBudget(length), getWindow(),
                                getChunkSize(), getNumScoreChunks(length));
}
