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

#endif // CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVDIALECT_H
