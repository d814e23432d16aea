//===- CudaLibrary.cpp - libchunkkv_cuda.so loaded at run time ------------===//

#include "CudaLibrary.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#include <string>

using namespace chunkkv;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// A function of the loaded libraries, by name.
template <typename Fn> static Fn lookup(const char *name) {
  return reinterpret_cast<Fn>(
      llvm::sys::DynamicLibrary::SearchForAddressOfSymbol(name));
}

llvm::Expected<std::unique_ptr<CudaLibrary>> CudaLibrary::load() {
  std::string path;
  if (std::optional<std::string> env =
          llvm::sys::Process::GetEnv("CHUNKKV_CUDA_LIBRARY")) {
    path = *env;
  } else {
    llvm::SmallString<256> exe(llvm::sys::fs::getMainExecutable(
        nullptr, reinterpret_cast<void *>(&CudaLibrary::load)));
    llvm::sys::path::remove_filename(exe);
    llvm::sys::path::append(exe, "..", "lib", "libchunkkv_cuda.so");
    path = exe.str().str();
  }
  std::string error;
  if (llvm::sys::DynamicLibrary::LoadLibraryPermanently(path.c_str(), &error))
    return makeError("--device=cuda: cannot load " + path + " (" + error +
                     "); build chunkkv where ptxas exists or set "
                     "CHUNKKV_CUDA_LIBRARY");
  std::unique_ptr<CudaLibrary> lib(new CudaLibrary());
  lib->selectFn = lookup<decltype(lib->selectFn)>("chunkkv_cuda_select");
  lib->lastErrorFn = lookup<decltype(lib->lastErrorFn)>("chunkkv_cuda_last_error");
  lib->allocFn = lookup<decltype(lib->allocFn)>("mgpuMemAlloc");
  lib->freeFn = lookup<decltype(lib->freeFn)>("mgpuMemFree");
  lib->copyFn = lookup<decltype(lib->copyFn)>("mgpuMemcpy");
  lib->runtimeErrorFn =
      lookup<decltype(lib->runtimeErrorFn)>("chunkkvCudaTakeError");
  auto available = lookup<int (*)()>("chunkkvCudaAvailable");
  auto reason = lookup<const char *(*)()>("chunkkvCudaUnavailableReason");
  if (!lib->selectFn || !lib->lastErrorFn || !lib->allocFn || !lib->freeFn ||
      !lib->copyFn || !lib->runtimeErrorFn || !available || !reason)
    return makeError("--device=cuda: " + path +
                     " lacks the chunkkv CUDA entry points");
  if (!available())
    return makeError(llvm::Twine("--device=cuda: ") + reason());
  return lib;
}

llvm::Error CudaLibrary::takeError(llvm::StringRef what) {
  if (const char *error = runtimeErrorFn())
    return makeError("--device=cuda: " + what + ": " + error);
  return llvm::Error::success();
}

llvm::Expected<void *> CudaLibrary::upload(const void *host, size_t bytes) {
  void *device = allocFn(bytes ? bytes : 16, nullptr, false);
  if (llvm::Error e = takeError("allocating device memory"))
    return std::move(e);
  if (host && bytes)
    copyFn(device, const_cast<void *>(host), bytes, nullptr);
  if (llvm::Error e = takeError("copying to the device")) {
    free(device);
    return std::move(e);
  }
  return device;
}

llvm::Error CudaLibrary::download(void *host, const void *device,
                                  size_t bytes) {
  copyFn(host, const_cast<void *>(device), bytes, nullptr);
  return takeError("copying from the device");
}

void CudaLibrary::free(void *device) { freeFn(device, nullptr); }

llvm::Error CudaLibrary::select(const ChunkKVCudaPolicy &policy,
                                const ChunkKVCudaSelectArgs &args) {
  if (selectFn(&policy, &args))
    return makeError(lastErrorFn());
  return llvm::Error::success();
}
