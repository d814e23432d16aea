//===- chunkkv-opt.cpp - chunkkv optimizer driver -------------------------===//
//
// mlir-opt with the chunkkv dialect, passes and pipelines, plus the upstream
// dialects, interface models and passes that modules around them use.
// Input nesting brackets deeper than the parser can recurse is rejected with
// a message before parsing.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/InitChunkKV.h"
#include "chunkkv/Support/TextLimits.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

/// Parses every split of `text` once, guarded, with diagnostics dropped:
/// false when MLIR's parser crashes on it.
static bool parsesWithoutCrashing(llvm::StringRef text,
                                  mlir::DialectRegistry &registry,
                                  const mlir::MlirOptMainConfig &config) {
  llvm::SmallVector<llvm::StringRef> splits;
  if (!config.inputSplitMarker().empty())
    text.split(splits, config.inputSplitMarker());
  else
    splits.push_back(text);
  for (llvm::StringRef split : splits) {
    std::string copy = split.str();
    bool completed = chunkkv::runRecoveringFromCrash([&] {
      mlir::MLIRContext context(registry,
                                mlir::MLIRContext::Threading::DISABLED);
      mlir::ScopedDiagnosticHandler quiet(
          &context, [](mlir::Diagnostic &) { return mlir::success(); });
      (void)mlir::parseSourceString<mlir::ModuleOp>(copy, &context);
    });
    if (!completed)
      return false;
  }
  return true;
}

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "chunkkv-opt") << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  mlir::chunkkv::registerChunkKVPasses();
  mlir::DialectRegistry registry;
  mlir::chunkkv::registerChunkKVDialects(registry);
  auto [input, output] = mlir::registerAndParseCLIOptions(
      argc, argv, "chunkkv optimizer driver\n", registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();
  if (config.shouldShowDialects()) {
    llvm::outs() << "Available Dialects: "
                 << llvm::join(registry.getDialectNames(), ", ") << "\n";
    return 0;
  }
  if (config.shouldListPasses()) {
    mlir::printRegisteredPasses();
    return 0;
  }
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file = mlir::openInputFile(input, &error);
  if (!file)
    return fail(error);
  if (llvm::Error e = chunkkv::checkNesting(file->getBuffer()))
    return fail((input == "-" ? "<stdin>" : input) + ": " +
                llvm::toString(std::move(e)));
  if (!parsesWithoutCrashing(file->getBuffer(), registry, config))
    return fail((input == "-" ? "<stdin>" : input) +
                ": MLIR's parser crashed on this malformed input (a bug in "
                "upstream MLIR 22; mlir-opt crashes too)");
  std::unique_ptr<llvm::ToolOutputFile> out =
      mlir::openOutputFile(output, &error);
  if (!out)
    return fail(error);
  if (mlir::failed(
          mlir::MlirOptMain(out->os(), std::move(file), registry, config)))
    return 1;
  out->keep();
  return 0;
}
