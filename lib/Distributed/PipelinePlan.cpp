//===- PipelinePlan.cpp - `partita plan --cost --pipeline AXIS` ----------===//
//
// The schedule simulated on the cost model (docs/pipeline.md "Planning").
// The model is split and propagated exactly as the executors do it; each
// stage -- partitioned over the other mesh axes when there are any -- is
// costed by the cost model on the cluster (its compute and its own
// collectives: the forward F), the boundary transfers on the pipeline
// axis's link, and the executor's backward is charged as it runs: it
// recomputes the stage's forward, so B = F + 2F, and with the split
// I = F + F and W = F (it takes the activations and cotangents I saved). The schedule the executor would run is then
// simulated on these times (simulateSchedule): the step, the bubble, and
// per rank the peak microbatches in flight, which times what a microbatch
// leaves held on the stage (its inputs: the backward recomputes from them)
// plus the largest working set of one stage's compute is the activation
// memory per device.
//
//===----------------------------------------------------------------------===//

#include "PipelineSupport.h"

#include "partita/Diagnostics.h"
#include "partita/InitAll.h"
#include "partita/Planner/CostModel.h"
#include "partita/Sharding/Spmd.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace partita {

using namespace pipelined;

namespace {

/// One stage on the cost model.
struct StageEstimate {
  std::string endsAt; ///< the boundary tensor (empty for the last stage)
  double forward = 0;
  double weightBytes = 0;
  double heldBytes = 0;    ///< per microbatch in flight: the stage's inputs
  double workingBytes = 0; ///< peak live activations of one compute
  double sendBytes = 0;    ///< results sent on, per microbatch
};

} // namespace

int planPipeline(MLIRContext &ctx, StringRef input, const DistributedOptions &opts,
                 const ModelLoader &load, const planner::Cluster &cluster, bool training,
                 llvm::raw_ostream &os) {
  std::optional<DistributedOptions> resolved =
      resolveStages(ctx, input, opts, load, /*print=*/true, &cluster);
  if (!resolved)
    return 1;
  const PipelineRunOptions &pipe = resolved->pipeline;
  std::optional<PipelineSetup> setup = setUpPipeline(*resolved, training);
  if (!setup)
    return 1;
  registerAllPasses();
  const pipeline::Schedule &schedule = setup->schedule;
  int stages = schedule.numStages();

  std::string err;
  auto links = cluster.mapAxes(setup->mesh.axes, err);
  if (failed(links))
    return fail("--cluster " + cluster.name + ": " + err);
  const planner::LinkSpec *pipeLink = links->at(pipe.axis);

  MLIRContext scratch(ctx.getDialectRegistry());
  OneLineDiagnostics diags(scratch, opts.run.compile.verbose);
  OwningOpRef<ModuleOp> module = load(scratch, input);
  if (!module || failed(splitAndPropagate(*module, *setup, pipe, /*composites=*/!training)))
    return 1;

  std::vector<StageEstimate> est(stages);
  for (int k = 0; k < stages; ++k) {
    OwningOpRef<ModuleOp> copy = module->clone();
    func::FuncOp keep = keepAsMain(*copy, stageFunction(*copy, pipe, k).getSymName());
    if (!setup->sub.axes.empty() &&
        failed(runPassPipeline(*copy, "sharding-partition,collectives-simplify")))
      return 1;
    auto report = planner::estimateCost(*copy, cluster, err);
    if (failed(report))
      return fail("stage " + std::to_string(k) + ": " + err);
    StageEstimate &e = est[k];
    e.endsAt = k + 1 < stages ? pipe.stages[k] : "";
    e.forward = report->stepTime();
    e.weightBytes = report->parameterBytes;
    e.heldBytes = report->inputBytes;
    e.workingBytes = report->peakActivationBytes;
    keep = copy->lookupSymbol<func::FuncOp>("main"); // (partitioned: local types)
    for (Type t : keep.getResultTypes())
      e.sendBytes += planner::tensorBytes(t);
  }

  pipeline::StageCosts costs;
  for (const StageEstimate &e : est) {
    costs.forward.push_back(e.forward);
    // The executor's backward recomputes the stage (docs/pipeline.md):
    // B = F + 2F; split, I = F + F and W (from what I saved) = F.
    costs.backwardInput.push_back((schedule.splitBackward ? 2 : 1.5) * e.forward);
    costs.backwardWeight.push_back((schedule.splitBackward ? 1 : 1.5) * e.forward);
    if (e.sendBytes > 0)
      costs.transfer = std::max(costs.transfer,
                                planner::collectiveTime(cluster, "collective_permute",
                                                        e.sendBytes, 2, *pipeLink));
  }
  pipeline::SimulationResult sim = pipeline::simulateSchedule(schedule, &costs);

  os << "pipeline: " << stages << " stages" << perRank(*setup) << " on " << pipe.axis << "="
     << setup->ranks << " (mesh " << setup->mesh.str() << ", schedule " << schedule.name
     << ", " << schedule.microbatches << " microbatches, "
     << (training ? "training" : "inference") << ") on '" << cluster.name << "'\n";
  if (training)
    os << "  the backward recomputes each stage: "
       << (schedule.splitBackward ? "I = 2F, W = F" : "B = 3F") << "\n";
  os << "  transfer on '" << pipeLink->name << "': " << planner::formatSeconds(costs.transfer)
     << " (largest boundary)\n";
  os << "  stage  rank  F           weights     held/microbatch  working set  ends at\n";
  for (int k = 0; k < stages; ++k)
    os << llvm::formatv("  {0,-5}  {1,-4}  {2,-10}  {3,-10}  {4,-15}  {5,-11}  {6}\n", k,
                        schedule.stageRank[k], planner::formatSeconds(est[k].forward),
                        planner::formatBytes(est[k].weightBytes),
                        planner::formatBytes(est[k].heldBytes),
                        planner::formatBytes(est[k].workingBytes),
                        est[k].endsAt.empty() ? std::string("(outputs)") : est[k].endsAt);
  os << "  rank  busy        idle        peak in flight  activation memory\n";
  for (int r = 0; r < setup->ranks; ++r) {
    std::vector<int> held = schedule.stagesOf(r);
    double perMicrobatch = 0, working = 0;
    for (int k : held) {
      perMicrobatch += est[k].heldBytes / (double)held.size();
      working = std::max(working, est[k].workingBytes);
    }
    // Training keeps inputs for the microbatches in flight; inference
    // holds one microbatch at a time.
    double inFlight = training ? sim.peakInFlight[r] * (double)held.size() : 1;
    os << llvm::formatv("  {0,-4}  {1,-10}  {2,-10}  {3,-14}  {4}\n", r,
                        planner::formatSeconds(sim.busy[r]), planner::formatSeconds(sim.idle[r]),
                        llvm::formatv("{0:F1}", training ? sim.peakInFlight[r] : 1.0).str(),
                        planner::formatBytes(inFlight * perMicrobatch + working));
  }
  os << "step " << planner::formatSeconds(sim.stepTime) << " (busiest rank "
     << planner::formatSeconds(sim.idealTime) << "), bubble "
     << llvm::format("%.4f", sim.bubble) << "\n";
  return 0;
}

} // namespace partita
