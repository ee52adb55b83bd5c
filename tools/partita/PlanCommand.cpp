//===- PlanCommand.cpp - `partita plan` -----------------------------------===//
//
//   partita plan INPUT --mesh data=2,model=2 [--shardings FILE] [-o PLAN.json]
//                [--explain] [--conservative] [--composites]
//                [--cost --cluster PRESET|FILE] [--strategy none|auto]
//                [--solver-time-limit S] [--memory-budget-gb G]
//                [--pipeline AXIS --stages T,...|auto --microbatches M
//                 --schedule S [--inference]]
//
// Imports the model, attaches the annotations, propagates, and prints the
// sharding of every named tensor and the reshards it implies. With --cost,
// a copy of the propagated module is partitioned (sharding-partition) and
// the cost model (lib/Planner, docs/planner.md) predicts the step time per
// layer and the memory per device on the given cluster. With --strategy
// auto, the solver (lib/Planner/Solver.cpp) first adds constraints for every
// tensor the user left open, so the rest of the pipeline is unchanged. With
// --pipeline, the schedule the executor would run is simulated on the cost
// model's stage times (lib/Distributed/PipelinePlan.cpp).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "partita/Distributed/Distributed.h"
#include "partita/Import/Importer.h"
#include "partita/Planner/CostModel.h"
#include "partita/Planner/Solver.h"
#include "partita/Sharding/Annotations.h"
#include "passes/Graph/Passes.h"
#include "passes/Partition/Passes.h"
#include "passes/Propagation/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::SubCommand planCmd("plan", "Propagate shardings and print the plan");
static cl::opt<std::string> planInput(cl::Positional, cl::desc("<input>"), cl::Required,
                                      cl::sub(planCmd));
static cl::opt<std::string> planMesh("mesh", cl::desc("Device mesh: NAME=SIZE[,NAME=SIZE...]"),
                                     cl::sub(planCmd));
static cl::opt<std::string> planShardings("shardings",
                                          cl::desc("JSON file with the mesh and "
                                                   "per-tensor shardings"),
                                          cl::sub(planCmd));
static cl::opt<std::string> planJson("o", cl::desc("Write the plan as JSON"),
                                     cl::value_desc("file"), cl::sub(planCmd));
static cl::opt<bool> planExplain("explain",
                                 cl::desc("Report every reshard as a remark at its op"),
                                 cl::sub(planCmd));
static cl::opt<bool> planConservative("conservative",
                                      cl::desc("Conservative conflict resolution"),
                                      cl::sub(planCmd));
static cl::opt<bool> planComposites("composites",
                                    cl::desc("Form composite ops (attention) first"),
                                    cl::sub(planCmd));
static cl::opt<bool> planPrintIR("print-ir", cl::desc("Print the propagated module"),
                                 cl::sub(planCmd));

static cl::opt<bool> planCost("cost",
                              cl::desc("Predict step time and memory per device "
                                       "for --cluster)"),
                              cl::sub(planCmd));
static cl::opt<std::string> planCluster(
    "cluster",
    cl::desc("Cluster description: a preset (h100x8, h100-cluster, a100-megatron, "
             "cpu-local) or a JSON file (default: this machine, see docs/planner.md)"),
    cl::sub(planCmd));
static cl::opt<std::string> planStrategy("strategy",
                                         cl::desc("none (default): propagate the "
                                                  "annotations; auto: choose the other "
                                                  "shardings by ILP for --cluster"),
                                         cl::init("none"), cl::sub(planCmd));
static cl::opt<double> planSolverTimeLimit(
    "solver-time-limit",
    cl::desc("--strategy auto: seconds for the ILP; then the best plan found so far"),
    cl::init(60), cl::sub(planCmd));
static cl::opt<double> planMemoryBudget(
    "memory-budget-gb",
    cl::desc("--strategy auto: per-device memory budget in GB (default: the cluster's)"),
    cl::init(0), cl::sub(planCmd));

