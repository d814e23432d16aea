//===- CudaRuntime.cpp - mgpu* functions over the CUDA driver API ---------===//
//
// The functions that MLIR 22's GPU host lowering (gpu-to-llvm and the
// gpu.binary embedding) calls, implemented over the CUDA driver API. The
// driver is loaded with dlopen("libcuda.so.1") on first use, so this library
// builds and links on machines without a GPU; there, every call reports that
// no driver exists instead of crashing.
//
// Errors are printed to stderr once per failing call and kept: the chunkkv
// entry points read them with chunkkvCudaTakeError().
//
//===----------------------------------------------------------------------===//

#include "chunkkv-c/CudaRuntime.h"

#include <cuda.h>
#include <dlfcn.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace {

/// The driver entry points used here, resolved from libcuda.so.1.
struct Driver {
#define CHUNKKV_DRIVER_FUNCTIONS(X)                                            \
  X(cuInit, CUresult (*)(unsigned))                                            \
  X(cuGetErrorString, CUresult (*)(CUresult, const char **))                  \
  X(cuDeviceGet, CUresult (*)(CUdevice *, int))                                \
  X(cuDevicePrimaryCtxRetain, CUresult (*)(CUcontext *, CUdevice))             \
  X(cuCtxSetCurrent, CUresult (*)(CUcontext))                                  \
  X(cuModuleLoadData, CUresult (*)(CUmodule *, const void *))                  \
  X(cuModuleUnload, CUresult (*)(CUmodule))                                    \
  X(cuModuleGetFunction, CUresult (*)(CUfunction *, CUmodule, const char *))   \
  X(cuFuncSetAttribute, CUresult (*)(CUfunction, CUfunction_attribute, int))   \
  X(cuLaunchKernel,                                                            \
    CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, \
                 unsigned, unsigned, CUstream, void **, void **))              \
  X(cuStreamCreate, CUresult (*)(CUstream *, unsigned))                        \
  X(cuStreamDestroy_v2, CUresult (*)(CUstream))                                \
  X(cuStreamSynchronize, CUresult (*)(CUstream))                               \
  X(cuStreamWaitEvent, CUresult (*)(CUstream, CUevent, unsigned))              \
  X(cuEventCreate, CUresult (*)(CUevent *, unsigned))                          \
  X(cuEventDestroy_v2, CUresult (*)(CUevent))                                  \
  X(cuEventRecord, CUresult (*)(CUevent, CUstream))                            \
  X(cuEventSynchronize, CUresult (*)(CUevent))                                 \
  X(cuMemAlloc_v2, CUresult (*)(CUdeviceptr *, size_t))                        \
  X(cuMemAllocManaged, CUresult (*)(CUdeviceptr *, size_t, unsigned))          \
  X(cuMemAllocAsync, CUresult (*)(CUdeviceptr *, size_t, CUstream))            \
  X(cuMemFree_v2, CUresult (*)(CUdeviceptr))                                   \
  X(cuMemFreeAsync, CUresult (*)(CUdeviceptr, CUstream))                       \
  X(cuMemcpyAsync, CUresult (*)(CUdeviceptr, CUdeviceptr, size_t, CUstream))   \
  X(cuMemsetD32Async, CUresult (*)(CUdeviceptr, unsigned, size_t, CUstream))   \
  X(cuMemsetD16Async,                                                          \
    CUresult (*)(CUdeviceptr, unsigned short, size_t, CUstream))               \
  X(cuMemHostRegister_v2, CUresult (*)(void *, size_t, unsigned))              \
  X(cuMemHostUnregister, CUresult (*)(void *))                                 \
  X(cuDeviceGetDefaultMemPool, CUresult (*)(CUmemoryPool *, CUdevice))         \
  X(cuMemPoolSetAttribute,                                                     \
    CUresult (*)(CUmemoryPool, CUmemPool_attribute, void *))
