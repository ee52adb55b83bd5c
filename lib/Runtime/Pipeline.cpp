//===- Pipeline.cpp - lower @main to LLVM for the CPU backend -------------===//
//
// Stages (each its own PassManager run so that -v can time it):
//   1. graph -> linalg/tensor/arith/math, only when graph ops are present;
//      the pass is looked up by name so this library does not depend on it.
//   2. bufferize: tensors -> memrefs; @main's results become out-params the
//      executor allocates, so no buffer ever changes hands across the ABI.
//   3. contractions (f32/f64 matmuls, batch matmuls, contraction generics)
//      become calls into the BLAS runtime (PARTITA_BLAS=0 keeps them loops);
//   4. lower to LLVM: linalg -> loops -> cf -> llvm.
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/Compiler.h"
#include "partita/Runtime/Contraction.h"
#include "partita/Runtime/Parallel.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/AllInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/UB/IR/UBOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"
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

void registerCpuBackendDialects(DialectRegistry &registry) {
  registry.insert<affine::AffineDialect, arith::ArithDialect,
                  bufferization::BufferizationDialect, cf::ControlFlowDialect,
                  func::FuncDialect, linalg::LinalgDialect, LLVM::LLVMDialect,
                  math::MathDialect, memref::MemRefDialect, scf::SCFDialect,
                  tensor::TensorDialect, ub::UBDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  arith::registerBufferDeallocationOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(registry);
  cf::registerBufferizableOpInterfaceExternalModels(registry);
  cf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  linalg::registerAllDialectInterfaceImplementations(registry);
  memref::registerAllocationOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

void buildCpuBufferizePipeline(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  // Identity layouts at function boundaries: @main's memrefs are plain
  // row-major descriptors the executor can build for any rank.
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // Results become out-params; a result that is a fresh allocation is
  // replaced by the out-param itself (no copy), others are copied into it.
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  // Frees every remaining temporary; nothing is returned, so nothing leaks.
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addPass(createCanonicalizerPass());
  // The deallocation above frees at the end of the block; @main is one
  // block, so free each temporary after its last use instead.
  pm.addPass(createDeallocAfterLastUsePass());
}

void buildCpuLowerToLLVMPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // Integer powers and bit counts become MLIR functions; math ops with an
  // LLVM intrinsic next; the rest (erf, ...) call libm.
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void registerCpuPipelines() {
  PassPipelineRegistration<>(
      "partita-cpu-bufferize",
      "CPU backend: one-shot bufferization, results to out-params, deallocation",
      buildCpuBufferizePipeline);
  PassPipelineRegistration<>("partita-cpu-lower-to-llvm",
                             "CPU backend: bufferized linalg to the LLVM dialect",
                             buildCpuLowerToLLVMPipeline);
  registerContractionsToCallsPass();
  registerOutlineLoopNestsPass();
  registerParallelizeLoopNestsPass();
  registerParallelCallsPass();
  registerDeallocAfterLastUsePass();
  registerMathApproximationPass();
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

/// Runs one stage with its own PassManager, timed.
static LogicalResult runStage(ModuleOp module, StringRef stage,
                              const CompileOptions &options, StageTimer &timer,
                              llvm::function_ref<LogicalResult(OpPassManager &)> build) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName(),
                 OpPassManager::Nesting::Implicit);
  if (options.printIRAfterAll) {
    module.getContext()->disableMultithreading();
    pm.enableIRPrinting();
  }
  if (failed(build(pm)))
    return failure();
  auto start = std::chrono::steady_clock::now();
  LogicalResult result = pm.run(module);
  timer.record(stage, std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - start).count());
  return result;
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

