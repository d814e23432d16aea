//===- DetectKVCache.cpp - find the KV caches of a lowered transformer ----===//
//
// Structural matching (see the pass description in Passes.td): from every
// write into a rank-4 cache, follow the written value through data movement
// to the contractions that read it; the contraction's indexing maps say
// whether the cache holds keys (contracted over D) or values (contracted over
// the sequence), and where the sequence dimension is. QK^T and PV are paired
// through the flow of attention scores; the query is found backwards from
// QK^T. Nothing here looks at names.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h"

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/Support/raw_ostream.h"

#include <deque>
#include "llvm/Support/raw_ostream.h"

namespace mlir {
namespace chunkkv {
#define GEN_PASS_DEF_CHUNKKVDETECTKVCACHEPASS
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h.inc"
} // namespace chunkkv
} // namespace mlir

using namespace mlir;
using namespace mlir::chunkkv;

namespace {

/// For each dimension of a value: the set (bit mask) of cache dimensions it
/// spans. A cache is [B, H, S, D] or [B, S, H, D]: bit 3 is always D.
using DimSets = SmallVector<unsigned, 4>;
constexpr unsigned kHeadDimBit = 1u << 3;
/// How far the searches follow data (ops between a cache and attention).
constexpr int kMaxDepth = 64;

/// A contraction reading a cache: which input, and the cache dimensions
/// behind each dimension of that input.
struct CacheRead {
  linalg::LinalgOp op;
  unsigned input;
  DimSets dims;
  Operation *firstReader; // the op reading the cache on the way to `op`
};

/// One write into a rank-4 cache and the reads of the value it produces.
struct CacheWrite {
  Operation *op;
  SmallVector<CacheRead> contractions;
  SmallVector<Operation *> otherReaders;
  // Set once classified.
  bool keys = false;
  Layout layout = Layout::bhsd;
  Operation *attention = nullptr; // the QK^T or PV contraction
  Operation *reader = nullptr;    // the op reading the cache towards it
};

std::string describe(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName() << " at " << op->getLoc();
  return text;
}

/// The value a movement op produces from `use`, and its dimension sets.
/// Movement ops reshape, transpose or copy (a `linalg.generic` whose body
/// yields its only input, e.g. a GQA head broadcast) without computing.
std::optional<std::pair<Value, DimSets>> followMovement(OpOperand &use,
                                                         const DimSets &dims) {
  Operation *user = use.getOwner();
  auto produced = [&](linalg::LinalgOp op) -> Value {
    return op->getNumResults() ? op->getResult(0)
                               : op.getDpsInitOperand(0)->get();
  };
  auto collapse = [&](ArrayRef<ReassociationIndices> groups) {
    DimSets out;
    for (const ReassociationIndices &group : groups) {
      unsigned bits = 0;
      for (int64_t i : group)
        bits |= dims[i];
      out.push_back(bits);
    }
    return out;
  };
  auto expand = [&](ArrayRef<ReassociationIndices> groups) {
    DimSets out;
    for (auto [i, group] : llvm::enumerate(groups))
      out.append(group.size(), dims[i]);
    return out;
  };
  if (auto op = dyn_cast<tensor::CollapseShapeOp>(user))
    return std::make_pair(op.getResult(),
                          collapse(op.getReassociationIndices()));
  if (auto op = dyn_cast<memref::CollapseShapeOp>(user))
    return std::make_pair(op.getResult(),
                          collapse(op.getReassociationIndices()));
  if (auto op = dyn_cast<tensor::ExpandShapeOp>(user))
    return std::make_pair(op.getResult(), expand(op.getReassociationIndices()));
  if (auto op = dyn_cast<memref::ExpandShapeOp>(user))
    return std::make_pair(op.getResult(), expand(op.getReassociationIndices()));
  if (isa<tensor::CastOp, memref::CastOp>(user))
    return std::make_pair(user->getResult(0), dims);
  if (auto op = dyn_cast<linalg::TransposeOp>(user)) {
    if (use.getOperandNumber() != 0)
      return std::nullopt;
    DimSets out;
    for (int64_t p : op.getPermutation())
      out.push_back(dims[p]);
    return std::make_pair(produced(op), out);
  }
  auto generic = dyn_cast<linalg::GenericOp>(user);
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 || !generic.isDpsInput(&use))
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  if (yield.getNumOperands() != 1 ||
      yield.getOperand(0) != generic.getBody()->getArgument(0))
    return std::nullopt;
  AffineMap inMap = generic.getMatchingIndexingMap(&use);
  AffineMap outMap =
      generic.getMatchingIndexingMap(generic.getDpsInitOperand(0));
  if (!outMap.isProjectedPermutation())
    return std::nullopt;
  DimSets out;
  for (unsigned j = 0; j < outMap.getNumResults(); ++j) {
    unsigned loop = outMap.getDimPosition(j), bits = 0;
    for (unsigned k = 0; k < inMap.getNumResults(); ++k)
      if (inMap.getResult(k).isFunctionOfDim(loop))
        bits |= dims[k];
    out.push_back(bits);
  }
  return std::make_pair(produced(generic), out);
}

