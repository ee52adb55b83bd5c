//===- Train.cpp - `partita train`: build, compile and run training steps -===//
//
// graph-autodiff adds @train_step; it becomes the module's @main (the CPU
// pipeline and the executor compile @main), its arguments are filled by
// role -- parameters from their initial values, optimizer state with zeros,
// the batch and labels from files or seeded random data, the step number --
// and after each step the results that update an argument replace it.
//
//===----------------------------------------------------------------------===//

#include "partita/Runtime/Train.h"

#include "dialects/Graph/IR/ConstantStorage.h"
#include "dialects/Graph/Interfaces/GradientInterface.h"
#include "partita/Import/Importer.h"
#include "partita/InitAll.h"
#include "partita/Runtime/Executor.h"
#include "partita/Runtime/Npy.h"
#include "passes/Autodiff/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

using namespace mlir;

namespace partita {
namespace {

int fail(const Twine &msg) {
  llvm::outs().flush();
  llvm::errs() << "partita: error: " << msg << "\n";
  return 1;
}

HostTensor scalarF32(float v) {
  HostTensor t(DType::F32, {});
  std::memcpy(t.data.data(), &v, 4);
  return t;
}

/// Seeded labels: class indices in [0, classes) for cross_entropy, else
/// values in [-1, 1).
HostTensor randomLabels(const TensorSpec &spec, int64_t classes, uint64_t seed) {
  if (spec.dtype != DType::I64)
    return randomTensor(spec.dtype, spec.shape, seed);
  HostTensor t(DType::I64, spec.shape);
  std::mt19937_64 rng(seed);
  for (int64_t i = 0; i < t.numElements(); ++i) {
    int64_t v = (int64_t)(rng() % (uint64_t)classes);
    std::memcpy(t.data.data() + 8 * i, &v, 8);
  }
  return t;
}

std::string fileName(StringRef dir, StringRef name) {
  // Initializer names may hold '/' (torch exports "/layer/Constant"): keep
  // one file per name in DIR.
  std::string safe = name.str();
  for (char &c : safe)
    if (c == '/' || c == '\\')
      c = '_';
  SmallString<256> p(dir);
  llvm::sys::path::append(p, safe + ".npy");
  return p.str().str();
}

} // namespace

std::optional<HostTensor> initialValue(ElementsAttr attr) {
  if (auto dense = dyn_cast<DenseElementsAttr>(attr))
    return tensorFromAttr(dense);
  auto type = cast<RankedTensorType>(attr.getType());
  std::optional<DType> dt = dtypeOf(type.getElementType());
  std::optional<ArrayRef<char>> raw = graph::rawData(attr);
  if (!dt || !raw)
    return std::nullopt;
  HostTensor t(*dt, std::vector<int64_t>(type.getShape()));
  if (raw->size() != t.numBytes())
    return std::nullopt;
  std::memcpy(t.data.data(), raw->data(), raw->size());
  return t;
}

void printGradientCoverage(MLIRContext &ctx, llvm::raw_ostream &os) {
  ctx.loadAllAvailableDialects();
  os << "| graph op | gradient |\n|---|---|\n";
  int rules = 0, none = 0, notYet = 0;
  std::vector<RegisteredOperationName> ops;
  for (RegisteredOperationName name : ctx.getRegisteredOperations())
    if (name.getDialectNamespace() == "graph")
      ops.push_back(name);
  llvm::sort(ops, [](RegisteredOperationName a, RegisteredOperationName b) {
    return a.getStringRef() < b.getStringRef();
  });
  for (RegisteredOperationName name : ops) {
    os << "| `" << name.getStringRef() << "` | ";
    if (auto *concept_ = name.getInterface<graph::GradientOpInterface>()) {
      bool rule = concept_->hasGradientRule();
      os << (rule ? "rule" : "none (not differentiable)");
      ++(rule ? rules : none);
    } else {
      os << "not yet (an error on the path to a loss)";
      ++notYet;
    }
    os << " |\n";
  }
  os << "\n" << rules << " ops with a rule, " << none << " without a gradient, " << notYet
     << " not differentiated yet.\n";
}

func::FuncOp makeStepTheEntry(ModuleOp module) {
  auto step = module.lookupSymbol<func::FuncOp>(graph::kTrainStepName);
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!step || !main)
    return nullptr;
  main.erase();
  step.setName("main");
  return step;
}

