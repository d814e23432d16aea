//===- ChunkKVOps.h - chunkkv operations ------------------------*- C++ -*-===//

#ifndef CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVOPS_H
#define CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVOPS_H

#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVOps.h.inc"

#endif // CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVOPS_H
