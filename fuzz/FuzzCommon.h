//===- FuzzCommon.h - shared setup of the IR fuzzers ------------*- C++ -*-===//

#ifndef CHUNKKV_FUZZ_FUZZCOMMON_H
#define CHUNKKV_FUZZ_FUZZCOMMON_H

#include "chunkkv/InitChunkKV.h"
#include "chunkkv/Support/TextLimits.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace chunkkv {
/// A context with every chunkkv and upstream dialect, no threads, and all
/// diagnostics swallowed.
struct FuzzContext {
  FuzzContext()
      : context(registry(), mlir::MLIRContext::Threading::DISABLED),
        quiet(&context, [](mlir::Diagnostic &) { return mlir::success(); }) {}

  static const mlir::DialectRegistry &registry() {
    static mlir::DialectRegistry *r = [] {
      auto *fresh = new mlir::DialectRegistry();
      mlir::chunkkv::registerChunkKVDialects(*fresh);
      return fresh;
    }();
    return *r;
  }

  /// Parses the fuzzer's bytes; returns a verified module or null. The MLIR
  /// lexer stops at a NUL byte, so it parses a NUL-terminated copy, as the
  /// tools do with the files they read.
  mlir::OwningOpRef<mlir::ModuleOp> parse(const uint8_t *data, size_t size) {
    std::string text(reinterpret_cast<const char *>(data), size);
    // The tools reject deeper nesting before parsing (the parser recurses).
    if (llvm::Error e = checkNesting(text)) {
      llvm::consumeError(std::move(e));
      return nullptr;
    }
    // A known crash in MLIR 22's parser, outside chunkkv (the tools guard
    // their parse against it; under ASan the harness cannot).
    if (hasMalformedIntegerList(text))
      return nullptr;
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::parseSourceString<mlir::ModuleOp>(text, &context);
    if (module && mlir::failed(mlir::verify(*module)))
      return nullptr;
    return module;
  }

  mlir::MLIRContext context;
  mlir::ScopedDiagnosticHandler quiet;
};
} // namespace chunkkv

#endif // CHUNKKV_FUZZ_FUZZCOMMON_H
