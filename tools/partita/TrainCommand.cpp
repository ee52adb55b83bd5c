//===- TrainCommand.cpp - `partita train` ---------------------------------===//
//
//   partita train MODEL [--inputs F,...] [--labels L] [--loss mean|sum|mse|
//                 cross_entropy] [--output NAME] [--optimizer none|sgd|adamw]
//                 [--lr X] [--momentum M] [--weight-decay W] [--clip-norm N]
//                 [--steps N] [--dump-grads DIR] [--save-weights DIR]
//
// Builds the training step (graph-autodiff), compiles it and prints the
// loss per step (lib/Runtime/Train.cpp, docs/training.md).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "partita/Import/Importer.h"
#include "partita/Runtime/Train.h"

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
static cl::opt<bool> verbose("v", cl::desc("Print diagnostic notes and pipeline stages"),
                             cl::sub(trainCmd));

namespace partita::tools {

bool trainSelected() { return static_cast<bool>(trainCmd); }

int runTrain(MLIRContext &ctx) {
  ImportOptions importOptions;
  importOptions.mapWeights = true;
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
  return runTrainCommand(ctx, input, o, load);
}

} // namespace partita::tools
