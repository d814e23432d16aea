//===- InitChunkKV.h - register chunkkv with an MLIR context ----*- C++ -*-===//

#ifndef CHUNKKV_INITCHUNKKV_H
#define CHUNKKV_INITCHUNKKV_H

namespace mlir {
class DialectRegistry;
namespace chunkkv {

/// Inserts the chunkkv dialect, the upstream dialects, and the interface
/// models and extensions that the chunkkv pipelines rely on (bufferization,
/// buffer deallocation, conversion to LLVM).
void registerChunkKVDialects(DialectRegistry &registry);

/// Registers the upstream passes, the chunkkv passes and pipelines.
void registerChunkKVPasses();

} // namespace chunkkv
} // namespace mlir

#endif // CHUNKKV_INITCHUNKKV_H
