//===- TrainCommand.cpp - `partita train` ---------------------------------===//
//
//   partita train MODEL [--inputs F,...] [--labels L] [--loss mean|sum|mse|
//                 cross_entropy] [--output NAME] [--optimizer none|sgd|adamw]
//                 [--lr X] [--momentum M] [--weight-decay W] [--clip-norm N]
//                 [--steps N] [--dump-grads DIR] [--save-weights DIR]
//                 [--mesh AXES --shardings FILE [--check]]
//
// Builds the training step (graph-autodiff), compiles it and prints the
// loss per step (lib/Runtime/Train.cpp, docs/training.md).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "partita/Import/Importer.h"
#include "partita/Runtime/Train.h"
#ifdef PARTITA_HAVE_DISTRIBUTED
#include "partita/Distributed/Distributed.h"
#include "partita/Distributed/Zero.h"
#endif

#include "llvm/Support/CommandLine.h"

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
static cl::opt<uint64_t> seed("seed", cl::desc("Seed for random inputs and labels"), cl::init(0),
                              cl::sub(trainCmd));
static cl::opt<std::string> dumpGrads("dump-grads", cl::desc("Write the first step's gradient "
                                                             "of every parameter as "
                                                             "DIR/<name>.npy"),
                                      cl::value_desc("dir"), cl::sub(trainCmd));
static cl::opt<std::string> saveWeights("save-weights", cl::desc("Write the trained parameters "
                                                                 "as DIR/<name>.npy"),
                                        cl::value_desc("dir"), cl::sub(trainCmd));
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
                                          "gradients) or 3 (and parameters) over --zero-axis"),
                         cl::init(0), cl::sub(trainCmd));
static cl::opt<std::string> zeroAxis("zero-axis", cl::desc("The data-parallel mesh axis ZeRO "
                                                           "shards over"),
                                     cl::init("data"), cl::sub(trainCmd));
static cl::opt<std::string> report("report", cl::desc("--mesh: write the collectives of the "
                                                      "partitioned step as JSON"),
                                   cl::value_desc("file"), cl::sub(trainCmd));
static cl::opt<bool> verbose("v", cl::desc("Print diagnostic notes and pipeline stages"),
                             cl::sub(trainCmd));

namespace partita::tools {
namespace {

#ifdef PARTITA_HAVE_DISTRIBUTED
/// The user's --shardings, then ZeRO's annotations at a weaker priority
/// (ZeRO's win where both name a parameter: they extend the user's layout).
LogicalResult annotateZero(ModuleOp module, const TrainingStep &step) {
  std::string error;
  auto fail = [&]() { return emitError(module.getLoc()) << error; };
  auto meshSpec = parseMeshFlag(mesh, error);
  if (failed(meshSpec))
    return fail();
  ShardingSpecs user;
  if (!shardings.empty()) {
    auto s = readShardingsFile(shardings, error);
    if (failed(s))
      return fail();
    user = *s;
  }
  auto z = zeroShardings(module, step, *meshSpec, zero, zeroAxis, user, error);
  if (failed(z))
    return fail();
  // After the user's: the batch split (and any model split) propagates
  // first, so gradients come out of the backward as partial sums over the
  // data axis and the state's split turns their all_reduce into a
  // reduce_scatter, instead of the state's split propagating back into the
  // activations.
  z->priority = 1;
  std::string origin = shardings.empty() ? "--zero " + std::to_string(zero) : shardings.getValue();
  if (failed(applyShardingAnnotations(module, *meshSpec, user, origin)))
    return failure();
  return applyShardingAnnotations(module, *meshSpec, *z, "--zero " + std::to_string(zero));
}
#endif

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
  o.dumpGradsDir = dumpGrads;
  o.saveWeightsDir = saveWeights;
  o.zeroStage = zero;
  if (o.steps == 0) {
    llvm::errs() << "partita: error: --steps must be at least 1\n";
    return 1;
  }
  if (mesh.empty()) {
    if (!shardings.empty() || check || zero) {
      llvm::errs() << "partita: error: train --shardings, --check and --zero need --mesh\n";
      return 1;
    }
    return runTrainCommand(ctx, input, o, load);
  }
#ifdef PARTITA_HAVE_DISTRIBUTED
  DistributedTraining training{o, {}};
  DistributedOptions d;
  d.run = o.run;
  d.run.check = check;
  d.mesh = mesh;
  d.shardingsFile = shardings;
  d.collectiveTimeout = collectiveTimeout;
  d.reportFile = report;
  d.training = &training;
  // ZeRO's annotations are added to the user's, and both applied here.
  if (zero)
    d.shardingsFile.clear();
  // Every load (the launcher's check, each rank) builds the same step.
  auto loadStep = [&](MLIRContext &c, StringRef path) -> OwningOpRef<ModuleOp> {
    OwningOpRef<ModuleOp> m = load(c, path);
    if (!m || failed(prepareTrainingStep(c, *m, o, training.step)))
      return nullptr;
    if (zero && failed(annotateZero(*m, training.step)))
      return nullptr;
    return m;
  };
  return runDistributedCommand(ctx, input, d, loadStep);
#else
  llvm::errs() << "partita: error: train --mesh needs MPI (this build has none)\n";
  return 1;
#endif
}

} // namespace partita::tools
