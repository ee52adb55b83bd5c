//===- Distributed.cpp - `partita run --mesh` --------------------------------===//

#include "partita/Distributed/Distributed.h"

#include "Blocks.h"

#include "dialects/Collectives/IR/CollectivesOps.h"
#include "dialects/Graph/IR/ConstantStorage.h"
#include "dialects/Sharding/IR/ShardingOps.h"
#include "passes/Propagation/Passes.h"
#include "partita/Diagnostics.h"
#include "partita/Import/Importer.h"
#include "partita/InitAll.h"
#include "partita/Planner/CostModel.h"
#include "partita/Runtime/CollectivesABI.h"
#include "partita/Runtime/Compare.h"
#include "partita/Runtime/Driver.h"
#include "partita/Runtime/Executor.h"
#include "partita/Runtime/Npy.h"
#include "partita/Sharding/Annotations.h"
#include "partita/Sharding/Spmd.h"
#include "passes/Runtime/Passes.h"
#include "runtime/Runtime.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <malloc.h>
#include <map>
#include <set>
#include <unistd.h>

extern char **environ;

using namespace mlir;

namespace partita {
using namespace blocks;
namespace {

int fail(const llvm::Twine &msg) {
  llvm::errs() << "partita: error: " << msg << "\n";
  return 1;
}

} // namespace

bool underLauncher() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") ||
         std::getenv("PMIX_RANK");
}

/// The ranks append their fault lines (CollectivesABI.cpp) to a temporary
/// file, printed here once mpirun has returned.
int relaunchUnderMpirun(int64_t ranks, llvm::StringRef what) {
  auto mpirun = llvm::sys::findProgramByName("mpirun");
  if (!mpirun)
    return fail(what + " needs " + std::to_string(ranks) +
                " ranks, but mpirun is not installed (apt-get install openmpi-bin)");
  auto cmdline = llvm::MemoryBuffer::getFileAsStream("/proc/self/cmdline");
  if (!cmdline)
    return fail("cannot read /proc/self/cmdline to start the ranks");
  std::vector<std::string> self;
  llvm::SmallVector<llvm::StringRef> parts;
  (*cmdline)->getBuffer().split(parts, '\0', -1, /*KeepEmpty=*/false);
  std::string exe = llvm::sys::fs::getMainExecutable(nullptr, (void *)&relaunchUnderMpirun);
  std::vector<std::string> args = {*mpirun, "--allow-run-as-root", "--oversubscribe",
                                   "-np", std::to_string(ranks), exe};
  for (size_t i = 1; i < parts.size(); ++i)
    args.push_back(parts[i].str());
  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::vector<std::string> env;
  for (char **e = environ; *e; ++e)
    env.push_back(*e);
  env.push_back("OMPI_ALLOW_RUN_AS_ROOT=1");
  env.push_back("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1");
  llvm::SmallString<128> faultFile;
  int fd = -1;
  if (!llvm::sys::fs::createTemporaryFile("partita-faults", "txt", fd, faultFile)) {
    ::close(fd);
    env.push_back(("PARTITA_FAULT_REPORT=" + faultFile).str());
  }
  // The progress board (CollectivesABI.cpp): 16 zero bytes per rank.
  llvm::SmallString<128> progressFile;
  if (!llvm::sys::fs::createTemporaryFile("partita-progress", "bin", fd, progressFile)) {
    bool sized = ::ftruncate(fd, ranks * 16) == 0;
    ::close(fd);
    if (sized)
      env.push_back(("PARTITA_PROGRESS_FILE=" + progressFile).str());
  }
  std::vector<llvm::StringRef> envRefs(env.begin(), env.end());
  std::string err;
  auto start = std::chrono::steady_clock::now();
  int rc = llvm::sys::ExecuteAndWait(*mpirun, argRefs, envRefs, {}, 0, 0, &err);
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<std::string> faults;
  if (!faultFile.empty()) {
    if (auto buf = llvm::MemoryBuffer::getFile(faultFile)) {
      llvm::SmallVector<llvm::StringRef> lines;
      (*buf)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
      std::set<std::string> seen;
      for (llvm::StringRef l : lines)
        if (seen.insert(l.str()).second)
          faults.push_back(l.str());
    }
    llvm::sys::fs::remove(faultFile);
  }
  if (!progressFile.empty())
    llvm::sys::fs::remove(progressFile);
  // The root cause first: a rank that crashed or exited, then timeouts.
  std::stable_sort(faults.begin(), faults.end(), [](const std::string &a, const std::string &b) {
    return a.find("timed out") == std::string::npos && b.find("timed out") != std::string::npos;
  });
  for (const std::string &f : faults)
    llvm::errs() << f << "\n";
  if (rc < 0)
    return fail("mpirun failed: " + err);
  if (rc != 0 && !faults.empty()) {
    char when[32];
    std::snprintf(when, sizeof when, "%.1f", secs);
    fail("the run on " + std::to_string(ranks) + " ranks failed; all ranks stopped after " +
         when + " s");
  }
  return rc;
}