/// Uses through which a cache flows out or is written, not read: returns,
/// yields, a write-back into a stacked cache, size queries, further writes
/// into the buffer, deallocation.
bool isFlowOutOrWrite(OpOperand &use) {
  Operation *user = use.getOwner();
  if (user->hasTrait<OpTrait::IsTerminator>() ||
      isa<tensor::DimOp, memref::DimOp, memref::DeallocOp>(user))
    return true;
  if (isa<tensor::InsertSliceOp>(user))
    return true; // written again, or written back into a stacked cache
  // A copy into the buffer, or of the buffer onto itself (the write-back of
  // an in-place update).
  if (auto copy = dyn_cast<memref::CopyOp>(user))
    return use.getOperandNumber() == 1 || copy.getSource() == copy.getTarget();
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(user))
    return isa<MemRefType>(use.get().getType()) && dps.isDpsInit(&use);
  return false;
}

/// A linalg op multiplying two inputs and summing over at least one loop:
/// named contractions, and generics whose maps need not be projected
/// permutations (a GQA broadcast folded in as `h floordiv G`).
bool isContraction(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return false;
  if (linalg::isaContractionOpInterface(op))
    return true;
  if (op.getNumReductionLoops() < 1 || op->getNumRegions() != 1 ||
      op->getRegion(0).empty())
    return false;
  // The body is yield(acc + a * b), in either operand order.
  Block &body = *op.getBlock();
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield && yield.getNumOperands() == 1
                 ? yield.getOperand(0).getDefiningOp<arith::AddFOp>()
                 : nullptr;
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  Value product = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul || (add.getLhs() != acc && add.getRhs() != acc))
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

bool isContractionInput(OpOperand &use) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(use.getOwner());
  return linalgOp && linalgOp.isDpsInput(&use) && isContraction(linalgOp);
}

/// Follows `value` (a cache or a view or copy of one) to its readers.
void collectReads(Value value, const DimSets &dims, CacheWrite &write,
                  int depth, Operation *firstReader = nullptr) {
  if (depth > kMaxDepth)
    return;
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    Operation *reader = firstReader ? firstReader : user;
    if (isFlowOutOrWrite(use))
      continue;
    if (auto next = followMovement(use, dims)) {
      collectReads(next->first, next->second, write, depth + 1, reader);
      continue;
    }
    if (isContractionInput(use)) {
      write.contractions.push_back(
          {cast<linalg::LinalgOp>(user),
           static_cast<unsigned>(use.getOperandNumber()), dims, reader});
      continue;
    }
    // Other views of a buffer (e.g. the subview a write goes through).
    if (isa<ViewLikeOpInterface>(user) && isa<MemRefType>(value.getType())) {
      for (Value alias : user->getResults())
        collectReads(alias, DimSets(), write, depth + 1);
      continue;
    }
    write.otherReaders.push_back(user);
  }
}

