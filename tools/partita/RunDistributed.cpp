//===- RunDistributed.cpp - `partita run --mesh ...` ------------------------===//
//
// Glue: the logic is in lib/Distributed (partita/Distributed/Distributed.h).
//
// --strategy auto: the launcher (the process the user started) solves once
// (lib/Planner/Solver.cpp, user --shardings kept as constraints), prints the
// plan and the cost model's step time, and writes the solved module (the
// solver's sharding.constraint ops and argument shardings) as MLIR bytecode
// to a temporary file named in PARTITA_AUTO_PLAN. Every rank loads that file
// instead of the model, so all ranks run the same plan. Once the ranks are
// done the launcher prints the predicted step time against the measured one
// (the slowest rank's median step from the --report timings).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "partita/Runtime/Driver.h"
#ifdef PARTITA_HAVE_DISTRIBUTED
#include "partita/Distributed/Distributed.h"
#endif
#include "dialects/Sharding/IR/ShardingOps.h"
#include "partita/InitAll.h"
#include "partita/Planner/CostModel.h"
#include "partita/Planner/Solver.h"
#include "partita/Sharding/Annotations.h"
#include "partita/Sharding/Spmd.h"
#include "passes/Partition/Passes.h"
#include "passes/Propagation/Passes.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;

namespace partita::tools {
namespace {

constexpr const char *kPlanEnv = "PARTITA_AUTO_PLAN";
constexpr const char *kReportEnv = "PARTITA_AUTO_REPORT";

int fail(const llvm::Twine &msg) {
  llvm::errs() << "partita: error: " << msg << "\n";
  return 1;
}

} // namespace

FailureOr<AutoPlanInput> prepareAutoPlan(MLIRContext &ctx, StringRef input, StringRef meshFlag,
                                         StringRef shardings, StringRef clusterName,
                                         const ModelLoader &load) {
  std::string error;
  auto mesh = parseMeshFlag(meshFlag, error);
  if (failed(mesh))
    return fail(error), failure();
  int64_t ranks = 1;
  for (auto &[n, s] : mesh->axes)
    ranks *= s;
  std::string origin;
  auto cluster = planner::loadClusterOrLocal(clusterName, error, origin);
  if (failed(cluster))
    return fail(error), failure();
  llvm::outs() << "strategy auto: cluster '" << cluster->name << "' (" << origin << ")\n";
  if (int64_t k = planner::shareDevices(*cluster, ranks); k > 1)
    llvm::outs() << "strategy auto: cluster '" << cluster->name << "' has "
                 << cluster->numDevices() / k << " devices; " << ranks
                 << " ranks share them (" << k << " per device, each modeled as 1/" << k
                 << " of a device)\n";
  AutoPlanInput in{*mesh, std::move(*cluster), {}, nullptr};
  if (!shardings.empty()) {
    auto s = readShardingsFile(shardings, error);
    if (failed(s))
      return fail(error), failure();
    in.user = *s;
  }
  registerAllPasses();
  in.module = load(ctx, input);
  if (!in.module ||
      failed(applyShardingAnnotations(*in.module, in.mesh, in.user,
                                      shardings.empty() ? StringRef("the model") : shardings)))
    return failure();
  return in;
}

namespace {

/// Launcher side of --strategy auto: solve, print, write the plan file.
/// Returns the predicted step time, or failure.
FailureOr<double> planAuto(MLIRContext &ctx, StringRef input, StringRef meshFlag,
                           StringRef shardings, const AutoStrategyOptions &autoOpts,
                           const ModelLoader &load, std::string &planFile,
                           std::string &clusterName) {
  auto in = prepareAutoPlan(ctx, input, meshFlag, shardings, autoOpts.cluster, load);
  if (failed(in))
    return failure();
  std::string error;
  clusterName = in->cluster.name;
  OwningOpRef<ModuleOp> module = std::move(in->module);
  const planner::Cluster *cluster = &in->cluster;
  // No graph-recognize-composites before the solver: solving on the
  // composite attention ops gave a plan whose 4-rank run MISMATCHes (the
  // ranks form the composites themselves after the plan is loaded).
  planner::SolverOptions options;
  options.timeLimit = autoOpts.solverTimeLimit;
  auto solved = planner::solveShardings(*module, *cluster, options, error);
  if (failed(solved))
    return fail(error), failure();
  llvm::outs() << "strategy auto: " << solved->ops << " ops in " << solved->groups
               << " groups, " << solved->variables << " variables, " << solved->constraints
               << " constraints; " << solved->status << " in "
               << llvm::format("%.3f", solved->solveSeconds) << " s\n";

  // The plan file for the ranks: the solved module (each rank drops its mesh
  // and declares the same one from --mesh).
  {
    int fd;
    llvm::SmallString<128> path;
    if (llvm::sys::fs::createTemporaryFile("partita-auto-plan", "mlirbc", fd, path))
      return fail("cannot create a temporary file for the plan"), failure();
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    if (failed(writeBytecodeToFile(*module, os)))
      return fail("cannot write the plan"), failure();
    planFile = path.str().str();
  }

  // The plan and its cost, as `partita plan --strategy auto --cost` prints them.
  auto reshards = sharding::propagateShardings(*module, {});
  if (failed(reshards))
    return failure();
  printShardingPlan(*module, *reshards, llvm::outs(), nullptr);
  if (failed(runPassPipeline(*module, "sharding-partition,collectives-simplify")))
    return failure();
  auto cost = planner::estimateCost(*module, *cluster, error);
  if (failed(cost))
    return fail(error), failure();
  llvm::outs() << "\n";
  planner::printCostReport(*cost, *cluster, llvm::outs());
  llvm::outs().flush();
  return cost->stepTime();
}

/// The slowest rank's median step time from a --report file, if it has
/// timings.
std::optional<double> measuredStep(StringRef reportFile, int64_t &steps) {
  auto buf = llvm::MemoryBuffer::getFile(reportFile);
  if (!buf)
    return std::nullopt;
  auto json = llvm::json::parse((*buf)->getBuffer());
  if (!json) {
    llvm::consumeError(json.takeError());
    return std::nullopt;
  }
  auto *root = json->getAsObject();
  auto *timings = root ? root->getArray("rank_timings") : nullptr;
  if (!timings || timings->empty())
    return std::nullopt;
  steps = root->getInteger("timed_steps").value_or(1);
  double worst = 0;
  for (const llvm::json::Value &t : *timings)
    if (auto *o = t.getAsObject())
      worst = std::max(worst, o->getNumber("step_seconds").value_or(0));
  return worst;
}

} // namespace

int runDistributed(mlir::MLIRContext &ctx, llvm::StringRef input, const RunOptions &run,
                   llvm::StringRef mesh, llvm::StringRef shardings, double collectiveTimeout,
                   llvm::StringRef report, bool conservative, const ModelLoader &load,
                   const AutoStrategyOptions &autoOpts, const PipelineRunOptions &pipeline) {
#ifdef PARTITA_HAVE_DISTRIBUTED
  DistributedOptions opts;
  opts.run = run;
  opts.mesh = mesh.str();
  opts.shardingsFile = shardings.str();
  opts.collectiveTimeout = collectiveTimeout;
  opts.reportFile = report.str();
  opts.conservative = conservative;
  opts.pipeline = pipeline;
  if (!pipeline.axis.empty() && autoOpts.strategy != "none")
    return fail("--pipeline with --strategy auto is not built yet (docs/pipeline.md)");
  if (autoOpts.strategy == "none")
    return runDistributedCommand(ctx, input, opts, load);
  if (autoOpts.strategy != "auto")
    return fail("unknown --strategy '" + autoOpts.strategy + "' (expected none or auto)");

  if (const char *planFile = std::getenv(kPlanEnv)) {
    // A rank: the launcher's plan replaces the model; its annotations are in it.
    opts.shardingsFile.clear();
    if (opts.reportFile.empty())
      if (const char *r = std::getenv(kReportEnv))
        opts.reportFile = r;
    std::string planPath = planFile;
    // (Without expected outputs, --check's single-device reference is this
    // module too, without its sharding ops: dropShardings.)
    ModelLoader planned = [planPath](MLIRContext &c, StringRef) -> OwningOpRef<ModuleOp> {
      OwningOpRef<ModuleOp> m = parseSourceFile<ModuleOp>(planPath, &c);
      if (m)
        for (auto mesh : llvm::make_early_inc_range(m->getOps<sharding::MeshOp>()))
          mesh.erase();
      return m;
    };
    return runDistributedCommand(ctx, input, opts, planned);
  }

  std::string planFile;
  std::string clusterName;
  auto predicted =
      planAuto(ctx, input, mesh, shardings, autoOpts, load, planFile, clusterName);
  if (failed(predicted))
    return 1;
  llvm::SmallString<128> tmpReport;
  if (opts.reportFile.empty()) {
    int fd;
    if (!llvm::sys::fs::createTemporaryFile("partita-auto-report", "json", fd, tmpReport)) {
      llvm::sys::Process::SafelyCloseFileDescriptor(fd);
      ::setenv(kReportEnv, tmpReport.c_str(), 1);
    }
  }
  ::setenv(kPlanEnv, planFile.c_str(), 1);
  int rc = runDistributedCommand(ctx, input, opts, load);
  ::unsetenv(kPlanEnv);
  llvm::sys::fs::remove(planFile);
  std::string reportFile = opts.reportFile.empty() ? tmpReport.str().str() : opts.reportFile;
  int64_t steps = 0;
  auto measured = measuredStep(reportFile, steps);
  if (!tmpReport.empty())
    llvm::sys::fs::remove(tmpReport);
  if (rc == 0) {
    llvm::outs() << "step time: predicted " << planner::formatSeconds(*predicted) << " ("
                 << clusterName << " cost model), measured ";
    if (measured)
      llvm::outs() << planner::formatSeconds(*measured) << " (slowest rank, median of "
                   << steps << " step" << (steps == 1 ? "" : "s") << ")\n";
    else
      llvm::outs() << "n/a (the ranks reported no timings)\n";
  }
  return rc;
#else
  llvm::errs() << "partita: error: run --mesh needs the MPI runtime, which this build "
                  "does not have (install libopenmpi-dev openmpi-bin and reconfigure)\n";
  return 1;
#endif
}

} // namespace partita::tools
