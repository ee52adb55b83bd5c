//===- StageTraining.cpp - pipeline-stage-training ------------------------===//
//
// The functions a training schedule runs per stage (Passes.td): the
// forward with the weights lifted to arguments, the backward (whole, or
// split into its input and weight halves for the zero-bubble schedules)
// and the optimizer's update. The pieces are graph-autodiff's: the reverse
// sweep, the losses and the updates (passes/Autodiff/TrainingStep.h).
//
// A stage before the last has no loss of its own: its backward
// differentiates sum_i <y_i, dy_i> over its floating-point results y_i
// with the cotangents dy_i the next stage sent back, whose gradient with
// respect to the stage's inputs and weights is exactly the vector-Jacobian
// product the chain rule asks for.
//
//===----------------------------------------------------------------------===//

#include "passes/Pipeline/Passes.h"

#include "dialects/Graph/Gradients/GradientBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"
#include "passes/Autodiff/TrainingStep.h"

#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace partita::pipeline {
#define GEN_PASS_DEF_PIPELINESTAGETRAINING
#include "passes/Pipeline/Passes.h.inc"

namespace {

using graph::LiftedParameter;
using graph::resultName;

bool isFloatTensor(Type t) {
  auto r = dyn_cast<RankedTensorType>(t);
  return r && isa<FloatType>(r.getElementType());
}

StringAttr nameOf(func::FuncOp f, unsigned arg) {
  return f.getArgAttrOfType<StringAttr>(arg, "graph.name");
}

/// Replaces `f`'s results by `results` named `attrs`, then drops what they
/// do not need.
void setResults(func::FuncOp f, ArrayRef<Value> results, ArrayRef<DictionaryAttr> attrs) {
  Block &body = f.front();
  Operation *ret = body.getTerminator();
  OpBuilder b(ret);
  func::ReturnOp::create(b, ret->getLoc(), results);
  ret->erase();
  SmallVector<Type> types;
  for (Value v : results)
    types.push_back(v.getType());
  f.setFunctionType(FunctionType::get(f.getContext(), body.getArgumentTypes(), types));
  f.setAllResultAttrs(attrs);
  graph::eraseDeadOps(body);
}

/// Keeps the results of `f` whose index `keep` holds.
void keepResults(func::FuncOp f, const llvm::BitVector &keep) {
  Operation *ret = f.front().getTerminator();
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> attrs;
  for (unsigned i = 0; i < ret->getNumOperands(); ++i)
    if (keep.test(i)) {
      results.push_back(ret->getOperand(i));
      attrs.push_back(f.getResultAttrDict(i) ? f.getResultAttrDict(i)
                                             : DictionaryAttr::get(f.getContext()));
    }
  setResults(f, results, attrs);
}

/// Splits the combined backward `bwd` (its results: `numInputGrads` input
/// gradients, then the weight gradients) into I (`bwd`, rewritten) and W
/// (returned) that share no work. I computes what the input gradients
/// need and also gives the values the weight gradients take from that
/// shared part -- forward activations and cotangents, as results with
/// `graph.role = "saved"`; W takes the same arguments plus those (arguments
/// `"saved"`, in the same order) and computes only the rest: for a matmul
/// layer, x^T dy. Without this W would recompute the stage's forward and
/// the whole reverse sweep.
func::FuncOp splitSharingWork(func::FuncOp bwd, unsigned numInputGrads) {
  Block &body = bwd.front();
  Operation *ret = body.getTerminator();
  auto needed = [&](unsigned from, unsigned to) {
    llvm::DenseSet<Operation *> seen;
    SmallVector<Operation *> work;
    for (unsigned i = from; i < to; ++i)
      if (Operation *d = ret->getOperand(i).getDefiningOp())
        work.push_back(d);
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      if (!seen.insert(op).second)
        continue;
      for (Value v : op->getOperands())
        if (Operation *d = v.getDefiningOp())
          work.push_back(d);
    }
    return seen;
  };
  llvm::DenseSet<Operation *> forInput = needed(0, numInputGrads),
                              forWeight = needed(numInputGrads, ret->getNumOperands());
  auto weightOnly = [&](Operation *op) {
    return forWeight.contains(op) && !forInput.contains(op);
  };
  // The shared values W takes, in program order of their use.
  llvm::SetVector<Value> saved;
  for (Operation &op : body.without_terminator())
    if (weightOnly(&op))
      for (Value v : op.getOperands())
        if (Operation *d = v.getDefiningOp(); d && !weightOnly(d))
          saved.insert(v);
  for (unsigned i = numInputGrads; i < ret->getNumOperands(); ++i)
    if (Operation *d = ret->getOperand(i).getDefiningOp(); d && !weightOnly(d))
      saved.insert(ret->getOperand(i));