/// The rank-4 cache a write writes into (the insert result or the buffer
/// under the subview), or null when the op is no cache write.
Value writtenCache(Operation *op) {
  auto isCache = [](Type type) {
    auto shaped = dyn_cast<ShapedType>(type);
    return shaped && shaped.hasRank() && shaped.getRank() == 4;
  };
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op))
    return isCache(insert.getType()) ? insert.getResult() : Value();
  Value target;
  if (auto copy = dyn_cast<memref::CopyOp>(op))
    target = copy.getTarget();
  else if (auto copy = dyn_cast<linalg::CopyOp>(op);
           copy && copy.hasPureBufferSemantics())
    target = copy.getDpsInitOperand(0)->get();
  auto subview = target ? target.getDefiningOp<memref::SubViewOp>() : nullptr;
  if (!subview || !isCache(subview.getSource().getType()) ||
      !isCache(subview.getType()))
    return Value();
  return subview.getSource();
}

/// The layer loop a write belongs to: the scf.for whose induction variable
/// selects the per-layer cache out of a stacked one.
scf::ForOp layerLoopOf(Operation *write) {
  Value dest;
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(write))
    dest = insert.getDest();
  else
    dest = writtenCache(write);
  Operation *slice = dest ? dest.getDefiningOp() : nullptr;
  OpFoldResult firstOffset;
  if (auto extract = dyn_cast_or_null<tensor::ExtractSliceOp>(slice))
    firstOffset = extract.getMixedOffsets().front();
  else if (auto subview = dyn_cast_or_null<memref::SubViewOp>(slice))
    firstOffset = subview.getMixedOffsets().front();
  auto iv = dyn_cast_if_present<Value>(firstOffset);
  auto loop = iv ? dyn_cast_or_null<scf::ForOp>(
                       iv.getParentBlock()->getParentOp())
                 : nullptr;
  return loop && loop.getInductionVar() == iv ? loop : nullptr;
}

/// The op producing `value` once data movement is undone: the query of a
/// QK^T contraction.
Operation *producerThroughMovement(Value value, Operation *reader) {
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    Operation *producer = value.getDefiningOp();
    if (isa<MemRefType>(value.getType()) &&
        !isa_and_nonnull<ViewLikeOpInterface>(producer)) {
      // The last op before the reader that writes the buffer.
      producer = nullptr;
      for (OpOperand &use : value.getUses()) {
        auto dps = dyn_cast<DestinationStyleOpInterface>(use.getOwner());
        if (dps && dps.isDpsInit(&use) &&
            use.getOwner()->getBlock() == reader->getBlock() &&
            use.getOwner()->isBeforeInBlock(reader))
          if (!producer || producer->isBeforeInBlock(use.getOwner()))
            producer = use.getOwner();
      }
    }
    if (!producer)
      return nullptr;
    Value source;
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp,
            memref::CollapseShapeOp, memref::ExpandShapeOp, memref::CastOp>(
            producer))
      source = producer->getOperand(0);
    else if (auto linalgOp = dyn_cast<linalg::LinalgOp>(producer);
             linalgOp && linalgOp.getNumDpsInputs() == 1 &&
             followMovement(*linalgOp.getDpsInputOperand(0),
                            DimSets(cast<ShapedType>(linalgOp.getDpsInputOperand(0)->get().getType()).getRank(), 0)))
      source = linalgOp.getDpsInputOperand(0)->get();
    if (!source)
      return producer;
    reader = producer;
    value = source;
  }
  return nullptr;
}

/// The values an op produces from an input, for following data forward:
/// tensor results, or the buffers a memref-form op writes.
SmallVector<Value> producedFrom(OpOperand &use) {
  Operation *user = use.getOwner();
  if (user->getNumResults())
    return SmallVector<Value>(user->getResults());
  if (auto dps = dyn_cast<DestinationStyleOpInterface>(user);
      dps && dps.isDpsInput(&use))
    return llvm::to_vector(llvm::map_range(
        dps.getDpsInitsMutable(), [](OpOperand &o) { return o.get(); }));
  return {};
}

