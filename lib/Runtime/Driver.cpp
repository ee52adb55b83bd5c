//===- Driver.cpp - `partita compile` and `partita run` -------------------===//

#include "partita/Runtime/Driver.h"

#include "partita/Import/Importer.h"
#include "partita/InitAll.h"
#include "partita/Runtime/Artifact.h"
#include "partita/Runtime/Compare.h"
#include "partita/Runtime/Executor.h"
#include "partita/Runtime/Npy.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>

using namespace mlir;

namespace partita {
namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int fail(const Twine &msg) {
  llvm::outs().flush(); // keep the order when both go to one file
  llvm::errs() << "partita: error: " << msg << "\n";
  return 1;
}

Location fileLoc(MLIRContext &ctx, StringRef path) {
  return FileLineColLoc::get(&ctx, path, 0, 0);
}

std::string join(StringRef dir, const Twine &a, const Twine &b = "") {
  SmallString<256> p(dir);
  llvm::sys::path::append(p, a, b);
  return p.str().str();
}

/// A directory in the ONNX backend-test layout.
bool isBackendTestDir(StringRef path) {
  return llvm::sys::fs::is_directory(path) &&
         llvm::sys::fs::exists(join(path, "model.onnx"));
}

/// test_data_set_0/<prefix>_K.pb for K = 0, 1, ... while they exist.
std::vector<std::string> testDataFiles(StringRef dir, StringRef prefix) {
  std::vector<std::string> files;
  for (int k = 0;; ++k) {
    std::string f = join(dir, "test_data_set_0", (prefix + "_" + Twine(k) + ".pb").str());
    if (!llvm::sys::fs::exists(f))
      return files;
    files.push_back(f);
  }
}

/// Reads a .pb (ONNX TensorProto) or .npy tensor; null after a diagnostic.
std::optional<HostTensor> readTensorFileAsStored(MLIRContext &ctx, StringRef path) {
  StringRef ext = llvm::sys::path::extension(path);
  if (ext != ".pb" && ext != ".npy") {
    emitError(fileLoc(ctx, path)) << "unsupported tensor file type '" << ext
                                  << "' (expected .pb or .npy)";
    return std::nullopt;
  }
  if (!llvm::sys::fs::exists(path)) {
    emitError(fileLoc(ctx, path)) << "cannot read '" << path
                                  << "': no such file or directory";
    return std::nullopt;
  }
  if (ext == ".npy") {
    auto t = readNpyFile(path);
    if (!t) {
      emitError(fileLoc(ctx, path)) << llvm::toString(t.takeError());
      return std::nullopt;
    }
    return std::move(*t);
  }
  auto attr = readOnnxTensorFile(ctx, path);
  if (failed(attr))
    return std::nullopt;
  auto t = tensorFromAttr(*attr);
  if (!t) {
    std::string type;
    llvm::raw_string_ostream os(type);
    attr->getElementType().print(os);
    emitError(fileLoc(ctx, path)) << "dtype " << type << " is not supported by the CPU backend";
  }
  return t;
}

} // namespace

std::optional<HostTensor> readTensorFile(MLIRContext &ctx, StringRef path,
                                         std::optional<DType> expected) {
  std::optional<HostTensor> t = readTensorFileAsStored(ctx, path);
  // ONNX's backend-test generator stores bfloat16 tensors as UINT16 (the
  // same bits); take such a file as bf16 where bf16 is expected.
  if (t && expected == DType::BF16 && t->dtype == DType::U16)
    t->dtype = DType::BF16;
  return t;
}

namespace {

std::string describeSpecs(const std::vector<TensorSpec> &specs) {
  std::string s;
  for (size_t i = 0; i < specs.size(); ++i)
    s += (i ? ", " : "") + specs[i].name;
  return s;
}


} // namespace

