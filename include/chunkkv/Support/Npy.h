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

#include <cstdint>
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

/// An n-dimensional array with its raw little-endian bytes.
struct NpyArray {
  ElementType type = ElementType::f32;
  std::vector<int64_t> shape;
  std::vector<char> data;

  int64_t numElements() const;
  template <typename T> T *as() { return reinterpret_cast<T *>(data.data()); }
  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(data.data());
  }
};

/// How to read a 2-byte void dtype ('<V2'), which is what NumPy writes for
/// ml_dtypes.bfloat16 arrays.
struct NpyReadOptions {
  bool voidTwoBytesIsBF16 = false;
};

/// Parses a .npy file image. Errors name what is wrong (bad magic, truncated
/// or malformed header, unsupported dtype, Fortran order, a shape whose size
/// overflows, a data size that does not match the shape).
llvm::Expected<NpyArray> parseNpy(llvm::StringRef bytes,
                                  const NpyReadOptions &options = {});
/// Reads and parses a .npy file; errors are prefixed with the path.
llvm::Expected<NpyArray> readNpy(llvm::StringRef path,
                                 const NpyReadOptions &options = {});
/// Serialises an array (version 1.0 header; bf16 is written as '<V2').
std::string serializeNpy(const NpyArray &array);

} // namespace chunkkv

#endif // CHUNKKV_SUPPORT_NPY_H
