/*===- chunkkv-c/CudaSelect.h - ChunkKV selection on CUDA buffers -*- C -*-===*\
|*                                                                            *|
|* libchunkkv_cuda.so: score, select and compact one layer's K/V cache on     *|
|* device buffers with kernels that chunkkv-gpu-pipeline compiled ahead of    *|
|* time. It holds a fixed set of variants (policy, element type, layout, head *|
|* dimension; runtime/variants.py); batch, heads, capacity and lengths are    *|
|* free. Every function returns 0 on success; on failure, a nonzero status    *|
|* and chunkkv_cuda_last_error() says why. Nothing crashes on bad arguments.  *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef CHUNKKV_C_CUDASELECT_H
#define CHUNKKV_C_CUDASELECT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A policy as in docs/semantics.md. Unused budget fields are -1.
typedef struct ChunkKVCudaPolicy {
  const char *kind;      /* "paper" or "kvpress" */
  int64_t chunk, window, pool;
  const char *aggregate; /* "sum" or "mean" */
  int64_t budget;
  double keep_ratio, compression_ratio;
} ChunkKVCudaPolicy;

enum { CHUNKKV_CUDA_F32 = 0, CHUNKKV_CUDA_F16 = 1, CHUNKKV_CUDA_BF16 = 2 };
enum { CHUNKKV_CUDA_BHSD = 0, CHUNKKV_CUDA_BSHD = 1 };

/// Device pointers and sizes of one selection. All arrays are dense (C
/// order), 16-byte aligned, and live on the current CUDA device.
typedef struct ChunkKVCudaSelectArgs {
  int element_type; /* CHUNKKV_CUDA_F32 / F16 / BF16 */
  int layout;       /* CHUNKKV_CUDA_BHSD: [B, Hkv, S, D]; BSHD: [B, S, Hkv, D] */
  int64_t batch, query_heads, kv_heads, capacity, head_dim;
  const void *queries;   /* [B, Hq, w, D] */
  const void *keys;      /* the cache layout */
  const void *values;
  const int64_t *lengths; /* [B] valid lengths */
  float *chunk_scores;    /* [B, num_score_chunks] */
  int64_t num_score_chunks;
  int64_t *chunk_ids;     /* [B, max_selected], ascending, -1 padded */
  int64_t max_selected;
  int64_t *kept_lengths;  /* [B] */
  void *keys_out;   /* compacted caches; == keys / values: in place */
  void *values_out;
  int64_t *keys_out_lengths;   /* [B] */
  int64_t *values_out_lengths; /* [B] */
  /* CUstream the work is ordered on: the call returns once the work is
     queued, and the caller synchronises the stream before reading outputs.
     NULL: a stream of its own, and the call returns when the work is done. */
  void *stream;
} ChunkKVCudaSelectArgs;

/// Runs chunk_score, topk_chunks and compact (K and V): queued on
/// `args->stream`, or done on return when it is NULL.
int chunkkv_cuda_select(const ChunkKVCudaPolicy *policy,
                        const ChunkKVCudaSelectArgs *args);

/// The same with the compiled variant named `variant`, which must match the
/// policy and the cache (alternates of a variant, built with other pipeline
/// options, run only this way).
int chunkkv_cuda_select_variant(const char *variant,
                                const ChunkKVCudaPolicy *policy,
                                const ChunkKVCudaSelectArgs *args);

/// Why the last call on this thread failed ("" after a success).
const char *chunkkv_cuda_last_error(void);

/// The compiled variants, as "name: policy, type, layout, head_dim" lines.
const char *chunkkv_cuda_variants(void);

#ifdef __cplusplus
}
#endif

#endif /* CHUNKKV_C_CUDASELECT_H */
