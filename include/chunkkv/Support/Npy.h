//===- Npy.h - NumPy .npy files ---------------------------------*- C++ -*-===//
//
// Reading and writing the NumPy .npy format (versions 1.0, 2.0 and 3.0,
// little-endian, C order) for the element types chunkkv uses.
//
//===----------------------------------------------------------------------===//

#ifndef CHUNKKV_SUPPORT_NPY_H
#define CHUNKKV_SUPPORT_NPY_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chunkkv {

enum class ElementType { f32, f16, bf16, i32, i64 };

/// Bytes per element.
size_t elementSize(ElementType type);
/// Short name: "f32", "f16", "bf16", "i32", "i64".
llvm::StringRef elementTypeName(ElementType type);
/// The name as an MLIR type ("f32", "f16", "bf16", "i32", "i64").
llvm::StringRef mlirTypeName(ElementType type);

/// How to read a 2-byte void dtype ('<V2'), which is what NumPy writes for
/// ml_dtypes.bfloat16 arrays.
struct NpyReadOptions {
  bool voidTwoBytesIsBF16 = false;
};

/// An n-dimensional array with its raw little-endian bytes, either owned or
/// read in place from a (memory-mapped) file.
class NpyArray {
public:
  NpyArray() = default;
  /// A zero-filled array that owns its bytes.
  static NpyArray zeros(ElementType type, std::vector<int64_t> shape);

  ElementType type = ElementType::f32;
  std::vector<int64_t> shape;

  int64_t numElements() const;
  size_t numBytes() const { return numElements() * elementSize(type); }
  const char *bytes() const { return file ? fileBytes : owned.data(); }
  /// Writable bytes; only arrays that own their bytes are writable.
  char *mutableBytes();
  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(bytes());
  }
  template <typename T> T *mutableAs() {
    return reinterpret_cast<T *>(mutableBytes());
  }

private:
  friend llvm::Expected<NpyArray> parseNpyImpl(llvm::StringRef,
                                               const NpyReadOptions &,
                                               std::shared_ptr<void>);
  std::vector<char> owned;
  std::shared_ptr<void> file;
  const char *fileBytes = nullptr;
};


/// Parses a .npy file image (the result owns a copy of the data). Errors name what is wrong (bad magic, truncated
/// or malformed header, unsupported dtype, Fortran order, a shape whose size
/// overflows, a data size that does not match the shape).
llvm::Expected<NpyArray> parseNpy(llvm::StringRef bytes,
                                  const NpyReadOptions &options = {});
/// Reads and parses a .npy file, keeping the data in the mapped file rather
/// than copying it; errors are prefixed with the path.
llvm::Expected<NpyArray> readNpy(llvm::StringRef path,
                                 const NpyReadOptions &options = {});
/// Writes an array as .npy (version 1.0 header; bf16 is written as '<V2').
void writeNpy(llvm::raw_ostream &os, const NpyArray &array);

} // namespace chunkkv

#endif // CHUNKKV_SUPPORT_NPY_H
