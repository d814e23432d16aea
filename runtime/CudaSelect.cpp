//===- CudaSelect.cpp - C entry points of libchunkkv_cuda.so --------------===//
//
// Finds the compiled variant that matches a policy and a cache, builds the
// memref descriptors of the device buffers, and calls the host function that
// chunkkv-gpu-pipeline generated for it.
//
//===----------------------------------------------------------------------===//

#include "chunkkv-c/CudaRuntime.h"
#include "chunkkv-c/CudaSelect.h"

#include <cstring>
#include <limits>
#include <string>

namespace {

template <int Rank> struct Descriptor {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};

/// A dense C-order descriptor of `data` with `shape`.
template <int Rank>
Descriptor<Rank> describe(const void *data, const int64_t (&shape)[Rank]) {
  Descriptor<Rank> d;
  d.allocated = d.aligned = const_cast<void *>(data);
  d.offset = 0;
  int64_t stride = 1;
  for (int i = Rank - 1; i >= 0; --i) {
    d.sizes[i] = shape[i];
    d.strides[i] = stride;
    stride *= shape[i];
  }
  return d;
}

#define SELECT_PARAMS                                                          \
  Descriptor<4> *, Descriptor<4> *, Descriptor<4> *, Descriptor<1> *,          \
      Descriptor<2> *, Descriptor<2> *, Descriptor<1> *, Descriptor<4> *,      \
      Descriptor<4> *, Descriptor<1> *, Descriptor<1> *
using SelectFunction = void (*)(SELECT_PARAMS);

struct Variant {
  const char *name;
  const char *kind;
  int64_t chunk, window, pool;
  const char *aggregate;
  int64_t budget;
  double keepRatio, compressionRatio;
  int elementType, layout;
  int64_t headDim;
  /// Built with other pipeline options than the variant of the same
  /// selection: chosen only by name.
  bool alternate;
  SelectFunction outOfPlace, inPlace;
};

} // namespace

#include "CudaVariants.inc"