/// Entry points for programmatic dependent launch (cuLaunchKernelEx came
/// with CUDA 12.0), null where the driver lacks them: every launch then
/// goes through cuLaunchKernel.
#define CHUNKKV_OPTIONAL_DRIVER_FUNCTIONS(X)                                   \
  X(cuModuleGetGlobal_v2,                                                      \
    CUresult (*)(CUdeviceptr *, size_t *, CUmodule, const char *))             \
  X(cuLaunchKernelEx,                                                          \
    CUresult (*)(const CUlaunchConfig *, CUfunction, void **, void **))
#define CHUNKKV_DECLARE(name, type)                                            \
  using name##_type = type;                                                    \
  name##_type name = nullptr;
  CHUNKKV_DRIVER_FUNCTIONS(CHUNKKV_DECLARE)
  CHUNKKV_OPTIONAL_DRIVER_FUNCTIONS(CHUNKKV_DECLARE)
#undef CHUNKKV_DECLARE
  CUcontext context = nullptr;
  /// False when $CHUNKKV_CUDA_DEPENDENT_LAUNCHES is 0: every kernel then
  /// launches after the previous one has ended (the kernels' waits return
  /// at once), e.g. for tools that do not follow overlapping kernels.
  bool dependentLaunches = true;
  std::string loadError;
  /// Why a kernel module failed to load (modules load when the library that
  /// embeds them is loaded, so the error is reported again at launch).
  std::string moduleLoadError;
  /// What the launches of one kernel need to know, from
  /// mgpuModuleGetFunction on: its module, whether that module defines
  /// kDependentLaunchMarker (its kernels wait for the previous kernel before
  /// touching memory, so they are launched with programmatic stream
  /// serialization), and the dynamic shared memory it has been allowed
  /// (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), so that repeated
  /// launches do not set it again. A module's entries go when it is
  /// unloaded: its function handles may come back for other kernels.
  struct Kernel {
    CUmodule module = nullptr;
    bool dependent = false;
    int32_t allowedDynamicShared = 0;
  };
  std::mutex kernelsMutex;
  std::unordered_set<CUmodule> dependentModules;
  std::unordered_map<CUfunction, Kernel> kernels;
};

/// The global that chunkkv-gpu-dependent-launches defines in a kernel module.
constexpr const char *kDependentLaunchMarker = "chunkkv_dependent_launches";

/// Never destroyed: the host code unloads its kernel modules from global
/// destructors, which may run after this file's statics are gone.
Driver &instance() {
  static Driver *driver = new Driver;
  return *driver;
}

thread_local std::string lastError;
thread_local CUstream boundStream = nullptr;

int defaultDevice = 0;

void recordError(const char *format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  vsnprintf(buffer, sizeof(buffer), format, args);
  va_end(args);
  fprintf(stderr, "chunkkv cuda runtime: %s\n", buffer);
  if (lastError.empty())
    lastError = buffer;
}

