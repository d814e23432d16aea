//===- FuzzParseVerify.cpp - fuzz parsing and verifying chunkkv IR --------===//
//
// Parses the input as an MLIR module with the chunkkv and upstream dialects
// registered and verifies it. Diagnostics are swallowed; crashes, sanitizer
// reports and hangs are findings.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/InitChunkKV.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

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
  if (module)
    (void)mlir::verify(*module);
  return 0;
}