/// A buffer and every view of it: data written through one view is read
/// through the others.
SmallVector<Value> aliasesOf(Value buffer) {
  while (auto view = buffer.getDefiningOp<ViewLikeOpInterface>())
    buffer = view.getViewSource();
  SmallVector<Value> aliases = {buffer};
  for (size_t i = 0; i < aliases.size() && i < 4 * kMaxDepth; ++i)
    for (Operation *user : aliases[i].getUsers())
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == aliases[i])
        aliases.push_back(view->getResult(0));
  return aliases;
}

/// The contractions among `targets` that `value` reaches.
void reachableContractions(Value value, const DenseSet<Operation *> &targets,
                           llvm::SetVector<Operation *> &found,
                           DenseSet<Value> &visited, int depth) {
  if (depth > kMaxDepth || !visited.insert(value).second)
    return;
  if (isa<MemRefType>(value.getType())) {
    for (Value alias : aliasesOf(value))
      if (alias != value)
        reachableContractions(alias, targets, found, visited, depth + 1);
  }
  for (OpOperand &use : value.getUses()) {
    if (targets.contains(use.getOwner()) && isContractionInput(use)) {
      found.insert(use.getOwner());
      continue;
    }
    if (use.getOwner()->hasTrait<OpTrait::IsTerminator>() ||
        (isa<MemRefType>(value.getType()) &&
         isa<DestinationStyleOpInterface>(use.getOwner()) &&
         cast<DestinationStyleOpInterface>(use.getOwner()).isDpsInit(&use)))
      continue;
    for (Value next : producedFrom(use))
      reachableContractions(next, targets, found, visited, depth + 1);
  }
}

/// Whether a contraction's result reaches a softmax (linalg.softmax or an
/// exponential) and then another contraction: attention, with or without a
/// cache.
bool looksLikeAttention(linalg::LinalgOp op) {
  // Attention contracts batches of heads; projections are plain matmuls.
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->batch.empty())
    return false;
  SmallVector<std::pair<Value, bool>> work;
  for (Value v : op->getNumResults()
                     ? SmallVector<Value>(op->getResults())
                     : SmallVector<Value>{op.getDpsInitOperand(0)->get()})
    work.push_back({v, false});
  DenseSet<Value> seen;
  int steps = 0;
  while (!work.empty() && steps++ < 4 * kMaxDepth) {
    auto [value, afterSoftmax] = work.pop_back_val();
    if (!seen.insert(value).second)
      continue;
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (afterSoftmax && isContractionInput(use))
        return true;
      bool softmax =
          afterSoftmax || isa<linalg::SoftmaxOp>(user) ||
          (isa<linalg::GenericOp>(user) &&
           user->walk([](math::ExpOp) { return WalkResult::interrupt(); })
               .wasInterrupted());
      for (Value next : producedFrom(use))
        work.push_back({next, softmax});
    }
  }
  return false;
}

/// The sequence offset and written length of a write, for the report.
std::string describeWrite(Operation *op, Layout layout) {
  unsigned seqDim = layout == Layout::bhsd ? 2 : 1;
  SmallVector<OpFoldResult> offsets, sizes;
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
    offsets = insert.getMixedOffsets();
    sizes = insert.getMixedSizes();
  } else if (Value cache = writtenCache(op)) {
    Value target = isa<memref::CopyOp>(op)
                       ? cast<memref::CopyOp>(op).getTarget()
                       : cast<linalg::CopyOp>(op).getDpsInitOperand(0)->get();
    auto subview = target.getDefiningOp<memref::SubViewOp>();
    offsets = subview.getMixedOffsets();
    sizes = subview.getMixedSizes();
  }
  auto show = [](OpFoldResult ofr) -> std::string {
    if (std::optional<int64_t> c = getConstantIntValue(ofr))
      return std::to_string(*c);
    return "a runtime value";
  };
  if (offsets.size() != 4)
    return "";
  return "sequence offset " + show(offsets[seqDim]) + ", written length " +
         show(sizes[seqDim]);
}