/// Loads the driver and retains the primary context of the default device
/// once; returns null where that fails, recording the reason if `report`.
Driver *driver(bool report = true) {
  static std::once_flag once;
  Driver &instance = ::instance();
  std::call_once(once, [&instance] {
    void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *reason = dlerror();
      instance.loadError =
          std::string("cannot load libcuda.so.1 (no NVIDIA driver on this "
                      "machine?): ") +
          (reason ? reason : "unknown error");
      return;
    }
#define CHUNKKV_RESOLVE(name, type)                                            \
  instance.name = reinterpret_cast<type>(dlsym(handle, #name));                \
  if (!instance.name) {                                                        \
    instance.loadError = "libcuda.so.1 lacks " #name;                          \
    return;                                                                    \
  }
    CHUNKKV_DRIVER_FUNCTIONS(CHUNKKV_RESOLVE)
#undef CHUNKKV_RESOLVE
#define CHUNKKV_RESOLVE_OPTIONAL(name, type)                                   \
  instance.name = reinterpret_cast<type>(dlsym(handle, #name));
    CHUNKKV_OPTIONAL_DRIVER_FUNCTIONS(CHUNKKV_RESOLVE_OPTIONAL)
#undef CHUNKKV_RESOLVE_OPTIONAL
    const char *dependent = getenv("CHUNKKV_CUDA_DEPENDENT_LAUNCHES");
    instance.dependentLaunches = !dependent || strcmp(dependent, "0") != 0;
    CUdevice device;
    CUresult status = instance.cuInit(0);
    if (status == CUDA_SUCCESS)
      status = instance.cuDeviceGet(&device, defaultDevice);
    if (status == CUDA_SUCCESS)
      status = instance.cuDevicePrimaryCtxRetain(&instance.context, device);
    // Keep freed scratch in the stream-ordered pool: by default the pool
    // returns memory to the device at every synchronisation, and mapping it
    // again costs more than the kernels of a small selection.
    CUmemoryPool pool;
    if (status == CUDA_SUCCESS &&
        instance.cuDeviceGetDefaultMemPool(&pool, device) == CUDA_SUCCESS) {
      cuuint64_t keep = ~cuuint64_t(0);
      instance.cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                                     &keep);
    }
    if (status != CUDA_SUCCESS) {
      const char *text = nullptr;
      instance.cuGetErrorString(status, &text);
      instance.loadError = std::string("cannot initialise CUDA device ") +
                           std::to_string(defaultDevice) + ": " +
                           (text ? text : "unknown error");
    }
  });
  if (!instance.loadError.empty()) {
    if (report)
      recordError("%s", instance.loadError.c_str());
    return nullptr;
  }
  instance.cuCtxSetCurrent(instance.context);
  return &instance;
}

/// Records a failed driver call; returns true when `status` is success.
bool check(Driver *d, CUresult status, const char *call) {
  if (status == CUDA_SUCCESS)
    return true;
  const char *text = nullptr;
  d->cuGetErrorString(status, &text);
  recordError("%s failed: %s", call, text ? text : "unknown error");
  return false;
}

#define CHUNKKV_CALL(d, expr) check(d, d->expr, #expr)

/// A ranked memref descriptor as the host lowering passes it (the sizes and
/// strides arrays follow `offset`).
struct MemRefDescriptorHead {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizes[1];
};

size_t memrefBytes(int64_t rank, const MemRefDescriptorHead *descriptor,
                   int64_t elementSizeBytes, char **start) {
  int64_t count = 1;
  for (int64_t i = 0; i < rank; ++i)
    count *= descriptor->sizes[i];
  *start = descriptor->aligned + descriptor->offset * elementSizeBytes;
  return static_cast<size_t>(count * elementSizeBytes);
}

} // namespace

extern "C" {

//===----------------------------------------------------------------------===//
// chunkkv helpers
//===----------------------------------------------------------------------===//

const char *chunkkvCudaTakeError(void) {
  static thread_local std::string taken;
  taken.swap(lastError);
  lastError.clear();
  return taken.empty() ? nullptr : taken.c_str();
}

int chunkkvCudaAvailable(void) { return driver(/*report=*/false) ? 1 : 0; }

const char *chunkkvCudaUnavailableReason(void) {
  driver(/*report=*/false);
  return instance().loadError.c_str();
}

void chunkkvCudaBindStream(void *stream) {
  boundStream = static_cast<CUstream>(stream);
}

//===----------------------------------------------------------------------===//
// The mgpu* functions of MLIR's host lowering
//===----------------------------------------------------------------------===//

void mgpuSetDefaultDevice(int32_t device) { defaultDevice = device; }

void *mgpuModuleLoad(void *data, size_t /*gpuBlobSize*/) {
  // Without a driver, stay quiet: libraries embedding kernels may be loaded
  // on machines without a GPU, and every call reports the missing driver.
  Driver *d = driver(/*report=*/false);
  CUmodule module = nullptr;
  if (!d)
    return nullptr;
  CUresult status = d->cuModuleLoadData(&module, data);
  if (status != CUDA_SUCCESS) {
    const char *text = nullptr;
    d->cuGetErrorString(status, &text);
    d->moduleLoadError = std::string("cuModuleLoadData failed: ") +
                      (text ? text : "unknown error") +
                      " (kernels built for another GPU architecture?)";
    return nullptr;
  }
  CUdeviceptr marker;
  size_t markerBytes;
  if (d->dependentLaunches && d->cuModuleGetGlobal_v2 && d->cuLaunchKernelEx &&
      d->cuModuleGetGlobal_v2(&marker, &markerBytes, module,
                              kDependentLaunchMarker) == CUDA_SUCCESS) {
    std::lock_guard<std::mutex> lock(d->kernelsMutex);
    d->dependentModules.insert(module);
  }
  return module;
}

void *mgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  return mgpuModuleLoad(data, 0);
}

void mgpuModuleUnload(void *module) {
  if (!module)
    return;
  // Modules are unloaded from global destructors, when the driver may
  // already be shutting down: failures there are of no use to report.
  if (Driver *d = driver(/*report=*/false)) {
    d->cuModuleUnload(static_cast<CUmodule>(module));
    std::lock_guard<std::mutex> lock(d->kernelsMutex);
    d->dependentModules.erase(static_cast<CUmodule>(module));
    for (auto it = d->kernels.begin(); it != d->kernels.end();)
      it = it->second.module == module ? d->kernels.erase(it) : std::next(it);
  }
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  Driver *d = driver();
  CUfunction function = nullptr;
  if (!d)
    return nullptr;
  if (!module) {
    recordError("kernel module not loaded: %s", d->moduleLoadError.c_str());
    return nullptr;
  }
  if (!CHUNKKV_CALL(d, cuModuleGetFunction(
                           &function, static_cast<CUmodule>(module), name)))
    return nullptr;
  auto cuModule = static_cast<CUmodule>(module);
  std::lock_guard<std::mutex> lock(d->kernelsMutex);
  Driver::Kernel &kernel = d->kernels[function];
  if (kernel.module != cuModule)
    kernel = {cuModule, d->dependentModules.count(cuModule) != 0};
  return function;
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  Driver *d = driver();
  if (!d)
    return;
  if (!function) {
    recordError("no kernel to launch: its module or function did not load");
    return;
  }
  auto kernel = static_cast<CUfunction>(function);
  bool dependent;
  {
    std::lock_guard<std::mutex> lock(d->kernelsMutex);
    Driver::Kernel &state = d->kernels[kernel];
    dependent = state.dependent;
    // A block's static and dynamic shared memory together beyond 48 KiB
    // must be allowed per function: the default allows 48 KiB less the
    // static.
    if (state.allowedDynamicShared < smem) {
      if (!CHUNKKV_CALL(d, cuFuncSetAttribute(
                               kernel,
                               CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                               smem)))
        return;
      state.allowedDynamicShared = smem;
    }
  }
  if (gridX == 0 || gridY == 0 || gridZ == 0)
    return;
  if (!dependent) {
    CHUNKKV_CALL(d, cuLaunchKernel(kernel, gridX, gridY, gridZ, blockX, blockY,
                                   blockZ, smem, static_cast<CUstream>(stream),
                                   params, extra));
    return;
  }
  // The kernel may start before the previous one on the stream ends: its
  // griddepcontrol.wait holds its threads until that kernel's memory is
  // visible.
  CUlaunchAttribute attribute = {};
  attribute.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
  attribute.value.programmaticStreamSerializationAllowed = 1;
  CUlaunchConfig config = {};
  config.gridDimX = gridX;
  config.gridDimY = gridY;
  config.gridDimZ = gridZ;
  config.blockDimX = blockX;
  config.blockDimY = blockY;
  config.blockDimZ = blockZ;
  config.sharedMemBytes = smem;
  config.hStream = static_cast<CUstream>(stream);
  config.attrs = &attribute;
  config.numAttrs = 1;
  CHUNKKV_CALL(d, cuLaunchKernelEx(&config, kernel, params, extra));
}

void *mgpuStreamCreate() {
  if (boundStream)
    return boundStream;
  Driver *d = driver();
  CUstream stream = nullptr;
  if (d)
    CHUNKKV_CALL(d, cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));
  return stream;
}

