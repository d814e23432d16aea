//===- SelectKernel.cpp - JIT-compiled ChunkKV selection on the CPU -------===//

#include "chunkkv/ExecutionEngine/SelectKernel.h"

#include "CudaLibrary.h"
#include "JitSupport.h"

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"


using namespace chunkkv;
using mlir::chunkkv::PolicyAttr;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
/// A memref descriptor as the C interface of the lowered function takes it.
template <int Rank> struct MemRefDescriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];

  MemRefDescriptor(const void *data, llvm::ArrayRef<int64_t> shape)
      : allocated(const_cast<void *>(data)),
        aligned(const_cast<void *>(data)), offset(0) {
    int64_t stride = 1;
    for (int i = Rank - 1; i >= 0; --i) {
      sizes[i] = shape[i];
      strides[i] = stride;
      stride *= shape[i];
    }
  }
};

std::string shapeType(llvm::ArrayRef<int64_t> shape, llvm::StringRef element) {
  std::string text = "memref<";
  for (int64_t d : shape)
    text += std::to_string(d) + "x";
  return text + element.str() + ">";
}
} // namespace

static llvm::Expected<PolicyAttr> buildPolicy(mlir::MLIRContext &context,
                                              const PolicyParams &params) {
  using namespace mlir::chunkkv;
  std::optional<PolicyKind> kind = symbolizePolicyKind(params.kind);
  if (!kind)
    return makeError("policy: expected 'paper' or 'kvpress', got '" +
                     params.kind + "'");
  PolicyDefaults defaults = getPolicyDefaults(*kind);
  Aggregate aggregate = defaults.aggregate;
  if (params.aggregate) {
    std::optional<Aggregate> parsed = symbolizeAggregate(*params.aggregate);
    if (!parsed)
      return makeError("aggregate: expected 'sum' or 'mean', got '" +
                       *params.aggregate + "'");
    aggregate = *parsed;
  }
  auto ratio = [&](std::optional<double> value) -> mlir::FloatAttr {
    if (!value)
      return {};
    return mlir::FloatAttr::get(mlir::Float64Type::get(&context), *value);
  };
  auto emitError = [&]() {
    return mlir::emitError(mlir::UnknownLoc::get(&context));
  };
  DiagnosticCollector diagnostics(context);
  PolicyAttr policy = PolicyAttr::getChecked(
      emitError, &context, *kind, params.chunk.value_or(defaults.chunkSize),
      params.window.value_or(defaults.window),
      params.pool.value_or(defaults.pool), aggregate, params.budget,
      ratio(params.keepRatio), ratio(params.compressionRatio), params.reuse);
  if (!policy)
    return diagnostics.error("invalid policy");
  return policy;
}