namespace {

thread_local std::string lastError;

int fail(const std::string &message) {
  lastError = message;
  return 1;
}

bool samePolicy(const Variant &v, const ChunkKVCudaPolicy &p) {
  return p.kind && p.aggregate && !std::strcmp(v.kind, p.kind) &&
         v.chunk == p.chunk && v.window == p.window && v.pool == p.pool &&
         !std::strcmp(v.aggregate, p.aggregate) && v.budget == p.budget &&
         v.keepRatio == p.keep_ratio &&
         v.compressionRatio == p.compression_ratio;
}

bool aligned16(const void *p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

} // namespace

extern "C" const char *chunkkv_cuda_last_error(void) {
  return lastError.c_str();
}

extern "C" const char *chunkkv_cuda_variants(void) {
  static const std::string text = [] {
    static const char *types[] = {"f32", "f16", "bf16"};
    std::string all;
    for (const Variant &v : kVariants) {
      all += std::string(v.name) + ": " + v.kind +
             ", chunk=" + std::to_string(v.chunk) +
             ", window=" + std::to_string(v.window) +
             ", pool=" + std::to_string(v.pool) + ", " + v.aggregate;
      if (v.budget >= 0)
        all += ", budget=" + std::to_string(v.budget);
      if (v.keepRatio >= 0)
        all += ", keep_ratio=" + std::to_string(v.keepRatio);
      if (v.compressionRatio >= 0)
        all += ", compression_ratio=" + std::to_string(v.compressionRatio);
      all += std::string(", ") + types[v.elementType] + ", " +
             (v.layout ? "bshd" : "bhsd") +
             ", head_dim=" + std::to_string(v.headDim) +
             (v.alternate ? " (alternate: by name only)" : "") + "\n";
    }
    return all;
  }();
  return text.c_str();
}

namespace {

/// chunkkv_cuda_select with the variant named `name`, or with the one
/// (not an alternate) that matches when `name` is null.
int select(const char *name, const ChunkKVCudaPolicy *policy,
           const ChunkKVCudaSelectArgs *a) {
  lastError.clear();
  if (!policy || !a)
    return fail("chunkkv_cuda_select: policy and arguments must not be NULL");
  const Variant *variant = nullptr;
  for (const Variant &v : kVariants)
    if (samePolicy(v, *policy) && v.elementType == a->element_type &&
        v.layout == a->layout && v.headDim == a->head_dim &&
        (name ? !std::strcmp(v.name, name) : !v.alternate))
      variant = &v;
  if (!variant)
    return fail(std::string("chunkkv_cuda_select: no compiled variant ") +
                (name ? "named '" + std::string(name) + "' " : "") +
                "for this policy, element type, layout and head dimension; "
                "the library has:\n" +
                std::string(chunkkv_cuda_variants()) +
                "compile others with chunkkv-opt -chunkkv-gpu-pipeline "
                "(docs/gpu.md)");
  if (a->batch < 1 || a->kv_heads < 1 || a->query_heads < a->kv_heads ||
      a->query_heads % a->kv_heads != 0 || a->capacity < 1)
    return fail("chunkkv_cuda_select: expected batch >= 1, kv_heads >= 1, "
                "query_heads a multiple of kv_heads, capacity >= 1");
  if (a->capacity > std::numeric_limits<int32_t>::max())
    return fail("chunkkv_cuda_select: capacity must be below 2^31 tokens (the "
                "kernels number keys with 32-bit positions)");
  if (a->query_heads / a->kv_heads * variant->window > 1024)
    return fail("chunkkv_cuda_select: at most 1024 window queries per kv "
                "head (query_heads / kv_heads * window)");
  if (a->num_score_chunks < 1 || a->max_selected < 1)
    return fail("chunkkv_cuda_select: num_score_chunks and max_selected must "
                "be >= 1");
  const void *buffers[] = {a->queries,   a->keys,           a->values,
                           a->lengths,   a->chunk_scores,   a->chunk_ids,
                           a->kept_lengths, a->keys_out,    a->values_out,
                           a->keys_out_lengths, a->values_out_lengths};
  for (const void *buffer : buffers)
    if (!buffer || !aligned16(buffer))
      return fail("chunkkv_cuda_select: every buffer must be a non-NULL, "
                  "16-byte aligned device pointer");
  bool keysInPlace = a->keys_out == a->keys;
  if (keysInPlace != (a->values_out == a->values))
    return fail("chunkkv_cuda_select: compact K and V both in place or both "
                "into new buffers");
  if (!chunkkvCudaAvailable())
    return fail(std::string("chunkkv_cuda_select: ") +
                chunkkvCudaUnavailableReason());

  int64_t B = a->batch, S = a->capacity, D = a->head_dim, H = a->kv_heads;
  int64_t cacheShape[4] = {B, H, S, D};
  if (a->layout == CHUNKKV_CUDA_BSHD) {
    cacheShape[1] = S;
    cacheShape[2] = H;
  }
  auto q = describe(a->queries, {B, a->query_heads, variant->window, D});
  auto k = describe(a->keys, cacheShape);
  auto v = describe(a->values, cacheShape);
  auto kOut = describe(a->keys_out, cacheShape);
  auto vOut = describe(a->values_out, cacheShape);
  auto lengths = describe(a->lengths, {B});
  auto scores = describe(a->chunk_scores, {B, a->num_score_chunks});
  auto ids = describe(a->chunk_ids, {B, a->max_selected});
  auto kept = describe(a->kept_lengths, {B});
  auto kLengths = describe(a->keys_out_lengths, {B});
  auto vLengths = describe(a->values_out_lengths, {B});

  chunkkvCudaTakeError();
  chunkkvCudaBindStream(a->stream);
  SelectFunction run = keysInPlace ? variant->inPlace : variant->outOfPlace;
  run(&q, &k, &v, &lengths, &scores, &ids, &kept, &kOut, &vOut, &kLengths,
      &vLengths);
  chunkkvCudaBindStream(nullptr);
  if (const char *error = chunkkvCudaTakeError())
    return fail(std::string("chunkkv_cuda_select: ") + error);
  return 0;
}

} // namespace

extern "C" int chunkkv_cuda_select(const ChunkKVCudaPolicy *policy,
                                   const ChunkKVCudaSelectArgs *args) {
  return select(nullptr, policy, args);
}

extern "C" int chunkkv_cuda_select_variant(const char *variant,
                                           const ChunkKVCudaPolicy *policy,
                                           const ChunkKVCudaSelectArgs *args) {
  if (!variant) {
    lastError = "chunkkv_cuda_select_variant: the variant name must not be "
                "NULL";
    return 1;
  }
  return select(variant, policy, args);
}
