//===- Losses.cpp - the losses of graph-autodiff --------------------------===//
//
// Built from graph ops (log_softmax, one_hot, reductions), so they shard and
// differentiate like the model's own ops.
//
//===----------------------------------------------------------------------===//

#include "passes/Autodiff/TrainingStep.h"

#include "dialects/Graph/Gradients/GradientBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"

using namespace mlir;

namespace partita::graph {

namespace {
SmallVector<int64_t> allAxes(Value v) {
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < tensorType(v).getRank(); ++d)
    axes.push_back(d);
  return axes;
}

Value reduceAll(GradientBuilder &g, StringRef name, Value v) {
  return g.op(name, {v}, {g.ints("axes", allAxes(v)),
                          g.attr("keepdims", g.builder().getBoolAttr(false))});
}
} // namespace

Type labelType(const LossSpec &spec, Value output, std::string &error) {
  auto type = cast<RankedTensorType>(output.getType());
  error.clear();
  if (!isa<FloatType>(type.getElementType())) {
    error = "needs a floating-point output";
    return {};
  }
  if (spec.kind == "mean" || spec.kind == "sum")
    return {};
  if (spec.kind == "mse")
    return type;
  if (spec.kind == "cross_entropy") {
    if (type.getRank() < 1) {
      error = "needs logits with a class dimension (rank 1 or more)";
      return {};
    }
    return RankedTensorType::get(type.getShape().drop_back(),
                                 IntegerType::get(type.getContext(), 64));
  }
  error = "is not a known loss (mean, sum, mse, cross_entropy)";
  return {};
}

Value buildLoss(OpBuilder &b, Location loc, const LossSpec &spec, Value output, Value labels) {
  GradientBuilder g(b, loc);
  if (spec.kind == "mean")
    return reduceAll(g, ReduceMeanOp::getOperationName(), output);
  if (spec.kind == "sum")
    return reduceAll(g, ReduceSumOp::getOperationName(), output);
  if (spec.kind == "mse") {
    Value d = g.sub(output, labels);
    return reduceAll(g, ReduceMeanOp::getOperationName(), g.mul(d, d));
  }
  // cross_entropy: -mean over the counted labels of log_softmax(logits)
  // at the label.
  RankedTensorType logits = tensorType(output);
  int64_t classes = logits.getShape().back(), last = logits.getRank() - 1;
  Type et = logits.getElementType();
  auto pairType = RankedTensorType::get({2}, et);
  Value offOn = ConstantOp::create(
      b, loc, pairType,
      DenseElementsAttr::get(pairType, ArrayRef<Attribute>{FloatAttr::get(et, 0),
                                                           FloatAttr::get(et, 1)}));
  Value logProbs = g.op<LogSoftmaxOp>({output}, {g.integer("axis", last)});
  Value oneHot = g.op<OneHotOp>({labels, offOn}, {g.integer("depth", classes),
                                                  g.integer("axis", last)});
  Value picked = g.reduceSum(g.mul(logProbs, oneHot), {last}, /*keepdims=*/false);
  Value ignored = g.op<EqualOp>({labels, g.scalar(labels, (double)spec.ignoreIndex)});
  Value counted = g.indicator(g.op<NotOp>({ignored}), output);
  Value total = reduceAll(g, ReduceSumOp::getOperationName(), g.mul(picked, counted));
  Value count = g.op<MaxOp>({reduceAll(g, ReduceSumOp::getOperationName(), counted),
                             g.scalar(output, 1)});
  return g.neg(g.div(total, count));
}

} // namespace partita::graph
