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

namespace mlir {
class OpBuilder;
namespace chunkkv {
/// Creates the memref form of the chunkkv op `op` with `buffers` as its
/// operands (one per operand of `op`, in order) and the same attributes.
Operation *createMemRefForm(OpBuilder &builder, Operation *op,
                            ValueRange buffers);
} // namespace chunkkv
} // namespace mlir

#endif // CHUNKKV_DIALECT_CHUNKKV_IR_CHUNKKVOPS_H