/// Whether `read` contracts its cache as keys (over the head dimension:
/// QK^T) or as values (over the sequence: PV), and the cache's layout, from
/// the cache dimensions the contraction reduces and those it keeps apart
/// from its other input; nullopt when it is neither.
std::optional<std::pair<bool, Layout>> contractionRole(const CacheRead &read) {
  linalg::LinalgOp op = read.op;
  AffineMap map = op.getMatchingIndexingMap(op.getDpsInputOperand(read.input));
  AffineMap other =
      op.getMatchingIndexingMap(op.getDpsInputOperand(1 - read.input));
  auto iterators = op.getIteratorTypesArray();
  unsigned reduced = 0, ownParallel = 0;
  for (unsigned k = 0; k < map.getNumResults(); ++k) {
    // Each cache index must follow one loop (`h` or `h floordiv G` for a
    // GQA broadcast folded into the contraction).
    std::optional<unsigned> loopDim;
    unsigned numLoopDims = 0;
    for (unsigned l = 0; l < map.getNumDims(); ++l)
      if (map.getResult(k).isFunctionOfDim(l)) {
        loopDim = l;
        ++numLoopDims;
      }
    if (numLoopDims != 1)
      return std::nullopt;
    unsigned loop = *loopDim;
    if (iterators[loop] == utils::IteratorType::reduction)
      reduced |= read.dims[k];
    else if (!other.isFunctionOfDim(loop))
      ownParallel |= read.dims[k];
  }
  auto layoutOf = [](unsigned seqBits) -> std::optional<Layout> {
    if (seqBits == 1u << 2)
      return Layout::bhsd;
    if (seqBits == 1u << 1)
      return Layout::bshd;
    return std::nullopt;
  };
  if (reduced == kHeadDimBit) {
    if (std::optional<Layout> layout = layoutOf(ownParallel))
      return std::make_pair(true, *layout);
  } else if (!(reduced & kHeadDimBit) && (ownParallel & kHeadDimBit)) {
    if (std::optional<Layout> layout = layoutOf(reduced))
      return std::make_pair(false, *layout);
  }
  return std::nullopt;
}

/// Classifies `write` by the contraction that reads it (its role, layout,
/// attention contraction and reader); returns why it is no attention cache,
/// or an empty string.
std::string classifyWrite(CacheWrite &write) {
  if (!write.otherReaders.empty())
    return "the cache is also read by " + describe(write.otherReaders.front()) +
           ", which is not an attention contraction";
  if (write.contractions.empty())
    return "written but never read by an attention contraction";
  SmallVector<std::tuple<bool, Layout, Operation *>> roles;
  Operation *unknown = nullptr;
  for (CacheRead &read : write.contractions) {
    if (std::optional<std::pair<bool, Layout>> role = contractionRole(read))
      roles.push_back({role->first, role->second, read.op});
    else
      unknown = read.op;
  }
  if (unknown)
    return "read by " + describe(unknown) +
           ", which contracts it over neither its head dimension (QK^T) nor "
           "its sequence (PV)";
  bool anyKeys = llvm::any_of(roles, [](auto &r) { return std::get<0>(r); });
  bool anyValues = llvm::any_of(roles, [](auto &r) { return !std::get<0>(r); });
  if (anyKeys && anyValues)
    return "the cache is read as keys (QK^T) and as values (PV): K and V "
           "swapped?";
  if (roles.size() > 1)
    return "ambiguous: the cache is read by " + std::to_string(roles.size()) +
           " attention contractions";
  write.keys = anyKeys;
  write.layout = std::get<1>(roles.front());
  write.attention = std::get<2>(roles.front());
  write.reader = write.contractions.front().firstReader;
  return "";
}

/// One detected layer.
struct Layer {
  CacheWrite *key, *value;
  Operation *qk, *pv, *query;
  scf::ForOp loop;
};

/// Ops the pass rejected, with why (report=true prints them).
using Rejections = SmallVector<std::pair<Operation *, std::string>>;

