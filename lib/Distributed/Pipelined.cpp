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

#include "partita/Distributed/Distributed.h"

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

int fail(const llvm::Twine &msg) {
  llvm::errs() << "partita: error: " << msg << "\n";
  return 1;
}

constexpr int32_t kBytes = 9; // partita_dtype U8: transfers move raw bytes

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

/// Microbatch `i` of `m` of a step tensor (rows along dimension 0).
HostTensor microbatch(const HostTensor &t, int64_t i, int64_t m) {
  if (t.shape.empty())
    return t;
  std::vector<int64_t> shape = t.shape;
  shape[0] /= m;
  HostTensor out(t.dtype, shape);
  std::memcpy(out.data.data(), t.data.data() + i * out.numBytes(), out.numBytes());
  return out;
}

/// The m microbatches' tensors concatenated along dimension 0.
HostTensor concatenate(const std::vector<HostTensor> &parts) {
  std::vector<int64_t> shape = parts.front().shape;
  if (!shape.empty())
    shape[0] *= (int64_t)parts.size();
  HostTensor out(parts.front().dtype, shape);
  size_t at = 0;
  for (const HostTensor &p : parts) {
    std::memcpy(out.data.data() + at, p.data.data(), p.numBytes());
    at += p.numBytes();
  }
  return out;
}

} // namespace

