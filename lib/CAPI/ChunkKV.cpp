//===- ChunkKV.cpp - chunkkv C API ----------------------------------------===//

#include "chunkkv-c/ChunkKV.h"

#include "chunkkv/Conversion/Passes.h"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"
#include "chunkkv/Dialect/ChunkKV/Transforms/BufferizableOpInterfaceImpl.h"
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h"
#include "chunkkv/ExecutionEngine/SelectKernel.h"
#include "chunkkv/InitChunkKV.h"
#include "chunkkv/Support/TextLimits.h"

#include "mlir/CAPI/IR.h"
#include "mlir/CAPI/Registration.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>

MLIR_DEFINE_CAPI_DIALECT_REGISTRATION(ChunkKV, chunkkv,
                                      mlir::chunkkv::ChunkKVDialect)

void chunkkvRegisterInterfaces(MlirDialectRegistry registry) {
  mlir::chunkkv::registerBufferizableOpInterfaceExternalModels(
      *unwrap(registry));
}

void chunkkvRegisterPasses(void) {
  mlir::chunkkv::registerChunkKVTransformsPasses();
  mlir::chunkkv::registerChunkKVConversionPassesAndPipelines();
}

void chunkkvFree(void *pointer) { std::free(pointer); }

/// A malloc'd copy, for strings handed to C callers.
static char *copyString(const std::string &text) {
  char *copy = static_cast<char *>(std::malloc(text.size() + 1));
  std::memcpy(copy, text.c_str(), text.size() + 1);
  return copy;
}

static int fail(char **error, const std::string &message) {
  if (error)
    *error = copyString(message);
  return 1;
}

struct ChunkkvContext {
  ChunkkvContext() : context(makeRegistry()) {
    context.loadAllAvailableDialects();
  }
  static mlir::DialectRegistry makeRegistry() {
    static std::once_flag passes;
    std::call_once(passes, mlir::chunkkv::registerChunkKVPasses);
    mlir::DialectRegistry registry;
    mlir::chunkkv::registerChunkKVDialects(registry);
    return registry;
  }
  mlir::MLIRContext context;
};

ChunkkvContext *chunkkvContextCreate(void) { return new ChunkkvContext(); }

void chunkkvContextDestroy(ChunkkvContext *context) { delete context; }

