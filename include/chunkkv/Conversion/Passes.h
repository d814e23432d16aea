//===- Passes.h - chunkkv lowering passes and pipelines ---------*- C++ -*-===//

#ifndef CHUNKKV_CONVERSION_PASSES_H
#define CHUNKKV_CONVERSION_PASSES_H

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

#include <memory>
#include <string>

namespace mlir {
class RewritePatternSet;
class TypeConverter;

namespace chunkkv {

#define GEN_PASS_DECL
#include "chunkkv/Conversion/Passes.h.inc"

/// Patterns lowering the chunkkv ops (tensor and memref forms) to loops.
void populateChunkKVToLoopsPatterns(RewritePatternSet &patterns,
                                    int64_t vectorWidth);

/// How the GPU score kernels are built.
struct GPUScoreOptions {
  /// Keys per block of the score kernels (a multiple of 32).
  int64_t tokensPerBlock = 512;
  /// Whether the paper policy on tensor cores may read K once (the chunk
  /// slots of the statistics kernel); false keeps the two-pass kernels.
  bool singlePass = true;
  /// 16-row mma tiles per warp of the tensor-core score kernels, 1 or 2
  /// (the pass rejects others): two feed each staged key fragment to two
  /// mma, for more registers.
  int64_t mmaRowTiles = 1;
  /// Steps of 32 keys of the tensor-core score kernels staged in shared
  /// memory, 2 to 4: while a block works on one, cp.async copies the next
  /// keyStages - 1 from global memory.
  int64_t keyStages = 3;
  /// Blocks of the tensor-core score kernels each SM must be able to hold
  /// (0: no bound, else 1 to 4); ptxas fits their registers to it
  /// (`nvvm.minctasm` on their launches, kept by
  /// chunkkv-gpu-kernel-outlining).
  int64_t minBlocksPerSM = 0;
  /// Bytes of shared memory a block of the single-pass statistics kernel
  /// may take, 48 KiB to 227 KiB: its spans of keys are the longest whose
  /// chunk slots fit. Above 48 KiB the slots are dynamic shared memory,
  /// which a GPU gives a block only up to its own limit (227 KiB on sm_90,
  /// 163 KiB on sm_80, 99 KiB on sm_86 and sm_89).
  int64_t sharedMemoryPerBlock = 48 * 1024;
  /// Warps of a tensor-core score block, 4 or 8 (the pass rejects others):
  /// 8 with one row tile take 128 window queries per block, so that a kv
  /// head group of up to 128 queries loads each key from global memory
  /// once. Head dimensions that are not a multiple of 64 keep 4.
  int64_t mmaWarps = 4;
  /// The tensor-core score kernels' logits by warpgroup mma (wgmma, sm_90a
  /// only): each warpgroup of four warps reads a step's staged keys from
  /// shared memory once, where every warp loads them for its own mma.sync.
  bool warpgroupMma = false;
};

/// Why `options` cannot build the GPU score kernels, or an empty string
/// (chunkkv-lower-to-gpu and chunkkv-gpu-pipeline report it).
std::string checkGPUScoreOptions(const GPUScoreOptions &options);

/// Patterns lowering the memref forms of the chunkkv ops to gpu.launch
/// kernels.
void populateChunkKVToGPUPatterns(RewritePatternSet &patterns,
                                  const GPUScoreOptions &options);

/// Options of `chunkkv-cpu-pipeline`.
struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("f32 lanes per vector in the generated kernels"),
      llvm::cl::init(16)};
};

/// chunkkv ops (tensor or memref forms) and the code around them, down to
/// the LLVM dialect: lower-to-loops, one-shot bufferization, math
/// approximation, then the upstream conversions to LLVM.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

#ifndef CHUNKKV_DEFAULT_CUDA_PATH
#define CHUNKKV_DEFAULT_CUDA_PATH ""
#endif