/// The CUDA target's lowering, by its registered pipeline (this library does
/// not link the target; partita-opt runs the same string).
static LogicalResult lowerForCuda(ModuleOp module, const CompileOptions &options,
                                  StageTimer &timer) {
  std::string chip = options.cudaChip.empty() ? "sm_90" : options.cudaChip;
  std::string pipeline =
      "partita-cuda-lower-to-llvm{chip=" + chip + " format=" + options.cudaFormat + "}";
  if (!PassPipelineInfo::lookup("partita-cuda-lower-to-llvm"))
    return emitError(module.getLoc())
           << "the CUDA target is not registered in this build";
  if (options.verbose)
    llvm::errs() << "partita: CUDA pipeline: " << pipeline << "\n";
  if (failed(runStage(module, "cuda-lower-to-llvm", options, timer,
                      [&](OpPassManager &pm) -> LogicalResult {
                        std::string err;
                        llvm::raw_string_ostream os(err);
                        if (failed(parsePassPipeline(pipeline, pm, os)))
                          return emitError(module.getLoc())
                                 << "cannot build '" << pipeline << "': " << err;
                        return success();
                      })))
    return failure();
  module->setAttr("partita.target", StringAttr::get(module.getContext(), "cuda"));
  if (!options.cudaKernelDir.empty() && failed(writeKernelObjects(module, options)))
    return failure();
  return checkAllLowered(module, "CUDA");
}

LogicalResult lowerToLLVM(ModuleOp module, const CompileOptions &options,
                          StageTimer &timer, ModelSignature *signature) {
  if (hasGraphOps(module)) {
    // The graph-to-linalg pipeline (composite expansion, the conversion,
    // elementwise fusion) when registered, else the bare conversion pass.
    StringRef name = options.graphLoweringPass;
    auto registered = [](StringRef n) {
      return PassInfo::lookup(n) || PassPipelineInfo::lookup(n);
    };
    if (name.empty())
      name = registered("graph-to-linalg") ? "graph-to-linalg" : "convert-graph-to-linalg";
    if (!registered(name))
      return emitError(module.getLoc())
             << "the model has graph-dialect ops but the lowering pass '" << name
             << "' is not registered in this build";
    if (failed(runStage(module, name, options, timer, [&](OpPassManager &pm) -> LogicalResult {
          std::string err;
          llvm::raw_string_ostream os(err);
          if (failed(parsePassPipeline(name, pm, os)))
            return emitError(module.getLoc()) << "cannot build '" << name << "': " << err;
          return success();
        })))
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

  if (failed(runStage(module, "bufferize", options, timer, [](OpPassManager &pm) {
        buildCpuBufferizePipeline(pm);
        return success();
      })))
    return failure();
  if (options.target == "cuda")
    return lowerForCuda(module, options, timer);
  if (options.target != "cpu")
    return emitError(module.getLoc())
           << "unknown target '" << options.target << "' (expected cpu or cuda)";
  const char *blasEnv = std::getenv("PARTITA_BLAS");
  if (!(blasEnv && StringRef(blasEnv) == "0") &&
      failed(runStage(module, "contractions-to-calls", options, timer, [](OpPassManager &pm) {
        pm.addPass(createContractionsToCallsPass());
        return success();
      })))
    return failure();
  const char *approxEnv = std::getenv("PARTITA_MATH_APPROX");
  bool approximate = !(approxEnv && StringRef(approxEnv) == "0");
  // PARTITA_PARALLEL_LOOPS=0 keeps every loop nest on the calling thread;
  // PARTITA_PARALLEL_MIN_ITERATIONS moves the size threshold.
  const char *parallelEnv = std::getenv("PARTITA_PARALLEL_LOOPS");
  bool parallel = !(parallelEnv && StringRef(parallelEnv) == "0");
  int64_t minIterations = kDefaultParallelMinIterations;
  if (const char *env = std::getenv("PARTITA_PARALLEL_MIN_ITERATIONS"))
    minIterations = std::max<int64_t>(1, std::atoll(env));
  if (failed(runStage(module, "lower-to-llvm", options, timer, [&](OpPassManager &pm) {
        if (approximate)
          pm.addPass(createMathApproximationPass());
        pm.addPass(createOutlineLoopNestsPass());
        if (parallel)
          pm.addPass(createParallelizeLoopNestsPass(minIterations));
        buildCpuLowerToLLVMPipeline(pm);
        if (parallel)
          pm.addPass(createParallelCallsPass());
        return success();
      })))
    return failure();
  // Outlined loop nests (OutlineLoopNests.cpp) stay out of line: FuncToLLVM
  // keeps neither func.func's no_inline nor private visibility as linkage.
  module.walk([&](LLVM::LLVMFuncOp fn) {
    if (fn->hasAttr("partita.outlined")) {
      fn.setNoInline(true);
      fn.setLinkage(LLVM::Linkage::Internal);
    }
  });
  return checkAllLowered(module, "CPU");
}

} // namespace partita
