//===- Optimizers.cpp - the parameter updates of graph-autodiff -----------===//
//
// SGD (momentum, L2 weight decay) and AdamW (decoupled weight decay, bias
// correction), with optional clipping to a global gradient norm. Graph ops
// per parameter: the state shards like its parameter, and the norm's sums
// become all_reduces when the gradients are split, so it is global.
//
//===----------------------------------------------------------------------===//

#include "passes/Autodiff/TrainingStep.h"

#include "dialects/Graph/Gradients/GradientBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"

using namespace mlir;

namespace partita::graph {

SmallVector<std::string> optimizerState(const OptimizerSpec &spec, bool &known) {
  known = true;
  if (spec.kind == "none")
    return {};
  if (spec.kind == "sgd")
    return spec.momentum != 0 ? SmallVector<std::string>{"momentum"} : SmallVector<std::string>{};
  if (spec.kind == "adamw")
    return {"m", "v"};
  known = false;
  return {};
}

bool optimizerUsesStep(const OptimizerSpec &spec) { return spec.kind == "adamw"; }

void buildUpdate(OpBuilder &b, Location loc, const OptimizerSpec &spec, ArrayRef<Value> params,
                 ArrayRef<Value> grads, ArrayRef<SmallVector<Value>> state, Value step,
                 SmallVectorImpl<Value> &newParams,
                 SmallVectorImpl<SmallVector<Value>> &newState) {
  GradientBuilder g(b, loc);
  SmallVector<Value> clipped(grads);
  if (spec.clipNorm > 0 && !grads.empty()) {
    // One scalar norm over every parameter, in f32.
    Value sq;
    for (Value gr : grads) {
      SmallVector<int64_t> axes;
      for (int64_t d = 0; d < tensorType(gr).getRank(); ++d)
        axes.push_back(d);
      Value s = g.cast(g.reduceSum(g.mul(gr, gr), axes, /*keepdims=*/false), b.getF32Type());
      sq = sq ? g.add(sq, s) : s;
    }
    Value norm = g.op<SqrtOp>({sq});
    Value scale = g.op<MinOp>(
        {g.div(g.scalar(norm, spec.clipNorm), g.add(norm, g.scalar(norm, 1e-6))),
         g.scalar(norm, 1)});
    for (Value &gr : clipped)
      gr = g.mul(gr, g.cast(scale, tensorType(gr).getElementType()));
  }
  // AdamW's bias corrections 1 - beta^t depend only on the step number:
  // built once, in f32, and cast per parameter where its type differs.
  Value c1, c2;
  if (spec.kind == "adamw" && !params.empty()) {
    Value t = g.cast(step, b.getF32Type());
    Value one = g.scalar(t, 1);
    c1 = g.sub(one, g.op<PowOp>({g.scalar(t, spec.beta1), t}));
    c2 = g.sub(one, g.op<PowOp>({g.scalar(t, spec.beta2), t}));
  }
  for (auto [i, p] : llvm::enumerate(params)) {
    Value gr = clipped[i];
    SmallVector<Value> next;
    if (spec.kind == "sgd") {
      if (spec.weightDecay != 0)
        gr = g.add(gr, g.mul(p, spec.weightDecay));
      if (spec.momentum != 0) {
        gr = g.add(g.mul(state[i][0], spec.momentum), gr);
        next.push_back(gr);
      }
      newParams.push_back(g.sub(p, g.mul(gr, spec.lr)));
    } else { // adamw
      Value decayed = spec.weightDecay != 0 ? g.mul(p, 1 - spec.lr * spec.weightDecay) : p;
      Value m = g.add(g.mul(state[i][0], spec.beta1), g.mul(gr, 1 - spec.beta1));
      Value v = g.add(g.mul(state[i][1], spec.beta2), g.mul(g.mul(gr, gr), 1 - spec.beta2));
      Type et = tensorType(p).getElementType();
      Value denom = g.add(g.op<SqrtOp>({g.div(v, g.cast(c2, et))}), g.scalar(p, spec.epsilon));
      newParams.push_back(
          g.sub(decayed, g.mul(g.div(g.div(m, g.cast(c1, et)), denom), spec.lr)));
      next = {m, v};
    }
    newState.push_back(std::move(next));
  }
}

} // namespace partita::graph
