//===- FuzzNpy.cpp - fuzz the .npy reader ---------------------------------===//
//
// Parses the input as a .npy file with both readings of '<V2'; a parsed
// array is serialised again and must parse back to the same header. The
// writer spells bf16 '<V2', as NumPy does for ml_dtypes.bfloat16, so the
// copy is read with '<V2' as bf16 whichever reading parsed the input (a
// 'bfloat16' descr is bf16 under both).
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Support/Npy.h"

#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  for (bool bf16 : {false, true}) {
    chunkkv::NpyReadOptions options;
    options.voidTwoBytesIsBF16 = bf16;
    llvm::Expected<chunkkv::NpyArray> array = chunkkv::parseNpy(bytes, options);
    if (!array) {
      llvm::consumeError(array.takeError());
      continue;
    }
    std::string again;
    llvm::raw_string_ostream os(again);
    chunkkv::writeNpy(os, *array);
    chunkkv::NpyReadOptions asWritten;
    asWritten.voidTwoBytesIsBF16 = true;
    llvm::Expected<chunkkv::NpyArray> reread =
        chunkkv::parseNpy(again, asWritten);
    if (!reread || reread->shape != array->shape ||
        reread->type != array->type || reread->numBytes() != array->numBytes())
      std::abort();
  }
  return 0;
}
