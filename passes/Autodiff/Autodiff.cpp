//===- Autodiff.cpp - graph-autodiff: a training step from @main ----------===//
//
// Clones @main into @train_step, turns the trained initializers into
// arguments, builds the loss, the reverse sweep (Backprop.cpp) and the
// optimizer's update (Optimizers.cpp), and names every argument and result
// by its role so the runtime can feed updated values back (Passes.td).
//
//===----------------------------------------------------------------------===//

#include "passes/Autodiff/Passes.h"
#include "passes/Autodiff/TrainingStep.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/RegionUtils.h"

#include <tuple>

using namespace mlir;

namespace partita::graph {
#define GEN_PASS_DEF_GRAPHAUTODIFF
#include "passes/Autodiff/Passes.h.inc"

FailureOr<SmallVector<LiftedParameter>> liftTrainableInitializers(func::FuncOp f,
                                                                  ArrayRef<StringRef> carry) {
  Block &body = f.front();
  OpBuilder b(f.getContext());
  SmallVector<LiftedParameter> params;
  for (auto c : llvm::make_early_inc_range(body.getOps<ConstantOp>())) {
    if (!c.isTrainableInitializer())
      continue;
    StringRef name = c.getInitializerName();
    SmallVector<NamedAttribute> attrs = {
        b.getNamedAttr("graph.role", b.getStringAttr("parameter")),
        b.getNamedAttr("graph.name", b.getStringAttr(name)),
        b.getNamedAttr("graph.init", c.getValue())};
    for (StringRef key : carry)
      if (Attribute a = c->getAttr(key))
        attrs.push_back(b.getNamedAttr(key, a));
    unsigned idx = params.size();
    if (failed(f.insertArgument(idx, c.getType(), b.getDictionaryAttr(attrs), c.getLoc())))
      return failure();
    params.push_back({name.str(), cast<ElementsAttr>(c.getValue()), body.getArgument(idx)});
    c.replaceAllUsesWith(body.getArgument(idx));
    c.erase();
  }
  return params;
}

std::string resultName(func::FuncOp f, unsigned i) {
  if (auto n = f.getResultAttrOfType<StringAttr>(i, "graph.name"))
    return n.getValue().str();
  return "#" + std::to_string(i);
}

std::optional<unsigned> findResult(func::FuncOp f, StringRef name, std::string &names) {
  if (name.empty())
    return 0;
  names.clear();
  for (unsigned i = 0; i < f.getNumResults(); ++i) {
    if (resultName(f, i) == name)
      return i;
    names += (i ? ", " : "") + resultName(f, i);
  }
  return std::nullopt;
}

void eraseDeadOps(Block &block) {
  SmallVector<Operation *> ops;
  for (Operation &op : block.without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (isOpTriviallyDead(op))
      op->erase();
}

namespace {

struct GraphAutodiffPass : impl::GraphAutodiffBase<GraphAutodiffPass> {
  using Base::Base;

  LogicalResult build(ModuleOp module);

  void runOnOperation() override {
    if (failed(build(getOperation())))
      signalPassFailure();
  }
};

LogicalResult GraphAutodiffPass::build(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main || main.isExternal())
    return module.emitError() << "graph-autodiff needs a @main function with a body";
  if (module.lookupSymbol(kTrainStepName))
    return module.emitError() << "the module already has a @" << kTrainStepName;
  if (!main.getBody().hasOneBlock())
    return main.emitError() << "graph-autodiff needs @main to be one block";
  OptimizerSpec opt{optimizer, lr, momentum, beta1, beta2, epsilon, weightDecay, clipNorm};
  bool known;
  SmallVector<std::string> stateNames = optimizerState(opt, known);
  if (!known)
    return module.emitError() << "unknown optimizer '" << optimizer << "' (none, sgd, adamw)";
  if (precision != "f32" && precision != "bf16" && precision != "f16")
    return module.emitError() << "unknown precision '" << precision << "' (f32, bf16, f16)";
  if (recompute != "none" && recompute != "selective" && recompute != "full")
    return module.emitError() << "unknown recompute mode '" << recompute
                              << "' (none, selective, full)";

  // Which output the loss is built on.
  if (main.getNumResults() == 0)
    return main.emitError() << "@main has no output to build a loss on";
  std::string names;
  std::optional<unsigned> found = findResult(main, output, names);
  if (!found)
    return main.emitError() << "no output named '" << output << "' (outputs: " << names << ")";
  unsigned outIdx = *found;
  std::string outName = resultName(main, outIdx);
  LossSpec lossSpec{loss, ignoreIndex};
  std::string why;
  Type labelTy = labelType(lossSpec, main.getBody().front().getTerminator()->getOperand(outIdx),
                           why);
  if (!why.empty())
    return main.emitError() << "loss '" << loss << "' on output '" << outName << "' (type "
                            << main.getResultTypes()[outIdx] << ") " << why;

  auto step = main.clone();
  step.setName(kTrainStepName);
  module.push_back(step);
  Block &body = step.front();
  Operation *ret = body.getTerminator();
  Value out = ret->getOperand(outIdx);
  OpBuilder b(ctx);
  auto role = [&](StringRef r) { return b.getNamedAttr("graph.role", b.getStringAttr(r)); };
  auto named = [&](StringRef n) { return b.getNamedAttr("graph.name", b.getStringAttr(n)); };

  // @main's arguments are the batch.
  for (unsigned i = 0; i < step.getNumArguments(); ++i)
    step.setArgAttr(i, "graph.role", b.getStringAttr("input"));

  // Every floating-point initializer of rank >= 1 is a candidate; those the
  // loss does not reach go back to constants below.
  struct Param : LiftedParameter {
    SmallVector<BlockArgument> state;
  };
  auto lifted = liftTrainableInitializers(step);
  if (failed(lifted))
    return failure();
  SmallVector<Param> params;
  for (LiftedParameter &p : *lifted)
    params.push_back({p, {}});
  if (params.empty())
    return main.emitError() << "the model has no floating-point initializers to train";
  // Optimizer state, after the parameters.
  unsigned next = params.size();
  for (Param &p : params)
    for (const std::string &s : stateNames) {
      auto attrs = b.getDictionaryAttr({role("state"), named(p.name + "." + s)});
      if (failed(step.insertArgument(next, p.arg.getType(), attrs, p.arg.getLoc())))
        return failure();
      p.state.push_back(body.getArgument(next++));
    }
  // f16: the dynamic loss scale and its count of good steps (LossScale.cpp),
  // state after the optimizer's.
  BlockArgument lossScale, goodSteps;
  if (precision == "f16") {
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    for (auto [name, init] : {std::pair<StringRef, double>{"loss_scale", 65536.0},
                              {"loss_scale.good_steps", 0.0}}) {
      auto attrs = b.getDictionaryAttr(
          {role("state"), named(name),
           b.getNamedAttr("graph.init", DenseElementsAttr::get(scalar, (float)init))});
      if (failed(step.insertArgument(next, scalar, attrs, step.getLoc())))
        return failure();
      (name == "loss_scale" ? lossScale : goodSteps) = body.getArgument(next++);
    }
  }
  Value labels, stepArg;
  if (labelTy) {
    unsigned i = step.getNumArguments();
    if (failed(step.insertArgument(i, labelTy, b.getDictionaryAttr({role("label"), named("labels")}),
                                   step.getLoc())))
      return failure();
    labels = body.getArgument(i);
  }
  if (optimizerUsesStep(opt)) {
    unsigned i = step.getNumArguments();
    if (failed(step.insertArgument(i, RankedTensorType::get({}, b.getF32Type()),
                                   b.getDictionaryAttr({role("step"), named("step")}),
                                   step.getLoc())))
      return failure();
    stepArg = body.getArgument(i);
  }

  // Mixed precision: the forward in bf16 on casts of the parameters and
  // inputs; `out` is then the output cast back.
  if (precision != "f32") {
    SmallVector<Value> entry;
    for (BlockArgument a : body.getArguments())
      if (auto r = step.getArgAttrOfType<StringAttr>(a.getArgNumber(), "graph.role");
          r && (r.getValue() == "parameter" || r.getValue() == "input"))
        entry.push_back(a);
    Type low = precision == "bf16" ? Type(b.getBF16Type()) : Type(b.getF16Type());
    if (failed(runForwardInPrecision(body, entry, low)))
      return failure();
    out = ret->getOperand(outIdx);
  }

  // The loss and the reverse sweep.
  b.setInsertionPoint(ret);
  SmallVector<Value> wrt;
  for (Param &p : params)
    wrt.push_back(p.arg);
  SmallVector<Value> batch;
  for (BlockArgument a : body.getArguments())
    if (auto r = step.getArgAttrOfType<StringAttr>(a.getArgNumber(), "graph.role");
        r && (r.getValue() == "input" || r.getValue() == "label"))
      batch.push_back(a);
  Value lossValue;
  FailureOr<SmallVector<Value>> grads = accumulateGradients(
      b, out, batch, static_cast<bool>(labels), lossSpec, wrt, microbatches, recompute,
      lossScale, lossValue);
  if (failed(grads))
    return failure();
  if (lossScale)
    for (Value &g : *grads)
      if (g)
        g = createInferred<DivOp>(b, step.getLoc(), {g, lossScale})->getResult(0);

  // Initializers the loss does not reach are constants again.
  SmallVector<Param> trained;
  SmallVector<Value> trainedGrads;
  llvm::BitVector dropArgs(step.getNumArguments());
  {
    OpBuilder front = OpBuilder::atBlockBegin(&body);
    for (auto [p, g] : llvm::zip(params, *grads)) {
      if (g) {
        trained.push_back(p);
        trainedGrads.push_back(g);
        continue;
      }
      Value c = ConstantOp::create(front, p.arg.getLoc(), p.arg.getType(), p.init);
      p.arg.replaceAllUsesWith(c);
      dropArgs.set(p.arg.getArgNumber());
      for (BlockArgument s : p.state)
        dropArgs.set(s.getArgNumber());
    }
  }
  // Each gradient is named PARAM.grad (its op's location), so that
  // annotations can name it (ZeRO-2 shards gradients over the data axis)
  // and reports say whose gradient a collective carries.
  for (auto [p, g] : llvm::zip(trained, trainedGrads)) {
    Operation *def = g.getDefiningOp();
    if (def && !isa<ConstantOp>(def) && def->getNumResults() == 1)
      def->setLoc(NameLoc::get(b.getStringAttr(p.name + ".grad"), def->getLoc()));
  }
  if (trained.empty())
    return main.emitError() << "the loss on output '" << outName
                            << "' depends on none of the model's " << params.size()
                            << " floating-point initializers through differentiable ops";

  SmallVector<Value> newParams;
  SmallVector<SmallVector<Value>> newState;
  if (opt.kind != "none") {
    SmallVector<Value> ps;
    SmallVector<SmallVector<Value>> states;
    for (Param &p : trained) {
      ps.push_back(p.arg);
      states.push_back(SmallVector<Value>(p.state.begin(), p.state.end()));
    }
    buildUpdate(b, step.getLoc(), opt, ps, trainedGrads, states, stepArg, newParams, newState);
    if (llvm::any_of(newParams, [](Value v) { return !v; }))
      return failure();
  }
  // f16: a step whose gradients overflowed updates nothing but the scale.
  Value nextScale, nextGood;
  if (lossScale) {
    Value finite = allFinite(b, step.getLoc(), trainedGrads);
    for (auto [i, p] : llvm::enumerate(trained)) {
      if (!newParams.empty())
        newParams[i] = selectIf(b, step.getLoc(), finite, newParams[i], p.arg);
      for (auto [k, st] : llvm::enumerate(p.state))
        newState[i][k] = selectIf(b, step.getLoc(), finite, newState[i][k], st);
    }
    std::tie(nextScale, nextGood) = nextLossScale(b, step.getLoc(), lossScale, goodSteps, finite);
  }

  // Updated values are named NAME.updated (in reports and diagnostics).
  auto nameUpdate = [&](Value v, const std::string &name) {
    if (Operation *def = v.getDefiningOp(); def && def->getNumResults() == 1)
      def->setLoc(NameLoc::get(b.getStringAttr(name + ".updated"), def->getLoc()));
  };
  for (auto [i, p] : llvm::enumerate(trained)) {
    if (!newParams.empty())
      nameUpdate(newParams[i], p.name);
    for (auto [k, s] : llvm::enumerate(newState.empty() ? SmallVector<Value>() : newState[i]))
      nameUpdate(s, p.name + "." + stateNames[k]);
  }

  // Results: loss, updated parameters and state, gradients.
  SmallVector<Value> results = {lossValue};
  SmallVector<DictionaryAttr> resultAttrs = {b.getDictionaryAttr({named("loss")})};
  auto updates = [&](Value v, BlockArgument of, StringRef name, StringRef key) {
    results.push_back(v);
    resultAttrs.push_back(b.getDictionaryAttr(
        {named(name), b.getNamedAttr(key, b.getI64IntegerAttr(of.getArgNumber()))}));
  };
  // Argument numbers change when dropped ones go: count what stays before.
  for (auto [i, p] : llvm::enumerate(trained))
    if (!newParams.empty())
      updates(newParams[i], p.arg, p.name, "graph.updates");
  for (auto [i, p] : llvm::enumerate(trained))
    for (auto [k, s] : llvm::enumerate(p.state))
      updates(newState[i][k], s, p.name + "." + stateNames[k], "graph.updates");
  if (lossScale) {
    updates(nextScale, lossScale, "loss_scale", "graph.updates");
    updates(nextGood, goodSteps, "loss_scale.good_steps", "graph.updates");
  }
  if (returnGrads)
    for (auto [i, p] : llvm::enumerate(trained))
      updates(trainedGrads[i], p.arg, p.name, "graph.gradient_of");
  b.setInsertionPoint(ret);
  func::ReturnOp::create(b, ret->getLoc(), results);
  ret->erase();

  if (failed(step.eraseArguments(dropArgs)))
    return failure();
  // The argument numbers the results name, after the erasure.
  for (DictionaryAttr &d : resultAttrs)
    for (StringRef key : {"graph.updates", "graph.gradient_of"})
      if (auto n = d.getAs<IntegerAttr>(key)) {
        int64_t old = n.getInt(), shift = 0;
        for (int64_t j = 0; j < old; ++j)
          shift += dropArgs.test(j);
        NamedAttrList list(d);
        list.set(key, b.getI64IntegerAttr(old - shift));
        d = list.getDictionary(ctx);
      }
  SmallVector<Type> resultTypes;
  for (Value v : results)
    resultTypes.push_back(v.getType());
  step.setFunctionType(FunctionType::get(ctx, body.getArgumentTypes(), resultTypes));
  step.setAllResultAttrs(resultAttrs);

  // What only @main's other outputs needed goes.
  eraseDeadOps(body);
  return success();
}

} // namespace
} // namespace partita::graph