std::optional<std::vector<HostTensor>>
gatherInputs(MLIRContext &ctx, StringRef input, const ModelSignature &sig,
             const RunOptions &opts) {
  std::vector<std::string> files = opts.inputFiles;
  if (files.empty() && isBackendTestDir(input))
    files = testDataFiles(input, "input");
  std::vector<HostTensor> inputs;
  if (files.empty()) {
    for (size_t i = 0; i < sig.inputs.size(); ++i) {
      const TensorSpec &s = sig.inputs[i];
      inputs.push_back(s.value ? *s.value
                               : randomTensor(s.dtype, s.shape, opts.seed + i));
    }
    return inputs;
  }
  if (files.size() != sig.inputs.size()) {
    fail("the model takes " + Twine(sig.inputs.size()) + " input" +
         (sig.inputs.size() == 1 ? "" : "s") + " (" + describeSpecs(sig.inputs) +
         "), got " + Twine(files.size()) + " file" + (files.size() == 1 ? "" : "s"));
    return std::nullopt;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    const TensorSpec &s = sig.inputs[i];
    std::optional<HostTensor> t = readTensorFile(ctx, files[i], s.dtype);
    if (!t)
      return std::nullopt;
    if (t->dtype != s.dtype) {
      fail("input '" + s.name + "' (" + files[i] + ") has dtype " + dtypeName(t->dtype) +
           ", but the model expects " + dtypeName(s.dtype));
      return std::nullopt;
    }
    if (t->shape != s.shape) {
      fail("input '" + s.name + "' (" + files[i] + ") has shape " + shapeString(t->shape) +
           ", but the model expects " + shapeString(s.shape));
      return std::nullopt;
    }
    inputs.push_back(std::move(*t));
  }
  return inputs;
}

std::vector<std::string> expectedOutputFiles(StringRef input, const RunOptions &opts) {
  if (!opts.expectedFiles.empty() || !isBackendTestDir(input))
    return opts.expectedFiles;
  return testDataFiles(input, "output");
}

std::optional<std::vector<HostTensor>>
readExpected(MLIRContext &ctx, const ModelSignature &sig,
             const std::vector<std::string> &files) {
  if (files.size() != sig.outputs.size()) {
    fail("the model has " + Twine(sig.outputs.size()) + " output" +
         (sig.outputs.size() == 1 ? "" : "s") + " (" + describeSpecs(sig.outputs) +
         "), but " + Twine(files.size()) + " expected file" +
         (files.size() == 1 ? " was" : "s were") + " given");
    return std::nullopt;
  }
  std::vector<HostTensor> expected;
  for (size_t i = 0; i < files.size(); ++i) {
    std::optional<HostTensor> t = readTensorFile(ctx, files[i], sig.outputs[i].dtype);
    if (!t)
      return std::nullopt;
    expected.push_back(std::move(*t));
  }
  return expected;
}

namespace {

void printValue(llvm::raw_ostream &os, const HostTensor &t, int64_t i) {
  if (t.dtype == DType::I1)
    os << (t.getInt(i) ? "true" : "false");
  else if (isFloat(t.dtype))
    os << llvm::format("%g", t.getDouble(i));
  else if (t.dtype == DType::U64)
    os << (uint64_t)t.getInt(i);
  else
    os << t.getInt(i);
}

void printOutput(llvm::raw_ostream &os, const TensorSpec &spec, const HostTensor &t,
                 unsigned limit) {
  os << spec.name << ": " << shapeString(t.shape) << " " << dtypeName(t.dtype) << " = [";
  int64_t n = t.numElements(), shown = std::min<int64_t>(n, limit);
  for (int64_t i = 0; i < shown; ++i) {
    if (i)
      os << ", ";
    printValue(os, t, i);
  }
  if (shown < n)
    os << (shown ? ", " : "") << "... (" << n - shown << " more)";
  os << "]\n";
}


/// Compares outputs with expected tensors; prints one line per output.
bool checkOutputs(const ModelSignature &sig, const std::vector<HostTensor> &outputs,
                  const std::vector<HostTensor> &expected) {
  unsigned bad = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const HostTensor *want = &expected[i];
    Tolerance tol = defaultTolerance(outputs[i].dtype);
    Comparison c = compareTensors(outputs[i], *want, tol);
    llvm::raw_ostream &os = llvm::outs();
    os << "check " << sig.outputs[i].name << ": ";
    if (!c.structuralError.empty()) {
      os << "MISMATCH: " << c.structuralError << "\n";
      ++bad;
      continue;
    }
    os << "max abs err " << llvm::format("%g", c.maxAbsErr) << ", max rel err "
       << llvm::format("%g", c.maxRelErr);
    if (c.ok) {
      os << ": ok\n";
      continue;
    }
    ++bad;
    os << ": MISMATCH (" << c.mismatches << " of " << outputs[i].numElements()
       << " elements";
    if (isFloat(outputs[i].dtype))
      os << " outside rtol " << llvm::format("%g", tol.rtol) << ", atol "
         << llvm::format("%g", tol.atol);
    else
      os << " differ";
    os << "; " << c.describeFirst(outputs[i], *want) << ")\n";
  }
  if (bad)
    fail(Twine(bad) + " of " + Twine(outputs.size()) +
         " outputs do not match the expected values");
  return bad == 0;
}

