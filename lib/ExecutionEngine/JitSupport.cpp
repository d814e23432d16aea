//===- JitSupport.cpp - shared pieces of the CPU JIT ----------------------===//

#include "JitSupport.h"

#include "chunkkv/Conversion/Passes.h"
#include "chunkkv/InitChunkKV.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

using namespace chunkkv;

DiagnosticCollector::DiagnosticCollector(mlir::MLIRContext &context)
    : handler(context.getDiagEngine().registerHandler(
          [this](mlir::Diagnostic &diag) {
            llvm::raw_string_ostream os(text);
            if (!text.empty())
              os << "\n";
            os << diag.getLocation() << ": " << diag;
            for (const mlir::Diagnostic &note : diag.getNotes())
              os << "\n  note: " << note;
            return mlir::success();
          })),
      context(context) {}

DiagnosticCollector::~DiagnosticCollector() {
  context.getDiagEngine().eraseHandler(handler);
}

llvm::Error DiagnosticCollector::error(const llvm::Twine &what) const {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 what + (text.empty() ? "" : ":\n" + text));
}

std::unique_ptr<mlir::MLIRContext> chunkkv::createJitContext() {
  mlir::DialectRegistry registry;
  mlir::chunkkv::registerChunkKVDialects(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  auto context = std::make_unique<mlir::MLIRContext>(
      registry, mlir::MLIRContext::Threading::DISABLED);
  context->loadAllAvailableDialects();
  return context;
}

llvm::Expected<std::unique_ptr<mlir::ExecutionEngine>>
chunkkv::compileForHost(mlir::ModuleOp module, int vectorWidth) {
  {
    DiagnosticCollector diagnostics(*module.getContext());
    mlir::PassManager pm(module.getContext());
    mlir::chunkkv::CPUPipelineOptions pipelineOptions;
    pipelineOptions.vectorWidth = vectorWidth;
    mlir::chunkkv::buildCPUPipeline(pm, pipelineOptions);
    if (mlir::failed(pm.run(module)))
      return diagnostics.error("chunkkv-cpu-pipeline failed");
  }
  static std::once_flag initTargets;
  std::call_once(initTargets, []() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  auto hostBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!hostBuilder)
    return hostBuilder.takeError();
  auto targetMachine = hostBuilder->createTargetMachine();
  if (!targetMachine)
    return targetMachine.takeError();
  mlir::ExecutionEngineOptions options;
  auto transformer = mlir::makeOptimizingTransformer(
      /*optLevel=*/3, /*sizeLevel=*/0, targetMachine->get());
  options.transformer = transformer;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  llvm::StringRef runtimeLibraries[] = {CHUNKKV_C_RUNNER_UTILS};
  options.sharedLibPaths = runtimeLibraries;
  return mlir::ExecutionEngine::create(module, options,
                                       std::move(*targetMachine));
}
