//===- PipelinedTrain.cpp - `partita train --pipeline` --------------------===//
//
// The schedule executor for training (docs/pipeline.md). Every rank splits
// the model the same way (pipeline-split at --stages), builds each stage's
// forward, backward (or its input and weight halves) and update
// (pipeline-stage-training), and compiles those of the stages the schedule
// places on it (several with virtual stages: interleaved:V, zb-v). With
// other mesh axes each of these functions is an SPMD program over them:
// their weights, gradients and optimizer state pinned to the weights'
// shardings and the stage boundaries to theirs, propagated and partitioned
// one by one, so a rank holds its blocks and the partitioned backward sums
// weight gradients over the data axis. A step walks the rank's action list
// of the training schedule:
//
//   F   runs the forward on one microbatch, keeps the stage's inputs (the
//       backward recomputes from them) and sends the results on; the last
//       stage's forward gives that microbatch's loss;
//   B   takes the result gradients the next stage sent back (the last
//       stage: the labels), sends the input gradients to the previous stage
//       and adds the weight gradients to the step's sums;
//   I/W the same split in two (zero-bubble schedules): I sends the input
//       gradients, W later adds the weight gradients.
//
// After the list: weights shared by stages (pipeline.tied) have their
// gradients summed over the pipeline axis, the sums are divided by the
// microbatch count (the mean over microbatches, as graph-autodiff's
// accumulation takes it; `sum` keeps the sum), clipped to the global norm
// over every stage (--clip-norm), and each stage's update runs. Microbatch
// m is rows m, m+M, m+2M, ... of the step's inputs and labels, the same
// rows `partita train --microbatches M` accumulates over, so `--check`
// compares with exactly that step on one device (losses and trained
// weights).
//
// Transfers are partita_send/partita_recv over the pipeline axis between
// ranks with the same coordinates on the other axes (sends are buffered,
// so forward and backward transfers may cross), reductions
// partita_all_reduce: the collective timeout and fault board apply.
//
//===----------------------------------------------------------------------===//

#include "PipelineSupport.h"

#include "partita/Diagnostics.h"
#include "partita/InitAll.h"
#include "partita/Runtime/CollectivesABI.h"
#include "partita/Sharding/Spmd.h"
#include "passes/Autodiff/TrainingStep.h"
#include "passes/Pipeline/Passes.h"
#include "runtime/Runtime.h"

#include "dialects/Graph/IR/GraphOps.h"
#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <mpi.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>

using namespace mlir;

