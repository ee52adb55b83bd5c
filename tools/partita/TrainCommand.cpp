//===- TrainCommand.cpp - `partita train` ---------------------------------===//
//
//   partita train MODEL [--inputs F,...] [--labels L] [--loss mean|sum|mse|
//                 cross_entropy] [--output NAME] [--optimizer none|sgd|adamw]
//                 [--lr X] [--momentum M] [--weight-decay W] [--clip-norm N]
//                 [--steps N] [--microbatches K] [--recompute none|selective|full]
//                 [--precision f32|bf16|f16] [--dump-grads DIR]
//                 [--save-weights DIR]
//                 [--mesh pipe=P --pipeline pipe --stages T,... [--schedule S]
//                  [--trace F] [--check]]
//                 [--mesh AXES [--shardings FILE] [--zero 1|2|3]
//                  [--strategy auto [--cluster C] [--memory-budget-gb G]]
//                  [--check]]
//
// Builds the training step (graph-autodiff), compiles it and prints the
// loss per step (lib/Runtime/Train.cpp, docs/training.md).
//
// --strategy auto: the launcher solves the forward model as a training step
// (planner::TrainingModel: the ZeRO stage is the lowest that fits the
// budget unless --zero names one), prints the choice and its memory, and
// writes the layouts of the inputs and parameters (with the user's
// --shardings) to a temporary --shardings file named in PARTITA_TRAIN_PLAN,
// the stage in PARTITA_TRAIN_ZERO. The ranks train as if those had been
// given as --shardings and --zero.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "partita/Import/Importer.h"
#include "partita/Planner/CostModel.h"
#include "partita/Planner/Solver.h"
#include "partita/Runtime/Train.h"
#include "partita/Sharding/Annotations.h"
#ifdef PARTITA_HAVE_DISTRIBUTED
#include "partita/Distributed/Distributed.h"
#include "partita/Distributed/Zero.h"
#endif

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Process.h"

#include <cstdlib>

using namespace mlir;
namespace cl = llvm::cl;

static cl::SubCommand trainCmd("train", "Train a model on the CPU (one device)");
static cl::opt<std::string> input(cl::Positional, cl::desc("<model>"), cl::Required,
                                  cl::sub(trainCmd));
static cl::list<std::string> inputs("inputs", cl::desc("The batch: @main's inputs (.pb or .npy), "
                                                       "in order (default: seeded random data)"),
                                    cl::CommaSeparated, cl::sub(trainCmd));
static cl::opt<std::string> labels("labels", cl::desc("Labels for mse / cross_entropy (.npy or "
                                                      ".pb; default: seeded random)"),
                                   cl::sub(trainCmd));
static cl::opt<std::string> loss("loss", cl::desc("mean | sum (of the output) | mse | "
                                                  "cross_entropy"),
                                 cl::init("mean"), cl::sub(trainCmd));
static cl::opt<std::string> output("output", cl::desc("The output the loss is on (default: the "
                                                      "first)"),
                                   cl::sub(trainCmd));
static cl::opt<int64_t> ignoreIndex("ignore-index", cl::desc("cross_entropy: labels not counted"),
                                    cl::init(-100), cl::sub(trainCmd));
static cl::opt<std::string> optimizer("optimizer", cl::desc("none | sgd | adamw"),
                                      cl::init("sgd"), cl::sub(trainCmd));
static cl::opt<double> lr("lr", cl::desc("Learning rate"), cl::init(1e-3), cl::sub(trainCmd));
static cl::opt<double> momentum("momentum", cl::desc("SGD momentum"), cl::init(0),
                                cl::sub(trainCmd));
static cl::opt<double> weightDecay("weight-decay", cl::desc("AdamW decoupled / SGD L2 weight "
                                                            "decay"),
                                   cl::init(0), cl::sub(trainCmd));
static cl::opt<double> clipNorm("clip-norm", cl::desc("Clip gradients to this global norm "
                                                      "(0: off)"),
                                cl::init(0), cl::sub(trainCmd));
static cl::opt<unsigned> steps("steps", cl::desc("Training steps"), cl::init(1),
                               cl::sub(trainCmd));
