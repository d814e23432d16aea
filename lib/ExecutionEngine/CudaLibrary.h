//===- CudaLibrary.h - libchunkkv_cuda.so loaded at run time ----*- C++ -*-===//
//
// The tools link no CUDA code: where --device=cuda is asked for, they load
// the ahead-of-time kernel library (and through it the CUDA runtime
// library) with dlopen and call its C entry points.
//
//===----------------------------------------------------------------------===//

#ifndef CHUNKKV_LIB_EXECUTIONENGINE_CUDALIBRARY_H
#define CHUNKKV_LIB_EXECUTIONENGINE_CUDALIBRARY_H

#include "chunkkv-c/CudaSelect.h"

#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace chunkkv {

class CudaLibrary {
public:
  /// Loads $CHUNKKV_CUDA_LIBRARY or libchunkkv_cuda.so next to the tools
  /// (../lib), and checks that a CUDA driver and device exist.
  static llvm::Expected<std::unique_ptr<CudaLibrary>> load();

  /// A device buffer of `bytes` bytes, holding a copy of `host` unless it
  /// is null.
  llvm::Expected<void *> upload(const void *host, size_t bytes);
  llvm::Error download(void *host, const void *device, size_t bytes);
  void free(void *device);

  /// chunkkv_cuda_select with its error text on failure.
  llvm::Error select(const ChunkKVCudaPolicy &policy,
                     const ChunkKVCudaSelectArgs &args);

private:
  CudaLibrary() = default;
  llvm::Error takeError(llvm::StringRef what);

  int (*selectFn)(const ChunkKVCudaPolicy *, const ChunkKVCudaSelectArgs *);
  const char *(*lastErrorFn)();
  void *(*allocFn)(uint64_t, void *, bool);
  void (*freeFn)(void *, void *);
  void (*copyFn)(void *, void *, size_t, void *);
  const char *(*runtimeErrorFn)();
};

} // namespace chunkkv

#endif // CHUNKKV_LIB_EXECUTIONENGINE_CUDALIBRARY_H
