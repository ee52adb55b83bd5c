//===- Train.h - `partita train` --------------------------------*- C++ -*-===//
//
// Builds the training step (graph-autodiff), compiles it for the CPU and
// runs it for a number of steps, feeding updated parameters and optimizer
// state back (docs/training.md). Every failure is a one-line diagnostic and
// a non-zero return.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_TRAIN_H
#define PARTITA_RUNTIME_TRAIN_H

#include "partita/Runtime/Driver.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace partita {

struct TrainOptions {
  /// Inputs (--inputs: @main's inputs, in order), seed, compile options.
  RunOptions run;
  /// Labels for mse / cross_entropy (.npy or .pb); seeded random ones
  /// (class indices for cross_entropy) when empty.
  std::string labelsFile;
  std::string loss = "mean";
  std::string output;
  int64_t ignoreIndex = -100;
  std::string optimizer = "sgd";
  double lr = 1e-3, momentum = 0, weightDecay = 0, clipNorm = 0;
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  unsigned steps = 1;
  /// Gradient accumulation: microbatches per step (graph-autodiff's
  /// `microbatches`).
  unsigned microbatches = 1;
  /// Activation recomputation: none, selective, full (graph-autodiff's
  /// `recompute`).
  std::string recompute = "none";
  /// Compute precision: f32 or bf16 (f32 master weights; graph-autodiff's
  /// `precision`).
  std::string precision = "f32";
  /// ZeRO stage on a mesh (0: none); reports use it for the memory model.
  int zeroStage = 0;
  std::string zeroAxis = "data";
  /// Writes the first step's gradient of every parameter as
  /// DIR/<parameter name>.npy.
  std::string dumpGradsDir;
  /// Writes the trained parameters: a directory of <parameter name>.npy,
  /// or (OUT.onnx / OUT.json) the model `modelPath` again with the trained
  /// initializers (saveTrainedWeights).
  std::string saveWeightsDir;
  /// The model file the step was built from.
  std::string modelPath;
};

/// A training step ready to compile: the module's @main is the step
/// function (graph-autodiff's @train_step), its arguments described here.
struct TrainingStep {
  /// Per argument: its role (parameter, state, input, label, step), name
  /// and first-step global value.
  std::vector<std::string> roles, names;
  std::vector<HostTensor> values;
  int stepArg = -1;
  /// f16's dynamic loss scale (a state argument; -1: none).
  int lossScaleArg = -1;
  /// Per result: the argument it replaces for the next step, and the
  /// parameter whose gradient it is (-1: neither).
  std::vector<int64_t> updates, gradientOf;

  /// The value of the step argument at step `s` (counted from 1).
  static HostTensor stepValue(unsigned s);
  /// f16: prints a line when step `s` lowered the loss scale (its
  /// gradients overflowed and the update was skipped).
  void reportSkippedUpdate(unsigned s, const std::vector<HostTensor> &args,
                           const std::vector<HostTensor> &results) const;
  /// (parameter argument, its gradient) among a step's results.
  std::vector<std::pair<unsigned, const HostTensor *>>
  gradients(const std::vector<HostTensor> &results) const;
  /// (parameter argument, its value) among the arguments.
  std::vector<std::pair<unsigned, const HostTensor *>>
  parameters(const std::vector<HostTensor> &args) const;
};

/// Runs graph-autodiff on `module`, makes the step its @main and describes
/// it in `step`: parameters from their initializers, zero optimizer state,
/// the batch and labels from the files in `options` or seeded random data.
/// Fails after a one-line diagnostic.
mlir::LogicalResult prepareTrainingStep(mlir::MLIRContext &ctx, mlir::ModuleOp module,
                                        const TrainOptions &options, TrainingStep &step);

/// A parameter's initial value (graph.init): a dense attribute, or a
/// mapped or resource blob; nullopt when its type has no host dtype.
std::optional<HostTensor> initialValue(mlir::ElementsAttr attr);

/// Median of `v` (0 when empty).
double medianOf(std::vector<double> v);


/// Prints "step S: loss L"; false after a diagnostic when L is not finite.
bool reportLoss(unsigned step, const HostTensor &loss);

/// Writes each tensor as DIR/<its argument's name>.npy.
mlir::LogicalResult writeTensors(llvm::StringRef dir, const TrainingStep &step,
                                 llvm::ArrayRef<std::pair<unsigned, const HostTensor *>> byArg);

/// Writes the trained parameters `params` (argument, value) where
/// `opts.saveWeightsDir` says: OUT.onnx or OUT.json, the model file with
/// its initializers replaced (same names); else a directory of .npy files
/// (writeTensors). Fails after a one-line message.
mlir::LogicalResult
saveTrainedWeights(const TrainOptions &opts, const TrainingStep &step,
                   llvm::ArrayRef<std::pair<unsigned, const HostTensor *>> params);

/// A markdown table of every graph op's gradient: a rule, declared none,
/// or not yet (`partita ops --gradients`; docs/training.md holds it).
void printGradientCoverage(mlir::MLIRContext &ctx, llvm::raw_ostream &os);

/// Replaces @main by the @train_step graph-autodiff added (the CPU pipeline
/// and the executor compile @main); null when there is none.
mlir::func::FuncOp makeStepTheEntry(mlir::ModuleOp module);

/// The loss and optimizer options every training pass takes
/// (passes/Autodiff/TrainingOptions.td), clip-norm aside: "loss=... lr=...".
std::string lossAndOptimizerOptions(const TrainOptions &options);

/// The graph-autodiff pipeline string for these options.
std::string autodiffPipeline(const TrainOptions &options, bool returnGrads);

int runTrainCommand(mlir::MLIRContext &ctx, llvm::StringRef input, const TrainOptions &options,
                    const ModelLoader &load);

} // namespace partita

#endif // PARTITA_RUNTIME_TRAIN_H
