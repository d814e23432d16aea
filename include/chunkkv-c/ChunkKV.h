/*===- ChunkKV.h - chunkkv C API ------------------------------------*- C -*-===*\
|*                                                                            *|
|* A C interface to chunkkv for other languages (Python uses it through       *|
|* ctypes) and for compilers built on MLIR's C API. Every function that can   *|
|* fail returns 0 on success and otherwise sets *error to a message (the      *|
|* MLIR diagnostics) that the caller frees with chunkkvFree. Nothing here     *|
|* aborts on bad input.                                                       *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef CHUNKKV_C_CHUNKKV_H
#define CHUNKKV_C_CHUNKKV_H

#include "mlir-c/IR.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*===-------------------- For users of MLIR's C API ----------------------===*/

/** The chunkkv dialect handle: mlirDialectHandleInsertDialect(handle, reg). */
MLIR_DECLARE_CAPI_DIALECT_REGISTRATION(ChunkKV, chunkkv);

/** Inserts chunkkv's bufferization models into a registry. */
MLIR_CAPI_EXPORTED void chunkkvRegisterInterfaces(MlirDialectRegistry registry);

/** Registers the chunkkv passes and pipelines (e.g. for mlirParsePassPipeline). */
MLIR_CAPI_EXPORTED void chunkkvRegisterPasses(void);

/*===-------------------- Self-contained API ------------------------------===*/

/** Frees strings returned by this API. */
MLIR_CAPI_EXPORTED void chunkkvFree(void *pointer);

/** An MLIRContext with chunkkv and every upstream dialect and pass. */
typedef struct ChunkkvContext ChunkkvContext;
MLIR_CAPI_EXPORTED ChunkkvContext *chunkkvContextCreate(void);
MLIR_CAPI_EXPORTED void chunkkvContextDestroy(ChunkkvContext *context);

/** Parses `module`, runs the textual `pipeline` (e.g.
 * "builtin.module(chunkkv-lower-to-loops)"; empty: verify only) and prints
 * the result into *output. */
MLIR_CAPI_EXPORTED int chunkkvCompile(ChunkkvContext *context,
                                      const char *module, const char *pipeline,
                                      char **output, char **error);

/** Element types of caches and arrays. */
enum { CHUNKKV_F32 = 0, CHUNKKV_F16 = 1, CHUNKKV_BF16 = 2 };

/** A policy (docs/semantics.md). Unset integers are -1, unset ratios NaN,
 * unset strings NULL; they take the policy's defaults. */
typedef struct {
  const char *kind; /* "paper" or "kvpress" */
  int64_t chunk, window, pool;
  const char *aggregate; /* "sum" or "mean" */
  int64_t budget;
  double keep_ratio, compression_ratio;
} ChunkkvPolicy;

/** Shapes of one selection: q [B, Hq, w, D], caches [B, Hkv, S, D] (bshd = 0)
 * or [B, S, Hkv, D] (bshd = 1). scale NaN means 1/sqrt(D). */
typedef struct {
  int element_type;
  int bshd;
  int64_t batch, query_heads, kv_heads, capacity, head_dim;
  float scale;
} ChunkkvShape;

/** chunk_score + topk_chunks + compact (K and V) JIT-compiled for the host. */
typedef struct ChunkkvSelectKernel ChunkkvSelectKernel;
MLIR_CAPI_EXPORTED ChunkkvSelectKernel *
chunkkvSelectKernelCreate(const ChunkkvPolicy *policy,
                          const ChunkkvShape *shape, char **error);
MLIR_CAPI_EXPORTED void chunkkvSelectKernelDestroy(ChunkkvSelectKernel *kernel);

/** Columns of the scores (n) and of the chosen chunk ids (k). */
MLIR_CAPI_EXPORTED void chunkkvSelectKernelSizes(ChunkkvSelectKernel *kernel,
                                                 int64_t *num_score_chunks,
                                                 int64_t *max_selected_chunks);

/** Runs on C-contiguous buffers: q, k, v of the shape's element type;
 * lengths [B] i64; outputs scores [B, n] f32, chunk_ids [B, k] i64,
 * kept_lengths [B] i64, k_out and v_out (cache-shaped), new_lengths [B] i64. */
MLIR_CAPI_EXPORTED int chunkkvSelectKernelRun(
    ChunkkvSelectKernel *kernel, const void *q, const void *k, const void *v,
    const int64_t *lengths, float *scores, int64_t *chunk_ids,
    int64_t *kept_lengths, void *k_out, void *v_out, int64_t *new_lengths,
    char **error);

/** Writes the kept positions of a sequence of valid length `length` with
 * chosen ids `chunk_ids` (k entries, -1 padded) into `positions` (room for
 * `length` entries); returns how many. */
MLIR_CAPI_EXPORTED int64_t chunkkvSelectKernelKeptPositions(
    ChunkkvSelectKernel *kernel, int64_t length, const int64_t *chunk_ids,
    int64_t *positions);

#ifdef __cplusplus
}
#endif

#endif /* CHUNKKV_C_CHUNKKV_H */
