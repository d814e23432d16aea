// Uses the installed C++ libraries: the dialect, registration, passes.
#include "chunkkv/Dialect/ChunkKV/IR/ChunkKVDialect.h"
#include "chunkkv/InitChunkKV.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/raw_ostream.h"

int main() {
  mlir::chunkkv::registerChunkKVPasses();
  mlir::DialectRegistry registry;
  mlir::chunkkv::registerChunkKVDialects(registry);
  mlir::MLIRContext context(registry);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(
      "func.func private @f() attributes {p = #chunkkv.policy<kvpress, "
      "compression_ratio = 0.5>}",
      &context);
  if (!module)
    return 1;
  mlir::PassManager pm(&context);
  if (mlir::failed(mlir::parsePassPipeline("chunkkv-detect-kv-cache", pm)) ||
      mlir::failed(pm.run(*module)))
    return 1;
  auto policy = mlir::cast<mlir::chunkkv::PolicyAttr>(
      (*module).lookupSymbol("f")->getAttr("p"));
  llvm::outs() << "dialect: kvpress keeps " << policy.getMaxSelectedChunks(10)
               << " of 10 chunks\n";
  return 0;
}