std::string lossAndOptimizerOptions(const TrainOptions &o) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "loss=" << o.loss << " optimizer=" << o.optimizer << " ignore-index=" << o.ignoreIndex
     << " lr=" << llvm::format("%.17g", o.lr) << " momentum=" << llvm::format("%.17g", o.momentum)
     << " weight-decay=" << llvm::format("%.17g", o.weightDecay)
     << " beta1=" << llvm::format("%.17g", o.beta1) << " beta2=" << llvm::format("%.17g", o.beta2)
     << " epsilon=" << llvm::format("%.17g", o.epsilon);
  if (!o.output.empty())
    os << " output=" << o.output;
  return s;
}

std::string autodiffPipeline(const TrainOptions &o, bool returnGrads) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "graph-autodiff{" << lossAndOptimizerOptions(o)
     << " clip-norm=" << llvm::format("%.17g", o.clipNorm);
  if (o.microbatches > 1)
    os << " microbatches=" << o.microbatches;
  if (o.recompute != "none")
    os << " recompute=" << o.recompute;
  if (o.precision != "f32")
    os << " precision=" << o.precision;
  if (returnGrads)
    os << " return-grads=true";
  os << "}";
  return s;
}

LogicalResult prepareTrainingStep(MLIRContext &ctx, ModuleOp module, const TrainOptions &opts,
                                  TrainingStep &out) {
  registerAllPasses();
  PassManager pm(&ctx, ModuleOp::getOperationName());
  std::string pipeline = autodiffPipeline(opts, !opts.dumpGradsDir.empty());
  std::string err;
  llvm::raw_string_ostream errOs(err);
  if (failed(parsePassPipeline(pipeline, pm, errOs)))
    return emitError(module.getLoc()) << "cannot build '" << pipeline << "': " << err;
  if (failed(pm.run(module)))
    return failure();

  // The step function is what gets compiled.
  func::FuncOp step = makeStepTheEntry(module);
  if (!step)
    return emitError(module.getLoc())
           << "graph-autodiff left no @" << graph::kTrainStepName << " next to @main";

  // Arguments by role; the initial values leave the IR.
  out = TrainingStep();
  unsigned numArgs = step.getNumArguments();
  out.roles.resize(numArgs);
  out.names.resize(numArgs);
  out.values.resize(numArgs);
  std::vector<unsigned> inputArgs;
  int labelArg = -1;
  for (unsigned i = 0; i < numArgs; ++i) {
    auto role = step.getArgAttrOfType<StringAttr>(i, "graph.role");
    auto name = step.getArgAttrOfType<StringAttr>(i, "graph.name");
    out.roles[i] = role ? role.getValue().str() : "";
    out.names[i] = name ? name.getValue().str() : "";
    auto type = cast<RankedTensorType>(step.getArgumentTypes()[i]);
    if (out.roles[i] == "parameter") {
      auto init = step.getArgAttrOfType<ElementsAttr>(i, "graph.init");
      std::optional<HostTensor> v = init ? initialValue(init) : std::nullopt;
      if (!v)
        return emitError(step.getArgument(i).getLoc())
               << "cannot read the initial value of parameter '" << out.names[i] << "'";
      out.values[i] = std::move(*v);
      step.removeArgAttr(i, "graph.init");
    } else if (out.roles[i] == "state") {
      // Zeros, unless the step says otherwise (f16's loss scale).
      auto init = step.getArgAttrOfType<ElementsAttr>(i, "graph.init");
      std::optional<HostTensor> v = init ? initialValue(init) : std::nullopt;
      std::optional<DType> dt = dtypeOf(type.getElementType());
      out.values[i] = v ? std::move(*v) : HostTensor(*dt, std::vector<int64_t>(type.getShape()));
      step.removeArgAttr(i, "graph.init");
      if (out.names[i] == "loss_scale")
        out.lossScaleArg = i;
    } else if (out.roles[i] == "input") {
      inputArgs.push_back(i);
    } else if (out.roles[i] == "label") {
      labelArg = i;
    } else if (out.roles[i] == "step") {
      out.stepArg = i;
      out.values[i] = scalarF32(1);
    }
  }
  auto sig = getSignature(module);
  if (failed(sig))
    return failure();

  // The batch: --inputs for @main's inputs, else seeded random data.
  if (!opts.run.inputFiles.empty() && opts.run.inputFiles.size() != inputArgs.size())
    return emitError(module.getLoc())
           << "the model takes " << inputArgs.size() << " input"
           << (inputArgs.size() == 1 ? "" : "s") << ", got " << opts.run.inputFiles.size()
           << " file" << (opts.run.inputFiles.size() == 1 ? "" : "s");
  auto fill = [&](unsigned argIdx, StringRef file, auto makeRandom) -> LogicalResult {
    const TensorSpec &spec = sig->inputs[argIdx];
    if (file.empty()) {
      out.values[argIdx] = makeRandom(spec);
      return success();
    }
    std::optional<HostTensor> t = readTensorFile(ctx, file, spec.dtype);
    if (!t)
      return failure();
    if (t->dtype != spec.dtype || t->shape != spec.shape)
      return emitError(FileLineColLoc::get(&ctx, file, 0, 0))
             << "'" << out.names[argIdx] << "' is " << dtypeName(t->dtype) << " "
             << shapeString(t->shape) << ", but the model expects " << dtypeName(spec.dtype)
             << " " << shapeString(spec.shape);
    out.values[argIdx] = std::move(*t);
    return success();
  };
  for (auto [k, argIdx] : llvm::enumerate(inputArgs)) {
    StringRef file = k < opts.run.inputFiles.size() ? StringRef(opts.run.inputFiles[k]) : "";
    if (failed(fill(argIdx, file, [&](const TensorSpec &s) {
          return s.value ? *s.value : randomTensor(s.dtype, s.shape, opts.run.seed + k);
        })))
      return failure();
  }
  if (labelArg >= 0) {
    // Classes: the depth of the loss's one_hot of the labels.
    int64_t classes = 1;
    step.walk([&](Operation *op) {
      if (op->getName().getStringRef() == "graph.one_hot" &&
          op->getOperand(0) == step.getArgument(labelArg))
        classes = cast<IntegerAttr>(op->getAttr("depth")).getInt();
    });
    if (failed(fill(labelArg, opts.labelsFile, [&](const TensorSpec &s) {
          return randomLabels(s, classes, opts.run.seed + 1000);
        })))
      return failure();
  } else if (!opts.labelsFile.empty()) {
    return emitError(module.getLoc())
           << "--labels is for the mse and cross_entropy losses, not '" << opts.loss << "'";
  }

  // Which argument each result replaces, and which are gradients.
  out.updates.assign(step.getNumResults(), -1);
  out.gradientOf.assign(step.getNumResults(), -1);
  for (unsigned r = 0; r < step.getNumResults(); ++r) {
    if (auto u = step.getResultAttrOfType<IntegerAttr>(r, "graph.updates"))
      out.updates[r] = u.getInt();
    if (auto g = step.getResultAttrOfType<IntegerAttr>(r, "graph.gradient_of"))
      out.gradientOf[r] = g.getInt();
  }
  return success();
}

