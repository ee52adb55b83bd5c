//===- PipelineSupport.h - what the schedule executors share ----*- C++ -*-===//
//
// Inference (Pipelined.cpp) and training (PipelinedTrain.cpp) run the same
// kind of loop over a rank's action list; the setup, microbatching,
// compilation of one function and the measured trace are here.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_LIB_DISTRIBUTED_PIPELINESUPPORT_H
#define PARTITA_LIB_DISTRIBUTED_PIPELINESUPPORT_H

#include "Blocks.h"

#include "partita/Distributed/Distributed.h"
#include "partita/Pipeline/Schedule.h"
#include "partita/Planner/Cluster.h"
#include "partita/Runtime/Executor.h"
#include "partita/Sharding/Annotations.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <memory>
#include <optional>

namespace partita::pipelined {

int fail(const llvm::Twine &msg);

/// partita_dtype U8: transfers move raw bytes.
constexpr int32_t kBytes = 9;

/// The mesh, its pipeline size and the verified schedule the flags ask for;
/// nullopt after a one-line message (flags that are not built yet are
/// refused by name).
struct PipelineSetup {
  MeshSpec mesh;
  int64_t ranks = 1; ///< the pipeline axis's size (schedule.numStages() stages)
  int pipeAxis = 0;  ///< its index in `mesh`
  /// The other axes, over which each stage is its own SPMD program, and
  /// the --shardings annotations for them (their mesh is `sub`).
  MeshSpec sub;
  ShardingSpecs specs;
  std::string specsSource; ///< the --shardings file