/// The layers: each QK^T contraction of a K cache paired with the one PV
/// contraction of a V cache that its scores reach, one to one, with the
/// same layout and in the same layer loop.
SmallVector<Layer>
pairLayers(const DenseMap<Operation *, CacheWrite *> &keyReaders,
           const DenseMap<Operation *, CacheWrite *> &valueReaders,
           Rejections &rejected) {
  auto reject = [&](Operation *op, const Twine &why) {
    rejected.push_back({op, why.str()});
  };
  DenseSet<Operation *> pvOps;
  for (auto &entry : valueReaders)
    pvOps.insert(entry.first);
  SmallVector<Layer> layers;
  DenseSet<Operation *> pairedPV;
  for (auto &[qk, keyWrite] : keyReaders) {
    llvm::SetVector<Operation *> found;
    DenseSet<Value> visited;
    auto qkOp = cast<linalg::LinalgOp>(qk);
    Value scores = qk->getNumResults() ? qk->getResult(0)
                                       : qkOp.getDpsInitOperand(0)->get();
    reachableContractions(scores, pvOps, found, visited, 0);
    if (found.size() != 1) {
      reject(keyWrite->op,
             found.empty()
                 ? "the QK^T contraction " + describe(qk) +
                       " reaches no PV contraction of a detected V cache"
                 : "ambiguous: the QK^T contraction " + describe(qk) +
                       " reaches " + Twine(found.size()) +
                       " PV contractions");
      continue;
    }
    Operation *pv = found.front();
    CacheWrite *valueWrite = valueReaders.lookup(pv);
    if (!pairedPV.insert(pv).second) {
      reject(keyWrite->op, "ambiguous: " + describe(pv) +
                               " is reached by two QK^T contractions");
      continue;
    }
    if (valueWrite->layout != keyWrite->layout) {
      reject(keyWrite->op, "the K cache is " +
                               stringifyLayout(keyWrite->layout) +
                               " but its V cache is " +
                               stringifyLayout(valueWrite->layout));
      continue;
    }
    Operation *qkOperation = qk;
    unsigned keyInput = llvm::find_if(keyWrite->contractions, [&](auto &r) {
                          return r.op.getOperation() == qkOperation;
                        })->input;
    Value queries = qkOp.getDpsInputOperand(1 - keyInput)->get();
    Operation *query = producerThroughMovement(queries, qk);
    scf::ForOp loop = layerLoopOf(keyWrite->op);
    if (loop != layerLoopOf(valueWrite->op)) {
      reject(keyWrite->op, "the K and V caches are not in the same layer loop");
      continue;
    }
    layers.push_back({keyWrite, valueWrite, qk, pv, query, loop});
  }
  for (auto &[pv, valueWrite] : valueReaders)
    if (!pairedPV.contains(pv))
      reject(valueWrite->op, "the PV contraction " + describe(pv) +
                                 " is reached by no QK^T of a detected K cache");
  return layers;
}

/// Marks the ops of `layers` (in program order) with their roles, their
/// layer loops, and `function` with its number of layers; returns the
/// report's lines and that number.
std::pair<std::string, int64_t> annotateLayers(FunctionOpInterface function,
                                               ArrayRef<Layer> layers) {
  MLIRContext *ctx = function.getContext();
  int64_t unrolled = 0, total = 0;
  std::string summary;
  llvm::raw_string_ostream os(summary);
  for (const Layer &layer : layers) {
    std::optional<int64_t> index;
    if (layer.loop) {
      scf::ForOp loop = layer.loop;
      loop->setAttr(ChunkKVDialect::kLayerLoopAttrName, UnitAttr::get(ctx));
      std::optional<int64_t> trips =
          loop.getStaticTripCount()
              ? std::optional<int64_t>(
                    loop.getStaticTripCount()->getSExtValue())
              : std::nullopt;
      total += trips.value_or(0);
      os << "  layer loop " << describe(loop) << " over "
         << (trips ? std::to_string(*trips) : std::string("?")) << " layers:\n";
    } else {
      index = unrolled++;
      ++total;
      os << "  layer " << *index << ":\n";
    }
    Layout layout = layer.key->layout;
    auto mark = [&](Operation *op, KVRole role) {
      if (op)
        op->setAttr(ChunkKVDialect::kKVAttrName,
                    KVAttr::get(ctx, role, index, layout));
    };
    mark(layer.key->op, KVRole::k_write);
    mark(layer.value->op, KVRole::v_write);
    if (layer.key->reader != layer.qk)
      mark(layer.key->reader, KVRole::k_read);
    if (layer.value->reader != layer.pv)
      mark(layer.value->reader, KVRole::v_read);
    mark(layer.query, KVRole::query);
    mark(layer.qk, KVRole::qk);
    mark(layer.pv, KVRole::pv);
    os << "    layout " << stringifyLayout(layout) << "; "
       << describeWrite(layer.key->op, layout) << "\n"
       << "    K write: " << describe(layer.key->op) << "\n"
       << "    V write: " << describe(layer.value->op) << "\n"
       << "    K read:  " << describe(layer.key->reader) << "\n"
       << "    V read:  " << describe(layer.value->reader) << "\n"
       << "    query:   "
       << (layer.query ? describe(layer.query)
                       : std::string("a function argument"))
       << "\n"
       << "    QK^T:    " << describe(layer.qk) << "\n"
       << "    PV:      " << describe(layer.pv) << "\n";
  }
  if (total > 0)
    function->setAttr(ChunkKVDialect::kNumLayersAttrName,
                      IntegerAttr::get(IntegerType::get(ctx, 64), total));
  return {summary, total};
}