void mgpuStreamDestroy(void *stream) {
  Driver *d = driver();
  if (d && stream && stream != boundStream)
    CHUNKKV_CALL(d, cuStreamDestroy_v2(static_cast<CUstream>(stream)));
}

void mgpuStreamSynchronize(void *stream) {
  Driver *d = driver();
  // A caller's stream is the caller's to synchronise, as with the work of
  // any CUDA library: the host code returns once its work is queued.
  if (d && stream != boundStream)
    CHUNKKV_CALL(d, cuStreamSynchronize(static_cast<CUstream>(stream)));
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  Driver *d = driver();
  if (d)
    CHUNKKV_CALL(d, cuStreamWaitEvent(static_cast<CUstream>(stream),
                                      static_cast<CUevent>(event), 0));
}

void *mgpuEventCreate() {
  Driver *d = driver();
  CUevent event = nullptr;
  if (d)
    CHUNKKV_CALL(d, cuEventCreate(&event, CU_EVENT_DISABLE_TIMING));
  return event;
}

void mgpuEventDestroy(void *event) {
  Driver *d = driver();
  if (d && event)
    CHUNKKV_CALL(d, cuEventDestroy_v2(static_cast<CUevent>(event)));
}

void mgpuEventSynchronize(void *event) {
  Driver *d = driver();
  if (d)
    CHUNKKV_CALL(d, cuEventSynchronize(static_cast<CUevent>(event)));
}