  pipeline::ScheduleSpec spec; ///< what --schedule asked for
  pipeline::Schedule schedule;
  int64_t worldSize() const { return ranks * subSize(); }
  int64_t subSize() const;
};
std::optional<PipelineSetup> setUpPipeline(const DistributedOptions &opts, bool training);

/// `opts` with `--stages auto` resolved (unchanged otherwise): the model's
/// layers -- runs of ops of one layer group in program order, as the cost
/// model names them, the embedding and head included -- balanced over the
/// schedule's stage count by balanceStages on their compute time on
/// `cluster` (null: this machine's cluster model); each stage ends at the
/// last named tensor of its last layer. The launcher (`print`) prints the
/// choice. nullopt after a one-line message.
std::optional<DistributedOptions> resolveStages(mlir::MLIRContext &ctx, llvm::StringRef input,
                                                const DistributedOptions &opts,
                                                const ModelLoader &load, bool print,
                                                const planner::Cluster *cluster = nullptr);

/// Where a rank sits: its pipeline coordinate (the rank in the schedule,
/// holding schedule.stagesOf(pipeRank)) and its rank in the stages' SPMD
/// programs over the other axes (row-major over `sub`).
struct PipelinePlace {
  int pipeRank = 0;
  int subRank = 0;
};
PipelinePlace placeOf(int worldRank, const PipelineSetup &setup);

/// One rank's stage, compiled: the stage function (pipeline axis alone), or
/// its SPMD program over the other axes -- the annotations propagated over
/// the whole split model (so both sides of a boundary agree), the stage
/// partitioned and its weights cut to `place.subRank`. Layouts are over
/// `setup.sub` (whole when it has no axes).
struct StageProgram {
  std::unique_ptr<Executor> exec;
  ModelSignature sig; ///< local types
  std::vector<blocks::Layout> inLayouts, outLayouts;
};
/// What every rank does to the model first: with other axes the
/// annotations attached (and with `composites` attention and the other
/// composites recognized: inference only, as training differentiates the
/// model as written); the split at --stages; with other axes the
/// propagation over the split module and each stage's results given the
/// next stage's argument shardings. Failure after a diagnostic.
mlir::LogicalResult splitAndPropagate(mlir::ModuleOp module, const PipelineSetup &setup,
                                      const PipelineRunOptions &pipe, bool composites);

/// Stage `stage`'s function after pipeline-split (@main without --stages).
mlir::func::FuncOp stageFunction(mlir::ModuleOp module, const PipelineRunOptions &pipe,
                                 int stage);

/// The function `name` of `module` (consumed) as this rank's program: kept
/// as @main; with other axes (propagated first with `propagate`: its
/// arguments' and results' shardings pinned by the caller) partitioned,
/// its constants cut to `place.subRank`, its collectives numbered by
/// stageGroupTable and its layouts read; compiled with `compile` (without:
/// stops after partitioning). Failure after a diagnostic.
mlir::LogicalResult buildRankProgram(mlir::ModuleOp module, llvm::StringRef name,
                                     const PipelineSetup &setup, PipelinePlace place,
                                     bool propagate, const CompileOptions *compile,
                                     StageProgram &out);

/// Builds (virtual) stage `stage` from the model `module` (consumed);
/// without `compile` stops after partitioning (the launcher's check).
/// Failure after a diagnostic.
mlir::LogicalResult buildStageProgram(mlir::ModuleOp module, const PipelineSetup &setup,
                                      const PipelineRunOptions &pipe, int stage,
                                      PipelinePlace place, const CompileOptions *compile,
                                      StageProgram &out);

/// On the launcher: loads the model in a scratch context (one-line
/// diagnostics), lets `validate` check it before any rank starts, and
/// relaunches under mpirun on `ranks` ranks. Returns the exit status.
int validateAndLaunch(mlir::MLIRContext &ctx, llvm::StringRef input,
                      const DistributedOptions &opts, const ModelLoader &load, int64_t ranks,
                      llvm::function_ref<mlir::LogicalResult(mlir::MLIRContext &, mlir::ModuleOp)>
                          validate,
                      llvm::StringRef what);

/// On a rank: the runtime on the whole mesh with the collective timeout
/// set, and the groups every rank registers in one order -- each nonempty
/// subset of the other axes (the stages' SPMD collectives, numbered as
/// stageGroupTable says), then the pipeline axis, whose id is returned
/// (nullopt after a message).
std::optional<int32_t> startPipelineRank(const PipelineSetup &setup, double collectiveTimeout);

/// ", V per rank" with virtual stages, else nothing (the executors' summary
/// line).
std::string perRank(const PipelineSetup &setup);

/// The group table every stage's collectives are numbered by: the nonempty
/// subsets of the other axes, in mesh order.
std::vector<std::vector<std::string>> stageGroupTable(const MeshSpec &sub);

/// Microbatch `i` of `m` of a step tensor along dimension 0: rows
/// i*b..(i+1)*b-1 (contiguous), or rows i, i+m, i+2m, ... (strided, as
/// graph-autodiff's gradient accumulation takes them).
HostTensor microbatch(const HostTensor &t, int64_t i, int64_t m, bool strided);

/// The tensors concatenated along dimension 0.
HostTensor concatenate(const std::vector<HostTensor> &parts);

/// Keeps the function `name` of `module` as its @main, erasing the other
/// functions with a body (runtime declarations stay) and the arguments'
/// initial values (graph.init: the caller passes them); null when there is
/// no such function.
mlir::func::FuncOp keepAsMain(mlir::ModuleOp module, llvm::StringRef name);

/// Compiles the function `name` of `module` (a clone of it, the function
/// as @main) for the CPU; null after a diagnostic. `sig` gets its
/// signature.
std::unique_ptr<Executor> compileFunction(mlir::ModuleOp module, llvm::StringRef name,
                                          const CompileOptions &options, ModelSignature &sig);

/// Every rank's measured actions to rank 0, which writes them as a Chrome
/// trace to `file` (seconds in the slots). A collective: all ranks call it.
int writeMeasuredTrace(const std::vector<pipeline::SimulationResult::Slot> &timeline,
                       int rank, int64_t ranks, const std::string &file);

/// Seconds spent in the receives of `timeline`.
double secondsWaiting(const std::vector<pipeline::SimulationResult::Slot> &timeline);

} // namespace partita::pipelined

#endif // PARTITA_LIB_DISTRIBUTED_PIPELINESUPPORT_H
