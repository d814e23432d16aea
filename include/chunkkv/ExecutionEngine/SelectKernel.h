//===- SelectKernel.h - JIT-compiled ChunkKV selection on the CPU -*- C++ -*-=//
//
// Builds a module that runs chunk_score, topk_chunks and compact (K and V) on
// memrefs of fixed shapes, lowers it with chunkkv-cpu-pipeline, and JIT
// compiles it for the host.
//
//===----------------------------------------------------------------------===//

#ifndef CHUNKKV_EXECUTIONENGINE_SELECTKERNEL_H
#define CHUNKKV_EXECUTIONENGINE_SELECTKERNEL_H

#include "chunkkv/Support/Npy.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;
class MLIRContext;
} // namespace mlir

namespace chunkkv {

/// The policy parameters of docs/semantics.md, as given on a command line.
/// Unset parameters take the policy's defaults.
struct PolicyParams {
  std::string kind = "paper";
  std::optional<int64_t> chunk, window, pool;
  std::optional<std::string> aggregate;
  std::optional<int64_t> budget;
  std::optional<double> keepRatio, compressionRatio;
  int64_t reuse = 1;

  /// The window, or the policy's default window.
  int64_t resolvedWindow() const;
};

/// Shapes and types of one selection problem.
struct SelectShape {
  ElementType cacheType = ElementType::f32;
  bool bshd = false;
  int64_t batch = 0, queryHeads = 0, kvHeads = 0, capacity = 0, headDim = 0;
  std::optional<float> scale;
};

/// Raw buffers of one call, all C-contiguous; lengths are i64.
struct SelectBuffers {
  const void *queries, *keys, *values;
  const int64_t *lengths;
  float *scores;          // [B, n]
  int64_t *chunkIds;      // [B, k]
  int64_t *keptLengths;   // [B]
  void *keysOut, *valuesOut;
  int64_t *newLengths;    // [B]
};

/// Sizes the compiled policy implies for the shape.
struct PolicyInfo {
  int64_t numScoreChunks = 0;    // n, columns of the scores
  int64_t maxSelectedChunks = 0; // k, columns of the chunk ids
};

/// Where a SelectKernel runs.
enum class SelectDevice {
  /// JIT-compiled host code (chunkkv-cpu-pipeline).
  cpu,
  /// The kernels of libchunkkv_cuda.so, compiled ahead of time through
  /// chunkkv-gpu-pipeline; buffers are copied to the GPU and back.
  cuda
};

class CudaLibrary;

class SelectKernel {
public:
  ~SelectKernel();

  /// Checks the policy and shapes, builds and compiles the kernel (cpu) or
  /// loads the CUDA kernel library (cuda). Errors carry the verifier's or
  /// the pipeline's diagnostics, or say why the GPU path is unavailable.
  static llvm::Expected<std::unique_ptr<SelectKernel>>
  compile(const PolicyParams &policy, const SelectShape &shape,
          int vectorWidth = 16, SelectDevice device = SelectDevice::cpu);

  const PolicyInfo &info() const { return policyInfo; }
  const SelectShape &shape() const { return selectShape; }
  /// The chunkkv module the kernel was built from.
  const std::string &source() const { return moduleSource; }

  /// Kept positions, ascending, of a sequence of valid length `length`
  /// whose chosen chunk ids are `ids` (padded with -1), as compact keeps them.
  std::vector<int64_t> keptPositions(int64_t length,
                                     llvm::ArrayRef<int64_t> ids) const;

  /// Runs score + select + compact of K and V (host buffers).
  llvm::Error run(const SelectBuffers &buffers);

private:
  SelectKernel();
  llvm::Error runOnCuda(const SelectBuffers &buffers);

  std::unique_ptr<mlir::MLIRContext> context;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  /// The packed entry point of the compiled function.
  void (*entry)(void **) = nullptr;
  /// The verified #chunkkv.policy, owned by `context`.
  const void *policyStorage = nullptr;
  SelectShape selectShape;
  PolicyInfo policyInfo;
  std::string moduleSource;
  PolicyParams policyParams;
  std::unique_ptr<CudaLibrary> cuda;
};

} // namespace chunkkv

#endif // CHUNKKV_EXECUTIONENGINE_SELECTKERNEL_H
