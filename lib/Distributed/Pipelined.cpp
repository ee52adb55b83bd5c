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

/// Splits `module` at the stages and keeps stage `stage` as @main.
LogicalResult keepStage(ModuleOp module, const std::vector<std::string> &stages, int stage) {
  if (stages.empty())
    return success(); // one stage: the model itself
  std::string spec = "pipeline-split{stages=" + llvm::join(stages, ",") + "}";
  if (failed(runPassPipeline(module, spec)))
    return failure();
  std::string keep = "main_stage" + std::to_string(stage);
  for (auto f : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
    if (f.getSymName() != keep)
      f.erase();
  auto f = module.lookupSymbol<func::FuncOp>(keep);
  if (!f)
    return module.emitError() << "pipeline-split made no stage " << stage;
  f.setSymName("main");
  f->removeAttr("pipeline.stage");
  return success();
}

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

} // namespace

int runPipelinedCommand(MLIRContext &ctx, llvm::StringRef input, const DistributedOptions &opts,
                        const ModelLoader &load) {
  if (opts.training)
    return runPipelinedTraining(ctx, input, opts, load);
  const PipelineRunOptions &pipe = opts.pipeline;
  std::optional<PipelineSetup> setup = setUpPipeline(opts, /*training=*/false);
  if (!setup)
    return 1;
  const MeshSpec *mesh = &setup->mesh;
  int64_t ranks = setup->ranks;
  const pipeline::Schedule *schedule = &setup->schedule;
  registerAllPasses();

  if (!underLauncher())
    // The split, the inputs and the expected outputs checked here, in one
    // line, before any rank starts.
    return validateAndLaunch(
        ctx, input, opts, load, ranks,
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
          return keepStage(module, pipe.stages, 0);
        },
        "--pipeline");

  OwningOpRef<ModuleOp> module = load(ctx, input);
  if (!module)
    return 1;
  auto modelSig = getSignature(*module);
  if (failed(modelSig))
    return 1;
  ModelSignature stepSig = stepSignature(*modelSig, pipe.microbatches);
  std::optional<int32_t> groupId = startPipelineRank(ranks, opts.collectiveTimeout);
  if (!groupId)
    return 1;
  int rank = partita_runtime_rank();
  int32_t group = *groupId;

  OwningOpRef<ModuleOp> reference;
  if (rank == 0 && opts.run.check && opts.run.expectedFiles.empty())
    reference = module->clone();
  if (failed(keepStage(*module, pipe.stages, rank)))
    return 1;
  ModelSignature stageSigValue;
  auto exec = compileFunction(*module, "main", opts.run.compile, stageSigValue);
  if (!exec)
    return 1;
  const ModelSignature *stageSig = &stageSigValue;
  std::optional<std::vector<HostTensor>> stepInputs;
  if (rank == 0) {
    stepInputs = gatherInputs(ctx, input, stepSig, opts.run);
    if (!stepInputs)
      return 1;
  }

  // One step: walk the action list. Received arguments and produced
  // results are kept per microbatch only until they are used.
  int64_t m = pipe.microbatches;
  std::map<int, std::vector<HostTensor>> arrived, produced;
  std::vector<std::vector<HostTensor>> outputs(stageSig->outputs.size());
  std::vector<pipeline::SimulationResult::Slot> timeline;
  MPI_Barrier(MPI_COMM_WORLD); // the step starts together (compile times differ)
  auto t0 = std::chrono::steady_clock::now();
  auto now = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  for (const pipeline::Action &a : schedule->actions[rank]) {
    double start = now();
    int mb = a.microbatch;
    switch (a.kind) {
    case pipeline::ActionKind::Recv: {
      std::vector<HostTensor> &args = arrived[mb];
      for (const TensorSpec &in : stageSig->inputs) {
        HostTensor t(in.dtype, in.shape);
        partita_recv(t.data.data(), (int64_t)t.numBytes(), 1, kBytes, group);
        args.push_back(std::move(t));
      }
      break;
    }
    case pipeline::ActionKind::Compute: {
      std::vector<HostTensor> args;
      if (rank == 0)
        for (const HostTensor &t : *stepInputs)
          args.push_back(microbatch(t, mb, m, /*strided=*/false));
      else
        args = std::move(arrived[mb]), arrived.erase(mb);
      std::vector<HostTensor> results;
      if (auto e = exec->run(args, results))
        return fail("rank " + std::to_string(rank) + ": " + llvm::toString(std::move(e)));
      if (rank + 1 == ranks)
        for (size_t i = 0; i < results.size(); ++i)
          outputs[i].push_back(std::move(results[i]));
      else
        produced[mb] = std::move(results);
      break;
    }
    case pipeline::ActionKind::Send:
      for (const HostTensor &t : produced[mb])
        partita_send(t.data.data(), (int64_t)t.numBytes(), 1, kBytes, group);
      produced.erase(mb);
      break;
    }
    timeline.push_back({a, start, now()});
  }
  double stepSeconds = now();

  // The last stage's outputs to rank 0.
  std::vector<HostTensor> assembled;
  if (rank + 1 == ranks)
    for (auto &parts : outputs)
      assembled.push_back(concatenate(parts));
  if (ranks > 1) {
    int64_t shift = -(ranks - 1); // from the last position to the first
    for (size_t i = 0; i < stepSig.outputs.size(); ++i) {
      if (rank + 1 == ranks) {
        partita_send(assembled[i].data.data(), (int64_t)assembled[i].numBytes(), shift, kBytes,
                     group);
      } else if (rank == 0) {
        HostTensor t(stepSig.outputs[i].dtype, stepSig.outputs[i].shape);
        partita_recv(t.data.data(), (int64_t)t.numBytes(), shift, kBytes, group);
        assembled.push_back(std::move(t));
      }
    }
  }

  // Per rank: the step, and the time spent waiting in receives.
  std::vector<double> all(rank == 0 ? 2 * ranks : 0);
  double mine[2] = {stepSeconds, secondsWaiting(timeline)};
  MPI_Gather(mine, 2, MPI_DOUBLE, all.data(), 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (!pipe.traceFile.empty() && writeMeasuredTrace(timeline, rank, ranks, pipe.traceFile))
    return 1;

  int rc = 0;
  if (rank == 0) {
    llvm::outs() << "partita: ran " << m << " microbatches on " << ranks
                 << " pipeline stages (mesh " << mesh->str() << ", schedule " << schedule->name
                 << ")\n";
    for (int64_t r = 0; r < ranks; ++r)
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

} // namespace partita
