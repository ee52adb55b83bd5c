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
  /// Writes the first step's gradient of every parameter as
  /// DIR/<parameter name>.npy.
  std::string dumpGradsDir;
  /// Writes the trained parameters as DIR/<parameter name>.npy.
  std::string saveWeightsDir;
};

/// A markdown table of every graph op's gradient: a rule, declared none,
/// or not yet (`partita ops --gradients`; docs/training.md holds it).
void printGradientCoverage(mlir::MLIRContext &ctx, llvm::raw_ostream &os);

/// Replaces @main by the @train_step graph-autodiff added (the CPU pipeline
/// and the executor compile @main); null when there is none.
mlir::func::FuncOp makeStepTheEntry(mlir::ModuleOp module);

/// The graph-autodiff pipeline string for these options.
std::string autodiffPipeline(const TrainOptions &options, bool returnGrads);

int runTrainCommand(mlir::MLIRContext &ctx, llvm::StringRef input, const TrainOptions &options,
                    const ModelLoader &load);

} // namespace partita

#endif // PARTITA_RUNTIME_TRAIN_H