HostTensor TrainingStep::stepValue(unsigned s) { return scalarF32((float)s); }

double medianOf(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void TrainingStep::reportSkippedUpdate(unsigned s, const std::vector<HostTensor> &args,
                                       const std::vector<HostTensor> &results) const {
  if (lossScaleArg < 0)
    return;
  for (unsigned r = 0; r < results.size() && r < updates.size(); ++r)
    if (updates[r] == lossScaleArg &&
        results[r].getDouble(0) < args[lossScaleArg].getDouble(0))
      llvm::outs() << "step " << s << ": the f16 gradients overflowed: update skipped, loss "
                   << "scale now " << llvm::format("%g", results[r].getDouble(0)) << "\n";
}

std::vector<std::pair<unsigned, const HostTensor *>>
TrainingStep::gradients(const std::vector<HostTensor> &results) const {
  std::vector<std::pair<unsigned, const HostTensor *>> out;
  for (unsigned r = 0; r < results.size() && r < gradientOf.size(); ++r)
    if (gradientOf[r] >= 0)
      out.push_back({(unsigned)gradientOf[r], &results[r]});
  return out;
}

std::vector<std::pair<unsigned, const HostTensor *>>
TrainingStep::parameters(const std::vector<HostTensor> &args) const {
  std::vector<std::pair<unsigned, const HostTensor *>> out;
  for (unsigned i = 0; i < args.size() && i < roles.size(); ++i)
    if (roles[i] == "parameter")
      out.push_back({i, &args[i]});
  return out;
}

bool reportLoss(unsigned step, const HostTensor &loss) {
  double v = loss.getDouble(0);
  llvm::outs() << "step " << step << ": loss " << llvm::format("%.6g", v) << "\n";
  if (std::isfinite(v))
    return true;
  fail("the loss is " + std::string(std::isnan(v) ? "NaN" : "infinite") + " at step " +
       Twine(step) + "; training stopped");
  return false;
}

LogicalResult writeTensors(StringRef dir, const TrainingStep &step,
                           ArrayRef<std::pair<unsigned, const HostTensor *>> byArg) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    fail("cannot create '" + dir + "': " + ec.message());
    return failure();
  }
  for (auto [arg, t] : byArg)
    if (auto e = writeNpyFile(fileName(dir, step.names[arg]), *t)) {
      fail(llvm::toString(std::move(e)));
      return failure();
    }
  return success();
}

