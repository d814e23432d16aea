//===- FuzzLowering.cpp - fuzz the chunkkv passes on arbitrary modules ----===//
//
// Parses the input; when it verifies, runs the chunkkv passes on it (today
// chunkkv-lower-to-loops and the rest of chunkkv-cpu-pipeline). A pass may
// reject the module with a diagnostic; crashes and sanitizer reports are
// findings.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/Conversion/Passes.h"
#include "chunkkv/InitChunkKV.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    mlir::chunkkv::registerChunkKVDialects(*r);
    return r;
  }();
  mlir::MLIRContext context(*registry, mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  // The MLIR lexer stops at a NUL byte: parse a NUL-terminated copy, as the
  // tools do with the files they read.
  std::string text(reinterpret_cast<const char *>(data), size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  if (!module || mlir::failed(mlir::verify(*module)))
    return 0;
  mlir::PassManager pm(&context);
  mlir::chunkkv::buildCPUPipeline(pm, mlir::chunkkv::CPUPipelineOptions());
  (void)pm.run(*module);
  return 0;
}
