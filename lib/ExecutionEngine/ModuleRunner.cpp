//===- ModuleRunner.cpp - run a function of a module on the CPU -----------===//

#include "chunkkv/ExecutionEngine/ModuleRunner.h"

#include "JitSupport.h"

#include "chunkkv/Support/TextLimits.h"


#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <cstring>
#include <set>

using namespace chunkkv;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static std::string typeText(mlir::Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

static std::optional<ElementType> elementTypeOf(mlir::Type type) {
  if (type.isF32())
    return ElementType::f32;
  if (type.isF16())
    return ElementType::f16;
  if (type.isBF16())
    return ElementType::bf16;
  if (type.isSignlessInteger(32))
    return ElementType::i32;
  if (type.isSignlessInteger(64))
    return ElementType::i64;
  return std::nullopt;
}

/// The signature of one argument or result, or an error naming it.
static llvm::Expected<ValueSignature> signatureOf(mlir::Type type,
                                                  const llvm::Twine &what) {
  ValueSignature signature;
  signature.text = typeText(type);
  if (auto shaped = llvm::dyn_cast<mlir::ShapedType>(type)) {
    if (!shaped.hasRank() ||
        !llvm::isa<mlir::RankedTensorType, mlir::MemRefType>(type))
      return makeError(what + ": expected a ranked tensor or memref, got " +
                       signature.text);
    if (auto memref = llvm::dyn_cast<mlir::MemRefType>(type);
        memref && !memref.getLayout().isIdentity())
      return makeError(what + ": expected an identity layout, got " +
                       signature.text);
    std::optional<ElementType> element = elementTypeOf(shaped.getElementType());
    if (!element)
      return makeError(what + ": unsupported element type in " + signature.text);
    signature.isArray = true;
    signature.type = *element;
    for (int64_t d : shaped.getShape())
      signature.shape.push_back(mlir::ShapedType::isDynamic(d) ? -1 : d);
    return signature;
  }
  if (type.isIndex() || type.isSignlessInteger(64))
    return signature;
  return makeError(what + ": expected a tensor, memref, index or i64, got " +
                   signature.text);
}

ModuleRunner::ModuleRunner() = default;
ModuleRunner::~ModuleRunner() = default;

llvm::Expected<std::unique_ptr<ModuleRunner>>
ModuleRunner::load(llvm::StringRef source, llvm::StringRef entry,
                   int vectorWidth) {
  if (llvm::Error e = checkNesting(source))
    return std::move(e);
  std::unique_ptr<ModuleRunner> runner(new ModuleRunner());
  runner->context = createJitContext();
  mlir::MLIRContext &context = *runner->context;
  DiagnosticCollector diagnostics(context);
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (!runRecoveringFromCrash([&] {
        module = mlir::parseSourceString<mlir::ModuleOp>(source, &context);
      }))
    return makeError("MLIR's parser crashed on this malformed input (a bug "
                     "in upstream MLIR 22)");
  if (!module)
    return diagnostics.error("the module does not parse or verify");

  auto function = module->lookupSymbol<mlir::func::FuncOp>(entry);
  if (!function || function.isExternal())
    return makeError("no function @" + entry + " with a body in the module");
  mlir::FunctionType type = function.getFunctionType();
  for (auto [i, input] : llvm::enumerate(type.getInputs())) {
    auto signature = signatureOf(input, "argument #" + llvm::Twine(i));
    if (!signature)
      return signature.takeError();
    runner->args.push_back(std::move(*signature));
  }
  for (auto [i, result] : llvm::enumerate(type.getResults())) {
    auto signature = signatureOf(result, "result #" + llvm::Twine(i));
    if (!signature)
      return signature.takeError();
    if (!signature->isArray)
      return makeError("result #" + llvm::Twine(i) +
                       ": only tensor and memref results are supported");
    runner->outs.push_back(std::move(*signature));
  }
  function->setAttr("llvm.emit_c_interface", mlir::UnitAttr::get(&context));

  auto engine = compileForHost(*module, vectorWidth);
  if (!engine)
    return engine.takeError();
  runner->engine = std::move(*engine);
  auto entryPoint = runner->engine->lookupPacked(("_mlir_ciface_" + entry).str());
  if (!entryPoint)
    return entryPoint.takeError();
  runner->entryPoint = *entryPoint;
  return runner;
}

/// A memref descriptor of any rank: allocated, aligned, offset, sizes,
/// strides, all 8 bytes wide.
static std::vector<int64_t> describe(void *data,
                                     const std::vector<int64_t> &shape) {
  std::vector<int64_t> words(3 + 2 * shape.size());
  words[0] = reinterpret_cast<int64_t>(data);
  words[1] = reinterpret_cast<int64_t>(data);
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    words[3 + i] = shape[i];
    words[3 + shape.size() + i] = stride;
    stride *= shape[i];
  }
  return words;
}