static cl::opt<std::string> planPipelineAxis(
    "pipeline",
    cl::desc("Mesh axis whose ranks are pipeline stages: simulate the schedule on the cost "
             "model (docs/pipeline.md)"),
    cl::value_desc("axis"), cl::sub(planCmd));
static cl::list<std::string> planStages("stages",
                                        cl::desc("--pipeline: the tensors after which a stage "
                                                 "ends, or auto"),
                                        cl::CommaSeparated, cl::sub(planCmd));
static cl::opt<int64_t> planMicrobatches("microbatches",
                                         cl::desc("--pipeline: microbatches per step"),
                                         cl::init(1), cl::sub(planCmd));
static cl::opt<std::string> planSchedule("schedule",
                                         cl::desc("--pipeline: gpipe, 1f1b, interleaved:V, "
                                                  "zb-h1, zb-h2 or zb-v"),
                                         cl::init("1f1b"), cl::sub(planCmd));
static cl::opt<double> planStageMemory("stage-memory-gb", cl::desc("--pipeline --stages auto: GB a stage's weights (training: with gradients and optimizer state) may take per device (default: the cluster's device memory)"),
                                       cl::init(0), cl::sub(planCmd));
static cl::opt<bool> planInference("inference",
                                   cl::desc("--pipeline: simulate forwards only (default: a "
                                            "training step)"),
                                   cl::sub(planCmd));

bool partita::tools::planSelected() { return static_cast<bool>(planCmd); }

/// `plan --pipeline`: the schedule on the cost model, per stage.
static int planWithPipeline(MLIRContext &ctx, const partita::planner::Cluster &cluster) {
#if PARTITA_HAVE_DISTRIBUTED
  partita::DistributedOptions opts;
  opts.mesh = planMesh;
  opts.shardingsFile = planShardings;
  opts.pipeline.axis = planPipelineAxis;
  opts.pipeline.stages.assign(planStages.begin(), planStages.end());
  if (opts.pipeline.stages.empty())
    opts.pipeline.stages = {"auto"};
  opts.pipeline.microbatches = planMicrobatches;
  opts.pipeline.schedule = planSchedule;
  opts.pipeline.stageMemoryBytes = planStageMemory * 1e9;
  auto load = [](MLIRContext &c, StringRef path) { return partita::loadModelFile(c, path); };
  return partita::planPipeline(ctx, planInput, opts, load, cluster, !planInference, llvm::outs());
#else
  (void)ctx, (void)cluster;
  llvm::errs() << "partita: error: plan --pipeline needs the distributed runtime (MPI), which "
                  "this build does not have\n";
  return 1;
#endif
}

