//===- Solver.h - ILP choice of shardings (--strategy auto) -----*- C++ -*-===//
//
// Chooses a sharding for every op of a module's main function so that the
// predicted forward step time (roofline compute on local shapes plus
// alpha-beta resharding on def-use edges) is minimal within the per-device
// memory budget of a cluster. Candidates come from each op's sharding rule
// (every mesh axis shards at most one factor, each factor one axis set in
// mesh order, divisible splits only). Ops that must share a sharding are
// merged (elementwise/data-movement ops follow their main operand, weights
// used once take their consumer's layout), repeated layers share one set of
// variables, and the choice is an integer linear program solved with GLPK.
// The result is written back as sharding.constraint ops (and argument
// shardings), so propagation, partitioning and costing run as usual.
// docs/planner.md describes the formulation.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PLANNER_SOLVER_H
#define PARTITA_PLANNER_SOLVER_H

#include "partita/Planner/Cluster.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

namespace partita::planner {

/// Plans a training step instead of a forward pass (docs/planner.md,
/// "Training"): compute costs three forward passes (the backward is two),
/// each forward reshard has a backward conjugate of the same size, every
/// parameter's gradient is all-reduced over the mesh axes the parameter is
/// replicated on, all activations are live at the start of the backward,
/// and each parameter holds its gradient and optimizer state
/// (trainingStateBytes), divided over `zeroAxis` by the ZeRO stage.
struct TrainingModel {
  /// Optimizer state tensors per parameter: 0 SGD, 1 SGD with momentum,
  /// 2 AdamW.
  unsigned optimizerStates = 0;
  /// The data-parallel axis ZeRO shards over.
  std::string zeroAxis = "data";
  /// 0-3; -1: the lowest stage whose plan fits the memory budget.
  int zeroStage = -1;
  /// Activation recomputation (graph-autodiff's `recompute`): `full` costs
  /// a fourth forward pass and keeps one layer's activations live at a
  /// time; `selective` is costed as none (its saving, the attention core,
  /// is not modeled yet).
  std::string recompute = "none";
};

struct SolverOptions {
  /// Wall-clock limit of the ILP solve in seconds; on expiry the best plan
  /// found so far is used.
  double timeLimit = 60;
  /// Progress and summary lines (null: silent).
  llvm::raw_ostream *log = nullptr;
  /// Per-device memory budget in bytes; 0: the cluster's device memory.
  double memoryBudget = 0;
  /// Set: plan a training step (TrainingModel).
  std::optional<TrainingModel> training;
};

/// The layout the solver chose for a named function argument or trainable
/// initializer (a training step's parameter): mesh axes per dimension.
struct SourceLayout {
  std::string name;
  std::vector<std::vector<std::string>> dims;
};

struct SolverResult {
  unsigned ops = 0;          ///< ops considered
  unsigned groups = 0;       ///< decision groups after merging and tying
  unsigned variables = 0;    ///< ILP columns
  unsigned constraints = 0;  ///< ILP rows
  unsigned tiedLayers = 0;   ///< layers that reuse another layer's choice
  double predictedTime = 0;  ///< objective, seconds (the solver's model)
  double predictedMemory = 0;///< memory term of the chosen plan, bytes
  double solveSeconds = 0;   ///< wall time of the whole solve
  bool timedOut = false;     ///< the time limit cut the search short
  bool optimal = false;      ///< the ILP was solved to optimality
  bool fitsBudget = true;    ///< the memory constraint could be met
  std::string status;        ///< one line describing how the solve ended
  /// Training: the ZeRO stage chosen (or given) and the memory of the plan
  /// by kind, bytes per device.
  int zeroStage = 0;
  double parameterMemory = 0, gradientMemory = 0, optimizerMemory = 0;
  double activationMemory = 0, inputMemory = 0;
  /// Layouts of the named arguments and trainable initializers.
  std::vector<SourceLayout> sources;
};

/// Picks shardings for `module` (which must declare a sharding.mesh; user
/// annotations, i.e. argument shardings and sharding.constraint ops, are
/// kept as constraints) and writes them as constraints. Fails with a
/// one-line `error`.
mlir::FailureOr<SolverResult> solveShardings(mlir::ModuleOp module, const Cluster &cluster,
                                             const SolverOptions &options,
                                             std::string &error);

} // namespace partita::planner

#endif // PARTITA_PLANNER_SOLVER_H