llvm::Expected<std::vector<NpyArray>>
ModuleRunner::run(std::vector<RunArgument> &inputs) {
  if (inputs.size() != args.size())
    return makeError("expected " + llvm::Twine(args.size()) +
                     " arguments, got " + llvm::Twine(inputs.size()));
  std::vector<std::vector<int64_t>> descriptors;
  std::vector<void *> descriptorPointers;
  std::vector<void *> packed;
  descriptors.reserve(inputs.size());
  descriptorPointers.reserve(inputs.size());
  std::set<const void *> inputBuffers;

  // The C interface takes a pointer to the results first (one descriptor, or
  // a struct of them), then a pointer per memref and a value per scalar.
  size_t resultWords = 0;
  for (const ValueSignature &out : outs)
    resultWords += 3 + 2 * out.shape.size();
  std::vector<int64_t> resultStorage(resultWords);
  void *resultPointer = resultStorage.data();
  if (!outs.empty())
    packed.push_back(&resultPointer);

  for (auto [i, input] : llvm::enumerate(inputs)) {
    const ValueSignature &signature = args[i];
    if (!signature.isArray) {
      packed.push_back(&input.scalar);
      continue;
    }
    const NpyArray &array = input.array;
    bool shapeOk = array.shape.size() == signature.shape.size();
    for (size_t d = 0; shapeOk && d < array.shape.size(); ++d)
      shapeOk = signature.shape[d] < 0 || signature.shape[d] == array.shape[d];
    if (array.type != signature.type || !shapeOk) {
      std::string shape;
      for (int64_t d : array.shape)
        shape += std::to_string(d) + "x";
      return makeError("argument #" + llvm::Twine(i) + ": expected " +
                       signature.text + ", got a " + shape +
                       elementTypeName(array.type).str() + " array");
    }
    void *data = input.array.mutableBytes();
    inputBuffers.insert(data);
    descriptors.push_back(describe(data, array.shape));
    descriptorPointers.push_back(descriptors.back().data());
    packed.push_back(&descriptorPointers.back());
  }
  entryPoint(packed.data());

  std::vector<NpyArray> results;
  std::set<void *> freed;
  int64_t *words = resultStorage.data();
  for (const ValueSignature &out : outs) {
    size_t rank = out.shape.size();
    void *allocated = reinterpret_cast<void *>(words[0]);
    auto *aligned = reinterpret_cast<const char *>(words[1]);
    std::vector<int64_t> shape(words + 3, words + 3 + rank);
    NpyArray array = NpyArray::zeros(out.type, shape);
    size_t element = elementSize(out.type);
    int64_t count = array.numElements();
    std::vector<int64_t> contiguous = describe(nullptr, shape);
    bool dense = std::equal(words + 3 + rank, words + 3 + 2 * rank,
                            contiguous.begin() + 3 + rank);
    if (dense && count)
      std::memcpy(array.mutableBytes(), aligned + words[2] * element,
                  count * element);
    // Views with other strides are copied element by element.
    for (int64_t flat = 0; !dense && flat < count; ++flat) {
      int64_t offset = words[2], rest = flat;
      for (size_t d = rank; d-- > 0;) {
        offset += (rest % shape[d]) * words[3 + rank + d];
        rest /= shape[d];
      }
      std::memcpy(array.mutableBytes() + flat * element,
                  aligned + offset * element, element);
    }
    // Results the function allocated are ours to free; returned arguments
    // are not.
    if (!inputBuffers.count(allocated) && freed.insert(allocated).second)
      std::free(allocated);
    results.push_back(std::move(array));
    words += 3 + 2 * rank;
  }
  return results;
}