namespace {

/// "file:line:col", a NameLoc's name (with its child location), fused
/// locations joined by " + "; "" when unknown.
std::string locString(Location loc) {
  if (auto f = dyn_cast<FileLineColLoc>(loc))
    return (f.getFilename().getValue() + ":" + llvm::Twine(f.getLine()) + ":" +
            llvm::Twine(f.getColumn()))
        .str();
  if (auto n = dyn_cast<NameLoc>(loc)) {
    std::string child = locString(n.getChildLoc());
    return child.empty() ? n.getName().str() : n.getName().str() + " (" + child + ")";
  }
  if (auto c = dyn_cast<CallSiteLoc>(loc))
    return locString(c.getCallee());
  if (auto f = dyn_cast<FusedLoc>(loc)) {
    std::string out;
    for (Location l : f.getLocations()) {
      std::string part = locString(l);
      if (part.empty())
        continue;
      out += (out.empty() ? "" : " + ") + part;
    }
    return out;
  }
  return "";
}

/// The name of the tensor a collective communicates: the producer's name
/// location, else "argN"/"opname".
std::string tensorName(Value v) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    std::string name = sharding::valueName(v); // graph.name: the model's
    return name.empty() ? "arg" + std::to_string(arg.getArgNumber()) : name;
  }
  Operation *def = v.getDefiningOp();
  Location loc = def->getLoc();
  if (auto f = dyn_cast<FusedLoc>(loc))
    for (Location l : f.getLocations())
      if (isa<NameLoc>(l)) {
        loc = l;
        break;
      }
  if (auto n = dyn_cast<NameLoc>(loc))
    return n.getName().str();
  return def->getName().getStringRef().str();
}

/// `partita run --report`: every collective of the partitioned program in
/// program order (`index` = the runtime's collective number, see
/// docs/runtime.md "Faults"), and the count and bytes per kind.
/// bytes_per_rank = the local input block each rank sends.
llvm::json::Object collectivesReport(ModuleOp module, const MeshSpec &mesh, int64_t ranks) {
  std::map<std::string, std::pair<int64_t, int64_t>> perKind; // count, bytes
  llvm::json::Array list;
  int64_t index = 0, total = 0;
  module.walk([&](Operation *op) {
    if (op->getDialect() == nullptr ||
        op->getDialect()->getNamespace() != collectives::CollectivesDialect::getDialectNamespace())
      return;
    if (isa<collectives::AxisSliceOp, collectives::AxisIndexOp>(op))
      return;
    auto type = cast<RankedTensorType>(op->getOperand(0).getType());
    int64_t bytes = type.getNumElements() *
                    std::max<int64_t>(1, (type.getElementTypeBitWidth() + 7) / 8);
    std::string kind = op->getName().stripDialect().str();
    llvm::json::Object o;
    o["index"] = ++index;
    o["kind"] = kind;
    o["location"] = locString(op->getLoc());
    o["tensor"] = tensorName(op->getOperand(0));
    llvm::json::Array axes;
    if (auto a = op->getAttrOfType<ArrayAttr>("axes"))
      for (Attribute x : a)
        axes.push_back(cast<StringAttr>(x).getValue().str());
    o["axes"] = std::move(axes);
    llvm::json::Array shape;
    for (int64_t d : type.getShape())
      shape.push_back(d);
    o["local_shape"] = std::move(shape);
    std::string et;
    llvm::raw_string_ostream(et) << type.getElementType();
    o["dtype"] = et;
    o["bytes_per_rank"] = bytes;
    list.push_back(std::move(o));
    perKind[kind].first += 1;
    perKind[kind].second += bytes;
    total += bytes;
  });
  llvm::json::Object counts, bytesPerKind;
  for (auto &[k, v] : perKind) {
    counts[k] = v.first;
    bytesPerKind[k] = v.second;
  }
  llvm::json::Object root;
  root["mesh"] = mesh.str();
  root["ranks"] = ranks;
  root["collectives"] = std::move(list);
  root["counts"] = std::move(counts);
  root["bytes_per_rank_by_kind"] = std::move(bytesPerKind);
  root["total_bytes_per_rank"] = total;
  return root;
}

