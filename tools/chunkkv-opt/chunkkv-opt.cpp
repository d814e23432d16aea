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

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

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
