//===- FakeCudaDriver.cpp - libcuda.so.1 backed by the PTX emulator -------===//
//
// The CUDA driver entry points that chunkkv's runtime library resolves, for
// machines without a GPU. Memory copies and sets run here on host memory
// (emulated device pointers are host addresses); allocation, module loading
// and launches go to hooks that test/emulator/ptx_emulator.py installs.
// Streams and events are ordered trivially: every call completes before it
// returns.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace {

struct Hooks {
  int (*alloc)(uint64_t bytes, uint64_t *address);
  int (*free)(uint64_t address);
  int (*loadModule)(const void *image, uint64_t *module);
  int (*getFunction)(uint64_t module, const char *name, uint64_t *function);
  /// `dependent`: launched with programmatic stream serialization.
  int (*launch)(uint64_t function, const unsigned *grid, const unsigned *block,
                unsigned sharedBytes, void **params, int dependent);
  int (*setMaxDynamicShared)(uint64_t function, int bytes);
  /// CUDA_ERROR_NOT_FOUND where the module defines no global `name`.
  int (*getGlobal)(uint64_t module, const char *name, uint64_t *address,
                   uint64_t *bytes);
};

Hooks hooks;
bool hooked = false;
std::string lastError;
/// cuStreamSynchronize calls so far (tests of who waits for the GPU).
int streamSynchronizations = 0;

CUresult fromHook(int status) { return static_cast<CUresult>(status); }

} // namespace