LogicalResult saveTrainedWeights(const TrainOptions &opts, const TrainingStep &step,
                                 ArrayRef<std::pair<unsigned, const HostTensor *>> params) {
  StringRef out = opts.saveWeightsDir;
  StringRef ext = llvm::sys::path::extension(out);
  if (ext != ".onnx" && ext != ".json")
    return writeTensors(out, step, params);
  std::vector<InitializerValue> values;
  for (auto [arg, t] : params)
    values.push_back({step.names[arg], ArrayRef<uint8_t>(t->data)});
  std::string error;
  if (failed(saveModelWithInitializers(opts.modelPath, out, values, error))) {
    fail(error);
    return failure();
  }
  return success();
}

int runTrainCommand(MLIRContext &ctx, StringRef input, const TrainOptions &opts,
                    const ModelLoader &load) {
  if (opts.run.compile.target == "cuda")
    if (std::string problem = cudaDeviceProblem(); !problem.empty())
      return fail(problem);
  OwningOpRef<ModuleOp> module = load(ctx, input);
  TrainingStep train;
  if (!module || failed(prepareTrainingStep(ctx, *module, opts, train)))
    return 1;
  auto sig = getSignature(*module);
  if (failed(sig))
    return 1;
  StageTimer timer{opts.run.compile.verbose};
  if (failed(lowerToLLVM(*module, opts.run.compile, timer, &*sig)))
    return 1;
  // As `partita run` does: the compiler's pages go before the steps (the
  // module stays, --save-weights reads it).
  releaseCompilerMemory(CompilerCode::MLIR);
  auto exec = Executor::create(*module, *sig);
  if (!exec)
    return 1;
  releaseCompilerMemory(CompilerCode::MLIRAndLLVM);

  std::vector<HostTensor> values = train.values, outputs;
  std::vector<double> times;
  for (unsigned s = 1; s <= opts.steps; ++s) {
    if (train.stepArg >= 0)
      values[train.stepArg] = TrainingStep::stepValue(s);
    auto start = std::chrono::steady_clock::now();
    if (auto e = exec->run(values, outputs))
      return fail(llvm::toString(std::move(e)));
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (!reportLoss(s, outputs[0]))
      return 1;
    train.reportSkippedUpdate(s, values, outputs);
    if (s == 1 && !opts.dumpGradsDir.empty() &&
        failed(writeTensors(opts.dumpGradsDir, train, train.gradients(outputs))))
      return 1;
    for (unsigned r = 0; r < outputs.size(); ++r)
      if (train.updates[r] >= 0)
        values[train.updates[r]] = std::move(outputs[r]);
  }
  if (!opts.saveWeightsDir.empty() &&
      failed(saveTrainedWeights(opts, train, train.parameters(values))))
    return 1;
  // The first step is excluded from the median when there are others
  // (page faults of the first touch of every buffer).
  if (times.size() > 1)
    times.erase(times.begin());
  llvm::outs() << "partita: " << opts.steps << " steps, median step "
               << llvm::format("%.3f", 1e3 * medianOf(times)) << " ms, peak RSS "
               << llvm::format("%.1f", peakRssMiB()) << " MiB\n";
  return 0;
}

} // namespace partita