int chunkkvCompile(ChunkkvContext *context, const char *module,
                   const char *pipeline, char **output, char **error) {
  if (!context || !module || !output)
    return fail(error, "chunkkvCompile: context, module and output must be "
                       "non-null");
  if (llvm::Error e = chunkkv::checkNesting(module))
    return fail(error, "the module does not parse or verify: " +
                           llvm::toString(std::move(e)));
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(
      &context->context, [&](mlir::Diagnostic &diag) {
        llvm::raw_string_ostream os(diagnostics);
        os << diag.getLocation() << ": " << diag << "\n";
        for (const mlir::Diagnostic &note : diag.getNotes())
          os << "  note: " << note << "\n";
        return mlir::success();
      });
  mlir::OwningOpRef<mlir::ModuleOp> parsed;
  if (!chunkkv::runRecoveringFromCrash([&] {
        parsed = mlir::parseSourceString<mlir::ModuleOp>(module,
                                                         &context->context);
      }))
    return fail(error, "the module does not parse: MLIR's parser crashed on "
                       "this malformed input (a bug in upstream MLIR 22)");
  if (!parsed)
    return fail(error, "the module does not parse or verify:\n" + diagnostics);
  if (pipeline && *pipeline) {
    std::string pipelineErrors;
    llvm::raw_string_ostream errorStream(pipelineErrors);
    mlir::FailureOr<mlir::OpPassManager> passes =
        mlir::parsePassPipeline(pipeline, errorStream);
    if (mlir::failed(passes))
      return fail(error, "bad pass pipeline '" + std::string(pipeline) +
                             "': " + pipelineErrors);
    // The pipeline names its own anchor, e.g. builtin.module(...).
    mlir::PassManager pm(&context->context, passes->getOpAnchorName());
    static_cast<mlir::OpPassManager &>(pm) = std::move(*passes);
    if (mlir::failed(pm.run(*parsed)))
      return fail(error, "the pipeline failed:\n" + diagnostics);
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  parsed->print(os);
  *output = copyString(text);
  return 0;
}

struct ChunkkvSelectKernel {
  std::unique_ptr<chunkkv::SelectKernel> kernel;
};

ChunkkvSelectKernel *chunkkvSelectKernelCreate(const ChunkkvPolicy *policy,
                                               const ChunkkvShape *shape,
                                               char **error) {
  if (!policy || !shape) {
    fail(error, "chunkkvSelectKernelCreate: policy and shape must be non-null");
    return nullptr;
  }
  chunkkv::PolicyParams params;
  params.kind = policy->kind ? policy->kind : "paper";
  auto setInt = [](int64_t value, std::optional<int64_t> &into) {
    if (value >= 0)
      into = value;
  };
  setInt(policy->chunk, params.chunk);
  setInt(policy->window, params.window);
  setInt(policy->pool, params.pool);
  setInt(policy->budget, params.budget);
  if (policy->aggregate)
    params.aggregate = policy->aggregate;
  if (!std::isnan(policy->keep_ratio))
    params.keepRatio = policy->keep_ratio;
  if (!std::isnan(policy->compression_ratio))
    params.compressionRatio = policy->compression_ratio;

  chunkkv::SelectShape select;
  switch (shape->element_type) {
  case CHUNKKV_F32:
    select.cacheType = chunkkv::ElementType::f32;
    break;
  case CHUNKKV_F16:
    select.cacheType = chunkkv::ElementType::f16;
    break;
  case CHUNKKV_BF16:
    select.cacheType = chunkkv::ElementType::bf16;
    break;
  default:
    fail(error, "element_type must be CHUNKKV_F32, CHUNKKV_F16 or CHUNKKV_BF16");
    return nullptr;
  }
  if (shape->batch < 0 || shape->query_heads < 1 || shape->kv_heads < 1 ||
      shape->capacity < 1 || shape->head_dim < 1 ||
      shape->query_heads % shape->kv_heads != 0) {
    fail(error, "shape: expected B >= 0, Hq, Hkv, S, D >= 1 and Hq a "
                "multiple of Hkv");
    return nullptr;
  }
  select.bshd = shape->bshd != 0;
  select.batch = shape->batch;
  select.queryHeads = shape->query_heads;
  select.kvHeads = shape->kv_heads;
  select.capacity = shape->capacity;
  select.headDim = shape->head_dim;
  if (!std::isnan(shape->scale))
    select.scale = shape->scale;
  auto kernel = chunkkv::SelectKernel::compile(params, select);
  if (!kernel) {
    fail(error, llvm::toString(kernel.takeError()));
    return nullptr;
  }
  return new ChunkkvSelectKernel{std::move(*kernel)};
}

void chunkkvSelectKernelDestroy(ChunkkvSelectKernel *kernel) { delete kernel; }

void chunkkvSelectKernelSizes(ChunkkvSelectKernel *kernel,
                              int64_t *num_score_chunks,
                              int64_t *max_selected_chunks) {
  *num_score_chunks = kernel->kernel->info().numScoreChunks;
  *max_selected_chunks = kernel->kernel->info().maxSelectedChunks;
}

int chunkkvSelectKernelRun(ChunkkvSelectKernel *kernel, const void *q,
                           const void *k, const void *v,
                           const int64_t *lengths, float *scores,
                           int64_t *chunk_ids, int64_t *kept_lengths,
                           void *k_out, void *v_out, int64_t *new_lengths,
                           char **error) {
  if (!kernel)
    return fail(error, "chunkkvSelectKernelRun: kernel is null");
  const chunkkv::SelectShape &shape = kernel->kernel->shape();
  for (int64_t b = 0; b < shape.batch; ++b)
    if (lengths[b] < 0 || lengths[b] > shape.capacity)
      return fail(error, "length " + std::to_string(lengths[b]) +
                             " of sequence " + std::to_string(b) +
                             " is outside [0, S = " +
                             std::to_string(shape.capacity) + "]");
  chunkkv::SelectBuffers buffers{q,         k,        v,     lengths,
                                 scores,    chunk_ids, kept_lengths,
                                 k_out,     v_out,    new_lengths};
  if (llvm::Error e = kernel->kernel->run(buffers))
    return fail(error, llvm::toString(std::move(e)));
  return 0;
}

int64_t chunkkvSelectKernelKeptPositions(ChunkkvSelectKernel *kernel,
                                         int64_t length,
                                         const int64_t *chunk_ids,
                                         int64_t *positions) {
  int64_t numIds = kernel->kernel->info().maxSelectedChunks;
  std::vector<int64_t> kept = kernel->kernel->keptPositions(
      length, llvm::ArrayRef<int64_t>(chunk_ids, numIds));
  std::copy(kept.begin(), kept.end(), positions);
  return static_cast<int64_t>(kept.size());
}