/// Writes the report (a copy: it is written again with the timings).
LogicalResult writeReport(const llvm::json::Object &root, StringRef path) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    llvm::errs() << "partita: error: cannot write '" << path << "': " << ec.message() << "\n";
    return failure();
  }
  os << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object(root))) << "\n";
  return success();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

} // namespace

namespace {

/// A training step's updated parameters and state come out in the layout
/// of the argument they replace: the annotation of an annotated argument
/// is copied to its update, so the program itself lays the update out
/// (an all_gather after a ZeRO-1 update) and the next step takes it as is.
void tieUpdatesToArguments(ModuleOp module, const TrainingStep &step) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return;
  for (unsigned r = 0; r < step.updates.size() && r < main.getNumResults(); ++r)
    if (int64_t u = step.updates[r]; u >= 0)
      if (Attribute a = main.getArgAttr(u, sharding::kShardingAttr))
        main.setResultAttr(r, sharding::kShardingAttr, a);
}

/// A result block in layout `from` as the block of layout `to` of the
/// same global tensor (an updated parameter the partitioner laid out
/// differently from its argument): all-gathered on the host, then cut.
HostTensor reblock(const HostTensor &local, const Layout &from, const Layout &to,
                   const TensorSpec &global, const std::vector<int64_t> &toShape,
                   const MeshSpec &mesh, int rank, int64_t ranks) {
  size_t bytes = local.numBytes();
  std::vector<uint8_t> all(bytes * ranks);
  MPI_Allgather(local.data.data(), (int)bytes, MPI_BYTE, all.data(), (int)bytes, MPI_BYTE,
                MPI_COMM_WORLD);
  HostTensor g(global.dtype, global.shape);
  for (int r = 0; r < ranks; ++r) {
    HostTensor block(local.dtype, local.shape);
    std::memcpy(block.data.data(), all.data() + r * bytes, bytes);
    copyBlock(g, block, blockOffsets(from, block.shape, r, mesh), /*toBlock=*/false);
  }
  HostTensor out(local.dtype, toShape);
  copyBlock(g, out, blockOffsets(to, out.shape, rank, mesh), /*toBlock=*/true);
  return out;
}

using GatherFn =
    std::function<HostTensor(const Layout &, const TensorSpec &, const HostTensor &)>;