struct ChunkKVDetectKVCachePass
    : public chunkkv::impl::ChunkKVDetectKVCachePassBase<
          ChunkKVDetectKVCachePass> {
  using Base::Base;

  void runOnOperation() override {
    getOperation()->walk([&](FunctionOpInterface function) {
      if (!function.isExternal())
        detect(function);
    });
  }

  void detect(FunctionOpInterface function);
};
} // namespace

void ChunkKVDetectKVCachePass::detect(FunctionOpInterface function) {
  Rejections rejected;

  // Writes into rank-4 caches, and what reads what they write.
  std::deque<CacheWrite> writes;
  DenseMap<Operation *, int64_t> order;
  function->walk([&](Operation *op) {
    order[op] = order.size();
    Value cache = writtenCache(op);
    if (!cache)
      return;
    CacheWrite &write = writes.emplace_back();
    write.op = op;
    DimSets identity = {1u << 0, 1u << 1, 1u << 2, 1u << 3};
    collectReads(cache, identity, write, 0);
  });

  // Classify each write by the contraction reading it.
  DenseMap<Operation *, CacheWrite *> keyReaders, valueReaders;
  for (CacheWrite &write : writes) {
    std::string why = classifyWrite(write);
    if (!why.empty()) {
      rejected.push_back({write.op, why});
      continue;
    }
    auto &readers = write.keys ? keyReaders : valueReaders;
    if (readers.count(write.attention)) {
      rejected.push_back({write.op, "ambiguous: " + describe(write.attention) +
                                        " reads two caches"});
      continue;
    }
    readers[write.attention] = &write;
  }

  SmallVector<Layer> layers = pairLayers(keyReaders, valueReaders, rejected);

  // Attention that reads no cache at all (encoder style).
  DenseSet<Operation *> claimed;
  for (Layer &layer : layers)
    claimed.insert_range(ArrayRef<Operation *>{layer.qk, layer.pv});
  for (CacheWrite &write : writes)
    for (CacheRead &read : write.contractions)
      claimed.insert(read.op);
  function->walk([&](linalg::LinalgOp op) {
    if (claimed.contains(op) || !isContraction(op) || !looksLikeAttention(op))
      return;
    rejected.push_back({op, "attention without a KV cache (no cache write "
                            "reaches this contraction)"});
  });

  // Annotate, layers in program order; loop layers carry no index.
  llvm::sort(layers, [&](const Layer &a, const Layer &b) {
    return order[a.qk] < order[b.qk];
  });
  auto [summary, total] = annotateLayers(function, layers);
  if (!report)
    return;
  llvm::errs() << "chunkkv-detect-kv-cache: @" << function.getName() << ": "
               << total << " layer" << (total == 1 ? "" : "s") << "\n"
               << summary;
  for (auto &[op, why] : rejected)
    llvm::errs() << "  rejected " << describe(op) << ": " << why << "\n";
}
