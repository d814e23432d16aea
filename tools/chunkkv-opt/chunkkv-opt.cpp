//===- chunkkv-opt.cpp - chunkkv optimizer driver -------------------------===//
//
// mlir-opt with the chunkkv dialect, passes and pipelines, plus the upstream
// dialects, interface models and passes that modules around them use.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/InitChunkKV.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::chunkkv::registerChunkKVPasses();
  mlir::DialectRegistry registry;
  mlir::chunkkv::registerChunkKVDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "chunkkv optimizer driver\n", registry));
}
