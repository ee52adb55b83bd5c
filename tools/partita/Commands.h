//===- Commands.h - subcommands of the partita CLI --------------*- C++ -*-===//
//
// Each subcommand lives in its own file and registers its llvm::cl options
// under its cl::SubCommand; main() dispatches.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_TOOLS_PARTITA_COMMANDS_H
#define PARTITA_TOOLS_PARTITA_COMMANDS_H

#include "partita/Runtime/Driver.h"

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
/// `partita run --mesh --strategy auto --cluster PRESET`.
struct AutoStrategyOptions {
  std::string strategy = "none"; ///< none | auto
  std::string cluster;           ///< preset or JSON file
  double solverTimeLimit = 60;   ///< seconds
};
/// `partita run --mesh` (RunDistributed.cpp).
int runDistributed(mlir::MLIRContext &ctx, llvm::StringRef input, const RunOptions &run,
                   llvm::StringRef mesh, llvm::StringRef shardings, double collectiveTimeout,
                   llvm::StringRef report, bool conservative, const ModelLoader &load,
                   const AutoStrategyOptions &autoOpts);

} // namespace partita::tools

#endif // PARTITA_TOOLS_PARTITA_COMMANDS_H
