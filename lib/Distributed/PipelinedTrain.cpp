//===- PipelinedTrain.cpp - `partita train --pipeline` --------------------===//
//
// The schedule executor for training (docs/pipeline.md). Every rank splits
// the model the same way (pipeline-split at --stages), builds each stage's
// forward, backward (or its input and weight halves) and update
// (pipeline-stage-training), and compiles its own stage's. A step walks the
// rank's action list of the training schedule:
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
// Transfers are partita_send/partita_recv over the pipeline axis (sends
// are buffered, so forward and backward transfers may cross), reductions
// partita_all_reduce: the collective timeout and fault board apply.
//
//===----------------------------------------------------------------------===//

#include "PipelineSupport.h"

#include "partita/Diagnostics.h"
#include "partita/InitAll.h"
#include "partita/Runtime/CollectivesABI.h"
#include "partita/Sharding/Spmd.h"
#include "passes/Pipeline/Passes.h"

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

/// The pass pipeline that builds the stages' training functions.
std::string stagePipeline(const TrainOptions &o, const PipelineRunOptions &pipe,
                          bool splitBackward) {
  return "pipeline-split{stages=" + llvm::join(pipe.stages, ",") +
         "},pipeline-stage-training{" + lossAndOptimizerOptions(o) +
         (splitBackward ? " split-backward=true" : "") + "}";
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
  const pipeline::Schedule &schedule = setup->schedule;
  int64_t ranks = setup->ranks, m = pipe.microbatches;
  std::string passes = stagePipeline(o, pipe, schedule.splitBackward);
  // The one-device step of M accumulated microbatches: its batch and labels
  // are the pipeline's, and --check runs it.
  TrainOptions stepOptions = o;
  stepOptions.microbatches = (unsigned)m;
  registerAllPasses();

  if (!underLauncher())
    return validateAndLaunch(
        ctx, input, opts, load, ranks,
        [&](MLIRContext &checkCtx, ModuleOp module) -> LogicalResult {
          OwningOpRef<ModuleOp> step = module.clone();
          TrainingStep described;
          if (failed(prepareTrainingStep(checkCtx, *step, stepOptions, described)))
            return failure();
          return runPassPipeline(module, passes);
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
  bool last = rank + 1 == ranks;

  // Rank 0: the step's batch (and the reference for --check).
  DistributedTraining reference{stepOptions, {}};
  OwningOpRef<ModuleOp> referenceModule;
  if (rank == 0) {
    referenceModule = module->clone();
    if (failed(prepareTrainingStep(ctx, *referenceModule, stepOptions, reference.step)))
      return 1;
  }
  if (failed(runPassPipeline(*module, passes)))
    return 1;

  // Every stage's weights (rank 0 collects them at the end) and the tied
  // ones, in one order on every rank.
  std::vector<StageParameters> stageParams;
  std::map<std::string, TensorSpec> tiedSpecs;
  std::map<std::string, int> tiedFirstOwner;
  for (int64_t s = 0; s < ranks; ++s) {
    auto fwd = module->lookupSymbol<func::FuncOp>("main_stage" + std::to_string(s) + "_forward");
    if (!fwd)
      return fail("pipeline-stage-training made no forward for stage " + std::to_string(s));
    auto p = stageParameters(fwd);
    if (failed(p))
      return 1;
    for (size_t i = 0; i < p->names.size(); ++i)
      if (p->tied[i]) {
        tiedSpecs.emplace(p->names[i], p->specs[i]);
        tiedFirstOwner.emplace(p->names[i], (int)s);
      }
    stageParams.push_back(std::move(*p));
  }

  // This rank's functions.
  std::string base = "main_stage" + std::to_string(rank);
  // (bwdSig: the backward's, or with the split its input half's; the weight
  // half takes the same arguments.)
  ModelSignature fwdSig, bwdSig, weightSig, updSig;
  std::unique_ptr<Executor> forward, backward, backwardInput, backwardWeight, update;
  forward = compileFunction(*module, base + "_forward", opts.run.compile, fwdSig);
  if (!forward)
    return 1;
  std::string bwdName = base + (schedule.splitBackward ? "_backward_input" : "_backward");
  if (schedule.splitBackward) {
    backwardInput = compileFunction(*module, bwdName, opts.run.compile, bwdSig);
    backwardWeight =
        compileFunction(*module, base + "_backward_weight", opts.run.compile, weightSig);
    if (!backwardInput || !backwardWeight)
      return 1;
  } else if (!(backward = compileFunction(*module, bwdName, opts.run.compile, bwdSig))) {
    return 1;
  }
  auto updateFn = module->lookupSymbol<func::FuncOp>(base + "_update");
  if (updateFn && !(update = compileFunction(*module, base + "_update", opts.run.compile,
                                             updSig)))
    return 1;

  StageParameters &mine = stageParams[rank];
  size_t numParams = mine.names.size();
  std::vector<HostTensor> params = mine.initial;
  // Counted from the backward's signature: parameters, inputs, then
  // output gradients (or the labels).
  size_t numInputs = 0;
  std::vector<TensorSpec> outputGradSpecs;
  {
    auto bwdFn = module->lookupSymbol<func::FuncOp>(bwdName);
    for (unsigned i = numParams; i < bwdFn.getNumArguments(); ++i) {
      auto role = bwdFn.getArgAttrOfType<StringAttr>(i, "graph.role");
      StringRef r = role ? role.getValue() : "";
      if (r == "input")
        ++numInputs;
      else if (r == "output_grad")
        outputGradSpecs.push_back(bwdSig.inputs[i]);
    }
  }
  std::vector<TensorSpec> inputSpecs(fwdSig.inputs.begin() + numParams,
                                     fwdSig.inputs.begin() + numParams + numInputs);
  size_t numInputGrads = bwdSig.outputs.size() - (schedule.splitBackward ? 0 : numParams);
  // Trained weights (those with a gradient) are the first ones: the pass
  // keeps only those as arguments.
  size_t numStates = 0;
  if (updateFn)
    for (unsigned i = 0; i < updateFn.getNumArguments(); ++i)
      if (auto role = updateFn.getArgAttrOfType<StringAttr>(i, "graph.role"))
        numStates += role.getValue() == "state";
  numStates /= std::max<size_t>(numParams, 1); // per parameter
  std::vector<HostTensor> state;
  for (size_t i = 0; i < numParams; ++i)
    for (size_t k = 0; k < numStates; ++k)
      state.push_back(HostTensor(DType::F32, mine.specs[i].shape));

  // The batch: rank 0 holds the inputs and sends the labels to the last
  // stage, whose forward takes a microbatch of them (the step holds M).
  std::vector<HostTensor> stepInputs;
  std::optional<HostTensor> labels;
  if (rank == 0)
    for (size_t i = 0; i < reference.step.roles.size(); ++i) {
      if (reference.step.roles[i] == "input")
        stepInputs.push_back(reference.step.values[i]);
      if (reference.step.roles[i] == "label")
        labels = reference.step.values[i];
    }
  // (Rank 0 is never the last stage: there are at least two.)
  if (rank == 0 && labels)
    partita_send(labels->data.data(), (int64_t)labels->numBytes(), ranks - 1, kBytes, group);
  auto fwdFn = module->lookupSymbol<func::FuncOp>(base + "_forward");
  auto lastRole = fwdFn.getNumArguments()
                      ? fwdFn.getArgAttrOfType<StringAttr>(fwdFn.getNumArguments() - 1,
                                                           "graph.role")
                      : StringAttr();
  if (last && lastRole && lastRole.getValue() == "label") {
    TensorSpec spec = fwdSig.inputs.back();
    spec.shape[0] *= m;
    labels = HostTensor(spec.dtype, spec.shape);
    partita_recv(labels->data.data(), (int64_t)labels->numBytes(), ranks - 1, kBytes, group);
  }

  std::vector<double> losses, times;
  std::vector<pipeline::SimulationResult::Slot> timeline;
  double inverse = o.loss == "sum" ? 1.0 : 1.0 / (double)m;
  for (unsigned s = 1; s <= o.steps; ++s) {
    std::vector<HostTensor> grads;
    for (size_t i = 0; i < numParams; ++i)
      grads.push_back(HostTensor(DType::F32, mine.specs[i].shape));
    double lossSum = 0;
    std::map<int, std::vector<HostTensor>> saved, results, outputGrads, inputGrads;
    timeline.clear();
    MPI_Barrier(MPI_COMM_WORLD); // the step starts together (compile times differ)
    auto t0 = std::chrono::steady_clock::now();
    auto now = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    auto run = [&](Executor &e, int mb, bool withGrads, std::vector<HostTensor> &outs) {
      std::vector<HostTensor> args = params;
      args.insert(args.end(), saved[mb].begin(), saved[mb].end());
      if (last && labels)
        args.push_back(microbatch(*labels, mb, m, /*strided=*/true));
      else if (!last && withGrads)
        args.insert(args.end(), outputGrads[mb].begin(), outputGrads[mb].end());
      if (auto err = e.run(args, outs))
        return fail("rank " + std::to_string(rank) + ": " + llvm::toString(std::move(err)));
      return 0;
    };
    for (const pipeline::Action &a : schedule.actions[rank]) {
      double start = now();
      int mb = a.microbatch;
      bool fwdPhase = a.phase == Phase::Forward;
      std::vector<HostTensor> outs;
      switch (a.kind) {
      case ActionKind::Recv:
        if (fwdPhase)
          saved[mb] = recvAll(inputSpecs, 1, group);
        else
          outputGrads[mb] = recvAll(outputGradSpecs, -1, group);
        break;
      case ActionKind::Send:
        if (fwdPhase)
          sendAll(results[mb], 1, group), results.erase(mb);
        else
          sendAll(inputGrads[mb], -1, group), inputGrads.erase(mb);
        break;
      case ActionKind::Compute:
        switch (a.phase) {
        case Phase::Forward:
          if (rank == 0)
            for (const HostTensor &t : stepInputs)
              saved[mb].push_back(microbatch(t, mb, m, /*strided=*/true));
          if (run(*forward, mb, false, outs))
            return 1;
          if (last)
            lossSum += outs[0].getDouble(0);
          else
            results[mb] = std::move(outs);
          break;
        case Phase::Backward:
        case Phase::BackwardInput: {
          Executor &e = a.phase == Phase::Backward ? *backward : *backwardInput;
          if (run(e, mb, true, outs))
            return 1;
          inputGrads[mb].assign(std::make_move_iterator(outs.begin()),
                                std::make_move_iterator(outs.begin() + numInputGrads));
          if (a.phase == Phase::Backward) {
            for (size_t i = 0; i < numParams; ++i)
              addInto(grads[i], outs[numInputGrads + i]);
            saved.erase(mb), outputGrads.erase(mb);
          }
          break;
        }
        case Phase::BackwardWeight:
          if (run(*backwardWeight, mb, true, outs))
            return 1;
          for (size_t i = 0; i < numParams; ++i)
            addInto(grads[i], outs[i]);
          saved.erase(mb), outputGrads.erase(mb);
          break;
        }
        break;
      }
      timeline.push_back({a, start, now()});
    }

    // Tied weights: each owner's sum over its microbatches, summed over
    // the owners (the others add zeros), in one order everywhere.
    for (auto &[name, spec] : tiedSpecs) {
      HostTensor buf(DType::F32, spec.shape), sum(DType::F32, spec.shape);
      auto it = llvm::find(mine.names, name);
      size_t i = it - mine.names.begin();
      if (it != mine.names.end())
        buf = grads[i];
      partita_all_reduce(buf.data.data(), sum.data.data(), buf.numElements(), kF32, kSum, group);
      if (it != mine.names.end())
        grads[i] = std::move(sum);
    }
    for (HostTensor &g : grads)
      scaleBy(g, (float)inverse);
    // The loss of the step, on every rank (the last stage's; zeros add).
    float lossValue = last ? (float)(lossSum * inverse) : 0.f, loss = 0;
    partita_all_reduce(&lossValue, &loss, 1, kF32, kSum, group);
    // Clipping to the norm over every stage's weights (a tied weight
    // counted once, on its first owner).
    if (o.clipNorm > 0) {
      float sq = 0, total = 0;
      for (size_t i = 0; i < numParams; ++i) {
        if (mine.tied[i] && tiedFirstOwner[mine.names[i]] != rank)
          continue;
        const float *g = floats(grads[i]);
        for (int64_t k = 0, n = grads[i].numElements(); k < n; ++k)
          sq += g[k] * g[k];
      }
      partita_all_reduce(&sq, &total, 1, kF32, kSum, group);
      float norm = std::sqrt(total);
      float c = std::min<float>((float)o.clipNorm / (norm + 1e-6f), 1.f);
      for (HostTensor &g : grads)
        scaleBy(g, c);
    }
    if (update) {
      std::vector<HostTensor> args = params, outs;
      args.insert(args.end(), state.begin(), state.end());
      args.insert(args.end(), grads.begin(), grads.end());
      if (updSig.inputs.size() > args.size())
        args.push_back(TrainingStep::stepValue(s));
      if (auto err = update->run(args, outs))
        return fail("rank " + std::to_string(rank) + ": " + llvm::toString(std::move(err)));
      for (size_t i = 0; i < numParams; ++i)
        params[i] = std::move(outs[i]);
      for (size_t k = 0; k < state.size(); ++k)
        state[k] = std::move(outs[numParams + k]);
    }
    times.push_back(now());
    losses.push_back(loss);
    if (rank == 0 && !reportLoss(s, scalarF32(loss)))
      return 1;
    if (!std::isfinite(loss))
      return 1;
  }

  // Per rank: the median step (the first excluded when there are others)
  // and the last step's time waiting in receives.
  std::vector<double> sorted = times;
  if (sorted.size() > 1)
    sorted.erase(sorted.begin());
  double row[2] = {medianOf(sorted), secondsWaiting(timeline)};
  std::vector<double> all(rank == 0 ? 2 * ranks : 0);
  MPI_Gather(row, 2, MPI_DOUBLE, all.data(), 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (!pipe.traceFile.empty() && writeMeasuredTrace(timeline, rank, ranks, pipe.traceFile))
    return 1;

  // Every stage's trained weights to rank 0, by name onto the one-device
  // step's parameters.
  std::vector<HostTensor> trained;
  if (rank == 0)
    trained.assign(reference.step.roles.size(), HostTensor());
  for (int64_t r = 0; r < ranks; ++r) {
    std::vector<HostTensor> got;
    if (r == 0 && rank == 0)
      got = params;
    else if (rank == r)
      sendAll(params, -r, group);
    else if (rank == 0)
      got = recvAll(stageParams[r].specs, -r, group);
    if (rank != 0)
      continue;
    for (size_t i = 0; i < got.size(); ++i)
      for (size_t a = 0; a < reference.step.names.size(); ++a)
        if (reference.step.roles[a] == "parameter" &&
            reference.step.names[a] == stageParams[r].names[i] && trained[a].data.empty())
          trained[a] = got[i];
  }

  int rc = 0;
  if (rank == 0) {
    llvm::outs() << "partita: trained " << m << " microbatches per step on " << ranks
                 << " pipeline stages (mesh " << setup->mesh.str() << ", schedule "
                 << schedule.name << ")\n";
    for (int64_t r = 0; r < ranks; ++r)
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
