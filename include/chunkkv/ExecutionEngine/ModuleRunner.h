//===- ModuleRunner.h - run a function of a module on the CPU ---*- C++ -*-===//
//
// Lowers a whole module with chunkkv-cpu-pipeline, JIT-compiles it, and calls
// one function with arrays (ranked tensor or memref arguments) and integer
// scalars (index or integer arguments); its tensor or memref results come
// back as arrays.
//
//===----------------------------------------------------------------------===//

#ifndef CHUNKKV_EXECUTIONENGINE_MODULERUNNER_H
#define CHUNKKV_EXECUTIONENGINE_MODULERUNNER_H

#include "chunkkv/Support/Npy.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir {
class ExecutionEngine;
class MLIRContext;
} // namespace mlir

namespace chunkkv {

/// One argument or result of the entry function.
struct ValueSignature {
  bool isArray = false;          // ranked tensor or memref; else a scalar
  ElementType type = ElementType::f32;
  std::vector<int64_t> shape;    // -1 for dynamic sizes
  std::string text;              // the MLIR type, for messages
};

/// A value passed to the entry function.
struct RunArgument {
  NpyArray array;     // for array arguments; must own its bytes (writable)
  int64_t scalar = 0; // for scalar arguments
};

class ModuleRunner {
public:
  ~ModuleRunner();

  /// Parses `source`, checks that `entry` exists with supported argument and
  /// result types, lowers and compiles the module.
  static llvm::Expected<std::unique_ptr<ModuleRunner>>
  load(llvm::StringRef source, llvm::StringRef entry, int vectorWidth = 16);

  const std::vector<ValueSignature> &arguments() const { return args; }
  const std::vector<ValueSignature> &results() const { return outs; }

  /// Calls the entry function. Array arguments may be written by the call
  /// (caches updated in place); results are returned as owned arrays.
  llvm::Expected<std::vector<NpyArray>> run(std::vector<RunArgument> &inputs);

private:
  ModuleRunner();

  std::unique_ptr<mlir::MLIRContext> context;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  void (*entryPoint)(void **) = nullptr;
  std::vector<ValueSignature> args, outs;
};

} // namespace chunkkv

#endif // CHUNKKV_EXECUTIONENGINE_MODULERUNNER_H
