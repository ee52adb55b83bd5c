//===- Compile.cpp - lower @main to LLVM for a target ---------------------===//
//
// Stages (each its own PassManager run so that -v can time it), every one a
// registered pass or pipeline run by name, so that partita-opt reproduces
// what partita runs and this library depends on no pass:
//   1. graph -> linalg/tensor/arith/math (`graph-to-linalg`), only when graph
//      ops are present;
//   2. large constants become @main's arguments (outlineWeights), then
//      `partita-cpu-bufferize`: tensors -> memrefs, @main's results become
//      out-params the executor allocates, so no buffer ever changes hands
//      across the ABI;
//   3. the target's half: `partita-cpu-lower-to-llvm` (include/partita/
//      Target/CPU.h) or `partita-cuda-lower-to-llvm` (Target/CUDA.h).
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/Compiler.h"
#include "partita/Runtime/Parallel.h"
#include "runtime/CudaRuntime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>

using namespace mlir;

namespace partita {

double processStatusMiB(StringRef field) {
  double mib = -1;
  if (FILE *f = std::fopen("/proc/self/status", "r")) {
    std::string format = (field + ": %ld kB").str();
    char line[256];
    long kib;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, format.c_str(), &kib) == 1) {
        mib = kib / 1024.0;
        break;
      }
    std::fclose(f);
  }
  return mib;
}

void StageTimer::record(StringRef stage, double seconds) {
  totalSeconds += seconds;
  if (verbose)
    llvm::errs() << "partita: stage " << stage << ": "
                 << llvm::format("%.1f", seconds * 1e3) << " ms (resident "
                 << llvm::format("%.0f", processStatusMiB("VmRSS")) << " MiB)\n";
}

static std::string nameOf(DictionaryAttr attrs, StringRef prefix, unsigned i) {
  if (attrs)
    if (auto n = attrs.getAs<StringAttr>("graph.name"))
      return n.str();
  return (prefix + Twine(i)).str();
}

/// Unquoted (a Type streamed into a diagnostic is quoted).
static std::string typeString(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

FailureOr<ModelSignature> getSignature(ModuleOp module) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func) {
    emitError(module.getLoc()) << "the module has no func.func @main to run";
    return failure();
  }
  ModelSignature sig;
  auto describe = [&](Type type, DictionaryAttr attrs, StringRef kind, unsigned i,
                      std::vector<TensorSpec> &out) -> LogicalResult {
    TensorSpec spec;
    spec.name = nameOf(attrs, kind == "input" ? "input_" : "output_", i);
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor)
      return emitError(func.getLoc())
             << kind << " '" << spec.name << "' has type " << type
             << "; the CPU backend takes ranked tensors";
    if (!tensor.hasStaticShape())
      return emitError(func.getLoc())
             << kind << " '" << spec.name << "' has dynamic shape " << type
             << "; the CPU backend needs static shapes (see --input-shape)";
    std::optional<DType> dt = dtypeOf(tensor.getElementType());
    if (!dt)
      return emitError(func.getLoc())
             << kind << " '" << spec.name << "': dtype " << typeString(tensor.getElementType())
             << " is not supported by the CPU backend";
    spec.dtype = *dt;
    spec.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
    if (attrs)
      if (auto v = attrs.getAs<DenseElementsAttr>("graph.specialized"))
        spec.value = tensorFromAttr(v);
    out.push_back(std::move(spec));
    return success();
  };
  FunctionType type = func.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i)
    if (failed(describe(type.getInput(i), func.getArgAttrDict(i), "input", i,
                        sig.inputs)))
      return failure();
  for (unsigned i = 0; i < type.getNumResults(); ++i)
    if (failed(describe(type.getResult(i), func.getResultAttrDict(i), "output", i,
                        sig.outputs)))
      return failure();
  return sig;
}

