//===- partita.cpp - the Partita command line -----------------------------===//
//
//   partita import INPUT [-o OUT.mlir] [--summary] [--composites]
//   partita export INPUT -o OUT.json
//   partita ops
//   partita plan INPUT --mesh ... [--shardings FILE]   (PlanCommand.cpp)
//   partita compile INPUT -o ARTIFACT      (lib/Runtime/Driver.cpp)
//   partita run ARTIFACT|INPUT [--inputs F,...] [--outputs DIR] [--check] [--repeat N]
//   partita calibrate [-o FILE.json] [--ranks N] [--name NAME] [--quick]   (CalibrateCommand.cpp)
//   partita schedule --schedule S --ranks P --microbatches M   (ScheduleCommand.cpp)
//
// INPUT is model.onnx, an ONNX backend-test directory (holding model.onnx),
// a JSON graph (.json) or an MLIR file (.mlir). Every failure is one line on
// stderr and a non-zero exit.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GraphOps.h"
#include "Commands.h"
#include "partita/Diagnostics.h"
#include "partita/Import/Importer.h"
#include "partita/InitAll.h"
#include "partita/Runtime/Driver.h"
#include "partita/Runtime/Train.h"
#include "partita/Target/CPU.h"
#include "passes/Graph/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

#include <map>

using namespace mlir;
namespace cl = llvm::cl;

static cl::SubCommand importCmd("import", "Import a model into the graph dialect");
static cl::SubCommand exportCmd("export", "Write a model as a Partita JSON graph");
static cl::SubCommand opsCmd("ops", "List the supported ONNX ops");
static cl::opt<bool> opsGradients("gradients", cl::desc("List every graph op's gradient (markdown)"), cl::sub(opsCmd));
static cl::SubCommand compileCmd("compile", "Compile a model for the CPU into an artifact");
static cl::SubCommand runCmd("run", "Run a model or artifact on the CPU");
static cl::opt<std::string> runMesh("mesh", cl::desc("Run on a device mesh NAME=SIZE[,...] (one MPI rank per device)"), cl::value_desc("axes"), cl::sub(runCmd));
static cl::opt<std::string> runShardings("shardings", cl::desc("Sharding annotations (JSON) for run --mesh"), cl::value_desc("file"), cl::sub(runCmd));
static cl::opt<double> runCollectiveTimeout("collective-timeout", cl::desc("run --mesh: seconds one collective may take before every rank stops (0: no limit)"), cl::init(30), cl::value_desc("seconds"), cl::sub(runCmd));
static cl::opt<std::string> runStrategy("strategy", cl::desc("run --mesh: none (default): the --shardings annotations; auto: choose the shardings by ILP for --cluster (default: this machine), --shardings kept as constraints"), cl::init("none"), cl::sub(runCmd));
static cl::opt<std::string> runCluster("cluster", cl::desc("run --mesh --strategy auto: cluster preset (h100x8, h100-cluster, a100-megatron, cpu-local) or JSON file (default: ~/.config/partita/cluster.json if calibrated, else this machine's CPUs)"), cl::sub(runCmd));
static cl::opt<double> runSolverTimeLimit("solver-time-limit", cl::desc("run --strategy auto: seconds for the ILP"), cl::init(60), cl::sub(runCmd));
static cl::opt<bool> runConservative("conservative", cl::desc("run --mesh: conservative conflict resolution in sharding propagation (as plan --conservative)"), cl::sub(runCmd));
static cl::opt<std::string> runPipeline("pipeline", cl::desc("run --mesh: the mesh axis whose ranks are pipeline stages (docs/pipeline.md)"), cl::value_desc("axis"), cl::sub(runCmd));
static cl::list<std::string> runStages("stages", cl::desc("run --pipeline: the tensors after which a stage ends, in model order"), cl::CommaSeparated, cl::sub(runCmd));
static cl::opt<int64_t> runMicrobatches("microbatches", cl::desc("run --pipeline: microbatches per step (the model defines one; the inputs hold all of them along dimension 0)"), cl::init(1), cl::sub(runCmd));
static cl::opt<double> runStageMemory("stage-memory-gb", cl::desc("--pipeline --stages auto: GB a stage's weights (training: with gradients and optimizer state) may take per device (default: the cluster's device memory)"), cl::init(0), cl::sub(runCmd));
static cl::opt<std::string> runSchedule("schedule", cl::desc("run --pipeline: gpipe, 1f1b, interleaved:V, zb-h1, zb-h2 (inference runs forwards only)"), cl::init("1f1b"), cl::sub(runCmd));
static cl::opt<std::string> runTrace("trace", cl::desc("run --pipeline: write the measured timeline of every rank as a Chrome trace"), cl::value_desc("file"), cl::sub(runCmd));
static cl::opt<std::string> runReport("report", cl::desc("run --mesh: write the collectives of the partitioned program as JSON"), cl::value_desc("file"), cl::sub(runCmd));