/// The training loop on one rank: steps of the partitioned step function,
/// each result that updates an argument becoming that argument's block.
/// Rank 0 prints the losses and, with `keep`, returns them and the trained
/// parameters (global, by argument).
int trainOnRanks(const DistributedTraining &training, Executor &exec,
                 std::vector<HostTensor> &locals, const std::vector<Layout> &inLayouts,
                 const std::vector<Layout> &outLayouts, const ModelSignature &localSig,
                 const ModelSignature &globalSig, const MeshSpec &mesh, int rank,
                 const GatherFn &gatherToRoot, bool keep, std::vector<double> &losses,
                 std::vector<HostTensor> &params) {
  const TrainingStep &step = training.step;
  const TrainOptions &o = training.options;
  int64_t ranks = 1;
  for (auto &[name, size] : mesh.axes)
    ranks *= size;
  std::vector<HostTensor> outs;
  std::vector<double> times;
  for (unsigned s = 1; s <= o.steps; ++s) {
    if (step.stepArg >= 0)
      locals[step.stepArg] = TrainingStep::stepValue(s);
    MPI_Barrier(MPI_COMM_WORLD);
    auto start = std::chrono::steady_clock::now();
    if (auto e = exec.run(locals, outs))
      return fail("rank " + std::to_string(rank) + ": " + llvm::toString(std::move(e)));
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    // The loss is a replicated scalar: every rank stops at the same step.
    losses.push_back(outs[0].getDouble(0));
    if (rank == 0 && !reportLoss(s, outs[0]))
      return 1;
    if (rank == 0)
      step.reportSkippedUpdate(s, locals, outs); // (the scale is a replicated scalar)
    if (!std::isfinite(losses.back()))
      return 1;
    if (s == 1 && !o.dumpGradsDir.empty()) {
      std::vector<HostTensor> grads(outs.size());
      for (unsigned r = 0; r < outs.size(); ++r)
        if (step.gradientOf[r] >= 0)
          grads[r] = gatherToRoot(outLayouts[r], globalSig.outputs[r], outs[r]);
      if (rank == 0 && failed(writeTensors(o.dumpGradsDir, step, step.gradients(grads))))
        return 1;
    }
    for (unsigned r = 0; r < outs.size(); ++r) {
      int64_t u = step.updates[r];
      if (u < 0)
        continue;
      if (outLayouts[r] == inLayouts[u])
        locals[u] = std::move(outs[r]);
      else
        locals[u] = reblock(outs[r], outLayouts[r], inLayouts[u], globalSig.inputs[u],
                            localSig.inputs[u].shape, mesh, rank, ranks);
    }
  }
  if (rank == 0)
    llvm::outs() << "partita: trained on " << ranks << " ranks (mesh " << mesh.str() << ")\n";
  // Per rank: median step (the first excluded when there are others), peak
  // RSS, and the parameters and optimizer state it holds between steps.
  if (times.size() > 1)
    times.erase(times.begin());
  double held = 0, heldParams = 0;
  int64_t psi = 0, numParams = 0, numStates = 0;
  for (unsigned i = 0; i < locals.size(); ++i) {
    if (step.roles[i] != "parameter" && step.roles[i] != "state")
      continue;
    held += locals[i].numBytes();
    if (step.roles[i] == "parameter") {
      ++numParams;
      heldParams += locals[i].numBytes();
      int64_t n = 1;
      for (int64_t d : globalSig.inputs[i].shape)
        n *= d;
      psi += n;
    } else {
      ++numStates;
    }
  }
  double mine[4] = {medianOf(times), peakRssMiB(), held / 1024, heldParams};
  std::vector<double> all(rank == 0 ? 4 * ranks : 0);
  MPI_Gather(mine, 4, MPI_DOUBLE, all.data(), 4, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    // ZeRO's memory model is about data parallelism: it applies where every
    // rank holds the parameters as the model says (whole, or from stage 3
    // split over the ZeRO axis), not where tensor parallelism splits them.
    int64_t parts = 1;
    for (auto &[name, size] : mesh.axes)
      if (name == o.zeroAxis)
        parts = size;
    auto bytes = planner::trainingStateBytes(4.0 * psi, numParams ? numStates / numParams : 0,
                                             o.zeroStage, parts);
    // Held between steps: parameters and optimizer state (the gradients
    // are temporaries of the step).
    double predicted = bytes.parameters + bytes.optimizer;
    for (int64_t r = 0; r < ranks; ++r) {
      llvm::outs() << "rank " << r << ": median step "
                   << llvm::format("%.3f", 1e3 * all[4 * r]) << " ms, peak RSS "
                   << llvm::format("%.1f", all[4 * r + 1])
                   << " MiB, parameters and optimizer state held "
                   << llvm::format("%.1f", all[4 * r + 2]) << " KiB";
      // (Parameters that cannot take the split stay whole: within 5%.)
      if (numParams && std::abs(all[4 * r + 3] - bytes.parameters) <= 0.05 * bytes.parameters)
        llvm::outs() << ", ZeRO-" << o.zeroStage << " model "
                     << llvm::formatv("{0:F1}", predicted / 1024).str() << " KiB";
      llvm::outs() << "\n";
    }
  }
  if (o.saveWeightsDir.empty() && !keep)
    return 0;
  params.assign(locals.size(), HostTensor());
  for (unsigned i = 0; i < locals.size(); ++i)
    if (step.roles[i] == "parameter")
      params[i] = gatherToRoot(inLayouts[i], globalSig.inputs[i], locals[i]);
  if (rank == 0 && !o.saveWeightsDir.empty() &&
      failed(saveTrainedWeights(o, step, step.parameters(params))))
    return 1;
  return 0;
}

} // namespace

