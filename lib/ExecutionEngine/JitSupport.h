//===- JitSupport.h - shared pieces of the CPU JIT --------------*- C++ -*-===//

#ifndef CHUNKKV_LIB_EXECUTIONENGINE_JITSUPPORT_H
#define CHUNKKV_LIB_EXECUTIONENGINE_JITSUPPORT_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace mlir {
class ExecutionEngine;
class ModuleOp;
} // namespace mlir

namespace chunkkv {

/// Collects the diagnostics emitted while it is alive into one string.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext &context);
  ~DiagnosticCollector();

  /// An error with `what`, followed by the collected diagnostics.
  llvm::Error error(const llvm::Twine &what) const;

private:
  std::string text;
  mlir::DiagnosticEngine::HandlerID handler;
  mlir::MLIRContext &context;
};

/// A context with the chunkkv and upstream dialects and the LLVM IR
/// translations loaded, without threads.
std::unique_ptr<mlir::MLIRContext> createJitContext();

/// Lowers `module` with chunkkv-cpu-pipeline and compiles it for the host at
/// -O3. Pipeline failures carry their diagnostics.
llvm::Expected<std::unique_ptr<mlir::ExecutionEngine>>
compileForHost(mlir::ModuleOp module, int vectorWidth);

} // namespace chunkkv

#endif // CHUNKKV_LIB_EXECUTIONENGINE_JITSUPPORT_H
