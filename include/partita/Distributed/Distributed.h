//===- Distributed.h - `partita run --mesh`: one SPMD program per rank -*- C++ -*-===//
//
// Without a launcher the command re-executes itself under
// `mpirun -np N` (N = product of the mesh). Under a launcher each process is
// one rank: import, annotate (--shardings), propagate, partition, lower the
// collectives to runtime calls, compile, run on this rank's input blocks
// (split as `sharding.partitioned` says); rank 0 gathers the output blocks,
// prints them and, with --check, compares them with the expected outputs
// (a backend-test directory's, --expected files, or else a single-device
// run of the same model on rank 0).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_DISTRIBUTED_DISTRIBUTED_H
#define PARTITA_DISTRIBUTED_DISTRIBUTED_H

#include "partita/Planner/Cluster.h"
#include "partita/Runtime/Driver.h"
#include "partita/Runtime/Train.h"

namespace partita {

/// `partita train --mesh`: the module the loader gives is a training step
/// (the loader runs prepareTrainingStep into `step`).
struct DistributedTraining {
  TrainOptions options;
  TrainingStep step;
};

struct DistributedOptions {
  RunOptions run;
  std::string mesh;          ///< "data=2,model=2"
  std::string shardingsFile; ///< optional --shardings FILE
  double collectiveTimeout = 30; ///< seconds per collective (0: none)
  std::string reportFile;        ///< --report FILE.json (rank 0 writes it)
  bool conservative = false;     ///< --conservative propagation on the ranks
  /// Training instead of one inference run: each rank runs
  /// training->options.steps steps, results that update an argument replace
  /// its block; rank 0 prints the losses, writes --dump-grads and
  /// --save-weights, and with --check compares losses and weights with the
  /// same steps on one device.
  DistributedTraining *training = nullptr;
  PipelineRunOptions pipeline;
};

/// Whether this process is one rank started by an MPI launcher (mpirun).
bool underLauncher();

/// Re-executes this process's command line under
/// `mpirun --oversubscribe -np RANKS` and waits; returns its exit code, or 1
/// after a one-line cause (`WHAT needs N ranks, but mpirun is not installed`).
/// Each rank sees underLauncher() true. Fault lines of crashed or stuck ranks
/// are printed here, root cause first.
int relaunchUnderMpirun(int64_t ranks, llvm::StringRef what);

/// The schedule executor: each rank runs its stages of the model on the
/// microbatches in its schedule's order, each stage an SPMD program over
/// the other mesh axes (inference, or training with options.training).
/// Called by runDistributedCommand when options.pipeline.axis is set.
int runPipelinedCommand(mlir::MLIRContext &ctx, llvm::StringRef input,
                        const DistributedOptions &options, const ModelLoader &load);

/// Rank 0's end of a run: prints each output's type and shape, writes
/// RUN.outputDir/output_K.npy, and with `expected` prints OK or MISMATCH
/// (max errors) per output. Returns the exit code.
int reportOutputs(const std::vector<TensorSpec> &specs, const std::vector<HostTensor> &outputs,
                  const std::vector<HostTensor> *expected, const RunOptions &run);

/// --check of a training run on rank 0: the same steps of `training.step`
/// (compiled from `reference`, the step module) on one device, every step's
/// loss and the trained parameters (`params`, by step argument) compared
/// with the ranks'. 0 when all match, else 1 after the mismatches.
int checkTrainingOnOneDevice(const DistributedTraining &training, mlir::ModuleOp reference,
                             const CompileOptions &compile, const std::vector<double> &losses,
                             const std::vector<HostTensor> &params);

/// `partita train --pipeline`: the training schedule executor
/// (lib/Distributed/PipelinedTrain.cpp, docs/pipeline.md); runPipelinedCommand
/// calls it with `--stages auto` resolved.
int runPipelinedTraining(mlir::MLIRContext &ctx, llvm::StringRef input,
                         const DistributedOptions &options, const ModelLoader &load);

/// `partita plan --cost --pipeline AXIS`: the schedule the executor would
/// run (training, or forwards only), simulated on the cost model's stage
/// times on `cluster` (lib/Distributed/PipelinePlan.cpp, docs/pipeline.md
/// "Planning"); prints per stage and per rank times and memory, the step
/// and the bubble to `os`. Returns the exit code (1 after a one-line
/// message).
int planPipeline(mlir::MLIRContext &ctx, llvm::StringRef input, const DistributedOptions &options,
                 const ModelLoader &load, const planner::Cluster &cluster, bool training,
                 llvm::raw_ostream &os);

int runDistributedCommand(mlir::MLIRContext &ctx, llvm::StringRef input,
                          const DistributedOptions &options, const ModelLoader &load);

} // namespace partita

#endif // PARTITA_DISTRIBUTED_DISTRIBUTED_H