void mgpuEventRecord(void *event, void *stream) {
  Driver *d = driver();
  if (d)
    CHUNKKV_CALL(d, cuEventRecord(static_cast<CUevent>(event),
                                  static_cast<CUstream>(stream)));
}

void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared) {
  Driver *d = driver();
  CUdeviceptr ptr = 0;
  if (!d || sizeBytes == 0)
    return nullptr;
  if (isHostShared)
    CHUNKKV_CALL(d, cuMemAllocManaged(&ptr, sizeBytes, CU_MEM_ATTACH_GLOBAL));
  else if (stream)
    // Stream-ordered: served from the device's memory pool, no device-wide
    // synchronisation.
    CHUNKKV_CALL(d, cuMemAllocAsync(&ptr, sizeBytes,
                                    static_cast<CUstream>(stream)));
  else
    CHUNKKV_CALL(d, cuMemAlloc_v2(&ptr, sizeBytes));
  return reinterpret_cast<void *>(ptr);
}

void mgpuMemFree(void *ptr, void *stream) {
  Driver *d = driver();
  if (!d || !ptr)
    return;
  auto device = reinterpret_cast<CUdeviceptr>(ptr);
  if (stream)
    CHUNKKV_CALL(d, cuMemFreeAsync(device, static_cast<CUstream>(stream)));
  else
    CHUNKKV_CALL(d, cuMemFree_v2(device));
}

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream) {
  Driver *d = driver();
  if (!d || sizeBytes == 0)
    return;
  CUstream s = static_cast<CUstream>(stream);
  if (CHUNKKV_CALL(d, cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                                    reinterpret_cast<CUdeviceptr>(src),
                                    sizeBytes, s)) &&
      !stream)
    CHUNKKV_CALL(d, cuStreamSynchronize(s));
}

void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream) {
  Driver *d = driver();
  if (d && count)
    CHUNKKV_CALL(d, cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value,
                                     count, static_cast<CUstream>(stream)));
}

void mgpuMemset16(void *dst, unsigned short value, size_t count,
                  void *stream) {
  Driver *d = driver();
  if (d && count)
    CHUNKKV_CALL(d, cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value,
                                     count, static_cast<CUstream>(stream)));
}

void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  Driver *d = driver();
  if (d && sizeBytes)
    CHUNKKV_CALL(d, cuMemHostRegister_v2(ptr, sizeBytes,
                                         CU_MEMHOSTREGISTER_PORTABLE));
}

void mgpuMemHostUnregister(void *ptr) {
  Driver *d = driver();
  if (d)
    CHUNKKV_CALL(d, cuMemHostUnregister(ptr));
}

void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                               int64_t elementSizeBytes) {
  char *start = nullptr;
  size_t bytes =
      memrefBytes(rank, static_cast<MemRefDescriptorHead *>(descriptor),
                  elementSizeBytes, &start);
  mgpuMemHostRegister(start, bytes);
}

void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                 int64_t elementSizeBytes) {
  char *start = nullptr;
  memrefBytes(rank, static_cast<MemRefDescriptorHead *>(descriptor),
              elementSizeBytes, &start);
  mgpuMemHostUnregister(start);
}

} // extern "C"