static cl::opt<unsigned> microbatches("microbatches",
                                      cl::desc("Gradient accumulation: each step takes this "
                                               "many of the model's batches (inputs and "
                                               "labels K times as long; microbatch m is rows "
                                               "m, m+K, ...), one update"),
                                      cl::init(1), cl::sub(trainCmd));
static cl::opt<std::string> recompute("recompute",
                                      cl::desc("Activation recomputation per named layer: none, "
                                               "selective (the attention core) or full"),
                                      cl::init("none"), cl::sub(trainCmd));
static cl::opt<std::string> precision("precision",
                                      cl::desc("f32 (default), bf16 or f16 (with a dynamic "
                                               "loss scale): the forward and backward in "
                                               "16 bits, f32 master weights, optimizer "
                                               "state and loss"),
                                      cl::init("f32"), cl::sub(trainCmd));
static cl::opt<uint64_t> seed("seed", cl::desc("Seed for random inputs and labels"), cl::init(0),
                              cl::sub(trainCmd));
static cl::opt<std::string> dumpGrads("dump-grads", cl::desc("Write the first step's gradient "
                                                             "of every parameter as "
                                                             "DIR/<name>.npy"),
                                      cl::value_desc("dir"), cl::sub(trainCmd));
static cl::opt<std::string> saveWeights("save-weights", cl::desc("Write the trained model as "
                                                                 "OUT.onnx / OUT.json (the "
                                                                 "input's format), or the "
                                                                 "parameters as DIR/<name>.npy"),
                                        cl::value_desc("out"), cl::sub(trainCmd));
static cl::opt<std::string> mesh("mesh", cl::desc("Train on a device mesh NAME=SIZE[,...] (one "
                                                  "MPI rank per device)"),
                                 cl::value_desc("axes"), cl::sub(trainCmd));
static cl::opt<std::string> shardings("shardings", cl::desc("--mesh: sharding annotations (JSON) "
                                                            "of inputs and parameters"),
                                      cl::value_desc("file"), cl::sub(trainCmd));
static cl::opt<bool> check("check", cl::desc("--mesh: run the same steps on one device and "
                                             "compare the losses and trained weights"),
                           cl::sub(trainCmd));
static cl::opt<double> collectiveTimeout("collective-timeout",
                                         cl::desc("--mesh: seconds one collective may take"),
                                         cl::init(30), cl::sub(trainCmd));
static cl::opt<int> zero("zero", cl::desc("--mesh: ZeRO stage 1 (optimizer state), 2 (and "
                                          "gradients) or 3 (and parameters) over --zero-axis "
                                          "(default: none; with --strategy auto the lowest "
                                          "stage that fits the memory budget)"),
                         cl::init(-1), cl::sub(trainCmd));
static cl::opt<std::string> zeroAxis("zero-axis", cl::desc("The data-parallel mesh axis ZeRO "
                                                           "shards over"),
                                     cl::init("data"), cl::sub(trainCmd));
static cl::opt<std::string> report("report", cl::desc("--mesh: write the collectives of the "
                                                      "partitioned step as JSON"),
                                   cl::value_desc("file"), cl::sub(trainCmd));
static cl::opt<std::string> strategy("strategy", cl::desc("--mesh: none (default): the "
                                                          "--shardings annotations; auto: "
                                                          "choose the shardings and the ZeRO "
                                                          "stage for --cluster"),
                                     cl::init("none"), cl::sub(trainCmd));
static cl::opt<std::string> cluster("cluster", cl::desc("--strategy auto: cluster preset or "
                                                        "JSON file (default: this machine)"),
                                    cl::sub(trainCmd));
static cl::opt<double> memoryBudget("memory-budget-gb", cl::desc("--strategy auto: per-device "
                                                                 "memory budget in GB "
                                                                 "(default: the cluster's)"),
                                    cl::init(0), cl::sub(trainCmd));
static cl::opt<double> solverTimeLimit("solver-time-limit", cl::desc("--strategy auto: seconds "
                                                                     "for the ILP"),
                                       cl::init(60), cl::sub(trainCmd));
static cl::opt<std::string> pipelineAxis("pipeline", cl::desc("--mesh: the mesh axis whose ranks "
                                                            "are pipeline stages; --microbatches "
                                                            "then counts the schedule's "
                                                            "microbatches (docs/pipeline.md)"),
                                         cl::value_desc("axis"), cl::sub(trainCmd));