void registerPassesOnce() {
  static bool done = [] {
    partita::registerAllPasses();
    return true;
  }();
  (void)done;
}

/// Imports and lowers INPUT; fills `sig`. Null after a diagnostic.
OwningOpRef<ModuleOp> compileInput(MLIRContext &ctx, StringRef input,
                                   const CompileOptions &options, const ModelLoader &load,
                                   ModelSignature &sig, StageTimer &timer) {
  registerPassesOnce();
  auto start = Clock::now();
  OwningOpRef<ModuleOp> module = load(ctx, input);
  if (!module)
    return nullptr;
  timer.record("import", secondsSince(start));
  auto signature = getSignature(*module);
  if (failed(signature) || failed(lowerToLLVM(*module, options, timer, &*signature)))
    return nullptr;
  sig = std::move(*signature);
  return module;
}

} // namespace

void releaseCompilerMemory(CompilerCode which) {
  malloc_trim(0);
  bool mlirOnly = which == CompilerCode::MLIR;
  FILE *maps = std::fopen("/proc/self/maps", "r");
  if (!maps)
    return;
  char line[4096];
  while (std::fgets(line, sizeof line, maps)) {
    unsigned long begin, end;
    char perms[5] = {0};
    int pathStart = 0;
    if (std::sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &begin, &end, perms, &pathStart) < 3 ||
        !pathStart)
      continue;
    llvm::StringRef path = llvm::StringRef(line + pathStart).trim();
    llvm::StringRef name = llvm::sys::path::filename(path);
    if (llvm::StringRef(perms) == "r-xp" &&
        ((!mlirOnly && name.starts_with("libLLVM")) || name.starts_with("libMLIR")))
      madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);
  }
  std::fclose(maps);
}

double peakRssMiB() {
  // VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across
  // execve, so a process started by a large parent (a Python benchmark
  // holding its peers' models) would report the parent's peak.
  double hwm = processStatusMiB("VmHWM");
  if (hwm >= 0)
    return hwm;
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0; // Linux reports KiB
}

int runCompileCommand(MLIRContext &ctx, StringRef input, StringRef output,
                      const CompileOptions &options, const ModelLoader &load) {
  StageTimer timer{options.verbose};
  ModelSignature sig;
  OwningOpRef<ModuleOp> module = compileInput(ctx, input, options, load, sig, timer);
  if (!module)
    return 1;
  auto start = Clock::now();
  if (failed(writeArtifact(output, *module, sig, input)))
    return 1;
  timer.record("write artifact", secondsSince(start));
  if (options.verbose)
    llvm::errs() << "partita: compiled " << input << " -> " << output << " in "
                 << llvm::format("%.1f", timer.totalSeconds * 1e3) << " ms\n";
  return 0;
}