/// Options of `chunkkv-gpu-pipeline`.
struct GPUPipelineOptions : public PassPipelineOptions<GPUPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("target GPU (sm_80, sm_90, ...)"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> features{
      *this, "features",
      llvm::cl::desc("PTX features; empty: +ptx80 for sm_90 and above, "
                     "+ptx70 below"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> format{
      *this, "format",
      llvm::cl::desc("what the kernels become: isa (PTX text), bin (cubin, "
                     "needs ptxas) or fatbin"),
      llvm::cl::init("bin")};
  PassOptions::Option<int64_t> optLevel{
      *this, "opt-level", llvm::cl::desc("optimisation level of the kernels"),
      llvm::cl::init(3)};
  PassOptions::Option<std::string> cudaPath{
      *this, "cuda-path",
      llvm::cl::desc("CUDA toolkit (libdevice, ptxas); empty: upstream's "
                     "search through $CUDA_ROOT, $CUDA_HOME, $CUDA_PATH"),
      llvm::cl::init(CHUNKKV_DEFAULT_CUDA_PATH)};
  PassOptions::Option<int64_t> tokensPerBlock{
      *this, "tokens-per-block",
      llvm::cl::desc("keys per block of the score kernels (multiple of 32)"),
      llvm::cl::init(512)};
  PassOptions::Option<bool> singlePass{
      *this, "single-pass",
      llvm::cl::desc("paper policy on tensor cores: read K once (false: the "
                     "two-pass score kernels)"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> mmaRowTiles{
      *this, "mma-row-tiles",
      llvm::cl::desc("16-row mma tiles per warp of the tensor-core score "
                     "kernels (1 or 2)"),
      llvm::cl::init(1)};
  PassOptions::Option<int64_t> keyStages{
      *this, "key-stages",
      llvm::cl::desc("steps of 32 keys the tensor-core score kernels stage "
                     "in shared memory (2 to 4): key-stages - 1 load while "
                     "one is used"),
      llvm::cl::init(3)};
  PassOptions::Option<int64_t> minBlocksPerSM{
      *this, "min-blocks-per-sm",
      llvm::cl::desc("blocks of the tensor-core score kernels each SM must "
                     "hold (0: no bound, else 1 to 4); ptxas limits their "
                     "registers to fit"),
      llvm::cl::init(0)};
  PassOptions::Option<int64_t> sharedMemoryPerBlock{
      *this, "shared-memory-per-block",
      llvm::cl::desc("bytes of shared memory a block of the single-pass "
                     "statistics kernel may take (49152 to 232448); its "
                     "spans of keys grow to fill it"),
      llvm::cl::init(48 * 1024)};
  PassOptions::Option<int64_t> mmaWarps{
      *this, "mma-warps",
      llvm::cl::desc("warps of a tensor-core score block (4 or 8; head "
                     "dimensions not a multiple of 64 keep 4)"),
      llvm::cl::init(4)};
  PassOptions::Option<bool> warpgroupMma{
      *this, "warpgroup-mma",
      llvm::cl::desc("logits of the tensor-core score kernels by warpgroup "
                     "mma (wgmma; needs chip=sm_90a)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> dependentLaunches{
      *this, "dependent-launches",
      llvm::cl::desc("programmatic dependent launch: each kernel starts "
                     "while the previous one ends, and waits for it "
                     "(chunkkv-gpu-dependent-launches; needs sm_90 or "
                     "newer)"),
      llvm::cl::init(false)};
};

/// chunkkv ops in memref form on device buffers, and the host code around
/// them, down to LLVM dialect host code with the kernels embedded as a
/// gpu.binary: chunkkv-lower-to-gpu, chunkkv-gpu-kernel-outlining (and
/// chunkkv-gpu-dependent-launches with `dependent-launches`), then
/// the stages of upstream's gpu-lower-to-nvvm-pipeline with the CUDA toolkit
/// of `cuda-path`.
void buildGPUPipeline(OpPassManager &pm, const GPUPipelineOptions &options);

/// Why `options` cannot make a GPU pipeline, or an empty string.
std::string checkGPUPipelineOptions(const GPUPipelineOptions &options);

#define GEN_PASS_REGISTRATION
#include "chunkkv/Conversion/Passes.h.inc"

/// Registers the lowering passes and the `chunkkv-cpu-pipeline` pipeline.
void registerChunkKVConversionPassesAndPipelines();

} // namespace chunkkv
} // namespace mlir

#endif // CHUNKKV_CONVERSION_PASSES_H