/// The chunkkv module of one selection: score, select, compact K and V.
static std::string buildSource(PolicyAttr policy, const SelectShape &shape,
                               const PolicyInfo &info) {
  int64_t B = shape.batch;
  llvm::SmallVector<int64_t> cacheShape =
      shape.bshd
          ? llvm::SmallVector<int64_t>{B, shape.capacity, shape.kvHeads,
                                       shape.headDim}
          : llvm::SmallVector<int64_t>{B, shape.kvHeads, shape.capacity,
                                       shape.headDim};
  llvm::StringRef element = mlirTypeName(shape.cacheType);
  std::string q = shapeType({B, shape.queryHeads, policy.getWindow(),
                             shape.headDim},
                            element);
  std::string cache = shapeType(cacheShape, element);
  std::string lengths = shapeType({B}, "i64");
  std::string scores = shapeType({B, info.numScoreChunks}, "f32");
  std::string ids = shapeType({B, info.maxSelectedChunks}, "i64");
  std::string layout = shape.bshd ? "bshd" : "bhsd";
  std::string scale;
  if (shape.scale)
    scale = llvm::formatv(" scale({0:e})", *shape.scale).str();

  std::string policyText;
  llvm::raw_string_ostream policyStream(policyText);
  static_cast<mlir::Attribute>(policy).print(policyStream);

  return llvm::formatv(
             R"mlir(#policy = {0}
func.func @chunkkv_select(%q: {1}, %k: {2}, %v: {2}, %len: {3},
                          %scores: {4}, %ids: {5}, %kept: {3},
                          %k_out: {2}, %v_out: {2}, %new_len: {3})
    attributes {{llvm.emit_c_interface} {{
  chunkkv.chunk_score #policy layout({6}){7}
      ins(%q, %k, %len : {1}, {2}, {3}) outs(%scores : {4})
  chunkkv.topk_chunks #policy
      ins(%scores, %len : {4}, {3}) outs(%ids, %kept : {5}, {3})
  chunkkv.compact #policy layout({6})
      ins(%k, %ids, %len : {2}, {5}, {3}) outs(%k_out, %new_len : {2}, {3})
  chunkkv.compact #policy layout({6})
      ins(%v, %ids, %len : {2}, {5}, {3}) outs(%v_out, %new_len : {2}, {3})
  return
}
)mlir",
             policyText, q, cache, lengths, scores, ids, layout, scale)
      .str();
}

int64_t PolicyParams::resolvedWindow() const {
  using namespace mlir::chunkkv;
  PolicyKind policyKind = symbolizePolicyKind(kind).value_or(PolicyKind::paper);
  return window.value_or(getPolicyDefaults(policyKind).window);
}

SelectKernel::SelectKernel() = default;
SelectKernel::~SelectKernel() = default;

llvm::Expected<std::unique_ptr<SelectKernel>>
SelectKernel::compile(const PolicyParams &params, const SelectShape &shape,
                      int vectorWidth, SelectDevice device) {
  std::unique_ptr<SelectKernel> kernel(new SelectKernel());
  kernel->context = createJitContext();
  mlir::MLIRContext &context = *kernel->context;

  llvm::Expected<PolicyAttr> policy = buildPolicy(context, params);
  if (!policy)
    return policy.takeError();
  kernel->policyStorage = policy->getAsOpaquePointer();
  kernel->selectShape = shape;
  kernel->policyInfo.numScoreChunks =
      policy->getNumScoreChunks(shape.capacity);
  kernel->policyInfo.maxSelectedChunks =
      policy->getMaxSelectedChunks(kernel->policyInfo.numScoreChunks);
  kernel->moduleSource = buildSource(*policy, shape, kernel->policyInfo);

  DiagnosticCollector diagnostics(context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(kernel->moduleSource, &context);
  if (!module)
    return diagnostics.error("the shapes do not fit the policy");

  if (device == SelectDevice::cuda) {
    if (shape.scale)
      return makeError("--device=cuda: the kernel library uses the default "
                       "scale 1/sqrt(D); --scale is not supported");
    auto cuda = CudaLibrary::load();
    if (!cuda)
      return cuda.takeError();
    kernel->cuda = std::move(*cuda);
    return kernel;
  }

  auto engine = compileForHost(*module, vectorWidth);
  if (!engine)
    return engine.takeError();
  kernel->engine = std::move(*engine);
  // Looking the function up makes the JIT generate code now, not on the
  // first run.
  auto entry = kernel->engine->lookupPacked("_mlir_ciface_chunkkv_select");
  if (!entry)
    return entry.takeError();
  kernel->entry = *entry;
  return kernel;
}

std::vector<int64_t>
SelectKernel::keptPositions(int64_t length, llvm::ArrayRef<int64_t> ids) const {
  auto policy = PolicyAttr::getFromOpaquePointer(policyStorage);
  std::vector<int64_t> positions;
  if (policy.keepsWholeSequence(length)) {
    for (int64_t j = 0; j < length; ++j)
      positions.push_back(j);
    return positions;
  }
  bool paper = policy.getKind() == mlir::chunkkv::PolicyKind::paper;
  int64_t scored = paper ? length - policy.getWindow() : length;
  int64_t numChunks = policy.getNumScoreChunks(length);
  for (int64_t id : ids) {
    if (id < 0 || id >= numChunks)
      continue;
    int64_t start = id * policy.getChunkSize();
    int64_t end = std::min(start + policy.getChunkSize(), scored);
    for (int64_t j = start; j < end; ++j)
      positions.push_back(j);
  }
  if (paper)
    for (int64_t j = scored; j < length; ++j)
      positions.push_back(j);
  return positions;
}

llvm::Error SelectKernel::run(const SelectBuffers &buffers) {
  if (cuda)
    return runOnCuda(buffers);
  const SelectShape &s = selectShape;
  auto policy = PolicyAttr::getFromOpaquePointer(policyStorage);
  int64_t B = s.batch;
  llvm::SmallVector<int64_t, 4> cacheShape =
      s.bshd ? llvm::SmallVector<int64_t, 4>{B, s.capacity, s.kvHeads,
                                             s.headDim}
             : llvm::SmallVector<int64_t, 4>{B, s.kvHeads, s.capacity,
                                             s.headDim};
  MemRefDescriptor<4> q(buffers.queries,
                        {B, s.queryHeads, policy.getWindow(), s.headDim});
  MemRefDescriptor<4> k(buffers.keys, cacheShape), v(buffers.values, cacheShape);
  MemRefDescriptor<4> kOut(buffers.keysOut, cacheShape),
      vOut(buffers.valuesOut, cacheShape);
  MemRefDescriptor<1> lengths(buffers.lengths, {B}),
      kept(buffers.keptLengths, {B}), newLengths(buffers.newLengths, {B});
  MemRefDescriptor<2> scores(buffers.scores, {B, policyInfo.numScoreChunks});
  MemRefDescriptor<2> ids(buffers.chunkIds, {B, policyInfo.maxSelectedChunks});

  void *descriptors[] = {&q,    &k,    &v,    &lengths, &scores,
                         &ids,  &kept, &kOut, &vOut,    &newLengths};
  llvm::SmallVector<void *> args;
  for (void *&descriptor : descriptors)
    args.push_back(&descriptor);
  entry(args.data());
  return llvm::Error::success();
}

llvm::Error SelectKernel::runOnCuda(const SelectBuffers &buffers) {
  const SelectShape &s = selectShape;
  auto policy = PolicyAttr::getFromOpaquePointer(policyStorage);
  using mlir::chunkkv::stringifyAggregate;
  using mlir::chunkkv::stringifyPolicyKind;
  std::string kind = stringifyPolicyKind(policy.getKind()).str();
  std::string aggregate = stringifyAggregate(policy.getAggregate()).str();
  auto ratio = [](mlir::FloatAttr value) {
    return value ? value.getValueAsDouble() : -1.0;
  };
  ChunkKVCudaPolicy cudaPolicy{kind.c_str(),
                               policy.getChunkSize(),
                               policy.getWindow(),
                               policy.getPool(),
                               aggregate.c_str(),
                               policy.getBudget().value_or(-1),
                               ratio(policy.getKeepRatio()),
                               ratio(policy.getCompressionRatio())};

  int64_t B = s.batch, n = policyInfo.numScoreChunks,
          k = policyInfo.maxSelectedChunks;
  size_t element = elementSize(s.cacheType);
  size_t queryBytes = B * s.queryHeads * policy.getWindow() * s.headDim * element;
  size_t cacheBytes = B * s.kvHeads * s.capacity * s.headDim * element;
  size_t lengthBytes = B * sizeof(int64_t);
  struct Transfer {
    const void *host;
    void *hostOut;
    size_t bytes;
    void *device = nullptr;
  };
  Transfer transfers[] = {
      {buffers.queries, nullptr, queryBytes},
      {buffers.keys, nullptr, cacheBytes},
      {buffers.values, nullptr, cacheBytes},
      {buffers.lengths, nullptr, lengthBytes},
      {nullptr, buffers.scores, B * n * sizeof(float)},
      {nullptr, buffers.chunkIds, B * k * sizeof(int64_t)},
      {nullptr, buffers.keptLengths, lengthBytes},
      {nullptr, buffers.keysOut, cacheBytes},
      {nullptr, buffers.valuesOut, cacheBytes},
      {nullptr, buffers.newLengths, lengthBytes},
      {nullptr, nullptr, lengthBytes}, // V's new lengths, equal to K's
  };
  auto freeAll = [&]() {
    for (Transfer &t : transfers)
      if (t.device)
        cuda->free(t.device);
  };
  for (Transfer &t : transfers) {
    llvm::Expected<void *> device = cuda->upload(t.host, t.bytes);
    if (!device) {
      freeAll();
      return device.takeError();
    }
    t.device = *device;
  }
  static const int elementCodes[] = {CHUNKKV_CUDA_F32, CHUNKKV_CUDA_F16,
                                     CHUNKKV_CUDA_BF16};
  if (static_cast<size_t>(s.cacheType) >= std::size(elementCodes)) {
    freeAll();
    return makeError("--device=cuda: caches must be f32, f16 or bf16");
  }
  ChunkKVCudaSelectArgs args{};
  args.element_type = elementCodes[static_cast<size_t>(s.cacheType)];
  args.layout = s.bshd ? CHUNKKV_CUDA_BSHD : CHUNKKV_CUDA_BHSD;
  args.batch = B;
  args.query_heads = s.queryHeads;
  args.kv_heads = s.kvHeads;
  args.capacity = s.capacity;
  args.head_dim = s.headDim;
  args.queries = transfers[0].device;
  args.keys = transfers[1].device;
  args.values = transfers[2].device;
  args.lengths = static_cast<const int64_t *>(transfers[3].device);
  args.chunk_scores = static_cast<float *>(transfers[4].device);
  args.num_score_chunks = n;
  args.chunk_ids = static_cast<int64_t *>(transfers[5].device);
  args.max_selected = k;
  args.kept_lengths = static_cast<int64_t *>(transfers[6].device);
  args.keys_out = transfers[7].device;
  args.values_out = transfers[8].device;
  args.keys_out_lengths = static_cast<int64_t *>(transfers[9].device);
  args.values_out_lengths = static_cast<int64_t *>(transfers[10].device);
  if (llvm::Error e = cuda->select(cudaPolicy, args)) {
    freeAll();
    return e;
  }
  for (Transfer &t : transfers)
    if (t.hostOut)
      if (llvm::Error e = cuda->download(t.hostOut, t.device, t.bytes)) {
        freeAll();
        return e;
      }
  freeAll();
  return llvm::Error::success();
}