int runPipelinedCommand(MLIRContext &ctx, llvm::StringRef input, const DistributedOptions &opts,
                        const ModelLoader &load) {
  const PipelineRunOptions &pipe = opts.pipeline;
  std::string err;
  auto mesh = parseMeshFlag(opts.mesh, err);
  if (failed(mesh))
    return fail(err);
  if (mesh->axes.size() != 1 || mesh->axes[0].first != pipe.axis)
    return fail("--pipeline " + pipe.axis + ": a pipeline combined with other mesh axes is not "
                "built yet; the mesh must be " + pipe.axis + "=N alone (docs/pipeline.md)");
  int64_t ranks = mesh->axes[0].second;
  if (opts.training)
    return fail("partita train --pipeline is not built yet (docs/pipeline.md)");
  if (!opts.shardingsFile.empty())
    return fail("--pipeline with --shardings is not built yet (docs/pipeline.md)");
  if ((int64_t)pipe.stages.size() + 1 != ranks)
    return fail("--pipeline " + pipe.axis + " has " + std::to_string(ranks) +
                " ranks: --stages needs " + std::to_string(ranks - 1) +
                " boundary tensors, got " + std::to_string(pipe.stages.size()));
  if (pipe.microbatches < 1)
    return fail("--microbatches must be at least 1");
  pipeline::ScheduleSpec spec;
  if (!pipeline::parseScheduleName(pipe.schedule, spec, err))
    return fail(err);
  if (spec.chunks != 1)
    return fail("--schedule " + pipe.schedule +
                " needs virtual stages, which --pipeline runs do not build yet");
  spec.ranks = (int)ranks;
  spec.microbatches = (int)pipe.microbatches;
  spec.training = false;
  auto schedule = pipeline::generateSchedule(spec, err);
  if (!schedule || !pipeline::verifySchedule(*schedule, err))
    return fail("schedule " + pipe.schedule + ": " + err);
  registerAllPasses();

  if (!underLauncher()) {
    // The split, the inputs and the expected outputs checked here, in one
    // line, before any rank starts.
    MLIRContext checkCtx(ctx.getDialectRegistry());
    OneLineDiagnostics diags(checkCtx, opts.run.compile.verbose);
    OwningOpRef<ModuleOp> module = load(checkCtx, input);
    if (!module)
      return 1;
    auto sig = getSignature(*module);
    if (failed(sig))
      return 1;
    ModelSignature step = stepSignature(*sig, pipe.microbatches);
    if (!gatherInputs(checkCtx, input, step, opts.run))
      return 1;
    if (opts.run.check && !opts.run.expectedFiles.empty() &&
        !readExpected(checkCtx, step, opts.run.expectedFiles))
      return 1;
    if (failed(keepStage(*module, pipe.stages, 0)))
      return 1;
    return relaunchUnderMpirun(ranks, "--pipeline");
  }

  OwningOpRef<ModuleOp> module = load(ctx, input);
  if (!module)
    return 1;
  auto modelSig = getSignature(*module);
  if (failed(modelSig))
    return 1;
  ModelSignature stepSig = stepSignature(*modelSig, pipe.microbatches);
  std::vector<int64_t> meshSizes = {ranks};
  char initError[512];
  if (partita_runtime_init(meshSizes.data(), 1, initError, sizeof initError))
    return fail(initError);
  int rank = partita_runtime_rank();
  partita_runtime_set_collective_timeout(opts.collectiveTimeout);
  int32_t axis = 0;
  int32_t group = partita_runtime_add_group(&axis, 1);

  OwningOpRef<ModuleOp> reference;
  if (rank == 0 && opts.run.check && opts.run.expectedFiles.empty())
    reference = module->clone();
  if (failed(keepStage(*module, pipe.stages, rank)))
    return 1;
  auto stageSig = getSignature(*module);
  if (failed(stageSig))
    return 1;
  StageTimer timer;
  timer.verbose = opts.run.compile.verbose;
  if (failed(lowerToLLVM(*module, opts.run.compile, timer, &*stageSig)))
    return 1;
  auto exec = Executor::create(*module, *stageSig);
  if (!exec)
    return 1;
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
          args.push_back(microbatch(t, mb, m));
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
  double waited = 0;
  for (auto &slot : timeline)
    if (slot.action.kind == pipeline::ActionKind::Recv)
      waited += slot.end - slot.start;
  std::vector<double> all(rank == 0 ? 2 * ranks : 0);
  double mine[2] = {stepSeconds, waited};
  MPI_Gather(mine, 2, MPI_DOUBLE, all.data(), 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (!pipe.traceFile.empty()) {
    // Every rank's slots to rank 0, as (kind, phase, microbatch, stage,
    // start, end) rows.
    std::vector<double> rows;
    for (auto &s : timeline)
      rows.insert(rows.end(), {(double)s.action.kind, (double)s.action.phase,
                               (double)s.action.microbatch, (double)s.action.stage,
                               (double)s.action.peer, s.start, s.end});
    int count = (int)rows.size();
    std::vector<int> counts(rank == 0 ? ranks : 0), offsets(rank == 0 ? ranks : 0);
    MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::vector<double> gathered;
    if (rank == 0) {
      int total = 0;
      for (int r = 0; r < ranks; ++r)
        offsets[r] = total, total += counts[r];
      gathered.resize(total);
    }
    MPI_Gatherv(rows.data(), count, MPI_DOUBLE, gathered.data(), counts.data(),
                offsets.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      std::vector<std::vector<pipeline::SimulationResult::Slot>> lines(ranks);
      for (int r = 0; r < ranks; ++r)
        for (int k = offsets[r]; k + 7 <= offsets[r] + counts[r]; k += 7) {
          pipeline::Action a{(pipeline::ActionKind)(int)gathered[k],
                             (pipeline::Phase)(int)gathered[k + 1], (int)gathered[k + 2],
                             (int)gathered[k + 3], (int)gathered[k + 4]};
          lines[r].push_back({a, gathered[k + 5], gathered[k + 6]});
        }
      std::error_code ec;
      llvm::raw_fd_ostream os(pipe.traceFile, ec);
      if (ec)
        return fail("cannot write '" + pipe.traceFile + "': " + ec.message());
      pipeline::writeChromeTrace(lines, 1e6, os);
    }
  }

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
      auto refSig = getSignature(*reference);
      StageTimer t2;
      if (failed(refSig) || failed(lowerToLLVM(*reference, opts.run.compile, t2, &*refSig)))
        return 1;
      auto refExec = Executor::create(*reference, *refSig);
      if (!refExec)
        return 1;
      std::vector<std::vector<HostTensor>> parts(refSig->outputs.size());
      for (int64_t mb = 0; mb < m; ++mb) {
        std::vector<HostTensor> in, out;
        for (const HostTensor &t : *stepInputs)
          in.push_back(microbatch(t, mb, m));
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