int partita::tools::runPlan(MLIRContext &ctx) {
  std::optional<MeshSpec> mesh;
  std::string error;
  bool autoStrategy = planStrategy == "auto";
  if (!autoStrategy && planStrategy != "none") {
    llvm::errs() << "partita: error: unknown --strategy '" << planStrategy
                 << "' (expected none or auto)\n";
    return 1;
  }
  std::optional<planner::Cluster> cluster;
  std::string clusterOrigin;
  bool pipelined = !planPipelineAxis.empty();
  if (pipelined && autoStrategy) {
    llvm::errs() << "partita: error: plan --pipeline with --strategy auto is not built yet "
                    "(docs/pipeline.md)\n";
    return 1;
  }
  if (planCost || autoStrategy || !planCluster.empty() || pipelined) {
    auto c = planner::loadClusterOrLocal(planCluster, error, clusterOrigin);
    if (failed(c)) {
      llvm::errs() << "partita: error: " << error << "\n";
      return 1;
    }
    cluster = std::move(*c);
  }
  if (pipelined) {
    llvm::outs() << "cluster: '" << cluster->name << "' (" << clusterOrigin << ")\n";
    return planWithPipeline(ctx, *cluster);
  }
  if (!planMesh.empty()) {
    auto m = parseMeshFlag(planMesh, error);
    if (failed(m)) {
      llvm::errs() << "partita: error: " << error << "\n";
      return 1;
    }
    mesh = *m;
  }
  ShardingSpecs specs;
  if (!planShardings.empty()) {
    auto s = readShardingsFile(planShardings, error);
    if (failed(s)) {
      llvm::errs() << "partita: error: " << error << "\n";
      return 1;
    }
    specs = *s;
  }
  // `"experts": "auto"` prices its choice on the plan's cluster.
  specs.pricingCluster = planCluster;
  OwningOpRef<ModuleOp> module = loadModelFile(ctx, planInput);
  if (!module)
    return 1;
  if (planComposites) {
    PassManager pm(&ctx);
    pm.addPass(graph::createGraphRecognizeComposites());
    if (failed(pm.run(*module)))
      return 1;
  }
  if (failed(applyShardingAnnotations(*module, mesh, specs,
                                      planShardings.empty() ? std::string("the model") : std::string(planShardings))))
    return 1;
  std::optional<planner::SolverResult> solved;
  if (autoStrategy) {
    planner::SolverOptions options;
    options.timeLimit = planSolverTimeLimit;
    options.memoryBudget = planMemoryBudget * 1e9;
    options.log = &llvm::errs();
    auto r = planner::solveShardings(*module, *cluster, options, error);
    if (failed(r)) {
      llvm::errs() << "partita: error: " << error << "\n";
      return 1;
    }
    solved = *r;
    if (!r->optimal)
      llvm::errs() << "partita: warning: --strategy auto: " << r->status << "\n";
  }
  auto reshards = sharding::propagateShardings(*module, {planConservative, planExplain});
  if (failed(reshards))
    return 1;
  std::unique_ptr<llvm::ToolOutputFile> json;
  if (!planJson.empty()) {
    json = openOutputFile(planJson, &error);
    if (!json) {
      llvm::errs() << "partita: error: " << error << "\n";
      return 1;
    }
  }
  std::optional<planner::CostReport> cost;
  if (cluster) {
    // Cost the SPMD program: partition a copy of the propagated module.
    OwningOpRef<ModuleOp> partitioned(cast<ModuleOp>((*module)->clone()));
    PassManager pm(&ctx);
    sharding::ShardingPartitionOptions partitionOptions;
    partitionOptions.clusterName = planCluster.empty() ? "local" : planCluster.getValue();
    pm.addPass(sharding::createShardingPartition(partitionOptions));
    pm.addPass(sharding::createCollectivesSimplify());
    if (failed(pm.run(*partitioned)))
      return 1;
    auto report = planner::estimateCost(*partitioned, *cluster, error);
    if (failed(report)) {
      llvm::errs() << "partita: error: " << error << "\n";
      return 1;
    }
    cost = std::move(*report);
  }
  std::string planJsonText;
  llvm::raw_string_ostream planJsonOS(planJsonText);
  if (cluster && !planPrintIR)
    llvm::outs() << "cluster: '" << cluster->name << "' (" << clusterOrigin << ")\n";
  if (solved && !planPrintIR)
    llvm::outs() << "strategy auto: " << solved->ops << " ops in " << solved->groups
                 << " groups (" << solved->tiedLayers << " layers tied to an identical one), "
                 << solved->variables << " variables, " << solved->constraints
                 << " constraints; " << solved->status << " in "
                 << llvm::format("%.3f", solved->solveSeconds) << " s; solver's estimate "
                 << planner::formatSeconds(solved->predictedTime) << ", "
                 << planner::formatBytes(solved->predictedMemory) << " per device"
                 << (solved->fitsBudget ? "" : " (over budget)") << "\n";
  if (planPrintIR)
    module->print(llvm::outs());
  else
    printShardingPlan(*module, *reshards, llvm::outs(), json ? &planJsonOS : nullptr,
                      cluster ? &*cluster : nullptr);
  if (cost && !planPrintIR)
    planner::printCostReport(*cost, *cluster, llvm::outs());
  if (json) {
    json->os() << (cost ? planner::addCostToPlanJson(planJsonText, *cost, *cluster)
                        : planJsonText);
    json->keep();
  }
  return 0;
}