extern "C" {

void chunkkvEmulatorSetHooks(const Hooks *installed) {
  hooks = *installed;
  hooked = true;
}

void chunkkvEmulatorSetError(const char *message) { lastError = message; }

int chunkkvEmulatorStreamSynchronizations(void) {
  return streamSynchronizations;
}

CUresult cuInit(unsigned) {
  if (!hooked) {
    lastError = "the PTX emulator is not installed (ptx_emulator.install)";
    return CUDA_ERROR_NOT_INITIALIZED;
  }
  return CUDA_SUCCESS;
}

CUresult cuGetErrorString(CUresult status, const char **text) {
  *text = status == CUDA_SUCCESS ? "no error" : lastError.c_str();
  return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal) {
  *device = ordinal;
  return ordinal == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *context, CUdevice) {
  static int token;
  *context = reinterpret_cast<CUcontext>(&token);
  return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext) { return CUDA_SUCCESS; }

CUresult cuModuleLoadData(CUmodule *module, const void *image) {
  uint64_t handle = 0;
  CUresult status = fromHook(hooks.loadModule(image, &handle));
  *module = reinterpret_cast<CUmodule>(handle);
  return status;
}

CUresult cuModuleUnload(CUmodule) { return CUDA_SUCCESS; }

CUresult cuModuleGetFunction(CUfunction *function, CUmodule module,
                             const char *name) {
  uint64_t handle = 0;
  CUresult status = fromHook(hooks.getFunction(
      reinterpret_cast<uint64_t>(module), name, &handle));
  *function = reinterpret_cast<CUfunction>(handle);
  return status;
}

CUresult cuModuleGetGlobal_v2(CUdeviceptr *address, size_t *bytes,
                              CUmodule module, const char *name) {
  uint64_t where = 0, size = 0;
  CUresult status = fromHook(
      hooks.getGlobal(reinterpret_cast<uint64_t>(module), name, &where, &size));
  if (address)
    *address = where;
  if (bytes)
    *bytes = size;
  return status;
}

CUresult cuFuncSetAttribute(CUfunction function,
                            CUfunction_attribute attribute, int value) {
  if (attribute != CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
    return CUDA_SUCCESS;
  return fromHook(hooks.setMaxDynamicShared(
      reinterpret_cast<uint64_t>(function), value));
}

CUresult cuLaunchKernel(CUfunction function, unsigned gridX, unsigned gridY,
                        unsigned gridZ, unsigned blockX, unsigned blockY,
                        unsigned blockZ, unsigned sharedBytes, CUstream,
                        void **params,
                        void **extra) {
  if (extra) {
    lastError = "the emulator takes kernel parameters, not `extra`";
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  const unsigned grid[3] = {gridX, gridY, gridZ};
  const unsigned block[3] = {blockX, blockY, blockZ};
  return fromHook(hooks.launch(reinterpret_cast<uint64_t>(function), grid,
                               block, sharedBytes, params, /*dependent=*/0));
}

CUresult cuLaunchKernelEx(const CUlaunchConfig *config, CUfunction function,
                          void **params, void **extra) {
  if (extra) {
    lastError = "the emulator takes kernel parameters, not `extra`";
    return CUDA_ERROR_NOT_SUPPORTED;
  }
  int dependent = 0;
  for (unsigned i = 0; i < config->numAttrs; ++i) {
    const CUlaunchAttribute &attribute = config->attrs[i];
    if (attribute.id != CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION) {
      lastError = "the emulator takes no launch attribute but programmatic "
                  "stream serialization";
      return CUDA_ERROR_NOT_SUPPORTED;
    }
    dependent = attribute.value.programmaticStreamSerializationAllowed;
  }
  const unsigned grid[3] = {config->gridDimX, config->gridDimY,
                            config->gridDimZ};
  const unsigned block[3] = {config->blockDimX, config->blockDimY,
                             config->blockDimZ};
  return fromHook(hooks.launch(reinterpret_cast<uint64_t>(function), grid,
                               block, config->sharedMemBytes, params,
                               dependent));
}

CUresult cuStreamCreate(CUstream *stream, unsigned) {
  static int token;
  *stream = reinterpret_cast<CUstream>(&token);
  return CUDA_SUCCESS;
}

CUresult cuStreamDestroy_v2(CUstream) { return CUDA_SUCCESS; }
CUresult cuStreamSynchronize(CUstream) {
  ++streamSynchronizations;
  return CUDA_SUCCESS;
}
CUresult cuStreamWaitEvent(CUstream, CUevent, unsigned) { return CUDA_SUCCESS; }

CUresult cuEventCreate(CUevent *event, unsigned) {
  static int token;
  *event = reinterpret_cast<CUevent>(&token);
  return CUDA_SUCCESS;
}

CUresult cuEventDestroy_v2(CUevent) { return CUDA_SUCCESS; }
CUresult cuEventRecord(CUevent, CUstream) { return CUDA_SUCCESS; }
CUresult cuEventSynchronize(CUevent) { return CUDA_SUCCESS; }

CUresult cuMemAlloc_v2(CUdeviceptr *pointer, size_t bytes) {
  uint64_t address = 0;
  CUresult status = fromHook(hooks.alloc(bytes, &address));
  *pointer = address;
  return status;
}

CUresult cuMemAllocManaged(CUdeviceptr *pointer, size_t bytes, unsigned) {
  return cuMemAlloc_v2(pointer, bytes);
}

CUresult cuMemAllocAsync(CUdeviceptr *pointer, size_t bytes, CUstream) {
  return cuMemAlloc_v2(pointer, bytes);
}

CUresult cuMemFree_v2(CUdeviceptr pointer) {
  return fromHook(hooks.free(pointer));
}

CUresult cuMemFreeAsync(CUdeviceptr pointer, CUstream) {
  return cuMemFree_v2(pointer);
}

CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                       CUstream) {
  std::memmove(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src),
               bytes);
  return CUDA_SUCCESS;
}

CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned value, size_t count,
                          CUstream) {
  auto *words = reinterpret_cast<uint32_t *>(dst);
  for (size_t i = 0; i < count; ++i)
    words[i] = value;
  return CUDA_SUCCESS;
}

CUresult cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t count,
                          CUstream) {
  auto *halves = reinterpret_cast<uint16_t *>(dst);
  for (size_t i = 0; i < count; ++i)
    halves[i] = value;
  return CUDA_SUCCESS;
}

CUresult cuMemHostRegister_v2(void *, size_t, unsigned) { return CUDA_SUCCESS; }
CUresult cuMemHostUnregister(void *) { return CUDA_SUCCESS; }

CUresult cuDeviceGetDefaultMemPool(CUmemoryPool *pool, CUdevice) {
  static int token;
  *pool = reinterpret_cast<CUmemoryPool>(&token);
  return CUDA_SUCCESS;
}

CUresult cuMemPoolSetAttribute(CUmemoryPool, CUmemPool_attribute, void *) {
  return CUDA_SUCCESS;
}

} // extern "C"
