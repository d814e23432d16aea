//===- chunkkv-run.cpp - run ChunkKV selection on .npy caches -------------===//
//
// Reads q, k, v (and optional lengths) from .npy files, JIT-compiles
// chunk_score + topk_chunks + compact through chunkkv-cpu-pipeline for their
// shapes and policy, runs it on the CPU and writes kept_positions, lengths,
// k_compacted, v_compacted (and chunk_scores) as .npy files into --out.
// Inputs are checked before anything is written; outputs are written to
// temporary names and renamed at the end, so a failure leaves nothing partial.
//
//===----------------------------------------------------------------------===//

#include "chunkkv/ExecutionEngine/ModuleRunner.h"
#include "chunkkv/ExecutionEngine/SelectKernel.h"
#include "chunkkv/Support/Npy.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstring>

using namespace chunkkv;
namespace cl = llvm::cl;

static cl::OptionCategory category("chunkkv-run options");

static cl::opt<std::string> queriesPath("q", cl::desc("window queries [B, Hq, w, D] (.npy)"),
                                        cl::value_desc("file"),
                                        cl::cat(category));
static cl::opt<std::string> keysPath("k", cl::desc("K cache (.npy)"),
                                     cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> valuesPath("v", cl::desc("V cache (.npy)"),
                                       cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string>
    lengthsPath("lengths", cl::desc("valid length of each sequence [B], i32 or "
                                    "i64 (.npy; default: the capacity)"),
                cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string>
    modulePath("module",
               cl::desc("run a function of this MLIR module instead of the "
                        "selection kernel (with --entry and --arg)"),
               cl::value_desc("file"), cl::cat(category));
static cl::opt<std::string> entry("entry",
                                  cl::desc("function to run with --module"),
                                  cl::value_desc("name"), cl::cat(category));
static cl::list<std::string>
    moduleArgs("arg",
               cl::desc("an argument of --entry, in order: a .npy file for a "
                        "tensor or memref, an integer for an index or i64"),
               cl::value_desc("file|integer"), cl::cat(category));
static cl::opt<std::string> outDir("out", cl::desc("output folder"),
                                   cl::value_desc("dir"), cl::Required,
                                   cl::cat(category));

static cl::opt<std::string> policyKind("policy",
                                       cl::desc("paper (default) or kvpress"),
                                       cl::init("paper"), cl::cat(category));
static cl::opt<int64_t> chunkSize("chunk-size",
                                  cl::desc("chunk size C (paper 10, kvpress 20)"),
                                  cl::cat(category));
static cl::alias chunkAlias("chunk", cl::aliasopt(chunkSize),
                            cl::desc("alias for --chunk-size"));
static cl::opt<int64_t> window("window",
                               cl::desc("observation window w (paper 32, "
                                        "kvpress 64); must match q's dim 2"),
                               cl::cat(category));
static cl::opt<int64_t> pool("pool",
                             cl::desc("odd pooling kernel (paper 1, kvpress 5)"),
                             cl::cat(category));
static cl::opt<std::string> aggregate("aggregate",
                                      cl::desc("sum or mean (paper only)"),
                                      cl::cat(category));
static cl::opt<int64_t> budget("budget", cl::desc("tokens kept L (paper)"),
                               cl::cat(category));
static cl::opt<double> keepRatio("keep-ratio",
                                 cl::desc("L = floor(r * T + 0.5) (paper)"),
                                 cl::cat(category));
static cl::alias keepRatioAlias("keep_ratio", cl::aliasopt(keepRatio),
                                cl::desc("alias for --keep-ratio"));
static cl::opt<double>
    compressionRatio("compression-ratio",
                     cl::desc("fraction of chunks removed (kvpress)"),
                     cl::cat(category));
static cl::alias compressionRatioAlias("compression_ratio",
                                       cl::aliasopt(compressionRatio),
                                       cl::desc("alias for --compression-ratio"));
static cl::opt<float> scale("scale", cl::desc("logit scale (default 1/sqrt(D))"),
                            cl::cat(category));

static cl::opt<std::string> layout("layout", cl::desc("cache layout: bhsd or bshd"),
                                   cl::init("bhsd"), cl::cat(category));
static cl::opt<std::string>
    dtype("dtype",
          cl::desc("element type of q, k, v: auto (from the files), f32, f16 "
                   "or bf16 (needed for ml_dtypes bfloat16 files, saved as "
                   "'<V2')"),
          cl::init("auto"), cl::cat(category));
static cl::opt<std::string> device(
    "device",
    cl::desc("cpu (default: JIT-compiled host code) or cuda (the kernels of "
             "libchunkkv_cuda.so on the GPU; selection mode only)"),
                                   cl::init("cpu"), cl::cat(category));
static cl::opt<bool> emitScores("emit-scores",
                                cl::desc("also write chunk_scores.npy"),
                                cl::cat(category));
static cl::opt<unsigned> repeat("repeat",
                                cl::desc("run the kernel N times and report the "
                                         "median time"),
                                cl::init(1), cl::cat(category));
static cl::opt<bool> timing("timing",
                            cl::desc("print compile and kernel times"),
                            cl::cat(category));
static cl::opt<bool> json("json",
                          cl::desc("print a JSON summary (outputs, lengths, "
                                   "times) on stdout"),
                          cl::cat(category));
static cl::opt<bool> printModule("print-module",
                                 cl::desc("print the chunkkv module it runs"),
                                 cl::cat(category));
static cl::opt<int> vectorWidth("vector-width",
                                cl::desc("f32 lanes per vector in the kernels"),
                                cl::init(16), cl::cat(category));

namespace {
/// Progress on stderr when it is a terminal; silent when piped.
class Progress {
public:
  Progress() : enabled(llvm::sys::Process::StandardErrIsDisplayed()) {}
  ~Progress() { done(); }

  void stage(const llvm::Twine &what) {
    if (!enabled)
      return;
    llvm::errs() << "\r\x1b[K" << "chunkkv-run: " << what;
    llvm::errs().flush();
    shown = true;
  }
  void done() {
    if (shown)
      llvm::errs() << "\r\x1b[K";
    shown = false;
  }

private:
  bool enabled, shown = false;
};

llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// The inputs, checked against each other and the policy.
struct Inputs {
  NpyArray q, k, v;
  std::vector<int64_t> lengths;
  SelectShape shape;
};

llvm::Expected<Inputs> readInputs(const PolicyParams &policy) {
  NpyReadOptions options;
  std::optional<ElementType> forced;
  if (dtype == "bf16")
    forced = ElementType::bf16;
  else if (dtype == "f16")
    forced = ElementType::f16;
  else if (dtype == "f32")
    forced = ElementType::f32;
  else if (dtype != "auto")
    return fail("--dtype: expected auto, f32, f16 or bf16, got '" + dtype + "'");
  options.voidTwoBytesIsBF16 = forced == ElementType::bf16;

  Inputs in;
  for (auto [path, array] : {std::pair{&queriesPath, &in.q},
                             std::pair{&keysPath, &in.k},
                             std::pair{&valuesPath, &in.v}}) {
    llvm::Expected<NpyArray> read = readNpy(*path, options);
    if (!read)
      return read.takeError();
    *array = std::move(*read);
    bool floating = array->type == ElementType::f32 ||
                    array->type == ElementType::f16 ||
                    array->type == ElementType::bf16;
    if (!floating)
      return fail(*path + ": expected f32, f16 or bf16 elements, got " +
                  elementTypeName(array->type));
    if (forced && array->type != *forced)
      return fail(*path + ": holds " + elementTypeName(array->type) +
                  " elements, --dtype says " + elementTypeName(*forced));
    if (array->shape.size() != 4)
      return fail(*path + ": expected rank 4, got shape " +
                  shapeString(array->shape));
  }
  if (in.k.type != in.q.type || in.v.type != in.q.type)
    return fail(keysPath + ", " + valuesPath + ": expected the element type of " +
                queriesPath + " (" + elementTypeName(in.q.type) + "), got " +
                elementTypeName(in.k.type) + " and " + elementTypeName(in.v.type));
  if (in.v.shape != in.k.shape)
    return fail(valuesPath + ": expected the shape of " + keysPath + " " +
                shapeString(in.k.shape) + ", got " + shapeString(in.v.shape));

  SelectShape &s = in.shape;
  s.cacheType = in.q.type;
  if (layout != "bhsd" && layout != "bshd")
    return fail("--layout: expected bhsd or bshd, got '" + layout + "'");
  s.bshd = layout == "bshd";
  s.batch = in.k.shape[0];
  s.kvHeads = in.k.shape[s.bshd ? 2 : 1];
  s.capacity = in.k.shape[s.bshd ? 1 : 2];
  s.headDim = in.k.shape[3];
  s.queryHeads = in.q.shape[1];
  if (scale.getNumOccurrences())
    s.scale = scale;
  const std::vector<int64_t> &qs = in.q.shape;
  int64_t expectedWindow = policy.resolvedWindow();
  if (qs[0] != s.batch || qs[3] != s.headDim)
    return fail(queriesPath + ": expected [B = " + std::to_string(s.batch) +
                ", Hq, w, D = " + std::to_string(s.headDim) + "] (from " +
                keysPath + "), got " + shapeString(qs));
  if (qs[2] != expectedWindow)
    return fail(queriesPath + ": holds " + std::to_string(qs[2]) +
                " window queries, the policy's window is " +
                std::to_string(expectedWindow));
  if (s.kvHeads < 1 || s.queryHeads % s.kvHeads != 0)
    return fail(queriesPath + ": expected Hq (" + std::to_string(s.queryHeads) +
                ") to be a multiple of Hkv (" + std::to_string(s.kvHeads) +
                ") of " + keysPath);

  if (lengthsPath.empty()) {
    in.lengths.assign(s.batch, s.capacity);
    return in;
  }
  llvm::Expected<NpyArray> lengths = readNpy(lengthsPath);
  if (!lengths)
    return lengths.takeError();
  if (lengths->type != ElementType::i32 && lengths->type != ElementType::i64)
    return fail(lengthsPath + ": expected i32 or i64 elements, got " +
                elementTypeName(lengths->type));
  if (lengths->shape != std::vector<int64_t>{s.batch})
    return fail(lengthsPath + ": expected shape [" + std::to_string(s.batch) +
                "], got " + shapeString(lengths->shape));
  for (int64_t b = 0; b < s.batch; ++b) {
    int64_t length = lengths->type == ElementType::i32
                         ? lengths->as<int32_t>()[b]
                         : lengths->as<int64_t>()[b];
    if (length < 0 || length > s.capacity)
      return fail(lengthsPath + ": length " + std::to_string(length) +
                  " of sequence " + std::to_string(b) +
                  " is outside [0, S = " + std::to_string(s.capacity) + "]");
    in.lengths.push_back(length);
  }
  return in;
}

PolicyParams policyFromFlags() {
  PolicyParams p;
  p.kind = policyKind;
  if (chunkSize.getNumOccurrences())
    p.chunk = chunkSize;
  if (window.getNumOccurrences())
    p.window = window;
  if (pool.getNumOccurrences())
    p.pool = pool;
  if (aggregate.getNumOccurrences())
    p.aggregate = aggregate;
  if (budget.getNumOccurrences())
    p.budget = budget;
  if (keepRatio.getNumOccurrences())
    p.keepRatio = keepRatio;
  if (compressionRatio.getNumOccurrences())
    p.compressionRatio = compressionRatio;
  return p;
}

/// Writes all files under temporary names, then renames them into place.
llvm::Error writeOutputs(const std::vector<std::pair<std::string, NpyArray>> &files) {
  if (std::error_code ec = llvm::sys::fs::create_directories(outDir))
    return fail(outDir + ": " + ec.message());
  std::vector<std::pair<std::string, std::string>> written;
  auto removeTemporaries = [&]() {
    for (auto &entry : written)
      llvm::sys::fs::remove(entry.first);
  };
  for (const auto &[name, array] : files) {
    llvm::SmallString<256> finalPath(outDir.getValue());
    llvm::sys::path::append(finalPath, name + ".npy");
    std::string temporary = (finalPath + ".partial").str();
    std::error_code ec;
    llvm::raw_fd_ostream os(temporary, ec);
    if (!ec) {
      writeNpy(os, array);
      os.close();
      ec = os.error();
    }
    written.push_back({temporary, finalPath.str().str()});
    if (ec) {
      removeTemporaries();
      return fail(temporary + ": " + ec.message());
    }
  }
  for (auto &[temporary, final] : written)
    if (std::error_code ec = llvm::sys::fs::rename(temporary, final)) {
      removeTemporaries();
      return fail(final + ": " + ec.message());
    }
  return llvm::Error::success();
}

/// A JSON description of an output file.
llvm::json::Object describeOutput(const std::string &name,
                                  const NpyArray &array) {
  llvm::SmallString<256> path(outDir.getValue());
  llvm::sys::path::append(path, name + ".npy");
  return llvm::json::Object{
      {"path", path.str().str()},
      {"dtype", elementTypeName(array.type).str()},
      {"shape", llvm::json::Array(array.shape)}};
}

/// --module: runs one function of a module on .npy arguments and writes
/// its results as result_0.npy, result_1.npy, ...
llvm::Error runModule() {
  if (entry.empty())
    return fail("--module needs --entry");
  Progress progress;
  progress.stage("compiling " + modulePath);
  auto source = llvm::MemoryBuffer::getFile(modulePath, /*IsText=*/true);
  if (!source)
    return fail(modulePath + ": " + source.getError().message());
  auto runner = ModuleRunner::load((*source)->getBuffer(), entry, vectorWidth);
  if (!runner)
    return fail(modulePath + ": " + llvm::toString(runner.takeError()));
  const std::vector<ValueSignature> &signature = (*runner)->arguments();
  if (moduleArgs.size() != signature.size())
    return fail("@" + entry + " takes " + std::to_string(signature.size()) +
                " arguments, --arg gave " + std::to_string(moduleArgs.size()));
  std::vector<RunArgument> inputs(signature.size());
  for (size_t i = 0; i < signature.size(); ++i) {
    const std::string &arg = moduleArgs[i];
    if (!signature[i].isArray) {
      if (llvm::StringRef(arg).getAsInteger(10, inputs[i].scalar))
        return fail("--arg #" + std::to_string(i) + ": expected an integer for " +
                    signature[i].text + ", got '" + arg + "'");
      continue;
    }
    llvm::Expected<NpyArray> read = readNpy(arg);
    if (!read)
      return read.takeError();
    // The function may update its arguments in place: pass a copy.
    inputs[i].array = NpyArray::zeros(read->type, read->shape);
    std::memcpy(inputs[i].array.mutableBytes(), read->bytes(), read->numBytes());
  }
  progress.stage("running @" + entry);
  auto results = (*runner)->run(inputs);
  if (!results)
    return fail("@" + entry + ": " + llvm::toString(results.takeError()));
  std::vector<std::pair<std::string, NpyArray>> files;
  for (size_t i = 0; i < results->size(); ++i)
    files.push_back({"result_" + std::to_string(i), std::move((*results)[i])});
  progress.stage("writing " + outDir);
  llvm::json::Array written;
  for (const auto &[name, array] : files)
    written.push_back(describeOutput(name, array));
  if (llvm::Error e = writeOutputs(files))
    return e;
  progress.done();
  if (json)
    llvm::outs() << llvm::formatv(
        "{0:2}\n", llvm::json::Value(llvm::json::Object{
                       {"entry", entry.getValue()}, {"results", std::move(written)}}));
  return llvm::Error::success();
}

llvm::Error run() {
  if (!modulePath.empty()) {
    if (device != "cpu")
      return fail("--module runs on the CPU only; --device=" + device +
                  " is for the selection mode");
    return runModule();
  }
  if (queriesPath.empty() || keysPath.empty() || valuesPath.empty())
    return fail("expected --q, --k and --v (or --module)");
  if (device != "cpu" && device != "cuda")
    return fail("--device: expected 'cpu' or 'cuda', got '" + device + "'");
  if (repeat < 1)
    return fail("--repeat: expected at least 1");
  PolicyParams policy = policyFromFlags();
  Progress progress;
  progress.stage("reading inputs");
  llvm::Expected<Inputs> inputs = readInputs(policy);
  if (!inputs)
    return inputs.takeError();
  const SelectShape &s = inputs->shape;

  progress.stage("compiling the kernel");
  auto compileStart = std::chrono::steady_clock::now();
  llvm::Expected<std::unique_ptr<SelectKernel>> kernel =
      SelectKernel::compile(policy, s, vectorWidth,
                            device == "cuda" ? SelectDevice::cuda
                                             : SelectDevice::cpu);
  if (!kernel)
    return kernel.takeError();
  double compileSeconds = std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - compileStart)
                              .count();
  if (printModule)
    llvm::outs() << (*kernel)->source();

  const PolicyInfo &info = (*kernel)->info();
  int64_t B = s.batch;
  NpyArray scores =
      NpyArray::zeros(ElementType::f32, {B, info.numScoreChunks});
  NpyArray ids = NpyArray::zeros(ElementType::i64, {B, info.maxSelectedChunks});
  NpyArray kept = NpyArray::zeros(ElementType::i64, {B});
  NpyArray newLengths = NpyArray::zeros(ElementType::i64, {B});
  NpyArray kOut = NpyArray::zeros(s.cacheType, inputs->k.shape);
  NpyArray vOut = NpyArray::zeros(s.cacheType, inputs->k.shape);

  SelectBuffers buffers{inputs->q.bytes(), inputs->k.bytes(),
                        inputs->v.bytes(), inputs->lengths.data(),
                        scores.mutableAs<float>(), ids.mutableAs<int64_t>(),
                        kept.mutableAs<int64_t>(), kOut.mutableBytes(),
                        vOut.mutableBytes(), newLengths.mutableAs<int64_t>()};
  std::vector<double> seconds;
  for (unsigned i = 0; i < repeat; ++i) {
    progress.stage("running the kernel (" + llvm::Twine(i + 1) + "/" +
                   llvm::Twine(repeat.getValue()) + ")");
    auto start = std::chrono::steady_clock::now();
    if (llvm::Error e = (*kernel)->run(buffers))
      return e;
    seconds.push_back(std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start)
                          .count());
  }
  std::sort(seconds.begin(), seconds.end());
  double median = seconds[seconds.size() / 2];
  if (timing && !json)
    llvm::outs() << llvm::formatv("compile_seconds: {0:f6}\n"
                                  "kernel_seconds_median: {1:f6}\n"
                                  "kernel_runs: {2}\n",
                                  compileSeconds, median,
                                  seconds.size());

  // Kept positions, padded with -1; rows past each new length are zeroed so
  // the compacted caches do not depend on the kernel's scratch order.
  std::vector<std::vector<int64_t>> positions;
  int64_t widest = 0;
  for (int64_t b = 0; b < B; ++b) {
    positions.push_back((*kernel)->keptPositions(
        inputs->lengths[b],
        llvm::ArrayRef<int64_t>(ids.as<int64_t>() + b * info.maxSelectedChunks,
                                info.maxSelectedChunks)));
    widest = std::max<int64_t>(widest, positions.back().size());
    if (static_cast<int64_t>(positions.back().size()) != newLengths.as<int64_t>()[b])
      return fail(llvm::formatv("internal error: sequence {0} kept {1} rows, "
                                "its chunk ids give {2}",
                                b, newLengths.as<int64_t>()[b],
                                positions.back().size()));
  }
  NpyArray keptPositions = NpyArray::zeros(ElementType::i64, {B, widest});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < widest; ++i)
      keptPositions.mutableAs<int64_t>()[b * widest + i] =
          i < static_cast<int64_t>(positions[b].size()) ? positions[b][i] : -1;
  size_t element = elementSize(s.cacheType);
  int64_t heads = s.kvHeads, rowBytes = s.headDim * element;
  for (NpyArray *cache : {&kOut, &vOut})
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = newLengths.as<int64_t>()[b]; j < s.capacity; ++j) {
          int64_t row = s.bshd ? (b * s.capacity + j) * heads + h
                               : (b * heads + h) * s.capacity + j;
          std::memset(cache->mutableBytes() + row * rowBytes, 0, rowBytes);
        }

  std::vector<std::pair<std::string, NpyArray>> files;
  files.push_back({"kept_positions", std::move(keptPositions)});
  files.push_back({"lengths", std::move(newLengths)});
  files.push_back({"k_compacted", std::move(kOut)});
  files.push_back({"v_compacted", std::move(vOut)});
  if (emitScores) {
    files.push_back({"chunk_scores", std::move(scores)});
    files.push_back({"chunk_ids", std::move(ids)});
  }
  progress.stage("writing " + outDir);
  llvm::json::Object outputs;
  for (const auto &[name, array] : files)
    outputs[name] = describeOutput(name, array);
  llvm::json::Array lengths, newLengthsJson;
  for (int64_t b = 0; b < B; ++b) {
    lengths.push_back(inputs->lengths[b]);
    newLengthsJson.push_back(positions[b].size());
  }
  if (llvm::Error e = writeOutputs(files))
    return e;
  progress.done();
  if (json)
    llvm::outs() << llvm::formatv(
        "{0:2}\n",
        llvm::json::Value(llvm::json::Object{
            {"outputs", std::move(outputs)},
            {"lengths", std::move(lengths)},
            {"kept_lengths", std::move(newLengthsJson)},
            {"compile_seconds", compileSeconds},
            {"kernel_seconds_median", median},
            {"kernel_runs", static_cast<int64_t>(seconds.size())}}));
  return llvm::Error::success();
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "chunkkv-run: ChunkKV selection and compaction of .npy caches on the "
      "CPU\n");
  if (llvm::Error e = run()) {
    llvm::WithColor::error(llvm::errs(), "chunkkv-run")
        << llvm::toString(std::move(e)) << "\n";
    return 1;
  }
  return 0;
}
