//===- Passes.h - chunkkv transformation passes -----------------*- C++ -*-===//

#ifndef CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_PASSES_H
#define CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace chunkkv {

#define GEN_PASS_DECL
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "chunkkv/Dialect/ChunkKV/Transforms/Passes.h.inc"

} // namespace chunkkv
} // namespace mlir

#endif // CHUNKKV_DIALECT_CHUNKKV_TRANSFORMS_PASSES_H
