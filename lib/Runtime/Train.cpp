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

/// A parameter's initial value: a dense attribute, or a mapped or resource
/// blob.
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

std::string autodiffPipeline(const TrainOptions &o, bool returnGrads) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "graph-autodiff{loss=" << o.loss << " optimizer=" << o.optimizer
     << " ignore-index=" << o.ignoreIndex << " lr=" << llvm::format("%.17g", o.lr)
     << " momentum=" << llvm::format("%.17g", o.momentum)
     << " weight-decay=" << llvm::format("%.17g", o.weightDecay)
     << " clip-norm=" << llvm::format("%.17g", o.clipNorm)
     << " beta1=" << llvm::format("%.17g", o.beta1) << " beta2=" << llvm::format("%.17g", o.beta2)
     << " epsilon=" << llvm::format("%.17g", o.epsilon);
  if (!o.output.empty())
    os << " output=" << o.output;
  if (returnGrads)
    os << " return-grads=true";
  os << "}";
  return s;
}

int runTrainCommand(MLIRContext &ctx, StringRef input, const TrainOptions &opts,
                    const ModelLoader &load) {
  registerAllPasses();
  if (opts.steps == 0)
    return fail("--steps must be at least 1");
  OwningOpRef<ModuleOp> module = load(ctx, input);
  if (!module)
    return 1;
  PassManager pm(&ctx, ModuleOp::getOperationName());
  std::string pipeline = autodiffPipeline(opts, !opts.dumpGradsDir.empty());
  std::string err;
  llvm::raw_string_ostream errOs(err);
  if (failed(parsePassPipeline(pipeline, pm, errOs)))
    return fail("cannot build '" + pipeline + "': " + err);
  if (failed(pm.run(*module)))
    return 1;

  // The step function is what gets compiled.
  func::FuncOp step = makeStepTheEntry(*module);
  if (!step)
    return fail("graph-autodiff left no @" + graph::kTrainStepName + " next to @main");

  // Arguments by role; the initial values leave the IR.
  struct Arg {
    std::string role, name;
  };
  std::vector<Arg> args;
  std::vector<HostTensor> values(step.getNumArguments());
  std::vector<unsigned> inputArgs;
  int labelArg = -1, stepArg = -1;
  for (unsigned i = 0; i < step.getNumArguments(); ++i) {
    auto role = step.getArgAttrOfType<StringAttr>(i, "graph.role");
    auto name = step.getArgAttrOfType<StringAttr>(i, "graph.name");
    args.push_back({role ? role.getValue().str() : "", name ? name.getValue().str() : ""});
    auto type = cast<RankedTensorType>(step.getArgumentTypes()[i]);
    if (args.back().role == "parameter") {
      auto init = step.getArgAttrOfType<ElementsAttr>(i, "graph.init");
      std::optional<HostTensor> v = init ? initialValue(init) : std::nullopt;
      if (!v)
        return fail("cannot read the initial value of parameter '" + args.back().name + "'");
      values[i] = std::move(*v);
      step.removeArgAttr(i, "graph.init");
    } else if (args.back().role == "state") {
      std::optional<DType> dt = dtypeOf(type.getElementType());
      values[i] = HostTensor(*dt, std::vector<int64_t>(type.getShape()));
    } else if (args.back().role == "input") {
      inputArgs.push_back(i);
    } else if (args.back().role == "label") {
      labelArg = i;
    } else if (args.back().role == "step") {
      stepArg = i;
    }
  }
  auto sig = getSignature(*module);
  if (failed(sig))
    return 1;

  // The batch: --inputs for @main's inputs, else seeded random data.
  if (!opts.run.inputFiles.empty() && opts.run.inputFiles.size() != inputArgs.size())
    return fail("the model takes " + Twine(inputArgs.size()) + " input" +
                (inputArgs.size() == 1 ? "" : "s") + ", got " +
                Twine(opts.run.inputFiles.size()) + " file" +
                (opts.run.inputFiles.size() == 1 ? "" : "s"));
  auto fill = [&](unsigned argIdx, StringRef file, auto makeRandom) -> bool {
    const TensorSpec &spec = sig->inputs[argIdx];
    if (file.empty()) {
      values[argIdx] = makeRandom(spec);
      return true;
    }
    std::optional<HostTensor> t = readTensorFile(ctx, file, spec.dtype);
    if (!t)
      return false;
    if (t->dtype != spec.dtype || t->shape != spec.shape) {
      fail("'" + args[argIdx].name + "' (" + file + ") is " + dtypeName(t->dtype) + " " +
           shapeString(t->shape) + ", but the model expects " + dtypeName(spec.dtype) + " " +
           shapeString(spec.shape));
      return false;
    }
    values[argIdx] = std::move(*t);
    return true;
  };
  for (auto [k, argIdx] : llvm::enumerate(inputArgs)) {
    StringRef file = k < opts.run.inputFiles.size() ? StringRef(opts.run.inputFiles[k]) : "";
    if (!fill(argIdx, file, [&](const TensorSpec &s) {
          return s.value ? *s.value : randomTensor(s.dtype, s.shape, opts.run.seed + k);
        }))
      return 1;
  }
  if (labelArg >= 0) {
    // Classes: the depth of the loss's one_hot of the labels.
    int64_t classes = 1;
    step.walk([&](Operation *op) {
      if (op->getName().getStringRef() == "graph.one_hot" &&
          op->getOperand(0) == step.getArgument(labelArg))
        classes = cast<IntegerAttr>(op->getAttr("depth")).getInt();
    });
    if (!fill(labelArg, opts.labelsFile, [&](const TensorSpec &s) {
          return randomLabels(s, classes, opts.run.seed + 1000);
        }))
      return 1;
  } else if (!opts.labelsFile.empty()) {
    return fail("--labels is for the mse and cross_entropy losses, not '" + opts.loss + "'");
  }

  // Which argument each result replaces, and which are gradients.
  std::vector<int64_t> updates(sig->outputs.size(), -1), gradientOf(sig->outputs.size(), -1);
  for (unsigned r = 0; r < sig->outputs.size(); ++r) {
    if (auto u = step.getResultAttrOfType<IntegerAttr>(r, "graph.updates"))
      updates[r] = u.getInt();
    if (auto g = step.getResultAttrOfType<IntegerAttr>(r, "graph.gradient_of"))
      gradientOf[r] = g.getInt();
  }
  // Lowering replaces the function (`step` is gone after it).
  StageTimer timer{opts.run.compile.verbose};
  if (failed(lowerToLLVM(*module, opts.run.compile, timer, &*sig)))
    return 1;
  auto exec = Executor::create(*module, *sig);
  if (!exec)
    return 1;

  if (!opts.dumpGradsDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(opts.dumpGradsDir))
      return fail("cannot create '" + opts.dumpGradsDir + "': " + ec.message());

  std::vector<HostTensor> outputs;
  for (unsigned s = 1; s <= opts.steps; ++s) {
    if (stepArg >= 0)
      values[stepArg] = scalarF32((float)s);
    if (auto e = exec->run(values, outputs))
      return fail(llvm::toString(std::move(e)));
    double loss = outputs[0].getDouble(0);
    llvm::outs() << "step " << s << ": loss " << llvm::format("%.6g", loss) << "\n";
    if (!std::isfinite(loss))
      return fail("the loss is " + std::string(std::isnan(loss) ? "NaN" : "infinite") +
                  " at step " + Twine(s) + "; training stopped");
    if (s == 1)
      for (unsigned r = 0; r < outputs.size(); ++r)
        if (gradientOf[r] >= 0)
          if (auto e = writeNpyFile(fileName(opts.dumpGradsDir, args[gradientOf[r]].name),
                                    outputs[r]))
            return fail(llvm::toString(std::move(e)));
    for (unsigned r = 0; r < outputs.size(); ++r)
      if (updates[r] >= 0)
        values[updates[r]] = std::move(outputs[r]);
  }
  if (!opts.saveWeightsDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(opts.saveWeightsDir))
      return fail("cannot create '" + opts.saveWeightsDir + "': " + ec.message());
    for (unsigned i = 0; i < args.size(); ++i)
      if (args[i].role == "parameter")
        if (auto e = writeNpyFile(fileName(opts.saveWeightsDir, args[i].name), values[i]))
          return fail(llvm::toString(std::move(e)));
  }
  return 0;
}

} // namespace partita
