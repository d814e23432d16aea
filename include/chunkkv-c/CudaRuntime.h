/*===- chunkkv-c/CudaRuntime.h - CUDA runtime of the GPU pipeline -*- C -*-===*\
|*                                                                            *|
|* libchunkkv_cuda_runtime.so implements the mgpu* functions that MLIR's GPU  *|
|* host lowering calls (module load, launch, streams, events, memory), over   *|
|* the CUDA driver API loaded with dlopen. These are its own helpers, and     *|
|* the mgpu* functions that a host program may call to manage buffers.        *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef CHUNKKV_C_CUDARUNTIME_H
#define CHUNKKV_C_CUDARUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CUDA driver loads and a device context exists, else 0.
int chunkkvCudaAvailable(void);
/// Why chunkkvCudaAvailable() is 0 ("" when it is 1).
const char *chunkkvCudaUnavailableReason(void);
/// The first error since the last call on this thread, or NULL; clears it.
const char *chunkkvCudaTakeError(void);
/// Makes the host code of this thread run on `stream` (a CUstream) instead
/// of streams of its own, and leave it unsynchronised (the host code's
/// waits for its work become no-ops: no host code of chunkkv reads device
/// results); NULL restores the default.
void chunkkvCudaBindStream(void *stream);

void mgpuSetDefaultDevice(int32_t device);
void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared);
void mgpuMemFree(void *ptr, void *stream);
/// Copies between any two of host and device memory (unified addressing);
/// synchronous when `stream` is NULL.
void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);
void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream);
void *mgpuStreamCreate(void);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamDestroy(void *stream);

#ifdef __cplusplus
}
#endif

#endif /* CHUNKKV_C_CUDARUNTIME_H */