static cl::list<std::string> stages("stages", cl::desc("--pipeline: the tensors after which a "
                                                       "stage ends, in model order"),
                                    cl::CommaSeparated, cl::sub(trainCmd));
static cl::opt<double> stageMemory("stage-memory-gb", cl::desc("--pipeline --stages auto: GB a stage's weights (training: with gradients and optimizer state) may take per device (default: the cluster's device memory)"),
                                   cl::init(0), cl::sub(trainCmd));
static cl::opt<std::string> schedule("schedule", cl::desc("--pipeline: gpipe, 1f1b, "
                                                          "interleaved:V, zb-h1, zb-h2 or zb-v"),
                                     cl::init("1f1b"), cl::sub(trainCmd));
static cl::opt<std::string> trace("trace", cl::desc("--pipeline: write the last step's measured "
                                                    "timeline of every rank as a Chrome trace"),
                                  cl::value_desc("file"), cl::sub(trainCmd));
static cl::opt<std::string> target(
    "target", cl::desc("The step's code: cpu (default), cuda (kernels and cuBLAS on the GPU, "
                       "NCCL on a mesh) or cuda-on-cpu (the CUDA mapping run on the CPU)"),
    cl::value_desc("cpu|cuda|cuda-on-cpu"), cl::init("cpu"), cl::sub(trainCmd));
static cl::opt<bool> verbose("v", cl::desc("Print diagnostic notes and pipeline stages"),
                             cl::sub(trainCmd));