static cl::opt<std::string> inputPath(cl::Positional, cl::desc("<input>"),
                                      cl::Required, cl::sub(importCmd),
                                      cl::sub(exportCmd), cl::sub(compileCmd),
                                      cl::sub(runCmd));
static cl::opt<std::string> outputPath("o", cl::desc("Output file ('-' for stdout)"),
                                       cl::value_desc("file"), cl::init("-"),
                                       cl::sub(importCmd), cl::sub(exportCmd),
                                       cl::sub(compileCmd));
static cl::list<std::string>
    inputShapes("input-shape",
                cl::desc("Static shape for a dynamic input: NAME=D0xD1x..."),
                cl::value_desc("name=shape"), cl::sub(importCmd), cl::sub(exportCmd),
                cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<bool> summary("summary", cl::desc("Print a summary instead of MLIR"),
                             cl::sub(importCmd));
static cl::opt<bool> composites("composites",
                                cl::desc("Form composite ops (attention) after import"),
                                cl::sub(importCmd));
static cl::opt<bool> noDebugInfo("no-locations",
                                 cl::desc("Do not print locations (tensor names)"),
                                 cl::sub(importCmd));
static cl::opt<bool> verbose("v", cl::desc("Print diagnostic notes (and pipeline stages) too"),
                             cl::sub(importCmd), cl::sub(exportCmd),
                             cl::sub(compileCmd), cl::sub(runCmd));

// compile / run (docs/runtime.md).
static cl::list<std::string> runInputs("inputs", cl::desc("Input tensors (.pb or .npy), in order"),
                                       cl::CommaSeparated, cl::sub(runCmd));
static cl::list<std::string> runExpected("expected",
                                         cl::desc("Expected outputs for --check (.pb or .npy)"),
                                         cl::CommaSeparated, cl::sub(runCmd));
static cl::opt<std::string> runOutputs("outputs", cl::desc("Write outputs as DIR/output_K.npy"),
                                       cl::value_desc("dir"), cl::sub(runCmd));
static cl::opt<bool> runCheck("check", cl::desc("Compare outputs with the expected ones"),
                              cl::sub(runCmd));
static cl::opt<unsigned> runRepeat("repeat", cl::desc("Timed runs after one warm-up"),
                                   cl::init(0), cl::sub(runCmd));
static cl::opt<uint64_t> runSeed("seed", cl::desc("Seed for random inputs"), cl::init(0),
                                 cl::sub(runCmd));
static cl::opt<unsigned> runPrintLimit("print-limit",
                                       cl::desc("Elements printed per output (0: none)"),
                                       cl::init(16), cl::sub(runCmd));
static cl::opt<unsigned> runOptLevel("opt-level", cl::desc("LLVM optimization level of the JIT (0-3)"),
                                     cl::init(2), cl::sub(runCmd));
static cl::opt<bool> printIRAfterAll("print-ir-after-all",
                                     cl::desc("Print the IR after every pass"),
                                     cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<bool> embedWeights(
    "embed-weights", cl::Hidden,
    cl::desc("Compile the weights into the code instead of passing them as arguments "
             "(slower to compile, more memory; for comparison)"),
    cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<std::string> target(
    "target", cl::desc("Code for the CPU (default) or for NVIDIA GPUs (cuda: kernels and "
                       "cuBLAS, include/partita/Target/CUDA.h); cuda-on-cpu runs the CUDA "
                       "target's loop mapping on the CPU, to check it without a GPU"),
    cl::value_desc("cpu|cuda|cuda-on-cpu"), cl::init("cpu"), cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<std::string> cudaChip(
    "cuda-chip", cl::desc("GPU architecture for --target cuda (default: the device's, else sm_90)"),
    cl::value_desc("sm_XY"), cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<std::string> cudaKernels(
    "cuda-kernels", cl::desc("--target cuda: write each kernel module's cubin (or PTX with "
                             "--cuda-format isa) into DIR"),
    cl::value_desc("DIR"), cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<std::string> cudaFormat(
    "cuda-format", cl::desc("--target cuda: kernels as bin (cubin), isa (PTX) or fatbin"),
    cl::init("bin"), cl::sub(compileCmd), cl::sub(runCmd));
static cl::opt<std::string> graphLowering("graph-lowering", cl::Hidden,
                                          cl::desc("Pass or pipeline that lowers the graph dialect"),
                                          cl::sub(compileCmd), cl::sub(runCmd));

namespace {

/// Parses NAME=2x3x4 into options; false (after a diagnostic) on bad syntax.
bool parseInputShapes(partita::ImportOptions &options) {
  for (const std::string &spec : inputShapes) {
    auto [name, dims] = StringRef(spec).split('=');
    std::vector<int64_t> shape;
    SmallVector<StringRef> parts;
    dims.split(parts, 'x', -1, /*KeepEmpty=*/false);
    bool ok = !name.empty() && !dims.empty();
    for (StringRef p : parts) {
      int64_t d;
      ok &= !p.getAsInteger(10, d) && d >= 0;
      shape.push_back(d);
    }
    if (!ok) {
      llvm::errs() << "partita: error: bad --input-shape '" << spec
                   << "' (expected NAME=D0xD1x..., e.g. x=1x3x224x224)\n";
      return false;
    }
    options.inputShapes[name] = shape;
  }
  return true;
}


void printSummary(ModuleOp module, StringRef source, llvm::raw_ostream &os) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  os << "model: " << source << "\n";
  if (!func) {
    os << "(no @main function)\n";
    return;
  }
  auto nameOf = [&](DictionaryAttr attrs, unsigned i) -> std::string {
    if (attrs)
      if (auto n = attrs.getAs<StringAttr>("graph.name"))
        return n.str();
    return "#" + std::to_string(i);
  };
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    os << "input  " << nameOf(func.getArgAttrDict(i), i) << ": "
       << func.getArgument(i).getType() << "\n";
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    os << "output " << nameOf(func.getResultAttrDict(i), i) << ": "
       << func.getResultTypes()[i] << "\n";
  std::map<std::string, int64_t> counts;
  int64_t params = 0, paramBytes = 0, ops = 0;
  func.walk([&](Operation *op) {
    if (isa<func::ReturnOp>(op))
      return;
    ++ops;
    counts[op->getName().getStringRef().str()]++;
    if (auto c = dyn_cast<partita::graph::ConstantOp>(op)) {
      auto t = c.getType();
      params += t.getNumElements();
      unsigned bits = t.getElementType().getIntOrFloatBitWidth();
      paramBytes += t.getNumElements() * std::max(1u, bits / 8);
    }
  });
  os << "ops: " << ops << "\n";
  os << "constants: " << params << " elements, " << paramBytes << " bytes\n";
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](auto &a, auto &b) { return a.second > b.second; });
  for (auto &[name, n] : sorted)
    os << "  " << name << ": " << n << "\n";
}

int runImport(MLIRContext &ctx) {
  partita::ImportOptions options;
  if (!parseInputShapes(options))
    return 1;
  OwningOpRef<ModuleOp> module = partita::loadModelFile(ctx, inputPath, options);
  if (!module)
    return 1;
  if (composites) {
    PassManager pm(&ctx);
    pm.addPass(partita::graph::createGraphRecognizeComposites());
    if (failed(pm.run(*module)))
      return 1;
  }
  std::string err;
  auto out = openOutputFile(outputPath, &err);
  if (!out) {
    llvm::errs() << "partita: error: " << err << "\n";
    return 1;
  }
  if (summary) {
    printSummary(*module, inputPath, out->os());
  } else {
    OpPrintingFlags flags;
    if (!noDebugInfo)
      flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
    module->print(out->os(), flags);
  }
  out->keep();
  return 0;
}

int runExport(MLIRContext &ctx) {
  partita::ImportOptions options;
  if (!parseInputShapes(options))
    return 1;
  OwningOpRef<ModuleOp> module = partita::loadModelFile(ctx, inputPath, options);
  if (!module)
    return 1;
  std::string err;
  auto out = openOutputFile(outputPath, &err);
  if (!out) {
    llvm::errs() << "partita: error: " << err << "\n";
    return 1;
  }
  if (failed(partita::exportJson(*module, out->os())))
    return 1;
  out->keep();
  return 0;
}

int runCompileOrRun(MLIRContext &ctx) {
  partita::ImportOptions importOptions;
  if (!parseInputShapes(importOptions))
    return 1;
  // Weights are read in place from a mapping of an ONNX file: a rank reads
  // only its blocks of them, one device reads them only once compiled
  // (docs/runtime.md, "Weights").
  importOptions.mapWeights = true;
  auto load = [&](MLIRContext &c, StringRef path) {
    return partita::loadModelFile(c, path, importOptions);
  };
  partita::CompileOptions compile;
  compile.verbose = verbose;
  compile.printIRAfterAll = printIRAfterAll;
  compile.graphLoweringPass = graphLowering;
  if (embedWeights)
    compile.weightMinBytes = -1;
  if (target != "cpu" && target != "cuda" && target != "cuda-on-cpu") {
    llvm::errs() << "partita: error: unknown --target '" << target << "' (expected cpu, cuda or cuda-on-cpu)\n";
    return 1;
  }
  compile.target = target;
  compile.cudaChip = cudaChip;
  compile.cudaKernelDir = cudaKernels;
  if (cudaFormat != "bin" && cudaFormat != "isa" && cudaFormat != "fatbin") {
    llvm::errs() << "partita: error: unknown --cuda-format '" << cudaFormat
                 << "' (expected bin, isa or fatbin)\n";
    return 1;
  }
  compile.cudaFormat = cudaFormat;
  if (target == "cuda" && !runPipeline.empty()) {
    llvm::errs() << "partita: error: --target cuda with --pipeline is not implemented yet "
                    "(the pipeline executor moves host tensors); run the pipeline on the CPU "
                    "target\n";
    return 1;
  }
  if (compileCmd) {
    if (outputPath == "-") {
      llvm::errs() << "partita: error: compile needs -o ARTIFACT (a directory)\n";
      return 1;
    }
    return partita::runCompileCommand(ctx, inputPath, outputPath, compile, load);
  }
  partita::RunOptions run;
  run.compile = compile;
  run.inputFiles.assign(runInputs.begin(), runInputs.end());
  run.expectedFiles.assign(runExpected.begin(), runExpected.end());
  run.outputDir = runOutputs;
  run.check = runCheck;
  run.repeat = runRepeat;
  run.seed = runSeed;
  run.printLimit = runPrintLimit;
  run.optLevel = runOptLevel;
  if (!runMesh.empty()) {
    partita::tools::AutoStrategyOptions autoOpts;
    autoOpts.strategy = runStrategy;
    autoOpts.cluster = runCluster;
    autoOpts.solverTimeLimit = runSolverTimeLimit;
    partita::PipelineRunOptions pipe;
    pipe.axis = runPipeline;
    pipe.stages.assign(runStages.begin(), runStages.end());
    pipe.microbatches = runMicrobatches;
    pipe.schedule = runSchedule;
    pipe.stageMemoryBytes = runStageMemory * 1e9;
    pipe.traceFile = runTrace;
    return partita::tools::runDistributed(ctx, inputPath, run, runMesh, runShardings,
                                          runCollectiveTimeout, runReport, runConservative,
                                          load, autoOpts, pipe);
  }
  if (!runPipeline.empty()) {
    llvm::errs() << "partita: error: run --pipeline needs --mesh (e.g. --mesh pipe=2 --pipeline pipe)\n";
    return 1;
  }
  if (runStrategy != "none") {
    llvm::errs() << "partita: error: run --strategy needs --mesh\n";
    return 1;
  }
  return partita::runRunCommand(ctx, inputPath, run, load);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "Partita: auto-parallelizing compiler for deep learning\n");
  DialectRegistry registry;
  partita::registerAllDialects(registry);
  partita::registerCpuBackendDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  partita::OneLineDiagnostics diags(ctx, verbose);

  if (opsCmd && opsGradients) {
    partita::printGradientCoverage(ctx, llvm::outs());
    return 0;
  }
  if (opsCmd) {
    for (const std::string &op : partita::supportedOnnxOps())
      llvm::outs() << op << "\n";
    return 0;
  }
  if (partita::tools::planSelected())
    return partita::tools::runPlan(ctx);
  if (partita::tools::trainSelected())
    return partita::tools::runTrain(ctx);
  if (partita::tools::calibrateSelected())
    return partita::tools::runCalibrate();
  if (partita::tools::scheduleSelected())
    return partita::tools::runSchedule();
  if (importCmd)
    return runImport(ctx);
  if (exportCmd)
    return runExport(ctx);
  if (compileCmd || runCmd)
    return runCompileOrRun(ctx);
  llvm::errs() << "partita: error: no command given (try `partita --help`)\n";
  return 1;
}