namespace partita {
namespace {

using namespace pipelined;
using pipeline::ActionKind;
using pipeline::Phase;

constexpr int32_t kF32 = 0, kSum = 0; // partita_dtype F32, partita_reduction SUM

/// The pass that adds the stages' training functions.
std::string stageTrainingPass(const TrainOptions &o, bool splitBackward) {
  return "pipeline-stage-training{" + lossAndOptimizerOptions(o) +
         (splitBackward ? " split-backward=true" : "") + "}";
}

/// With other mesh axes: every training function's arguments and results
/// get the sharding of what they stand for -- a weight's (and so its
/// gradient's, optimizer state's and update's), a stage input's or
/// output's (and their gradients') -- so that each function, propagated
/// and partitioned on its own, lays them out as the stage function and the
/// neighbouring stages do. The labels are left to propagation.
void pinTrainingShardings(ModuleOp module, const PipelineRunOptions &pipe, int stages) {
  for (int k = 0; k < stages; ++k) {
    func::FuncOp stage = stageFunction(module, pipe, k);
    std::map<std::string, Attribute> of; // name -> sharding
    std::vector<std::string> weights;
    stage.walk([&](graph::ConstantOp c) {
      auto list = c->getAttrOfType<ArrayAttr>(sharding::kShardingsAttr);
      if (c.isTrainableInitializer() && list && list.size() == 1) {
        of[c.getInitializerName().str()] = list[0];
        weights.push_back(c.getInitializerName().str());
      }
    });
    for (unsigned i = 0; i < stage.getNumArguments(); ++i)
      if (auto n = stage.getArgAttrOfType<StringAttr>(i, "graph.name"))
        if (Attribute a = stage.getArgAttr(i, sharding::kShardingAttr))
          of[n.str()] = a;
    for (unsigned r = 0; r < stage.getNumResults(); ++r)
      if (Attribute a = stage.getResultAttr(r, sharding::kShardingAttr))
        of[graph::resultName(stage, r)] = a;
    auto lookup = [&](StringRef name) -> Attribute {
      if (auto it = of.find(name.str()); it != of.end())
        return it->second;
      if (name.consume_back(".grad"))
        if (auto it = of.find(name.str()); it != of.end())
          return it->second;
      for (const std::string &w : weights) // optimizer state: <weight>.<what>
        if (name.starts_with(w + ".") && !name.drop_front(w.size() + 1).contains('.'))
          return of[w];
      return {};
    };
    for (auto f : module.getOps<func::FuncOp>()) {
      auto base = f->getAttrOfType<StringAttr>("pipeline.of");
      if (!base || base.getValue() != stage.getSymName())
        continue;
      for (unsigned i = 0; i < f.getNumArguments(); ++i)
        if (auto n = f.getArgAttrOfType<StringAttr>(i, "graph.name"))
          if (Attribute a = lookup(n.getValue()))
            f.setArgAttr(i, sharding::kShardingAttr, a);
      for (unsigned r = 0; r < f.getNumResults(); ++r) {
        Attribute a = lookup(graph::resultName(f, r));
        auto gradientOf = f.getResultAttrOfType<IntegerAttr>(r, "graph.gradient_of");
        if (!a && gradientOf)
          a = f.getArgAttr(gradientOf.getInt(), sharding::kShardingAttr);
        if (a)
          f.setResultAttr(r, sharding::kShardingAttr, a);
      }
    }
  }
}

/// With the split backward and other mesh axes: what I saves for W
/// ("saved.K") must be laid out alike on both sides. I is propagated on its
/// own (from its pinned arguments), and the shardings its saved results
/// get are pinned on them and on W's saved arguments.
LogicalResult pinSavedShardings(ModuleOp module, const PipelineRunOptions &pipe, int stages) {
  for (int k = 0; k < stages; ++k) {
    std::string base = stageFunction(module, pipe, k).getSymName().str();
    auto input = module.lookupSymbol<func::FuncOp>(base + "_backward_input");
    auto weight = module.lookupSymbol<func::FuncOp>(base + "_backward_weight");
    if (!input || !weight)
      continue;
    OwningOpRef<ModuleOp> copy = module.clone();
    func::FuncOp propagated = keepAsMain(*copy, input.getSymName());
    if (failed(runPassPipeline(*copy, "sharding-propagate")))
      return failure();
    std::map<std::string, Attribute> of;
    for (unsigned r = 0; r < propagated.getNumResults(); ++r)
      if (auto role = propagated.getResultAttrOfType<StringAttr>(r, "graph.role");
          role && role.getValue() == "saved")
        if (Attribute a = propagated.getResultAttr(r, sharding::kShardingAttr)) {
          of[graph::resultName(propagated, r)] = a;
          input.setResultAttr(r, sharding::kShardingAttr, a);
        }
    for (unsigned i = 0; i < weight.getNumArguments(); ++i)
      if (auto n = weight.getArgAttrOfType<StringAttr>(i, "graph.name"))
        if (auto it = of.find(n.str()); it != of.end())
          weight.setArgAttr(i, sharding::kShardingAttr, it->second);
  }
  return success();
}

/// Every rank's model: split (and with other axes annotated, propagated
/// and pinned), with the stages' training functions.
LogicalResult prepareStages(ModuleOp module, const PipelineSetup &setup,
                            const PipelineRunOptions &pipe, const TrainOptions &o) {
  if (failed(splitAndPropagate(module, setup, pipe, /*composites=*/false)) ||
      failed(runPassPipeline(module, stageTrainingPass(o, setup.schedule.splitBackward))))
    return failure();
  if (setup.sub.axes.empty())
    return success();
  pinTrainingShardings(module, pipe, setup.schedule.numStages());
  return pinSavedShardings(module, pipe, setup.schedule.numStages());
}

/// A stage's weights as its forward function takes them.
struct StageParameters {
  std::vector<std::string> names;
  std::vector<TensorSpec> specs;
  std::vector<bool> tied;
  std::vector<HostTensor> initial;
};

FailureOr<StageParameters> stageParameters(func::FuncOp forward) {
  StageParameters p;
  for (unsigned i = 0; i < forward.getNumArguments(); ++i) {
    auto role = forward.getArgAttrOfType<StringAttr>(i, "graph.role");
    if (!role || role.getValue() != "parameter")
      break;
    auto name = forward.getArgAttrOfType<StringAttr>(i, "graph.name");
    auto init = forward.getArgAttrOfType<ElementsAttr>(i, "graph.init");
    std::optional<HostTensor> v = init ? initialValue(init) : std::nullopt;
    if (!name || !v || v->dtype != DType::F32)
      return forward.emitError() << "cannot read the initial f32 value of parameter " << i
                                 << " of @" << forward.getSymName(),
             failure();
    p.names.push_back(name.getValue().str());
    p.specs.push_back(TensorSpec{name.getValue().str(), v->dtype, v->shape, std::nullopt});
    p.tied.push_back(forward.getArgAttr(i, pipeline::kTiedAttr) != nullptr);
    p.initial.push_back(std::move(*v));
  }
  return p;
}

float *floats(HostTensor &t) { return reinterpret_cast<float *>(t.data.data()); }

void addInto(HostTensor &sum, const HostTensor &x) {
  const float *a = reinterpret_cast<const float *>(x.data.data());
  float *s = floats(sum);
  for (int64_t i = 0, n = sum.numElements(); i < n; ++i)
    s[i] += a[i];
}

void scaleBy(HostTensor &t, float c) {
  float *s = floats(t);
  for (int64_t i = 0, n = t.numElements(); i < n; ++i)
    s[i] *= c;
}

HostTensor scalarF32(double v) {
  HostTensor t(DType::F32, {});
  *floats(t) = (float)v;
  return t;
}

void sendAll(const std::vector<HostTensor> &ts, int64_t shift, int32_t group) {
  for (const HostTensor &t : ts)
    partita_send(t.data.data(), (int64_t)t.numBytes(), shift, kBytes, group);
}

std::vector<HostTensor> recvAll(llvm::ArrayRef<TensorSpec> specs, int64_t shift, int32_t group) {
  std::vector<HostTensor> out;
  for (const TensorSpec &s : specs) {
    HostTensor t(s.dtype, s.shape);
    partita_recv(t.data.data(), (int64_t)t.numBytes(), shift, kBytes, group);
    out.push_back(std::move(t));
  }
  return out;
}

/// One (virtual) stage held by this rank: its training functions as this
/// rank's programs (partitioned over the other axes when there are any),
/// what they take, and its weights, optimizer state and the step's
/// gradient sums -- this rank's blocks of them.
struct StageRun {
  int stage = 0;
  bool last = false; ///< the last stage: its forward gives the loss
  bool takesLabels = false;
  /// (backward: B, or with the split I; weight: W.)
  StageProgram forward, backward, weight, update;
  std::vector<HostTensor> weights, state, grads;
  std::vector<blocks::Layout> weightLayouts;
  size_t numInputGrads = 0;
  std::vector<TensorSpec> inputSpecs, outputGradSpecs;
  std::vector<blocks::Layout> inputLayouts;
  std::optional<blocks::Layout> labelLayout;
};

/// Builds stage `stage`'s functions of the module prepareStages made (a
/// copy of it each) and cuts its weights' initial values `params` to this
/// rank's blocks; failure after a diagnostic.
LogicalResult buildStageRun(ModuleOp module, int stage, const PipelineSetup &setup,
                            PipelinePlace place, const StageParameters &params,
                            const CompileOptions *compile, StageRun &run) {
  bool split = setup.schedule.splitBackward, spmd = !setup.sub.axes.empty();
  std::string base = "main_stage" + std::to_string(stage);
  run.stage = stage;
  run.last = stage + 1 == setup.schedule.numStages();
  auto build = [&](StringRef suffix, StageProgram &out) {
    OwningOpRef<ModuleOp> copy = module.clone();
    return buildRankProgram(*copy, base + suffix.str(), setup, place, /*propagate=*/spmd,
                            compile, out);
  };
  std::string bwdName = base + (split ? "_backward_input" : "_backward");
  if (failed(build("_forward", run.forward)) ||
      failed(build(split ? "_backward_input" : "_backward", run.backward)) ||
      (split && failed(build("_backward_weight", run.weight))))
    return failure();
  auto updateFn = module.lookupSymbol<func::FuncOp>(base + "_update");
  if (updateFn && failed(build("_update", run.update)))
    return failure();

  // The weights come first in every function; their layouts must agree.
  size_t numParams = params.names.size();
  const std::vector<blocks::Layout> &fwdIn = run.forward.inLayouts;
  run.weightLayouts.assign(fwdIn.begin(), fwdIn.begin() + numParams);
  auto differs = [&](const std::vector<blocks::Layout> &ls, size_t from, llvm::StringRef what) {
    for (size_t i = 0; i < numParams; ++i)
      if (from + i >= ls.size() || ls[from + i] != run.weightLayouts[i])
        return module.emitError() << "stage " << stage << ": weight '" << params.names[i]
                                  << "' is laid out differently in its " << what
                                  << " than in its forward; give it a sharding in --shardings",
               true;
    return false;
  };
  if (differs(run.backward.inLayouts, 0, "backward") ||
      (!split && differs(run.backward.outLayouts, run.backward.outLayouts.size() - numParams,
                         "weight gradient")) ||
      (split && (differs(run.weight.inLayouts, 0, "backward") ||
                 differs(run.weight.outLayouts, 0, "weight gradient"))) ||
      (updateFn && (differs(run.update.inLayouts, 0, "update") ||
                    differs(run.update.outLayouts, 0, "update"))))
    return failure();
  if (!compile)
    return success();

  for (size_t i = 0; i < numParams; ++i) {
    HostTensor global = params.initial[i];
    const TensorSpec &local = run.forward.sig.inputs[i];
    HostTensor block(local.dtype, local.shape);
    blocks::copyBlock(global, block,
                      blocks::blockOffsets(run.weightLayouts[i], block.shape, place.subRank,
                                           setup.sub),
                      /*toBlock=*/true);
    run.weights.push_back(std::move(block));
  }
  // Counted from the backward's signature: parameters, inputs, then
  // output gradients (or the labels).
  size_t numInputs = 0;
  auto bwdFn = module.lookupSymbol<func::FuncOp>(bwdName);
  for (unsigned i = numParams; i < bwdFn.getNumArguments(); ++i) {
    auto role = bwdFn.getArgAttrOfType<StringAttr>(i, "graph.role");
    StringRef r = role ? role.getValue() : "";
    if (r == "input")
      ++numInputs;
    else if (r == "output_grad")
      run.outputGradSpecs.push_back(run.backward.sig.inputs[i]);
  }
  const ModelSignature &fwdSig = run.forward.sig;
  run.inputSpecs.assign(fwdSig.inputs.begin() + numParams,
                        fwdSig.inputs.begin() + numParams + numInputs);
  run.inputLayouts.assign(fwdIn.begin() + numParams, fwdIn.begin() + numParams + numInputs);
  // B's results: input gradients, weight gradients; I's: input gradients,
  // then what W takes from the shared part ("saved").
  size_t numSaved = 0;
  for (unsigned i = 0; i < bwdFn.getNumResults(); ++i)
    if (auto role = bwdFn.getResultAttrOfType<StringAttr>(i, "graph.role"))
      numSaved += role.getValue() == "saved";
  run.numInputGrads = run.backward.sig.outputs.size() - (split ? numSaved : numParams);
  // The optimizer's state, per trained weight (the pass keeps only weights
  // with a gradient as arguments).
  size_t numStates = 0;
  if (updateFn)
    for (unsigned i = 0; i < updateFn.getNumArguments(); ++i)
      if (auto role = updateFn.getArgAttrOfType<StringAttr>(i, "graph.role"))
        numStates += role.getValue() == "state";
  numStates /= std::max<size_t>(numParams, 1);
  for (size_t i = 0; i < numParams; ++i)
    for (size_t k = 0; k < numStates; ++k)
      run.state.push_back(HostTensor(DType::F32, run.weights[i].shape));
  auto fwdFn = module.lookupSymbol<func::FuncOp>(base + "_forward");
  unsigned n = fwdFn.getNumArguments();
  auto lastRole = n ? fwdFn.getArgAttrOfType<StringAttr>(n - 1, "graph.role") : StringAttr();
  run.takesLabels = run.last && lastRole && lastRole.getValue() == "label";
  if (run.takesLabels)
    run.labelLayout = fwdIn.back();
  return success();
}

/// Zero-bubble lists place the weight-gradient actions in the bubbles by
/// the stages' times, which the uniform lists the run starts with guess
/// (F = I = W). After the first step they are generated again on the
/// measured ones: each rank's mean F, I and W per stage over its
/// microbatches, the largest over the ranks holding a stage (every rank
/// gets the same times, so the same lists), and used where they simulate
/// faster on those times than the current lists. Other schedules do not
/// depend on the times and are kept. `print`: the launcher's rank says what
/// changed. Failure after a one-line message.
LogicalResult regenerateOnMeasuredTimes(pipeline::Schedule &schedule,
                                        const std::vector<pipeline::SimulationResult::Slot> &slots,
                                        const PipelineSetup &setup,
                                        const PipelineRunOptions &pipe, bool print) {
  const pipeline::ScheduleSpec &spec = setup.spec;
  std::string err;
  if (spec.kind.rfind("zb", 0) != 0)
    return success();
  int n = schedule.numStages();
  std::vector<double> sums(3 * n, 0), counts(3 * n, 0), means(3 * n, 0), measured(3 * n, 0);
  for (const auto &slot : slots) {
    const pipeline::Action &a = slot.action;
    if (a.kind != ActionKind::Compute)
      continue;
    int k = a.phase == Phase::Forward ? 0 : a.phase == Phase::BackwardWeight ? 2 : 1;
    sums[3 * a.stage + k] += slot.end - slot.start;
    counts[3 * a.stage + k] += 1;
  }
  for (int i = 0; i < 3 * n; ++i)
    means[i] = counts[i] ? sums[i] / counts[i] : 0;
  MPI_Allreduce(means.data(), measured.data(), 3 * n, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  pipeline::StageCosts costs;
  for (int st = 0; st < n; ++st) {
    costs.forward.push_back(measured[3 * st]);
    costs.backwardInput.push_back(measured[3 * st + 1]);
    costs.backwardWeight.push_back(measured[3 * st + 2]);
  }
  auto regenerated = pipeline::generateSchedule(spec, err, &costs);
  if (!regenerated || !pipeline::verifySchedule(*regenerated, err))
    return fail("schedule " + pipe.schedule + " on the measured stage times: " + err), failure();
  // The list scheduler is greedy: the new lists are kept only where they
  // simulate faster on the measured times than the current ones.
  pipeline::SimulationResult before = pipeline::simulateSchedule(schedule, &costs);
  pipeline::SimulationResult after = pipeline::simulateSchedule(*regenerated, &costs);
  bool better = after.stepTime < before.stepTime;
  if (print) {
    auto mean = [&](int k) {
      double t = 0;
      for (int st = 0; st < n; ++st)
        t += measured[3 * st + k];
      return llvm::format("%.2f", t / n * 1e3);
    };
    llvm::outs() << "schedule " << pipe.schedule
                 << ": lists generated again on step 1's measured stage times (mean F "
                 << mean(0) << " ms, I " << mean(1) << " ms, W " << mean(2)
                 << " ms): simulated step " << llvm::format("%.2f", after.stepTime * 1e3)
                 << " ms, bubble " << llvm::format("%.3f", after.bubble) << " (uniform lists: "
                 << llvm::format("%.2f", before.stepTime * 1e3) << " ms, "
                 << llvm::format("%.3f", before.bubble) << "); "
                 << (better ? "using them" : "keeping the uniform lists") << "\n";
  }
  if (better)
    schedule = std::move(*regenerated);
  return success();
}

} // namespace

int runPipelinedTraining(MLIRContext &ctx, StringRef input, const DistributedOptions &opts,
                         const ModelLoader &load) {
  const PipelineRunOptions &pipe = opts.pipeline;
  const TrainOptions &o = opts.training->options;
  std::optional<PipelineSetup> setup = setUpPipeline(opts, /*training=*/true);
  if (!setup)
    return 1;
  if (o.precision != "f32")
    return fail("train --pipeline with --precision " + o.precision +
                " is not built yet (docs/pipeline.md)");
  if (o.recompute != "none")
    return fail("train --pipeline recomputes every stage from its inputs already; --recompute " +
                o.recompute + " does not apply");
  if (o.zeroStage)
    return fail("train --pipeline with --zero is not built yet (docs/pipeline.md)");
  if (!o.dumpGradsDir.empty())
    return fail("train --pipeline with --dump-grads is not built yet (docs/pipeline.md)");
  pipeline::Schedule schedule = setup->schedule; // zero-bubble: regenerated after step 1
  int64_t m = pipe.microbatches;
  int stages = schedule.numStages(), lastStage = stages - 1;
  // The one-device step of M accumulated microbatches: its batch and labels
  // are the pipeline's, and --check runs it.
  TrainOptions stepOptions = o;
  stepOptions.microbatches = (unsigned)m;
  registerAllPasses();

  if (!underLauncher())
    // The step, the split, the training functions and (with other axes)
    // the partitioning of rank 0's stages, checked here in one line.
    return validateAndLaunch(
        ctx, input, opts, load, setup->worldSize(),
        [&](MLIRContext &checkCtx, ModuleOp module) -> LogicalResult {
          OwningOpRef<ModuleOp> step = module.clone();
          TrainingStep described;
          if (failed(prepareTrainingStep(checkCtx, *step, stepOptions, described)) ||
              failed(prepareStages(module, *setup, pipe, o)))
            return failure();
          for (int st : schedule.stagesOf(0)) {
            auto fwd = module.lookupSymbol<func::FuncOp>("main_stage" + std::to_string(st) +
                                                         "_forward");
            auto params = fwd ? stageParameters(fwd) : FailureOr<StageParameters>(failure());
            StageRun unused;
            if (failed(params) || failed(buildStageRun(module, st, *setup, PipelinePlace{},
                                                       *params, nullptr, unused)))
              return failure();
          }
          return success();
        },
        "train --pipeline");

  OwningOpRef<ModuleOp> module = load(ctx, input);
  if (!module)
    return 1;
  std::optional<int32_t> groupId = startPipelineRank(*setup, opts.collectiveTimeout);
  if (!groupId)
    return 1;
  int rank = partita_runtime_rank();
  int32_t group = *groupId;
  PipelinePlace place = placeOf(rank, *setup);
  int me = place.pipeRank; // in the pipeline axis's group
  std::vector<int> held = schedule.stagesOf(me);
  int labelRank = schedule.stageRank[lastStage];
  int64_t world = setup->worldSize();

  // Rank 0: the step's batch (and the reference for --check).
  DistributedTraining reference{stepOptions, {}};
  OwningOpRef<ModuleOp> referenceModule;
  if (rank == 0) {
    referenceModule = module->clone();
    if (failed(prepareTrainingStep(ctx, *referenceModule, stepOptions, reference.step)))
      return 1;
  }
  if (failed(prepareStages(*module, *setup, pipe, o)))
    return 1;

  // Every stage's weights (rank 0 collects them at the end) and the tied
  // ones, in one order on every rank.
  std::vector<StageParameters> stageParams;
  std::map<std::string, TensorSpec> tiedSpecs;
  std::map<std::string, int> tiedFirstOwner; // the first stage holding it
  for (int s = 0; s < stages; ++s) {
    auto fwd = module->lookupSymbol<func::FuncOp>("main_stage" + std::to_string(s) + "_forward");
    if (!fwd)
      return fail("pipeline-stage-training made no forward for stage " + std::to_string(s));
    auto p = stageParameters(fwd);
    if (failed(p))
      return 1;
    for (size_t i = 0; i < p->names.size(); ++i)
      if (p->tied[i]) {
        tiedSpecs.emplace(p->names[i], p->specs[i]);
        tiedFirstOwner.emplace(p->names[i], s);
      }
    stageParams.push_back(std::move(*p));
  }
  // The step's inputs and labels as the unpartitioned first and last
  // forwards take them, M microbatches along dimension 0.
  auto stepSpecs = [&](int st) {
    auto fwd = module->lookupSymbol<func::FuncOp>("main_stage" + std::to_string(st) + "_forward");
    std::vector<TensorSpec> specs;
    for (unsigned i = stageParams[st].names.size(); i < fwd.getNumArguments(); ++i) {
      auto t = cast<RankedTensorType>(fwd.getArgumentTypes()[i]);
      TensorSpec spec{"", dtypeOf(t.getElementType()).value_or(DType::F32),
                      std::vector<int64_t>(t.getShape().begin(), t.getShape().end()),
                      std::nullopt};
      if (!spec.shape.empty())
        spec.shape[0] *= m;
      specs.push_back(spec);
    }
    return specs;
  };

  // This rank's stages (several with virtual stages).
  std::map<int, StageRun> runs;
  for (int st : held)
    if (failed(buildStageRun(*module, st, *setup, place, stageParams[st], &opts.run.compile,
                             runs[st])))
      return 1;
  for (auto &[name, spec] : tiedSpecs) {
    std::optional<blocks::Layout> seen;
    for (auto &[st, r] : runs)
      if (auto it = llvm::find(stageParams[st].names, name); it != stageParams[st].names.end()) {
        const blocks::Layout &l = r.weightLayouts[it - stageParams[st].names.begin()];
        if (seen && *seen != l)
          return fail("the tied weight '" + name + "' is laid out differently in two stages; "
                      "give it one sharding in --shardings");
        seen = l;
      }
  }

  // The batch: rank 0 holds the inputs and labels and sends them to the
  // other ranks of the first stage and to those of the last, whose
  // forward takes a microbatch of the labels (the step holds M).
  std::vector<HostTensor> stepInputs;
  std::optional<HostTensor> labels;
  if (rank == 0)
    for (size_t i = 0; i < reference.step.roles.size(); ++i) {
      if (reference.step.roles[i] == "input")
        stepInputs.push_back(reference.step.values[i]);
      if (reference.step.roles[i] == "label")
        labels = reference.step.values[i];
    }
  {
    runtime::CollectiveScope scope("send_batch", -1);
    constexpr int kInputs = 21, kLabels = 22;
    bool wantsLabels = runs.count(lastStage) && runs[lastStage].takesLabels;
    for (int r = 1; r < world && rank == 0; ++r) {
      int at = placeOf(r, *setup).pipeRank;
      for (HostTensor &t : stepInputs)
        if (at == 0)
          MPI_Send(t.data.data(), (int)t.numBytes(), MPI_BYTE, r, kInputs, MPI_COMM_WORLD);
      if (at == labelRank && labels)
        MPI_Send(labels->data.data(), (int)labels->numBytes(), MPI_BYTE, r, kLabels,
                 MPI_COMM_WORLD);
    }
    if (rank != 0 && me == 0)
      for (const TensorSpec &spec : stepSpecs(0)) {
        HostTensor t(spec.dtype, spec.shape);
        MPI_Recv(t.data.data(), (int)t.numBytes(), MPI_BYTE, 0, kInputs, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        stepInputs.push_back(std::move(t));
      }
    if (rank != 0 && me == labelRank && wantsLabels) {
      TensorSpec spec = stepSpecs(lastStage).back();
      labels = HostTensor(spec.dtype, spec.shape);
      MPI_Recv(labels->data.data(), (int)labels->numBytes(), MPI_BYTE, 0, kLabels,
               MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
  }
  // This rank's block of microbatch `mb` of a step tensor.
  auto blockOf = [&](const HostTensor &step, int mb, const blocks::Layout &l,
                     const TensorSpec &local) {
    HostTensor global = microbatch(step, mb, m, /*strided=*/true);
    HostTensor block(local.dtype, local.shape);
    blocks::copyBlock(global, block,
                      blocks::blockOffsets(l, block.shape, place.subRank, setup->sub),
                      /*toBlock=*/true);
    return block;
  };

  std::vector<double> losses, times;
  std::vector<pipeline::SimulationResult::Slot> timeline;
  double inverse = o.loss == "sum" ? 1.0 : 1.0 / (double)m;
  using Key = std::pair<int, int>; // (stage, microbatch)
  for (unsigned step = 1; step <= o.steps; ++step) {
    for (auto &[st, r] : runs) {
      r.grads.clear();
      for (const HostTensor &w : r.weights)
        r.grads.push_back(HostTensor(DType::F32, w.shape));
    }
    double lossSum = 0;
    // A stage's inputs per microbatch (kept until its B/W: the backward
    // recomputes from them), results until sent or taken by the next
    // stage on this rank, output gradients until B/W, input gradients
    // until sent or taken by the previous stage on this rank.
    std::map<Key, std::vector<HostTensor>> saved, results, outputGrads, inputGrads;
    // With the split: what I computed that W takes (activations and
    // cotangents of the weight ops), from I until W.
    std::map<Key, std::vector<HostTensor>> kept;
    timeline.clear();
    MPI_Barrier(MPI_COMM_WORLD); // the step starts together (compile times differ)
    auto t0 = std::chrono::steady_clock::now();
    auto now = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    // What (stage, mb) computes from: handed over by a neighbouring stage
    // on this rank when no receive brought it.
    auto take = [](std::map<Key, std::vector<HostTensor>> &got,
                   std::map<Key, std::vector<HostTensor>> &local, Key k, Key from) {
      if (!got.count(k) && local.count(from))
        got[k] = std::move(local[from]), local.erase(from);
    };
    // A call takes the weights, the microbatch's inputs and (backward) its
    // output gradients or labels. They are moved into the argument list
    // for the call and back after it: the tensors stay where they are kept
    // (copying the weights for every action cost more than some actions).
    auto run = [&](StageRun &r, Executor &e, int mb, bool withGrads,
                   std::vector<HostTensor> &outs, std::vector<HostTensor> *extra = nullptr) {
      std::vector<HostTensor> args = std::move(r.weights);
      size_t numWeights = args.size();
      std::vector<HostTensor> &in = saved[{r.stage, mb}];
      std::vector<HostTensor> *grads = !r.takesLabels && !r.last && withGrads
                                           ? &outputGrads[{r.stage, mb}]
                                           : nullptr;
      for (HostTensor &t : in)
        args.push_back(std::move(t));
      if (r.takesLabels)
        args.push_back(blockOf(*labels, mb, *r.labelLayout, r.forward.sig.inputs.back()));
      else if (grads)
        for (HostTensor &t : *grads)
          args.push_back(std::move(t));
      if (extra) // W: what I saved (its last use)
        for (HostTensor &t : *extra)
          args.push_back(std::move(t));
      llvm::Error err = e.run(args, outs);
      for (size_t i = 0; i < in.size(); ++i)
        in[i] = std::move(args[numWeights + i]);
      if (grads)
        for (size_t i = 0; i < grads->size(); ++i)
          (*grads)[i] = std::move(args[numWeights + in.size() + i]);
      args.resize(numWeights);
      r.weights = std::move(args);
      if (err)
        return fail("rank " + std::to_string(rank) + ": " + llvm::toString(std::move(err)));
      return 0;
    };
    auto finish = [&](int st, int mb) { saved.erase({st, mb}), outputGrads.erase({st, mb}); };
    for (const pipeline::Action &a : schedule.actions[me]) {
      double start = now();
      int mb = a.microbatch, st = a.stage;
      bool fwdPhase = a.phase == Phase::Forward;
      std::vector<HostTensor> outs;
      switch (a.kind) {
      case ActionKind::Recv: // what stage st sent: stage st + 1's inputs, or st - 1's gradients
        if (fwdPhase)
          saved[{st + 1, mb}] = recvAll(runs[st + 1].inputSpecs, me - a.peer, group);
        else
          outputGrads[{st - 1, mb}] = recvAll(runs[st - 1].outputGradSpecs, me - a.peer, group);
        break;
      case ActionKind::Send:
        if (fwdPhase)
          sendAll(results[{st, mb}], a.peer - me, group), results.erase({st, mb});
        else
          sendAll(inputGrads[{st, mb}], a.peer - me, group), inputGrads.erase({st, mb});
        break;
      case ActionKind::Compute: {
        StageRun &r = runs[st];
        switch (a.phase) {
        case Phase::Forward:
          if (st == 0)
            for (auto [i, t] : llvm::enumerate(stepInputs))
              saved[{st, mb}].push_back(blockOf(t, mb, r.inputLayouts[i], r.inputSpecs[i]));
          else
            take(saved, results, {st, mb}, {st - 1, mb});
          if (run(r, *r.forward.exec, mb, false, outs))
            return 1;
          if (r.last)
            lossSum += outs[0].getDouble(0);
          else
            results[{st, mb}] = std::move(outs);
          break;
        case Phase::Backward:
        case Phase::BackwardInput: {
          if (!r.last)
            take(outputGrads, inputGrads, {st, mb}, {st + 1, mb});
          Executor &e = *r.backward.exec; // B, or with the split I
          if (run(r, e, mb, true, outs))
            return 1;
          if (st > 0)
            inputGrads[{st, mb}].assign(std::make_move_iterator(outs.begin()),
                                        std::make_move_iterator(outs.begin() + r.numInputGrads));
          if (a.phase == Phase::BackwardInput) // kept for W
            kept[{st, mb}].assign(std::make_move_iterator(outs.begin() + r.numInputGrads),
                                  std::make_move_iterator(outs.end()));
          if (a.phase == Phase::Backward) {
            for (size_t i = 0; i < r.grads.size(); ++i)
              addInto(r.grads[i], outs[r.numInputGrads + i]);
            finish(st, mb);
          }
          break;
        }
        case Phase::BackwardWeight:
          if (run(r, *r.weight.exec, mb, true, outs, &kept[{st, mb}]))
            return 1;
          for (size_t i = 0; i < r.grads.size(); ++i)
            addInto(r.grads[i], outs[i]);
          kept.erase({st, mb});
          finish(st, mb);
          break;
        }
        break;
      }
      }
      timeline.push_back({a, start, now()});
    }

    // Tied weights: each owner's sum over its microbatches (a rank adds up
    // the copies of its stages), summed over the pipeline ranks (the others
    // add zeros), in one order everywhere.
    for (auto &[name, spec] : tiedSpecs) {
      HostTensor buf(DType::F32, spec.shape), sum(DType::F32, spec.shape);
      std::vector<HostTensor *> copies;
      for (auto &[st, r] : runs)
        if (auto it = llvm::find(stageParams[st].names, name); it != stageParams[st].names.end())
          copies.push_back(&r.grads[it - stageParams[st].names.begin()]);
      for (HostTensor *g : copies)
        addInto(buf, *g);
      partita_all_reduce(buf.data.data(), sum.data.data(), buf.numElements(), kF32, kSum, group);
      for (HostTensor *g : copies)
        *g = sum;
    }
    for (auto &[st, r] : runs)
      for (HostTensor &g : r.grads)
        scaleBy(g, (float)inverse);
    // The loss of the step, on every rank (the last stage's; zeros add).
    float lossValue = me == labelRank ? (float)(lossSum * inverse) : 0.f, loss = 0;
    partita_all_reduce(&lossValue, &loss, 1, kF32, kSum, group);
    // Clipping to the norm over every stage's weights (a tied weight
    // counted once, on its first owner; a block held by several ranks of
    // the other axes counted once), summed over the whole mesh.
    if (o.clipNorm > 0) {
      double sq = 0, total = 0;
      for (auto &[st, r] : runs)
        for (size_t i = 0; i < r.grads.size(); ++i) {
          const StageParameters &p = stageParams[st];
          if (p.tied[i] && tiedFirstOwner[p.names[i]] != st)
            continue;
          const float *g = floats(r.grads[i]);
          float block = 0;
          for (int64_t k = 0, n = r.grads[i].numElements(); k < n; ++k)
            block += g[k] * g[k];
          sq += block / (double)blocks::copiesOf(r.weightLayouts[i], setup->sub);
        }
      MPI_Allreduce(&sq, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      float norm = (float)std::sqrt(total);
      float c = std::min<float>((float)o.clipNorm / (norm + 1e-6f), 1.f);
      for (auto &[st, r] : runs)
        for (HostTensor &g : r.grads)
          scaleBy(g, c);
    }
    for (auto &[st, r] : runs) {
      if (!r.update.exec)
        continue;
      std::vector<HostTensor> args = r.weights, outs;
      args.insert(args.end(), r.state.begin(), r.state.end());
      args.insert(args.end(), r.grads.begin(), r.grads.end());
      if (r.update.sig.inputs.size() > args.size())
        args.push_back(TrainingStep::stepValue(step));
      if (auto err = r.update.exec->run(args, outs))
        return fail("rank " + std::to_string(rank) + ": " + llvm::toString(std::move(err)));
      size_t n = r.weights.size();
      for (size_t i = 0; i < n; ++i)
        r.weights[i] = std::move(outs[i]);
      for (size_t k = 0; k < r.state.size(); ++k)
        r.state[k] = std::move(outs[n + k]);
    }
    times.push_back(now());
    losses.push_back(loss);
    if (rank == 0 && !reportLoss(step, scalarF32(loss)))
      return 1;
    if (!std::isfinite(loss))
      return 1;
    if (step == 1 && o.steps > 1 && failed(regenerateOnMeasuredTimes(schedule, timeline, *setup,
                                                                     pipe, rank == 0)))
      return 1;
  }

  // Per rank: the median step (the first excluded when there are others)
  // and the last step's time waiting in receives.
  std::vector<double> sorted = times;
  if (sorted.size() > 1)
    sorted.erase(sorted.begin());
  double row[2] = {medianOf(sorted), secondsWaiting(timeline)};
  std::vector<double> all(rank == 0 ? 2 * world : 0);
  MPI_Gather(row, 2, MPI_DOUBLE, all.data(), 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (!pipe.traceFile.empty() && writeMeasuredTrace(timeline, rank, world, pipe.traceFile))
    return 1;

  // Every stage's trained weights to rank 0, block by block (a block that
  // several ranks hold arrives from each), by name onto the one-device
  // step's parameters.
  std::vector<HostTensor> trained;
  if (rank == 0)
    trained.assign(reference.step.roles.size(), HostTensor());
  {
    runtime::CollectiveScope scope("gather_weights", -1);
    constexpr int kWeights = 23;
    for (int st = 0; st < stages; ++st) {
      const StageParameters &p = stageParams[st];
      std::vector<HostTensor> whole;
      if (rank == 0)
        for (const TensorSpec &spec : p.specs)
          whole.push_back(HostTensor(spec.dtype, spec.shape));
      for (int r = 0; r < world; ++r) {
        if (placeOf(r, *setup).pipeRank != schedule.stageRank[st] || (rank != r && rank != 0))
          continue;
        for (size_t i = 0; i < p.names.size(); ++i) {
          if (rank == r) {
            const StageRun &run = runs[st];
            std::vector<int64_t> off = blocks::blockOffsets(
                run.weightLayouts[i], run.weights[i].shape, place.subRank, setup->sub);
            if (rank == 0)
              blocks::copyBlock(whole[i], const_cast<HostTensor &>(run.weights[i]), off,
                                /*toBlock=*/false);
            else
              blocks::sendBlock(run.weights[i], off, 0, kWeights);
          } else {
            blocks::recvBlockInto(whole[i], r, kWeights);
          }
        }
      }
      for (size_t i = 0; i < whole.size(); ++i)
        for (size_t a = 0; a < reference.step.names.size(); ++a)
          if (reference.step.roles[a] == "parameter" && reference.step.names[a] == p.names[i] &&
              trained[a].data.empty())
            trained[a] = whole[i];
    }
  }

  int rc = 0;
  if (rank == 0) {
    llvm::outs() << "partita: trained " << m << " microbatches per step on " << stages
                 << " pipeline stages" << perRank(*setup) << " (mesh " << setup->mesh.str() << ", schedule "
                 << schedule.name << ")\n";
    for (int64_t r = 0; r < world; ++r)
      llvm::outs() << "rank " << r << ": median step " << llvm::format("%.2f", all[2 * r] * 1e3)
                   << " ms, waiting for transfers "
                   << llvm::format("%.2f", all[2 * r + 1] * 1e3) << " ms (last step)\n";
    if (!pipe.traceFile.empty())
      llvm::outs() << "wrote " << pipe.traceFile << "\n";
    if (!o.saveWeightsDir.empty() &&
        failed(saveTrainedWeights(o, reference.step, reference.step.parameters(trained))))
      rc = 1;
    if (!rc && opts.run.check)
      rc = checkTrainingOnOneDevice(reference, *referenceModule, opts.run.compile, losses,
                                    trained);
  }
  partita_runtime_shutdown();
  return rc;
}

} // namespace partita
