//===- Pipelined.cpp - `partita run --mesh pipe=P --pipeline pipe` ---------===//
//
// The schedule executor for inference (docs/pipeline.md). Every rank splits
// the model the same way (pipeline-split at --stages), keeps the function
// of its own stage as @main, compiles it, and walks its action list of the
// schedule: a receive takes the stage's arguments from the previous stage
// (one message per tensor, in argument order), a forward runs the stage on
// one microbatch, a send passes its results on. The model defines one
// microbatch; a step takes M of them along dimension 0 of every input
// (microbatch m is rows m*b..(m+1)*b-1). The last stage collects the
// outputs, concatenated in microbatch order, and hands them to rank 0, which
// prints them and checks them against expected outputs or the unsplit
// model run on each microbatch.
//
// Transfers are partita_send/partita_recv over the pipeline axis's group:
// the runtime's collective timeout and fault board apply, so a rank that
// dies mid-schedule stops the others with its name.
//
//===----------------------------------------------------------------------===//

#include "PipelineSupport.h"

#include "partita/Diagnostics.h"
#include "partita/InitAll.h"
#include "partita/Pipeline/Schedule.h"
#include "partita/Runtime/CollectivesABI.h"
#include "partita/Runtime/Executor.h"
#include "partita/Sharding/Annotations.h"
#include "partita/Sharding/Spmd.h"
#include "runtime/Runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <mpi.h>

#include <chrono>
#include <cstring>
#include <map>

using namespace mlir;