static bool hasGraphOps(ModuleOp module) {
  bool found = false;
  module.walk([&](Operation *op) {
    if (op->getName().getDialectNamespace() == "graph") {
      found = true;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return found;
}

/// Runs the registered pass or pipeline `pipeline` as one timed stage.
static LogicalResult runStage(ModuleOp module, StringRef stage, StringRef pipeline,
                              const CompileOptions &options, StageTimer &timer) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName(),
                 OpPassManager::Nesting::Implicit);
  if (options.printIRAfterAll) {
    module.getContext()->disableMultithreading();
    pm.enableIRPrinting();
  }
  std::string err;
  llvm::raw_string_ostream os(err);
  if (failed(parsePassPipeline(pipeline, pm, os)))
    return emitError(module.getLoc()) << "cannot build '" << pipeline << "': " << err;
  auto start = std::chrono::steady_clock::now();
  LogicalResult result = pm.run(module);
  timer.record(stage, std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start).count());
  return result;
}

static bool registered(StringRef name) {
  return PassInfo::lookup(name) || PassPipelineInfo::lookup(name);
}

/// Whether an environment variable is set to "0" (a switch's off).
static bool envOff(const char *name) {
  const char *v = std::getenv(name);
  return v && StringRef(v) == "0";
}

/// Names the first op no conversion handled (else the casts left around it):
/// a partial conversion leaves such ops silently until LLVM IR translation,
/// with a less useful message.
static LogicalResult checkAllLowered(ModuleOp module, StringRef targetName) {
  Operation *leftover = nullptr, *leftoverCast = nullptr;
  module.walk([&](Operation *op) {
    StringRef ns = op->getName().getDialectNamespace();
    // The CUDA target's kernels and launches stay gpu ops; LLVM IR
    // translation embeds and calls them.
    StringRef name = op->getName().getStringRef();
    if (op == module.getOperation() || ns == LLVM::LLVMDialect::getDialectNamespace() ||
        name == "gpu.binary" || name == "gpu.launch_func")
      return WalkResult::advance();
    if (isa<UnrealizedConversionCastOp>(op)) {
      leftoverCast = leftoverCast ? leftoverCast : op;
      return WalkResult::advance();
    }
    leftover = op;
    return WalkResult::interrupt();
  });
  if (!leftover)
    leftover = leftoverCast;
  if (leftover)
    return leftover->emitError() << "'" << leftover->getName()
                                 << "' could not be lowered to LLVM by the " << targetName
                                 << " backend";
  return success();
}

std::string compiledTarget(ModuleOp module) {
  if (auto t = module->getAttrOfType<StringAttr>("partita.target"))
    return t.str();
  return "cpu";
}

/// Each gpu.binary's object into options.cudaKernelDir, for ptxas,
/// cuobjdump or nsight.
static LogicalResult writeKernelObjects(ModuleOp module, const CompileOptions &options) {
  StringRef dir = options.cudaKernelDir;
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return emitError(module.getLoc()) << "cannot create '" << dir << "': " << ec.message();
  StringRef ext = options.cudaFormat == "isa" ? ".ptx"
                  : options.cudaFormat == "fatbin" ? ".fatbin" : ".cubin";
  for (auto binary : module.getOps<gpu::BinaryOp>())
    for (Attribute a : binary.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(a);
      std::string path = (dir + "/" + binary.getSymName() + ext).str();
      std::error_code ec;
      llvm::raw_fd_ostream os(path, ec);
      if (ec)
        return emitError(module.getLoc()) << "cannot write '" << path << "': " << ec.message();
      os << object.getObject().getValue();
    }
  return success();
}

std::string cudaDeviceProblem() {
  char why[256];
  if (partita_cuda_init(partita_cuda_default_device(), why, sizeof why) != 0)
    return why;
  return "";
}