int runRunCommand(MLIRContext &ctx, StringRef input, const RunOptions &opts,
                  const ModelLoader &load) {
  StageTimer timer{opts.compile.verbose};
  ModelSignature sig;
  OwningOpRef<ModuleOp> module;
  bool fromArtifact = isArtifact(input);
  // No GPU: say so before compiling.
  if (opts.compile.target == "cuda" && !fromArtifact)
    if (std::string problem = cudaDeviceProblem(); !problem.empty())
      return fail(problem);
  if (fromArtifact) {
    auto start = Clock::now();
    module = readArtifact(ctx, input, sig);
    if (!module)
      return 1;
    timer.record("load artifact", secondsSince(start));
  } else {
    module = compileInput(ctx, input, opts.compile, load, sig, timer);
    if (!module)
      return 1;
  }
  releaseCompilerMemory(CompilerCode::MLIR);
  auto start = Clock::now();
  std::unique_ptr<Executor> exec = Executor::create(*module, sig, opts.optLevel);
  if (!exec)
    return 1;
  timer.record("jit", secondsSince(start));
  double compileSeconds = timer.totalSeconds;
  // The code is compiled: the module's ops go (the weights' storage is
  // the context's, which stays), then the compiler's memory, all before
  // the weights are touched.
  module->getBody()->clear();
  releaseCompilerMemory(CompilerCode::MLIRAndLLVM);

  std::optional<std::vector<HostTensor>> inputs = gatherInputs(ctx, input, sig, opts);
  if (!inputs)
    return 1;
  std::vector<std::string> expected =
      fromArtifact ? opts.expectedFiles : expectedOutputFiles(input, opts);
  if (opts.check && expected.empty())
    return fail("--check needs expected outputs: give --expected FILES or run an "
                "ONNX backend-test directory");
  std::optional<std::vector<HostTensor>> expectedTensors;
  if (opts.check && !(expectedTensors = readExpected(ctx, sig, expected)))
    return 1;

  std::vector<HostTensor> outputs;
  std::vector<double> steps;
  for (unsigned i = 0; i <= opts.repeat; ++i) {
    if (i == 1 || opts.repeat == 0)
      start = Clock::now();
    auto stepStart = Clock::now();
    if (llvm::Error e = exec->run(*inputs, outputs))
      return fail("execution failed: " + llvm::toString(std::move(e)));
    if (i > 0)
      steps.push_back(secondsSince(stepStart));
  }
  if (opts.repeat == 0)
    timer.record("run", secondsSince(start));

  for (size_t i = 0; i < outputs.size() && opts.printLimit; ++i)
    printOutput(llvm::outs(), sig.outputs[i], outputs[i], opts.printLimit);
  if (!opts.outputDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(opts.outputDir))
      return fail("cannot create '" + opts.outputDir + "': " + ec.message());
    for (size_t i = 0; i < outputs.size(); ++i)
      if (llvm::Error e = writeNpyFile(join(opts.outputDir, "output_" + Twine(i) + ".npy"),
                                       outputs[i]))
        return fail(llvm::toString(std::move(e)));
  }
  if (opts.repeat) {
    std::vector<double> sorted = steps;
    std::sort(sorted.begin(), sorted.end());
    double median = sorted.size() % 2 ? sorted[sorted.size() / 2]
                                      : (sorted[sorted.size() / 2 - 1] +
                                         sorted[sorted.size() / 2]) / 2;
    llvm::outs() << "compile time: " << llvm::format("%.1f", compileSeconds * 1e3)
                 << " ms\n"
                 << "step time: median " << llvm::format("%.3f", median * 1e3)
                 << " ms, min " << llvm::format("%.3f", sorted.front() * 1e3) << " ms ("
                 << opts.repeat << " runs after 1 warm-up)\n"
                 << "peak RSS: " << llvm::format("%.1f", peakRssMiB()) << " MiB\n";
  }
  llvm::outs().flush();
  if (opts.check && !checkOutputs(sig, outputs, *expectedTensors))
    return 1;
  return 0;
}

} // namespace partita