namespace partita {
namespace {

using namespace pipelined;

/// The model's signature with dimension 0 of every input and output
/// multiplied by `m` (what one step of m microbatches takes and gives).
ModelSignature stepSignature(ModelSignature sig, int64_t m) {
  for (auto *list : {&sig.inputs, &sig.outputs})
    for (TensorSpec &t : *list) {
      if (!t.shape.empty())
        t.shape[0] *= m;
      t.value.reset();
    }
  return sig;
}

/// The schedule executor for inference, the stages resolved.
int runInference(MLIRContext &ctx, llvm::StringRef input, const DistributedOptions &opts,
                 const ModelLoader &load) {
  const PipelineRunOptions &pipe = opts.pipeline;
  std::optional<PipelineSetup> setup = setUpPipeline(opts, /*training=*/false);
  if (!setup)
    return 1;
  const pipeline::Schedule &schedule = setup->schedule;
  int stages = schedule.numStages();
  registerAllPasses();

  if (!underLauncher())
    // The inputs, the expected outputs, the split and (with other axes)
    // the annotations and the partitioning of stage 0, checked here in one
    // line before any rank starts.
    return validateAndLaunch(
        ctx, input, opts, load, setup->worldSize(),
        [&](MLIRContext &checkCtx, ModuleOp module) -> LogicalResult {
          auto sig = getSignature(module);
          if (failed(sig))
            return failure();
          ModelSignature step = stepSignature(*sig, pipe.microbatches);
          if (!gatherInputs(checkCtx, input, step, opts.run))
            return failure();
          if (opts.run.check && !opts.run.expectedFiles.empty() &&
              !readExpected(checkCtx, step, opts.run.expectedFiles))
            return failure();
          StageProgram unused;
          return buildStageProgram(module, *setup, pipe, 0, PipelinePlace{}, nullptr, unused);
        },
        "--pipeline");

  OwningOpRef<ModuleOp> module = load(ctx, input);
  if (!module)
    return 1;
  auto modelSig = getSignature(*module);
  if (failed(modelSig))
    return 1;
  ModelSignature stepSig = stepSignature(*modelSig, pipe.microbatches);
  std::optional<int32_t> groupId = startPipelineRank(*setup, opts.collectiveTimeout);
  if (!groupId)
    return 1;
  int rank = partita_runtime_rank();
  int32_t group = *groupId;
  PipelinePlace place = placeOf(rank, *setup);
  int lastStage = stages - 1;
  std::vector<int> held = schedule.stagesOf(place.pipeRank);
  bool first = held.front() == 0, last = held.back() == lastStage;

  OwningOpRef<ModuleOp> reference;
  if (rank == 0 && opts.run.check && opts.run.expectedFiles.empty())
    reference = module->clone();
  // The rank's stages (several with virtual stages), each from its own
  // copy of the model.
  std::map<int, StageProgram> programs;
  for (int st : held) {
    OwningOpRef<ModuleOp> copy = st == held.back() ? std::move(module) : module->clone();
    if (failed(buildStageProgram(*copy, *setup, pipe, st, place, &opts.run.compile,
                                 programs[st])))
      return 1;
  }
  // The first stage's ranks read (or generate) the whole step and cut their
  // blocks of each microbatch.
  std::optional<std::vector<HostTensor>> stepInputs;
  if (first) {
    stepInputs = gatherInputs(ctx, input, stepSig, opts.run);
    if (!stepInputs)
      return 1;
  }
  int64_t m = pipe.microbatches;
  auto blockOf = [&](HostTensor global, size_t i) {
    const StageProgram &p0 = programs[0];
    HostTensor block(p0.sig.inputs[i].dtype, p0.sig.inputs[i].shape);
    blocks::copyBlock(global, block,
              blocks::blockOffsets(p0.inLayouts[i], block.shape, place.subRank,
                                   setup->sub),
              /*toBlock=*/true);
    return block;
  };

  // One step: walk the action list. Arguments (received, or handed over by
  // the previous stage on this rank) and results are kept per stage and
  // microbatch only until they are used.
  using Key = std::pair<int, int>; // (stage, microbatch)
  std::map<Key, std::vector<HostTensor>> arrived, produced;
  std::vector<std::vector<HostTensor>> outputs(last ? programs[lastStage].sig.outputs.size() : 0);
  std::vector<pipeline::SimulationResult::Slot> timeline;
  MPI_Barrier(MPI_COMM_WORLD); // the step starts together (compile times differ)
  auto t0 = std::chrono::steady_clock::now();
  auto now = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  for (const pipeline::Action &a : schedule.actions[place.pipeRank]) {
    double start = now();
    int mb = a.microbatch, st = a.stage;
    switch (a.kind) {
    case pipeline::ActionKind::Recv: {
      // Stage st's results, the arguments of stage st + 1 here.
      std::vector<HostTensor> &args = arrived[{st + 1, mb}];
      for (const TensorSpec &in : programs[st + 1].sig.inputs) {
        HostTensor t(in.dtype, in.shape);
        partita_recv(t.data.data(), (int64_t)t.numBytes(), place.pipeRank - a.peer, kBytes,
                     group);
        args.push_back(std::move(t));
      }
      break;
    }
    case pipeline::ActionKind::Compute: {
      std::vector<HostTensor> args;
      if (st == 0) {
        for (auto [i, t] : llvm::enumerate(*stepInputs))
          args.push_back(blockOf(microbatch(t, mb, m, /*strided=*/false), i));
      } else if (auto it = arrived.find({st, mb}); it != arrived.end()) {
        args = std::move(it->second), arrived.erase(it);
      } else { // the previous stage ran on this rank
        args = std::move(produced[{st - 1, mb}]), produced.erase({st - 1, mb});
      }
      std::vector<HostTensor> results;
      if (auto e = programs[st].exec->run(args, results))
        return fail("rank " + std::to_string(rank) + ": " + llvm::toString(std::move(e)));
      if (st == lastStage)
        for (size_t i = 0; i < results.size(); ++i)
          outputs[i].push_back(std::move(results[i]));
      else
        produced[{st, mb}] = std::move(results);
      break;
    }
    case pipeline::ActionKind::Send:
      for (const HostTensor &t : produced[{st, mb}])
        partita_send(t.data.data(), (int64_t)t.numBytes(), a.peer - place.pipeRank, kBytes,
                     group);
      produced.erase({st, mb});
      break;
    }
    timeline.push_back({a, start, now()});
  }
  double stepSeconds = now();

  // The last stage's blocks to rank 0, which assembles every microbatch's
  // outputs: per block its shape and offsets, then its bytes (rank 0 may
  // hold some of them itself).
  std::vector<HostTensor> assembled;
  {
    runtime::CollectiveScope scope("gather_outputs", -1);
    constexpr int kTag = 17;
    std::vector<std::vector<HostTensor>> parts;
    if (rank == 0)
      for (size_t i = 0; i < modelSig->outputs.size(); ++i) {
        parts.emplace_back();
        for (int64_t mb = 0; mb < m; ++mb)
          parts[i].push_back(HostTensor(modelSig->outputs[i].dtype, modelSig->outputs[i].shape));
      }
    if (last && rank == 0) {
      for (int64_t mb = 0; mb < m; ++mb)
        for (size_t i = 0; i < outputs.size(); ++i)
          blocks::copyBlock(parts[i][mb], outputs[i][mb],
                            blocks::blockOffsets(programs[lastStage].outLayouts[i],
                                                 outputs[i][mb].shape, place.subRank,
                                                 setup->sub),
                            /*toBlock=*/false);
    } else if (last) {
      for (int64_t mb = 0; mb < m; ++mb)
        for (size_t i = 0; i < outputs.size(); ++i)
          blocks::sendBlock(outputs[i][mb],
                            blocks::blockOffsets(programs[lastStage].outLayouts[i],
                                                 outputs[i][mb].shape, place.subRank,
                                                 setup->sub),
                            0, kTag);
    }
    if (rank == 0) {
      for (int r = 1; r < setup->worldSize(); ++r) {
        if (placeOf(r, *setup).pipeRank != schedule.stageRank[lastStage])
          continue;
        for (int64_t mb = 0; mb < m; ++mb)
          for (size_t i = 0; i < parts.size(); ++i)
            blocks::recvBlockInto(parts[i][mb], r, kTag);
      }
      for (auto &p : parts)
        assembled.push_back(concatenate(p));
    }
  }

  // Per rank: the step, and the time spent waiting in receives.
  int64_t world = setup->worldSize();
  std::vector<double> all(rank == 0 ? 2 * world : 0);
  double mine[2] = {stepSeconds, secondsWaiting(timeline)};
  MPI_Gather(mine, 2, MPI_DOUBLE, all.data(), 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (!pipe.traceFile.empty() && writeMeasuredTrace(timeline, rank, world, pipe.traceFile))
    return 1;

  int rc = 0;
  if (rank == 0) {
    llvm::outs() << "partita: ran " << m << " microbatches on " << stages << " pipeline stages"
                 << perRank(*setup) << " (mesh " << setup->mesh.str() << ", schedule "
                 << schedule.name << ")\n";
    for (int64_t r = 0; r < world; ++r)
      llvm::outs() << "rank " << r << ": step " << llvm::format("%.2f", all[2 * r] * 1e3)
                   << " ms, waiting for its inputs " << llvm::format("%.2f", all[2 * r + 1] * 1e3)
                   << " ms\n";
    std::vector<HostTensor> expected;
    if (opts.run.check && reference) {
      // The unsplit model on one device, microbatch by microbatch.
      ModelSignature refSig;
      auto refExec = compileFunction(*reference, "main", opts.run.compile, refSig);
      if (!refExec)
        return 1;
      std::vector<std::vector<HostTensor>> parts(refSig.outputs.size());
      for (int64_t mb = 0; mb < m; ++mb) {
        std::vector<HostTensor> in, out;
        for (const HostTensor &t : *stepInputs)
          in.push_back(microbatch(t, mb, m, /*strided=*/false));
        if (auto e = refExec->run(in, out))
          return fail(llvm::toString(std::move(e)));
        for (size_t i = 0; i < out.size(); ++i)
          parts[i].push_back(std::move(out[i]));
      }
      for (auto &p : parts)
        expected.push_back(concatenate(p));
    } else if (opts.run.check) {
      auto read = readExpected(ctx, stepSig, opts.run.expectedFiles);
      if (!read)
        return 1;
      expected = std::move(*read);
    }
    rc = reportOutputs(stepSig.outputs, assembled, opts.run.check ? &expected : nullptr,
                       opts.run);
    if (!pipe.traceFile.empty())
      llvm::outs() << "wrote " << pipe.traceFile << "\n";
  }
  partita_runtime_shutdown();
  return rc;
}

} // namespace

int runPipelinedCommand(MLIRContext &ctx, llvm::StringRef input, const DistributedOptions &opts,
                        const ModelLoader &load) {
  // --stages auto is resolved once, for inference and training alike.
  std::optional<DistributedOptions> resolved =
      resolveStages(ctx, input, opts, load, /*print=*/!underLauncher());
  if (!resolved)
    return 1;
  if (resolved->training)
    return runPipelinedTraining(ctx, input, *resolved, load);
  return runInference(ctx, input, *resolved, load);
}

} // namespace partita
