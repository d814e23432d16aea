//===- ChunkKVDialect.h - chunkkv dialect and attributes --------*- C++ -*-===//

#ifndef CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVDIALECT_H
#define CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include <optional>

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h.inc"
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVAttrs.h.inc"

namespace mlir {
namespace chunkkv {
/// The parameters a policy takes when they are not given.
struct PolicyDefaults {
  int64_t chunkSize, window, pool;
  Aggregate aggregate;
};
PolicyDefaults getPolicyDefaults(PolicyKind kind);
} // namespace chunkkv
} // namespace mlir

#endif // CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVDIALECT_H