int checkTrainingOnOneDevice(const DistributedTraining &training, ModuleOp reference,
                             const CompileOptions &compile, const std::vector<double> &losses,
                             const std::vector<HostTensor> &params) {
  const TrainingStep &step = training.step;
  auto refSig = getSignature(reference);
  StageTimer timer;
  if (failed(refSig) || failed(lowerToLLVM(reference, compile, timer, &*refSig)))
    return 1;
  auto refExec = Executor::create(reference, *refSig);
  if (!refExec)
    return 1;
  std::vector<HostTensor> values = step.values, outs;
  int bad = 0;
  for (unsigned s = 1; s <= losses.size(); ++s) {
    if (step.stepArg >= 0)
      values[step.stepArg] = TrainingStep::stepValue(s);
    if (auto e = refExec->run(values, outs))
      return fail(llvm::toString(std::move(e)));
    double want = outs[0].getDouble(0), got = losses[s - 1];
    bool ok = std::abs(got - want) <= 1e-4 * (1 + std::abs(want));
    if (!ok)
      llvm::outs() << "step " << s << ": loss MISMATCH (one device " << want << ", ranks "
                   << got << ")\n";
    bad += !ok;
    for (unsigned r = 0; r < outs.size(); ++r)
      if (step.updates[r] >= 0)
        values[step.updates[r]] = std::move(outs[r]);
  }
  if (!bad)
    llvm::outs() << "losses: OK (" << losses.size() << " steps)\n";
  for (auto [arg, tensor] : step.parameters(params)) {
    Comparison c = compareTensors(*tensor, values[arg], defaultTolerance(values[arg].dtype));
    if (!c.ok || !c.structuralError.empty()) {
      if (!c.structuralError.empty())
        llvm::outs() << "parameter '" << step.names[arg] << "': MISMATCH: " << c.structuralError
                     << "\n";
      else
        llvm::outs() << "parameter '" << step.names[arg] << "': MISMATCH (max abs err "
                     << c.maxAbsErr << ", max rel err " << c.maxRelErr << ")\n";
      ++bad;
    }
  }
  if (bad)
    return fail(std::to_string(bad) +
                " checks of the losses and trained parameters do not match one device");
  llvm::outs() << "parameters: OK (" << step.parameters(params).size()
               << " match one device)\n";
  return 0;
}

int reportOutputs(const std::vector<TensorSpec> &specs, const std::vector<HostTensor> &outputs,
                  const std::vector<HostTensor> *expected, const RunOptions &run) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    llvm::outs() << "output '" << specs[i].name << "': " << dtypeName(outputs[i].dtype) << " "
                 << shapeString(outputs[i].shape) << "\n";
    if (!run.outputDir.empty())
      if (auto e = writeNpyFile(run.outputDir + "/output_" + std::to_string(i) + ".npy",
                                outputs[i]))
        return fail(llvm::toString(std::move(e)));
  }
  if (!expected)
    return 0;
  int bad = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    Comparison c =
        compareTensors(outputs[i], (*expected)[i], defaultTolerance((*expected)[i].dtype));
    llvm::outs() << "output '" << specs[i].name << "': ";
    if (!c.structuralError.empty())
      llvm::outs() << "MISMATCH: " << c.structuralError << "\n";
    else
      llvm::outs() << (c.ok ? "OK" : "MISMATCH") << " (max abs err " << c.maxAbsErr
                   << ", max rel err " << c.maxRelErr << ")\n";
    bad += !c.ok;
  }
  if (bad)
    return fail(std::to_string(bad) + " of " + std::to_string(outputs.size()) +
                " outputs do not match the expected values");
  return 0;
}