/// The target's pipeline with its options: the CPU's switches come from
/// the environment (PARTITA_BLAS=0, PARTITA_MATH_APPROX=0,
/// PARTITA_PARALLEL_LOOPS=0, PARTITA_PARALLEL_MIN_ITERATIONS=N).
static std::string targetPipeline(const CompileOptions &options) {
  if (options.target == "cuda-on-cpu")
    return "partita-cuda-emulate-on-cpu";
  if (options.target == "cuda") {
    // The device's own chip when the runtime runs on one, else sm_90.
    std::string chip = options.cudaChip;
    if (chip.empty())
      chip = partita_cuda_device() >= 0 ? partita_cuda_chip() : "sm_90";
    return "partita-cuda-lower-to-llvm{chip=" + chip + " format=" + options.cudaFormat + "}";
  }
  int64_t minIterations = kDefaultParallelMinIterations;
  if (const char *env = std::getenv("PARTITA_PARALLEL_MIN_ITERATIONS"))
    minIterations = std::max<int64_t>(1, std::atoll(env));
  auto flag = [](bool on) { return on ? "1" : "0"; };
  return std::string("partita-cpu-lower-to-llvm{blas=") + flag(!envOff("PARTITA_BLAS")) +
         " math-approx=" + flag(!envOff("PARTITA_MATH_APPROX")) +
         " parallel-loops=" + flag(!envOff("PARTITA_PARALLEL_LOOPS")) +
         " parallel-min-iterations=" + std::to_string(minIterations) + "}";
}

LogicalResult lowerToLLVM(ModuleOp module, const CompileOptions &options,
                          StageTimer &timer, ModelSignature *signature) {
  if (options.target != "cpu" && options.target != "cuda" && options.target != "cuda-on-cpu")
    return emitError(module.getLoc())
           << "unknown target '" << options.target << "' (expected cpu or cuda)";
  if (hasGraphOps(module)) {
    // The graph-to-linalg pipeline (composite expansion, the conversion,
    // elementwise fusion) when registered, else the bare conversion pass.
    std::string name = options.graphLoweringPass;
    if (name.empty())
      name = registered("graph-to-linalg") ? "graph-to-linalg" : "convert-graph-to-linalg";
    if (!registered(name))
      return emitError(module.getLoc())
             << "the model has graph-dialect ops but the lowering pass '" << name
             << "' is not registered in this build";
    if (failed(runStage(module, name, name, options, timer)))
      return failure();
  }

  // The signature is recorded by the caller; the ABI only needs plain
  // memrefs, so drop @main's argument/result attributes, keep the inputs
  // read-only (--repeat reuses them), and ask for the C interface.
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func)
    return emitError(module.getLoc()) << "the module has no func.func @main to run";
  Builder b(module.getContext());
  func.setAllArgAttrs(ArrayRef<DictionaryAttr>{});
  if (signature && options.weightMinBytes >= 0) {
    auto start = std::chrono::steady_clock::now();
    signature->weights.clear();
    outlineWeights(func, options.weightMinBytes, signature->weights);
    timer.record("outline-weights", std::chrono::duration<double>(
                                        std::chrono::steady_clock::now() - start).count());
  }
  func.setAllResultAttrs(ArrayRef<DictionaryAttr>{});
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    func.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());

  std::string pipeline = targetPipeline(options);
  StringRef pipelineName = StringRef(pipeline).take_until([](char c) { return c == '{'; });
  if (!registered("partita-cpu-bufferize") || !registered(pipelineName))
    return emitError(module.getLoc())
           << "the " << options.target << " target is not registered in this build";
  if (failed(runStage(module, "bufferize", "partita-cpu-bufferize", options, timer)))
    return failure();
  if (options.verbose)
    llvm::errs() << "partita: " << (options.target == "cuda" ? "CUDA" : "CPU")
                 << " pipeline: " << pipeline << "\n";
  bool cuda = options.target == "cuda";
  if (failed(runStage(module, cuda ? "cuda-lower-to-llvm" : "lower-to-llvm", pipeline, options,
                      timer)))
    return failure();
  if (cuda) {
    module->setAttr("partita.target", StringAttr::get(module.getContext(), "cuda"));
    if (!options.cudaKernelDir.empty() && failed(writeKernelObjects(module, options)))
      return failure();
  }
  return checkAllLowered(module, cuda ? "CUDA" : "CPU");
}

} // namespace partita
