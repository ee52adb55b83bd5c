//===- Commands.h - subcommands of the partita CLI --------------*- C++ -*-===//
//
// Each subcommand lives in its own file and registers its llvm::cl options
// under its cl::SubCommand; main() dispatches.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_TOOLS_PARTITA_COMMANDS_H
#define PARTITA_TOOLS_PARTITA_COMMANDS_H

#include "partita/Planner/Cluster.h"
#include "partita/Runtime/Driver.h"
#include "partita/Sharding/Annotations.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace partita::tools {

bool planSelected();
int runPlan(mlir::MLIRContext &ctx);
/// `partita train` (TrainCommand.cpp).
bool trainSelected();
int runTrain(mlir::MLIRContext &ctx);
/// `partita calibrate` (CalibrateCommand.cpp).
bool calibrateSelected();
int runCalibrate();
/// `partita schedule` (ScheduleCommand.cpp).
bool scheduleSelected();
int runSchedule();
/// `partita run --mesh --strategy auto --cluster PRESET`.
struct AutoStrategyOptions {
  std::string strategy = "none"; ///< none | auto
  std::string cluster;           ///< preset or JSON file
  double solverTimeLimit = 60;   ///< seconds
};
/// What the launcher of `run --strategy auto` and `train --strategy auto`
/// solves on: the --mesh, the cluster (printed, with how many ranks share a
/// device), the user's --shardings, and the model loaded and annotated.
struct AutoPlanInput {
  MeshSpec mesh;
  planner::Cluster cluster;
  ShardingSpecs user;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};
/// Failure after a one-line message (RunDistributed.cpp).
mlir::FailureOr<AutoPlanInput> prepareAutoPlan(mlir::MLIRContext &ctx, llvm::StringRef input,
                                               llvm::StringRef meshFlag,
                                               llvm::StringRef shardings,
                                               llvm::StringRef cluster,
                                               const ModelLoader &load);

/// `partita run --mesh` (RunDistributed.cpp).
int runDistributed(mlir::MLIRContext &ctx, llvm::StringRef input, const RunOptions &run,
                   llvm::StringRef mesh, llvm::StringRef shardings, double collectiveTimeout,
                   llvm::StringRef report, bool conservative, const ModelLoader &load,
                   const AutoStrategyOptions &autoOpts, const PipelineRunOptions &pipeline);

} // namespace partita::tools

#endif // PARTITA_TOOLS_PARTITA_COMMANDS_H