int runDistributedCommand(MLIRContext &ctx, StringRef input, const DistributedOptions &opts,
                          const ModelLoader &load) {
  if (!opts.pipeline.axis.empty())
    return runPipelinedCommand(ctx, input, opts, load);
  std::string err;
  auto mesh = parseMeshFlag(opts.mesh, err);
  if (failed(mesh))
    return fail(err);
  int64_t ranks = 1;
  for (auto &[name, size] : mesh->axes)
    ranks *= size;
  // The CLI's run path registers passes on demand.
  registerAllPasses();
  ShardingSpecs specs;
  if (!opts.shardingsFile.empty()) {
    auto s = readShardingsFile(opts.shardingsFile, err);
    if (failed(s))
      return fail(err);
    specs = *s;
  }
  if (!underLauncher()) {
    // Check what the ranks will do with the inputs, expected outputs and
    // annotations (a dimension that does not split evenly, an unknown
    // tensor or axis, a layout the partitioner cannot form) here, in one
    // line, before any rank starts.
    {
      // In a context of its own, freed before the ranks start: this process
      // only waits for them.
      MLIRContext checkCtx(ctx.getDialectRegistry());
      OneLineDiagnostics checkDiags(checkCtx, opts.run.compile.verbose);
      OwningOpRef<ModuleOp> module = load(checkCtx, input);
      if (!module)
        return 1;
      // A training step's arguments were read by the loader.
      auto sig = getSignature(*module);
      if (failed(sig) || (!opts.training && !gatherInputs(checkCtx, input, *sig, opts.run)))
        return 1;
      std::vector<std::string> expected = expectedOutputFiles(input, opts.run);
      if (!opts.training && opts.run.check && !expected.empty() &&
          !readExpected(checkCtx, *sig, expected))
        return 1;
      SpmdOptions spmd;
      spmd.conservative = opts.conservative;
      if (failed(applyShardingAnnotations(*module, *mesh, specs, opts.shardingsFile)))
        return 1;
      if (opts.training)
        tieUpdatesToArguments(*module, opts.training->step);
      if (failed(partitionSpmd(*module, spmd)))
        return 1;
    }
    malloc_trim(0);
    // No GPU here: one line, before any rank starts.
    if (opts.run.compile.target == "cuda")
      if (std::string problem = cudaDeviceProblem(); !problem.empty())
        return fail(problem);
    return relaunchUnderMpirun(ranks, "--mesh");
  }
  // The model is imported into a context of its own: once this rank's
  // blocks of the weights are folded in, the module moves to a fresh
  // context and this one -- holding every weight of the model -- is freed.
  auto importCtx = std::make_unique<MLIRContext>(ctx.getDialectRegistry());
  auto importDiags = std::make_unique<OneLineDiagnostics>(*importCtx, opts.run.compile.verbose);
  OwningOpRef<ModuleOp> module = load(*importCtx, input);
  if (!module)
    return 1;
  auto globalSig = getSignature(*module);
  if (failed(globalSig))
    return 1;

  // The runtime first: every rank must get here, or none runs.
  std::vector<int64_t> meshSizes;
  for (auto &[name, size] : mesh->axes)
    meshSizes.push_back(size);
  char initError[512];
  // The CUDA target: this rank's GPU (the launcher's local rank) first, so
  // NCCL shares its device and stream.
  bool cuda = opts.run.compile.target == "cuda";
  if (cuda)
    if (std::string problem = cudaDeviceProblem(); !problem.empty())
      return fail(problem);
  if (partita_runtime_init_backend(meshSizes.data(), (int32_t)meshSizes.size(),
                                   cuda ? "nccl" : "mpi", initError, sizeof initError))
    return fail(initError);
  int rank = partita_runtime_rank();
  partita_runtime_set_collective_timeout(opts.collectiveTimeout);

  // Single-device reference (rank 0, --check without expected files).
  OwningOpRef<ModuleOp> reference;
  std::vector<std::string> expectedFiles =
      opts.training ? std::vector<std::string>() : expectedOutputFiles(input, opts.run);
  if (opts.run.check && expectedFiles.empty() && rank == 0) {
    reference = module->clone();
    dropShardings(*reference); // an annotated .mlir, or the auto plan
  }

  if (failed(applyShardingAnnotations(*module, *mesh, specs, opts.shardingsFile)))
    return 1;
  if (opts.training)
    tieUpdatesToArguments(*module, opts.training->step);
  SpmdOptions spmd;
  spmd.conservative = opts.conservative;
  if (failed(partitionSpmd(*module, spmd)))
    return 1;
  // Written now (a run that fails still leaves it), and again with the
  // timings once the steps have run.
  llvm::json::Object report;
  if (!opts.reportFile.empty() && rank == 0) {
    report = collectivesReport(*module, *mesh, ranks);
    if (failed(writeReport(report, opts.reportFile)))
      return 1;
  }
  // Each rank keeps only its blocks of the sharded weights: read from the
  // mapped model file (ONNX), or cut from the whole model (JSON, MLIR).
  bool mapped = graph::hasResourceConstants(*module);
  if (failed(localizeConstants(*module, rank)))
    return 1;
  // The single-device reference (rank 0, --check without expected
  // outputs) keeps its weights mapped: they are read when it runs, after
  // this rank's steps.
  std::vector<Operation *> live = {module->getOperation()};
  if (reference)
    live.push_back(reference->getOperation());
  size_t released = graph::releaseUnreferencedBlobs(live);
  if (opts.run.compile.verbose)
    llvm::errs() << "rank " << rank << ": released " << released
                 << " bytes of mapped or sliced weights; peak RSS so far "
                 << llvm::format("%.1f", peakRssMiB()) << " MiB\n";
  // Weights that were not mapped (a JSON or MLIR model) were imported
  // whole: the module (and the reference) move to the caller's context
  // through bytecode, and the import context, holding every weight, goes.
  // Mapped ones are not in memory: the module stays where it is.
  auto moveTo = [&](OwningOpRef<ModuleOp> &m) -> LogicalResult {
    if (!m)
      return success();
    std::string bytes;
    llvm::raw_string_ostream os(bytes);
    if (failed(writeBytecodeToFile(*m, os)))
      return emitError(m->getLoc()) << "cannot serialize the rank's module";
    m = nullptr;
    ParserConfig config(&ctx);
    m = parseSourceString<ModuleOp>(bytes, config);
    return success(bool(m));
  };
  if (!mapped) {
    if (failed(moveTo(module)) || failed(moveTo(reference)))
      return 1;
    importDiags.reset();
    importCtx.reset();
  }
  // Freed weights sit in malloc's arenas until trimmed (most are below its
  // mmap threshold): give the pages back to the system.
  malloc_trim(0);
  if (failed(runPassPipeline(*module, "convert-collectives-to-runtime")))
    return 1;

  // Group table -> runtime ids.
  if (auto table = (*module)->getAttrOfType<ArrayAttr>(collectives::kGroupsAttr))
    for (Attribute g : table) {
      std::vector<int32_t> axes;
      for (Attribute a : cast<ArrayAttr>(g)) {
        StringRef name = cast<StringAttr>(a).getValue();
        for (size_t i = 0; i < mesh->axes.size(); ++i)
          if (mesh->axes[i].first == name)
            axes.push_back((int32_t)i);
      }
      partita_runtime_add_group(axes.data(), (int32_t)axes.size());
    }

  auto func = module->lookupSymbol<func::FuncOp>("main");
  if (!func)
    return fail("the module has no @main");
  std::vector<Layout> inLayouts, outLayouts;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto l = layoutOf(func.getArgAttr(i, sharding::kPartitionedAttr), *mesh,
                      globalSig->inputs[i].shape.size());
    if (failed(l))
      return fail("input " + std::to_string(i) + ": unknown mesh axis");
    inLayouts.push_back(*l);
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto l = layoutOf(func.getResultAttr(i, sharding::kPartitionedAttr), *mesh,
                      globalSig->outputs[i].shape.size());
    if (failed(l))
      return fail("output " + std::to_string(i) + ": unknown mesh axis");
    outLayouts.push_back(*l);
  }
  auto localSig = getSignature(*module);
  if (failed(localSig))
    return 1;
  // The mesh and the group table are read; the CPU pipeline takes plain
  // upstream dialects.
  for (auto m : llvm::make_early_inc_range(module->getOps<sharding::MeshOp>()))
    m.erase();
  (*module)->removeAttr(collectives::kGroupsAttr);
  (*module)->removeAttr(collectives::kGroupsMeshAttr);
  StageTimer timer;
  timer.verbose = opts.run.compile.verbose;
  if (failed(lowerToLLVM(*module, opts.run.compile, timer, &*localSig)))
    return 1;
  releaseCompilerMemory(CompilerCode::MLIR);
  auto exec = Executor::create(*module, *localSig);
  if (!exec)
    return 1;
  releaseCompilerMemory(CompilerCode::MLIRAndLLVM);

  // Global inputs (every rank reads or generates the same), then blocks.
  // Checked before the launch: a failure here is not expected.
  std::optional<std::vector<HostTensor>> globalInputs =
      opts.training ? std::optional(opts.training->step.values)
                    : gatherInputs(ctx, input, *globalSig, opts.run);
  if (!globalInputs)
    return 1;
  std::vector<HostTensor> &globals = *globalInputs;
  std::vector<HostTensor> locals;
  for (size_t i = 0; i < globals.size(); ++i) {
    HostTensor block(localSig->inputs[i].dtype, localSig->inputs[i].shape);
    copyBlock(globals[i], block,
              blockOffsets(inLayouts[i], block.shape, rank, *mesh), /*toBlock=*/true);
    locals.push_back(std::move(block));
  }
  // A tensor's local blocks (in `layout`) assembled into the global tensor
  // on rank 0 (every rank takes part; the others get an empty tensor).
  auto gatherToRoot = [&](const Layout &layout, const TensorSpec &global,
                          const HostTensor &local) {
    size_t bytes = local.numBytes();
    std::vector<uint8_t> all(rank == 0 ? bytes * ranks : 0);
    runtime::CollectiveScope scope("gather_outputs", -1);
    MPI_Gather(local.data.data(), (int)bytes, MPI_BYTE, all.data(), (int)bytes, MPI_BYTE, 0,
               MPI_COMM_WORLD);
    if (rank != 0)
      return HostTensor();
    HostTensor g(global.dtype, global.shape);
    for (int r = 0; r < ranks; ++r) {
      HostTensor block(local.dtype, local.shape);
      std::memcpy(block.data.data(), all.data() + r * bytes, bytes);
      copyBlock(g, block, blockOffsets(layout, block.shape, r, *mesh), /*toBlock=*/false);
    }
    return g;
  };
  if (opts.training) {
    std::vector<double> losses;
    std::vector<HostTensor> params;
    int rc = trainOnRanks(*opts.training, *exec, locals, inLayouts, outLayouts, *localSig,
                          *globalSig, *mesh, rank, gatherToRoot, /*keep=*/opts.run.check,
                          losses, params);
    if (rc == 0 && reference)
      rc = checkTrainingOnOneDevice(*opts.training, *reference, opts.run.compile, losses,
                                    params);
    partita_runtime_shutdown();
    return rc;
  }

  // The step: once, or (--repeat N) one warm-up and N timed steps, each
  // started together (MPI_Barrier, not counted as a collective). Per step,
  // the wall time and the part of it inside collectives.
  std::vector<HostTensor> outs;
  std::vector<double> steps, inCollectives, compute;
  for (unsigned i = 0; i <= opts.run.repeat; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    double coll0 = partita_runtime_collective_seconds();
    auto start = std::chrono::steady_clock::now();
    if (auto e = exec->run(locals, outs))
      return fail("rank " + std::to_string(rank) + ": " + llvm::toString(std::move(e)));
    double step = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double coll = partita_runtime_collective_seconds() - coll0;
    if (i == 0 && opts.run.repeat)
      continue; // warm-up
    steps.push_back(step);
    inCollectives.push_back(coll);
    compute.push_back(step - coll);
  }
  // Per rank: median step, median time in collectives, median compute
  // (step minus collectives), gathered to rank 0.
  constexpr int kPerRank = 5;
  double mine[kPerRank] = {median(steps), median(inCollectives), median(compute),
                           *std::min_element(steps.begin(), steps.end()), peakRssMiB()};
  std::vector<double> timings(rank == 0 ? kPerRank * ranks : 0);
  MPI_Gather(mine, kPerRank, MPI_DOUBLE, timings.data(), kPerRank, MPI_DOUBLE, 0,
             MPI_COMM_WORLD);
  if (!opts.reportFile.empty() && rank == 0) {
    llvm::json::Array perRank;
    for (int64_t r = 0; r < ranks; ++r) {
      llvm::json::Object t;
      t["rank"] = r;
      t["step_seconds"] = timings[kPerRank * r];
      t["collective_seconds"] = timings[kPerRank * r + 1];
      t["compute_seconds"] = timings[kPerRank * r + 2];
      t["step_seconds_min"] = timings[kPerRank * r + 3];
      t["peak_rss_mib"] = timings[kPerRank * r + 4];
      perRank.push_back(std::move(t));
    }
    report["timed_steps"] = (int64_t)steps.size();
    report["rank_timings"] = std::move(perRank);
    if (failed(writeReport(report, opts.reportFile)))
      return 1;
  }

  // Rank 0 assembles the global outputs.
  std::vector<HostTensor> assembled;
  for (size_t i = 0; i < outs.size(); ++i) {
    HostTensor g = gatherToRoot(outLayouts[i], globalSig->outputs[i], outs[i]);
    if (rank == 0)
      assembled.push_back(std::move(g));
  }
  int rc = 0;
  if (rank == 0) {
    llvm::outs() << "partita: ran on " << ranks << " ranks (mesh " << mesh->str() << ")\n";
    std::vector<HostTensor> expected;
    if (opts.run.check) {
      if (reference) {
        auto refSig = getSignature(*reference);
        StageTimer t2;
        if (failed(refSig) || failed(lowerToLLVM(*reference, opts.run.compile, t2, &*refSig)))
          return 1;
        auto refExec = Executor::create(*reference, *refSig);
        if (!refExec)
          return 1;
        if (auto e = refExec->run(globals, expected))
          return fail(llvm::toString(std::move(e)));
      } else {
        auto read = readExpected(ctx, *globalSig, expectedFiles);
        if (!read)
          return 1;
        expected = std::move(*read);
      }
    }
    rc = reportOutputs(globalSig->outputs, assembled, opts.run.check ? &expected : nullptr,
                       opts.run);
  }
  partita_runtime_shutdown();
  return rc;
}

} // namespace partita