namespace partita::tools {
namespace {

constexpr const char *kPlanEnv = "PARTITA_TRAIN_PLAN";
constexpr const char *kZeroEnv = "PARTITA_TRAIN_ZERO";

int fail(const llvm::Twine &msg) {
  llvm::errs() << "partita: error: " << msg << "\n";
  return 1;
}

#ifdef PARTITA_HAVE_DISTRIBUTED
/// The user's --shardings (or the planner's), then ZeRO's annotations at a
/// weaker priority (ZeRO's win where both name a parameter: they extend
/// the user's layout).
LogicalResult annotateZero(ModuleOp module, const TrainingStep &step, StringRef shardingsFile,
                           int stage) {
  std::string error;
  auto fail = [&]() { return emitError(module.getLoc()) << error; };
  auto meshSpec = parseMeshFlag(mesh, error);
  if (failed(meshSpec))
    return fail();
  ShardingSpecs user;
  if (!shardingsFile.empty()) {
    auto s = readShardingsFile(shardingsFile, error);
    if (failed(s))
      return fail();
    user = *s;
  }
  auto z = zeroShardings(module, step, *meshSpec, stage, zeroAxis, user, error);
  if (failed(z))
    return fail();
  // After the user's: the batch split (and any model split) propagates
  // first, so gradients come out of the backward as partial sums over the
  // data axis and the state's split turns their all_reduce into a
  // reduce_scatter, instead of the state's split propagating back into the
  // activations.
  z->priority = 1;
  std::string zeroFlag = "--zero " + std::to_string(stage);
  std::string origin = shardingsFile.empty() ? zeroFlag : shardingsFile.str();
  if (failed(applyShardingAnnotations(module, *meshSpec, user, origin)))
    return failure();
  return applyShardingAnnotations(module, *meshSpec, *z, zeroFlag);
}
#endif

/// Optimizer state tensors per parameter, as graph-autodiff builds them.
unsigned optimizerStates() {
  if (optimizer == "adamw")
    return 2;
  return optimizer == "sgd" && momentum != 0 ? 1 : 0;
}

/// --strategy auto on the launcher: plans the training step of `input`,
/// prints the plan and writes it as a --shardings file to `planFile`.
/// Returns the ZeRO stage.
FailureOr<int> planTraining(MLIRContext &ctx, const ModelLoader &load, StringRef planFile) {
  auto in = prepareAutoPlan(ctx, input, mesh, shardings, cluster, load);
  if (failed(in))
    return failure();
  std::string error;
  const ShardingSpecs &user = in->user;
  OwningOpRef<ModuleOp> module = std::move(in->module);
  const planner::Cluster *c = &in->cluster;
  planner::SolverOptions options;
  options.timeLimit = solverTimeLimit;
  options.memoryBudget = memoryBudget * 1e9;
  options.training = planner::TrainingModel{optimizerStates(), zeroAxis, zero, recompute};
  auto solved = planner::solveShardings(*module, *c, options, error);
  if (failed(solved))
    return fail(error), failure();
  using planner::formatBytes;
  double budget = options.memoryBudget > 0 ? options.memoryBudget : c->device.memoryBytes;
  llvm::outs() << "strategy auto: training step, " << solved->ops << " forward ops in "
               << solved->groups << " groups; " << solved->status << " in "
               << llvm::format("%.3f", solved->solveSeconds) << " s\n";
  llvm::outs() << "strategy auto: "
               << (solved->zeroStage ? "ZeRO-" + std::to_string(solved->zeroStage) +
                                           " over '" + zeroAxis + "'"
                                     : std::string("no ZeRO"))
               << (zero >= 0 ? " (--zero)" : solved->fitsBudget ? " (the lowest stage that fits)"
                                                                : " (nothing fits)")
               << "; predicted per device: parameters " << formatBytes(solved->parameterMemory)
               << " + gradients " << formatBytes(solved->gradientMemory)
               << " + optimizer state " << formatBytes(solved->optimizerMemory)
               << " + activations " << formatBytes(solved->activationMemory) << " + inputs "
               << formatBytes(solved->inputMemory) << " = "
               << formatBytes(solved->predictedMemory) << " of " << formatBytes(budget)
               << "; step " << planner::formatSeconds(solved->predictedTime) << "\n";
  ShardingSpecs plan = user;
  plan.mesh = in->mesh;
  for (const planner::SourceLayout &src : solved->sources) {
    if (llvm::any_of(user.tensors, [&](auto &t) { return t.first == src.name; }))
      continue;
    std::vector<DimSpec> dims;
    for (const auto &axes : src.dims)
      dims.push_back(DimSpec{axes, false});
    plan.tensors.push_back({src.name, dims});
    llvm::outs() << "  " << src.name << " [";
    for (auto [i, axes] : llvm::enumerate(src.dims))
      llvm::outs() << (i ? ", " : "") << (axes.empty() ? "-" : llvm::join(axes, "+"));
    llvm::outs() << "]\n";
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(planFile, ec);
  if (ec)
    return fail("cannot write the plan to '" + planFile + "': " + ec.message()), failure();
  os << formatShardings(plan);
  llvm::outs().flush(); // before the ranks write
  if (!solved->fitsBudget)
    llvm::errs() << "partita: warning: --strategy auto: " << solved->status << "\n";
  return solved->zeroStage;
}

} // namespace

bool trainSelected() { return static_cast<bool>(trainCmd); }

int runTrain(MLIRContext &ctx) {
  ImportOptions importOptions;
  importOptions.mapWeights = true;
  importOptions.keepFloatInitializers = true;
  auto load = [&](MLIRContext &c, StringRef path) {
    return loadModelFile(c, path, importOptions);
  };
  TrainOptions o;
  o.run.compile.verbose = verbose;
  if (target != "cpu" && target != "cuda" && target != "cuda-on-cpu")
    return fail("unknown --target '" + target + "' (expected cpu, cuda or cuda-on-cpu)");
  if (target != "cpu" && !pipelineAxis.empty())
    return fail("--target " + target + " with --pipeline is not implemented yet (the pipeline "
                "executor moves host tensors); train the pipeline on the CPU target");
  o.run.compile.target = target;
  o.run.inputFiles.assign(inputs.begin(), inputs.end());
  o.run.seed = seed;
  o.labelsFile = labels;
  o.loss = loss;
  o.output = output;
  o.ignoreIndex = ignoreIndex;
  o.optimizer = optimizer;
  o.lr = lr;
  o.momentum = momentum;
  o.weightDecay = weightDecay;
  o.clipNorm = clipNorm;
  o.steps = steps;
  o.microbatches = microbatches;
  o.recompute = recompute;
  o.precision = precision;
  o.dumpGradsDir = dumpGrads;
  o.saveWeightsDir = saveWeights;
  o.modelPath = input;
  if (o.steps == 0)
    return fail("--steps must be at least 1");
  if (o.microbatches == 0)
    return fail("--microbatches must be at least 1");
  if (precision != "f32" && precision != "bf16" && precision != "f16")
    return fail("unknown --precision '" + precision + "' (expected f32, bf16 or f16)");
  if (recompute != "none" && recompute != "selective" && recompute != "full")
    return fail("unknown --recompute '" + recompute + "' (expected none, selective or full)");
  if (strategy != "none" && strategy != "auto")
    return fail("unknown --strategy '" + strategy + "' (expected none or auto)");
  if (zero > 3 || zero < -1 || (zero == 0 && strategy != "auto"))
    return fail("--zero must be 1, 2 or 3" +
                std::string(strategy == "auto" ? " (or 0: none)" : "") + ", got " +
                std::to_string(zero));
  if (mesh.empty()) {
    if (!shardings.empty() || check || zero >= 0 || strategy == "auto" || !pipelineAxis.empty())
      return fail("train --shardings, --check, --zero, --strategy and --pipeline need --mesh");
    return runTrainCommand(ctx, input, o, load);
  }
#ifdef PARTITA_HAVE_DISTRIBUTED
  if (!pipelineAxis.empty()) {
    if (strategy != "none")
      return fail("train --pipeline with --strategy auto is not built yet (docs/pipeline.md)");
    o.zeroStage = std::max<int>(zero, 0);
    DistributedTraining training{o, {}};
    DistributedOptions d;
    d.run = o.run;
    d.run.check = check;
    d.mesh = mesh;
    d.shardingsFile = shardings;
    d.collectiveTimeout = collectiveTimeout;
    d.reportFile = report;
    d.training = &training;
    d.pipeline.axis = pipelineAxis;
    d.pipeline.stages.assign(stages.begin(), stages.end());
    d.pipeline.microbatches = microbatches;
    d.pipeline.schedule = schedule;
    d.pipeline.stageMemoryBytes = stageMemory * 1e9;
    d.pipeline.traceFile = trace;
    // The ranks split the forward model; the step is built per stage.
    return runDistributedCommand(ctx, input, d, load);
  }
  std::string shardingsFile = shardings;
  int stage = std::max<int>(zero, 0);
  llvm::SmallString<128> planFile; // the launcher's, removed at the end
  if (strategy == "auto") {
    if (const char *p = std::getenv(kPlanEnv)) {
      shardingsFile = p;
      const char *z = std::getenv(kZeroEnv);
      stage = z ? std::atoi(z) : 0;
    } else {
      int fd;
      if (llvm::sys::fs::createTemporaryFile("partita-train-plan", "json", fd, planFile))
        return fail("cannot create a temporary file for the plan");
      llvm::sys::Process::SafelyCloseFileDescriptor(fd);
      auto planned = planTraining(ctx, load, planFile);
      if (failed(planned)) {
        llvm::sys::fs::remove(planFile);
        return 1;
      }
      stage = *planned;
      shardingsFile = planFile.str().str();
      ::setenv(kPlanEnv, planFile.c_str(), 1);
      ::setenv(kZeroEnv, std::to_string(stage).c_str(), 1);
    }
  }
  o.zeroStage = stage;
  o.zeroAxis = zeroAxis;
  DistributedTraining training{o, {}};
  DistributedOptions d;
  d.run = o.run;
  d.run.check = check;
  d.mesh = mesh;
  // ZeRO's annotations are added to the shardings, and both applied here.
  d.shardingsFile = stage ? std::string() : shardingsFile;
  d.collectiveTimeout = collectiveTimeout;
  d.reportFile = report;
  d.training = &training;
  // Every load (the launcher's check, each rank) builds the same step.
  auto loadStep = [&](MLIRContext &c, StringRef path) -> OwningOpRef<ModuleOp> {
    OwningOpRef<ModuleOp> m = load(c, path);
    if (!m || failed(prepareTrainingStep(c, *m, o, training.step)))
      return nullptr;
    if (stage && failed(annotateZero(*m, training.step, shardingsFile, stage)))
      return nullptr;
    return m;
  };
  int rc = runDistributedCommand(ctx, input, d, loadStep);
  if (!planFile.empty()) {
    ::unsetenv(kPlanEnv);
    ::unsetenv(kZeroEnv);
    llvm::sys::fs::remove(planFile);
  }
  return rc;
#else
  return fail("train --mesh needs MPI (this build has none)");
#endif
}

} // namespace partita::tools
