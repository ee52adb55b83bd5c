//===- PipelineSupport.cpp - what the schedule executors share ------------===//

#include "PipelineSupport.h"

#include "dialects/Graph/IR/GraphOps.h"
#include "partita/Diagnostics.h"
#include "partita/Pipeline/Balance.h"
#include "partita/Planner/Cluster.h"
#include "partita/Planner/CostModel.h"
#include "partita/Runtime/CollectivesABI.h"
#include "partita/Sharding/Annotations.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <mpi.h>

#include <cstring>

using namespace mlir;

namespace partita::pipelined {

int fail(const llvm::Twine &msg) {
  llvm::outs().flush();
  llvm::errs() << "partita: error: " << msg << "\n";
  return 1;
}

int64_t PipelineSetup::subSize() const {
  int64_t n = 1;
  for (auto &[name, size] : sub.axes)
    n *= size;
  return n;
}

std::optional<PipelineSetup> setUpPipeline(const DistributedOptions &opts, bool training) {
  const PipelineRunOptions &pipe = opts.pipeline;
  std::string err;
  auto mesh = parseMeshFlag(opts.mesh, err);
  if (failed(mesh))
    return fail(err), std::nullopt;
  PipelineSetup setup;
  setup.mesh = *mesh;
  setup.pipeAxis = -1;
  for (auto [i, axis] : llvm::enumerate(mesh->axes)) {
    if (axis.first == pipe.axis)
      setup.pipeAxis = (int)i, setup.ranks = axis.second;
    else
      setup.sub.axes.push_back(axis);
  }
  if (setup.pipeAxis < 0)
    return fail("--pipeline " + pipe.axis + ": the mesh " + mesh->str() + " has no such axis"),
           std::nullopt;
  int64_t ranks = setup.ranks;
  if (!opts.shardingsFile.empty()) {
    if (setup.sub.axes.empty())
      return fail("--shardings: the mesh has no axis besides the pipeline's '" + pipe.axis +
                  "' to shard over"),
             std::nullopt;
    auto specs = readShardingsFile(opts.shardingsFile, err);
    if (failed(specs))
      return fail(err), std::nullopt;
    setup.specs = *specs;
    setup.specsSource = opts.shardingsFile;
    if (setup.specs.mesh) // the file may name the whole mesh or the other axes
      llvm::erase_if(setup.specs.mesh->axes, [&](auto &a) { return a.first == pipe.axis; });
  }
  if (pipe.microbatches < 1)
    return fail("--microbatches must be at least 1"), std::nullopt;
  pipeline::ScheduleSpec spec;
  if (!pipeline::parseScheduleName(pipe.schedule, spec, err))
    return fail(err), std::nullopt;
  // Virtual stages: interleaved:V and zb-v place several on each rank.
  int64_t stages = ranks * spec.chunks;
  if ((int64_t)pipe.stages.size() + 1 != stages)
    return fail("--pipeline " + pipe.axis + " has " + std::to_string(ranks) + " ranks" +
                (spec.chunks > 1 ? " and --schedule " + pipe.schedule + " places " +
                                       std::to_string(spec.chunks) + " stages on each"
                                 : std::string()) +
                ": --stages needs " + std::to_string(stages - 1) + " boundary tensors, got " +
                std::to_string(pipe.stages.size())),
           std::nullopt;
  if ((training || !setup.sub.axes.empty()) && stages < 2)
    return fail(std::string(training ? "train --pipeline" : "--pipeline with other mesh axes") +
                " needs at least 2 stages (--mesh " + pipe.axis + "=2 or more)"),
           std::nullopt;
  spec.ranks = (int)ranks;
  spec.microbatches = (int)pipe.microbatches;
  spec.training = training;
  auto schedule = pipeline::generateSchedule(spec, err);
  if (!schedule || !pipeline::verifySchedule(*schedule, err))
    return fail("schedule " + pipe.schedule + ": " + err), std::nullopt;
  setup.spec = spec;
  setup.schedule = std::move(*schedule);
  return setup;
}

std::optional<DistributedOptions> resolveStages(MLIRContext &ctx, StringRef input,
                                                const DistributedOptions &opts,
                                                const ModelLoader &load, bool print,
                                                const planner::Cluster *given) {
  DistributedOptions out = opts;
  std::vector<std::string> &stages = out.pipeline.stages;
  if (stages.size() != 1 || stages[0] != "auto")
    return out;
  std::string err;
  auto mesh = parseMeshFlag(opts.mesh, err);
  if (failed(mesh))
    return fail(err), std::nullopt;
  int64_t count = 0;
  for (auto &[name, size] : mesh->axes)
    if (name == opts.pipeline.axis)
      count = size;
  // As many stages as the schedule places: v per rank with virtual stages
  // (a bad --schedule is named by setUpPipeline).
  pipeline::ScheduleSpec spec;
  if (pipeline::parseScheduleName(opts.pipeline.schedule, spec, err))
    count *= spec.chunks;
  if (count == 0)
    return fail("--pipeline " + opts.pipeline.axis + ": the mesh " + mesh->str() +
                " has no such axis"),
           std::nullopt;
  MLIRContext scratch(ctx.getDialectRegistry());
  OneLineDiagnostics diags(scratch, opts.run.compile.verbose);
  OwningOpRef<ModuleOp> module = load(scratch, input);
  if (!module)
    return std::nullopt;
  std::string origin;
  FailureOr<planner::Cluster> cluster =
      given ? FailureOr<planner::Cluster>(*given) : planner::loadClusterOrLocal("", err, origin);
  if (failed(cluster))
    return fail(err), std::nullopt;
  auto cost = planner::estimateCost(*module, *cluster, err);
  if (failed(cost))
    return fail("--stages auto: " + err), std::nullopt;
  // Each weight's bytes at its first user, in the cost model's op order
  // (the body's ops but constants and the return); training adds its
  // gradient and optimizer state (f32: SGD none, momentum one, AdamW two).
  double perWeight = 1;
  if (opts.training) {
    const TrainOptions &t = opts.training->options;
    perWeight = 2 + (t.optimizer == "adamw" ? 2 : t.momentum > 0 ? 1 : 0);
  }
  std::vector<double> weightBytes(cost->ops.size(), 0);
  if (auto main = planner::costedFunction(*module)) {
    llvm::DenseSet<Operation *> counted;
    size_t at = 0;
    for (Operation &op : main.front()) {
      if (isa<graph::ConstantOp, func::ReturnOp>(op))
        continue;
      for (Value v : op.getOperands())
        if (auto c = v.getDefiningOp<graph::ConstantOp>();
            c && c.isTrainableInitializer() && counted.insert(c).second && at < weightBytes.size())
          weightBytes[at] += perWeight * planner::tensorBytes(c.getType());
      ++at;
    }
  }
  // The layers: runs of one layer group, each ending at a named tensor.
  std::vector<double> times, bytes;
  std::vector<std::string> ends, names;
  for (auto [i, op] : llvm::enumerate(cost->ops)) {
    if (!op.collective.empty())
      continue;
    if (names.empty() || names.back() != op.layer) {
      names.push_back(op.layer);
      times.push_back(0), bytes.push_back(0), ends.push_back("");
    }
    times.back() += op.computeTime;
    bytes.back() += weightBytes[i];
    if (!op.name.empty())
      ends.back() = op.name;
  }
  // A run with no named tensor joins the next one.
  for (size_t i = 0; i + 1 < ends.size();)
    if (ends[i].empty()) {
      times[i + 1] += times[i], bytes[i + 1] += bytes[i];
      for (auto *v : {&times, &bytes})
        v->erase(v->begin() + i);
      ends.erase(ends.begin() + i), names.erase(names.begin() + i);
    } else {
      ++i;
    }
  double limit = opts.pipeline.stageMemoryBytes > 0 ? opts.pipeline.stageMemoryBytes
                                                     : cluster->device.memoryBytes;
  auto split = pipeline::balanceStages(times, bytes, (int)count, limit, err);
  if (!split)
    return fail("--stages auto: " + err), std::nullopt;
  stages.clear();
  for (size_t u : split->lastUnits)
    stages.push_back(ends[u]);
  if (print) {
    llvm::outs() << "stages auto: " << llvm::join(stages, ",") << " (" << names.size()
                 << " layers; per stage";
    for (auto [t, b] : llvm::zip(split->stageTimes, split->stageBytes))
      llvm::outs() << " " << planner::formatSeconds(t) << " " << planner::formatBytes(b);
    llvm::outs() << " on " << cluster->name;
    if (limit > 0)
      llvm::outs() << ", at most " << planner::formatBytes(limit) << " per stage";
    llvm::outs() << ")\n";
    llvm::outs().flush();
  }
  return out;
}

PipelinePlace placeOf(int worldRank, const PipelineSetup &setup) {
  std::vector<int64_t> c = blocks::coordsOf(worldRank, setup.mesh);
  PipelinePlace p;
  p.pipeRank = (int)c[setup.pipeAxis];
  for (size_t i = 0; i < c.size(); ++i)
    if ((int)i != setup.pipeAxis)
      p.subRank = p.subRank * (int)setup.mesh.axes[i].second + (int)c[i];
  return p;
}

std::string perRank(const PipelineSetup &setup) {
  int v = setup.schedule.numStages() / std::max(setup.schedule.ranks, 1);
  return v > 1 ? ", " + std::to_string(v) + " per rank" : "";
}

std::vector<std::vector<std::string>> stageGroupTable(const MeshSpec &sub) {
  std::vector<std::vector<std::string>> table;
  size_t n = sub.axes.size();
  for (unsigned mask = 1; mask < (1u << n); ++mask) {
    std::vector<std::string> axes;
    for (size_t i = 0; i < n; ++i)
      if (mask & (1u << i))
        axes.push_back(sub.axes[i].first);
    table.push_back(axes);
  }
  return table;
}

int validateAndLaunch(MLIRContext &ctx, StringRef input, const DistributedOptions &opts,
                      const ModelLoader &load, int64_t ranks,
                      llvm::function_ref<LogicalResult(MLIRContext &, ModuleOp)> validate,
                      StringRef what) {
  MLIRContext checkCtx(ctx.getDialectRegistry());
  OneLineDiagnostics diags(checkCtx, opts.run.compile.verbose);
  OwningOpRef<ModuleOp> module = load(checkCtx, input);
  if (!module || failed(validate(checkCtx, *module)))
    return 1;
  return relaunchUnderMpirun(ranks, what);
}

std::optional<int32_t> startPipelineRank(const PipelineSetup &setup, double collectiveTimeout) {
  std::vector<int64_t> meshSizes;
  for (auto &[name, size] : setup.mesh.axes)
    meshSizes.push_back(size);
  char initError[512];
  if (partita_runtime_init(meshSizes.data(), (int32_t)meshSizes.size(), initError,
                           sizeof initError))
    return fail(initError), std::nullopt;
  partita_runtime_set_collective_timeout(collectiveTimeout);
  auto indexOf = [&](const std::string &axis) {
    for (auto [i, a] : llvm::enumerate(setup.mesh.axes))
      if (a.first == axis)
        return (int32_t)i;
    return (int32_t)-1;
  };
  for (const auto &axes : stageGroupTable(setup.sub)) {
    std::vector<int32_t> ids;
    for (const std::string &a : axes)
      ids.push_back(indexOf(a));
    partita_runtime_add_group(ids.data(), (int32_t)ids.size());
  }
  int32_t pipeAxis = setup.pipeAxis;
  return partita_runtime_add_group(&pipeAxis, 1);
}

HostTensor microbatch(const HostTensor &t, int64_t i, int64_t m, bool strided) {
  if (t.shape.empty())
    return t;
  std::vector<int64_t> shape = t.shape;
  shape[0] /= m;
  HostTensor out(t.dtype, shape);
  if (!strided) {
    std::memcpy(out.data.data(), t.data.data() + i * out.numBytes(), out.numBytes());
    return out;
  }
  size_t row = shape[0] ? out.numBytes() / shape[0] : 0;
  for (int64_t j = 0; j < shape[0]; ++j)
    std::memcpy(out.data.data() + j * row, t.data.data() + (i + j * m) * row, row);
  return out;
}

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

func::FuncOp keepAsMain(ModuleOp module, StringRef name) {
  auto keep = module.lookupSymbol<func::FuncOp>(name);
  if (!keep)
    return {};
  for (auto f : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
    if (f != keep && !f.isExternal())
      f.erase();
  keep.setSymName("main");
  keep->removeAttr("pipeline.stage");
  for (unsigned i = 0; i < keep.getNumArguments(); ++i)
    keep.removeArgAttr(i, "graph.init");
  return keep;
}

std::unique_ptr<Executor> compileFunction(ModuleOp module, StringRef name,
                                          const CompileOptions &options, ModelSignature &sig) {
  OwningOpRef<ModuleOp> copy = module.clone();
  if (!keepAsMain(*copy, name))
    return emitError(module.getLoc()) << "no function @" << name << " to compile", nullptr;
  auto s = getSignature(*copy);
  if (failed(s))
    return nullptr;
  StageTimer timer;
  timer.verbose = options.verbose;
  if (failed(lowerToLLVM(*copy, options, timer, &*s)))
    return nullptr;
  sig = *s;
  return Executor::create(*copy, *s);
}

int writeMeasuredTrace(const std::vector<pipeline::SimulationResult::Slot> &timeline, int rank,
                       int64_t ranks, const std::string &file) {
  // Every rank's slots to rank 0, as (kind, phase, microbatch, stage, peer,
  // start, end) rows.
  constexpr int kRow = 7;
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
  MPI_Gatherv(rows.data(), count, MPI_DOUBLE, gathered.data(), counts.data(), offsets.data(),
              MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (rank != 0)
    return 0;
  std::vector<std::vector<pipeline::SimulationResult::Slot>> lines(ranks);
  for (int r = 0; r < ranks; ++r)
    for (int k = offsets[r]; k + kRow <= offsets[r] + counts[r]; k += kRow) {
      pipeline::Action a{(pipeline::ActionKind)(int)gathered[k],
                         (pipeline::Phase)(int)gathered[k + 1], (int)gathered[k + 2],
                         (int)gathered[k + 3], (int)gathered[k + 4]};
      lines[r].push_back({a, gathered[k + 5], gathered[k + 6]});
    }
  std::error_code ec;
  llvm::raw_fd_ostream os(file, ec);
  if (ec)
    return fail("cannot write '" + file + "': " + ec.message());
  pipeline::writeChromeTrace(lines, 1e6, os);
  return 0;
}

double secondsWaiting(const std::vector<pipeline::SimulationResult::Slot> &timeline) {
  double waited = 0;
  for (auto &slot : timeline)
    if (slot.action.kind == pipeline::ActionKind::Recv)
      waited += slot.end - slot.start;
  return waited;
}

} // namespace partita::pipelined