  IRMapping map;
  auto wfn = cast<func::FuncOp>(bwd->clone(map));
  OpBuilder b(bwd.getContext());
  auto savedAttrs = [&](unsigned k) {
    return b.getDictionaryAttr(
        {b.getNamedAttr("graph.role", b.getStringAttr("saved")),
         b.getNamedAttr("graph.name", b.getStringAttr("saved." + std::to_string(k)))});
  };
  for (auto [k, v] : llvm::enumerate(saved)) {
    unsigned i = wfn.getNumArguments();
    (void)wfn.insertArgument(i, v.getType(), savedAttrs(k), v.getLoc());
    map.lookup(v).replaceAllUsesWith(wfn.getArgument(i));
  }
  llvm::BitVector weightHalf(ret->getNumOperands());
  weightHalf.set(numInputGrads, ret->getNumOperands());
  keepResults(wfn, weightHalf);

  SmallVector<Value> results(ret->getOperands().begin(),
                             ret->getOperands().begin() + numInputGrads);
  SmallVector<DictionaryAttr> attrs;
  for (unsigned i = 0; i < numInputGrads; ++i)
    attrs.push_back(bwd.getResultAttrDict(i) ? bwd.getResultAttrDict(i)
                                             : DictionaryAttr::get(bwd.getContext()));
  for (auto [k, v] : llvm::enumerate(saved)) {
    results.push_back(v);
    attrs.push_back(savedAttrs(k));
  }
  setResults(bwd, results, attrs);
  return wfn;
}

/// Turns the parameter arguments `frozen` (argument indices) of `f` back
/// into the constants they were lifted from.
LogicalResult freeze(func::FuncOp f, const llvm::BitVector &frozen) {
  Block &body = f.front();
  OpBuilder b = OpBuilder::atBlockBegin(&body);
  llvm::BitVector drop(f.getNumArguments());
  for (unsigned i : frozen.set_bits()) {
    auto init = f.getArgAttrOfType<ElementsAttr>(i, "graph.init");
    // (At the argument's location, which names the initializer.)
    Value c = graph::ConstantOp::create(b, f.getArgument(i).getLoc(),
                                        f.getArgument(i).getType(), init);
    f.getArgument(i).replaceAllUsesWith(c);
    drop.set(i);
  }
  return f.eraseArguments(drop);
}

struct PipelineStageTrainingPass
    : impl::PipelineStageTrainingBase<PipelineStageTrainingPass> {
  using Base::Base;

  LogicalResult buildStage(func::FuncOp stage, bool last, bool first);

  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool known;
    graph::OptimizerSpec opt{optimizer, lr, momentum, beta1, beta2, epsilon, weightDecay, 0};
    graph::optimizerState(opt, known);
    if (!known) {
      module.emitError() << "pipeline-stage-training: unknown optimizer '" << optimizer
                         << "' (none, sgd, adamw)";
      return signalPassFailure();
    }
    if (clipNorm != 0) {
      module.emitError() << "pipeline-stage-training: clip-norm spans every stage; the "
                            "schedule executor clips (leave it 0 here)";
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> stages;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr(kStageAttr))
        stages.push_back(f);
    if (stages.empty()) {
      module.emitError() << "pipeline-stage-training: no stage functions (run pipeline-split "
                            "first)";
      return signalPassFailure();
    }
    auto index = [](func::FuncOp f) {
      return cast<IntegerAttr>(f->getAttr(kStageAttr)).getInt();
    };
    llvm::sort(stages, [&](func::FuncOp a, func::FuncOp b) { return index(a) < index(b); });
    for (auto [i, f] : llvm::enumerate(stages))
      if (failed(buildStage(f, i + 1 == stages.size(), i == 0)))
        return signalPassFailure();
  }
};

LogicalResult PipelineStageTrainingPass::buildStage(func::FuncOp stage, bool last, bool first) {
  MLIRContext *ctx = stage.getContext();
  OpBuilder b(ctx);
  auto attr = [&](StringRef key, Attribute v) { return b.getNamedAttr(key, v); };
  auto role = [&](StringRef r) { return attr("graph.role", b.getStringAttr(r)); };
  auto named = [&](const Twine &n) { return attr("graph.name", b.getStringAttr(n)); };
  std::string base = stage.getSymName().str();
  Operation *after = stage; // the new functions follow the stage in order
  auto add = [&](func::FuncOp f, StringRef suffix) {
    f.setSymName(base + suffix.str());
    f->removeAttr(kStageAttr);
    f->setAttr("pipeline.of", b.getStringAttr(base));
    stage->getBlock()->getOperations().insertAfter(Block::iterator(after), f);
    after = f;
  };

  // F: the weights become arguments.
  func::FuncOp fwd = stage.clone();
  auto lifted = graph::liftTrainableInitializers(fwd, {kTiedAttr});
  if (failed(lifted))
    return failure();
  unsigned numParams = lifted->size(), numInputs = fwd.getNumArguments() - numParams;
  for (unsigned i = numParams; i < fwd.getNumArguments(); ++i)
    fwd.setArgAttr(i, "graph.role", b.getStringAttr("input"));

  graph::LossSpec lossSpec{loss, ignoreIndex};
  unsigned outIdx = 0;
  Type labelTy;
  if (last) {
    Operation *ret = fwd.front().getTerminator();
    if (ret->getNumOperands() == 0)
      return stage.emitError() << "pipeline-stage-training: the last stage has no output";
    std::string names;
    std::optional<unsigned> found = graph::findResult(fwd, output, names);
    if (!found)
      return stage.emitError() << "pipeline-stage-training: no output named '" << output
                               << "' in the last stage (outputs: " << names << ")";
    outIdx = *found;
    std::string why;
    labelTy = graph::labelType(lossSpec, ret->getOperand(outIdx), why);
    if (!why.empty())
      return stage.emitError() << "pipeline-stage-training: loss '" << loss << "' on output '"
                               << resultName(fwd, outIdx) << "' (type "
                               << ret->getOperand(outIdx).getType() << ") " << why;
  }

  // B: one more argument per result gradient (or the labels), the loss,
  // the reverse sweep.
  func::FuncOp bwd = fwd.clone();
  Block &body = bwd.front();
  Operation *ret = body.getTerminator();
  b.setInsertionPoint(ret);
  graph::GradientBuilder g(b, bwd.getLoc());
  Value seed, labels;
  if (last) {
    if (labelTy) {
      unsigned i = bwd.getNumArguments();
      if (failed(bwd.insertArgument(i, labelTy, b.getDictionaryAttr({role("label"),
                                                                     named("labels")}),
                                    bwd.getLoc())))
        return failure();
      labels = body.getArgument(i);
    }
    seed = graph::buildLoss(b, bwd.getLoc(), lossSpec, ret->getOperand(outIdx), labels);
  } else {
    for (unsigned r = 0; r < ret->getNumOperands(); ++r) {
      Value y = ret->getOperand(r);
      if (!isFloatTensor(y.getType()))
        continue;
      unsigned i = bwd.getNumArguments();
      if (failed(bwd.insertArgument(
              i, y.getType(),
              b.getDictionaryAttr({role("output_grad"), named(resultName(fwd, r) + ".grad")}),
              y.getLoc())))
        return failure();
      Value term = graph::buildLoss(b, y.getLoc(), graph::LossSpec{"sum"},
                                    g.mul(y, body.getArgument(i)), {});
      seed = seed ? g.add(seed, term) : term;
    }
  }
  SmallVector<Value> wrt;
  for (unsigned i = 0; i < numParams; ++i)
    wrt.push_back(body.getArgument(i));
  SmallVector<unsigned> floatInputs;
  if (!first)
    for (unsigned i = numParams; i < numParams + numInputs; ++i)
      if (isFloatTensor(body.getArgument(i).getType())) {
        floatInputs.push_back(i);
        wrt.push_back(body.getArgument(i));
      }
  FailureOr<SmallVector<Value>> grads;
  if (seed)
    grads = graph::backpropagate(b, seed, wrt);
  else
    grads = SmallVector<Value>(wrt.size()); // no floating-point result: nothing flows back
  if (failed(grads))
    return failure();

  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resultAttrs;
  for (auto [k, i] : llvm::enumerate(floatInputs)) {
    Value dx = (*grads)[numParams + k];
    if (!dx)
      dx = g.splat(body.getArgument(i), 0.0); // the results do not depend on it
    results.push_back(dx);
    StringAttr n = nameOf(bwd, i);
    resultAttrs.push_back(b.getDictionaryAttr(
        {named((n ? n.getValue() : StringRef("#" + std::to_string(i))) + ".grad"),
         attr("graph.gradient_of", b.getI64IntegerAttr(i))}));
  }
  unsigned numInputGrads = results.size();
  llvm::BitVector frozen(fwd.getNumArguments());
  for (unsigned i = 0; i < numParams; ++i) {
    Value dp = (*grads)[i];
    if (!dp) {
      frozen.set(i);
      continue;
    }
    if (Operation *def = dp.getDefiningOp(); def && def->getNumResults() == 1)
      def->setLoc(NameLoc::get(b.getStringAttr((*lifted)[i].name + ".grad"), def->getLoc()));
    results.push_back(dp);
    resultAttrs.push_back(b.getDictionaryAttr(
        {named((*lifted)[i].name + ".grad"), attr("graph.gradient_of", b.getI64IntegerAttr(i))}));
  }
  setResults(bwd, results, resultAttrs);

  // Weights no result reaches are constants again (the argument numbers
  // the gradients name shift down by the frozen ones before them).
  llvm::BitVector bwdFrozen = frozen;
  bwdFrozen.resize(bwd.getNumArguments());
  if (failed(freeze(fwd, frozen)) || failed(freeze(bwd, bwdFrozen)))
    return failure();
  for (unsigned r = 0; r < bwd.getNumResults(); ++r) {
    auto of = bwd.getResultAttrOfType<IntegerAttr>(r, "graph.gradient_of");
    int64_t shift = 0;
    for (int64_t j = 0; j < of.getInt(); ++j)
      shift += frozen.test(j);
    bwd.setResultAttr(r, "graph.gradient_of", b.getI64IntegerAttr(of.getInt() - shift));
  }
  unsigned trained = numParams - frozen.count();

  // The last stage's F gives one microbatch's loss.
  if (last) {
    Block &fb = fwd.front();
    Operation *fret = fb.getTerminator();
    b.setInsertionPoint(fret);
    Value lab;
    if (labelTy) {
      unsigned i = fwd.getNumArguments();
      if (failed(fwd.insertArgument(i, labelTy,
                                    b.getDictionaryAttr({role("label"), named("labels")}),
                                    fwd.getLoc())))
        return failure();
      lab = fb.getArgument(i);
    }
    Value l = graph::buildLoss(b, fwd.getLoc(), lossSpec, fret->getOperand(outIdx), lab);
    setResults(fwd, {l}, {b.getDictionaryAttr({named("loss")})});
  }
  add(fwd, "_forward");
  if (splitBackward) {
    func::FuncOp wfn = splitSharingWork(bwd, numInputGrads);
    add(bwd, "_backward_input");
    add(wfn, "_backward_weight");
  } else {
    add(bwd, "_backward");
  }

  // The update: parameters, state, gradients (, step) -> new parameters
  // and state.
  if (optimizer == "none" || trained == 0)
    return success();
  graph::OptimizerSpec opt{optimizer, lr, momentum, beta1, beta2, epsilon, weightDecay, 0};
  bool known;
  SmallVector<std::string> stateNames = graph::optimizerState(opt, known);
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  SmallVector<std::string> paramNames;
  for (unsigned i = 0; i < trained; ++i) {
    argTypes.push_back(fwd.getArgument(i).getType());
    paramNames.push_back(nameOf(fwd, i).getValue().str());
    argAttrs.push_back(b.getDictionaryAttr({role("parameter"), named(paramNames[i])}));
  }
  for (unsigned i = 0; i < trained; ++i)
    for (const std::string &s : stateNames) {
      argTypes.push_back(argTypes[i]);
      argAttrs.push_back(b.getDictionaryAttr({role("state"), named(paramNames[i] + "." + s)}));
    }
  for (unsigned i = 0; i < trained; ++i) {
    argTypes.push_back(argTypes[i]);
    argAttrs.push_back(b.getDictionaryAttr({role("gradient"), named(paramNames[i] + ".grad")}));
  }
  bool usesStep = graph::optimizerUsesStep(opt);
  if (usesStep) {
    argTypes.push_back(RankedTensorType::get({}, b.getF32Type()));
    argAttrs.push_back(b.getDictionaryAttr({role("step"), named("step")}));
  }
  auto update = func::FuncOp::create(stage.getLoc(), base + "_update",
                                     FunctionType::get(ctx, argTypes, {}));
  update.setAllArgAttrs(argAttrs);
  Block *ub = update.addEntryBlock();
  b.setInsertionPointToEnd(ub);
  SmallVector<Value> params, gradVals;
  SmallVector<SmallVector<Value>> state(trained);
  unsigned k = trained;
  for (unsigned i = 0; i < trained; ++i)
    params.push_back(ub->getArgument(i));
  for (unsigned i = 0; i < trained; ++i)
    for (size_t s = 0; s < stateNames.size(); ++s)
      state[i].push_back(ub->getArgument(k++));
  for (unsigned i = 0; i < trained; ++i)
    gradVals.push_back(ub->getArgument(k++));
  Value stepArg = usesStep ? ub->getArgument(k) : Value();
  SmallVector<Value> newParams;
  SmallVector<SmallVector<Value>> newState;
  graph::buildUpdate(b, stage.getLoc(), opt, params, gradVals, state, stepArg, newParams,
                     newState);
  if (llvm::any_of(newParams, [](Value v) { return !v; }))
    return failure();
  SmallVector<Value> results2;
  SmallVector<DictionaryAttr> attrs2;
  for (unsigned i = 0; i < trained; ++i) {
    results2.push_back(newParams[i]);
    attrs2.push_back(b.getDictionaryAttr(
        {named(paramNames[i]), attr("graph.updates", b.getI64IntegerAttr(i))}));
  }
  for (unsigned i = 0; i < trained; ++i)
    for (size_t s = 0; s < stateNames.size(); ++s) {
      results2.push_back(newState[i][s]);
      attrs2.push_back(b.getDictionaryAttr(
          {named(paramNames[i] + "." + stateNames[s]),
           attr("graph.updates", b.getI64IntegerAttr(trained + i * stateNames.size() + s))}));
    }
  func::ReturnOp::create(b, stage.getLoc(), results2);
  update.setFunctionType(FunctionType::get(ctx, argTypes, ValueRange(results2).getTypes()));
  update.setAllResultAttrs(attrs2);
  add(update, "_update");
  return success();
}

} // namespace
} // namespace partita::pipeline
