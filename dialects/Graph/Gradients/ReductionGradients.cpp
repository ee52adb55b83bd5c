//===- ReductionGradients.cpp - vector-Jacobian products of reductions ----===//
//
// Reductions, softmax-like ops, cumulative sums and normalizations. A
// reduction's cotangent gets the reduced axes back (unreduce) and spreads
// over the reduced elements.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/Gradients/GradientBuilder.h"

#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

namespace partita::graph {
namespace {

using Grads = SmallVectorImpl<Value>;

struct Reduction {
  SmallVector<int64_t> axes;
  bool keepdims;
  ArrayRef<int64_t> shape; // the operand's
  int64_t count = 1;       // elements reduced into each result element
};

Reduction reductionOf(Operation *op) {
  Reduction r;
  r.axes.assign(cast<DenseI64ArrayAttr>(op->getAttr("axes")).asArrayRef().begin(),
                cast<DenseI64ArrayAttr>(op->getAttr("axes")).asArrayRef().end());
  auto keep = op->getAttrOfType<BoolAttr>("keepdims");
  r.keepdims = !keep || keep.getValue();
  r.shape = tensorType(op->getOperand(0)).getShape();
  for (int64_t a : r.axes)
    r.count *= r.shape[a];
  return r;
}

LogicalResult sumGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Reduction r = reductionOf(op);
  dx[0] = g.unreduce(dy[0], r.axes, r.keepdims, r.shape);
  return success();
}

LogicalResult meanGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Reduction r = reductionOf(op);
  dx[0] = g.mul(g.unreduce(dy[0], r.axes, r.keepdims, r.shape), 1.0 / r.count);
  return success();
}

LogicalResult sumSquareGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Reduction r = reductionOf(op);
  Value x = op->getOperand(0);
  dx[0] = g.mul(g.unreduce(dy[0], r.axes, r.keepdims, r.shape), g.mul(x, 2.0));
  return success();
}

LogicalResult l2Grad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Reduction r = reductionOf(op);
  Value x = op->getOperand(0);
  Value y = g.unreduce(op->getResult(0), r.axes, r.keepdims, r.shape);
  dx[0] = g.mul(g.unreduce(dy[0], r.axes, r.keepdims, r.shape), g.div(x, y));
  return success();
}

LogicalResult logSumExpGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Reduction r = reductionOf(op);
  Value x = op->getOperand(0);
  Value y = g.unreduce(op->getResult(0), r.axes, r.keepdims, r.shape);
  dx[0] = g.mul(g.unreduce(dy[0], r.axes, r.keepdims, r.shape), g.op<ExpOp>({g.sub(x, y)}));
  return success();
}

/// The elements equal to the extremum share its cotangent evenly (as
/// torch.amax does).
LogicalResult extremumGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Reduction r = reductionOf(op);
  Value x = op->getOperand(0);
  Value y = g.unreduce(op->getResult(0), r.axes, r.keepdims, r.shape);
  Value hit = g.indicator(g.op<EqualOp>({x, y}), x);
  Value ties = g.unreduce(g.reduceSum(hit, r.axes, /*keepdims=*/true), r.axes, true, r.shape);
  dx[0] = g.div(g.mul(g.unreduce(dy[0], r.axes, r.keepdims, r.shape), hit), ties);
  return success();
}

/// y = prod(x): dx_i = dy * (product of the others), without dividing by a
/// zero: with no zero in the group that is P / x_i (P the product of the
/// group's non-zeros), with one zero it is P at the zero and 0 elsewhere,
/// with more it is 0.
LogicalResult prodGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Reduction r = reductionOf(op);
  Value x = op->getOperand(0);
  auto back = [&](Value v) { return g.unreduce(v, r.axes, /*keepdims=*/true, r.shape); };
  Value isZero = g.op<EqualOp>({x, g.scalar(x, 0)});
  Value zeros = back(g.reduceSum(g.indicator(isZero, x), r.axes, /*keepdims=*/true));
  Value nonZero = g.select(isZero, g.splat(x, 1), x);
  Value p = back(g.op<ReduceProdOp>({nonZero}, {g.ints("axes", r.axes),
                                               g.builder().getNamedAttr(
                                                   "keepdims", g.builder().getBoolAttr(true))}));
  Value none = g.op<EqualOp>({zeros, g.scalar(x, 0)});
  Value one = g.op<EqualOp>({zeros, g.scalar(x, 1)});
  Value atTheZero = g.select(g.op<AndOp>({one, isZero}), p, g.splat(x, 0));
  Value others = g.select(none, g.div(p, nonZero), atTheZero);
  dx[0] = g.mul(g.unreduce(dy[0], r.axes, r.keepdims, r.shape), others);
  return success();
}

int64_t normalizedAxis(Operation *op, StringRef name) {
  int64_t axis = cast<IntegerAttr>(op->getAttr(name)).getInt();
  return axis < 0 ? axis + tensorType(op->getOperand(0)).getRank() : axis;
}

/// y = softmax(x): dx = y * (dy - sum(dy * y)).
LogicalResult softmaxGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  int64_t axis = normalizedAxis(op, "axis");
  Value y = op->getResult(0);
  Value dot = g.reduceSum(g.mul(dy[0], y), {axis}, /*keepdims=*/true);
  dx[0] = g.mul(y, g.sub(dy[0], dot));
  return success();
}

/// y = log_softmax(x): dx = dy - exp(y) * sum(dy).
LogicalResult logSoftmaxGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  int64_t axis = normalizedAxis(op, "axis");
  Value y = op->getResult(0);
  Value total = g.reduceSum(dy[0], {axis}, /*keepdims=*/true);
  dx[0] = g.sub(dy[0], g.mul(g.op<ExpOp>({y}), total));
  return success();
}

/// Each input element feeds the outputs after it (before it when
/// reversed): the cotangent is the cumulative sum the other way.
LogicalResult cumSumGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto cs = cast<CumSumOp>(op);
  dx[0] = g.op<CumSumOp>({dy[0]}, {g.attr("axis", cs.getAxisAttr()),
                                   g.attr("exclusive", cs.getExclusiveAttr()),
                                   g.attr("reverse", g.builder().getBoolAttr(!cs.getReverse()))});
  return success();
}

/// x normalized over `axes` (xhat) and, given the cotangent of xhat, that
/// of x: (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sigma.
struct Normalized {
  Value xhat, invStd;
};
Normalized normalize(GradientBuilder &g, Value x, ArrayRef<int64_t> axes, double epsilon) {
  auto mean = [&](Value v) {
    int64_t n = 1;
    for (int64_t a : axes)
      n *= tensorType(x).getDimSize(a);
    return g.mul(g.reduceSum(v, axes, /*keepdims=*/true), 1.0 / n);
  };
  Value centered = g.sub(x, mean(x));
  Value var = mean(g.mul(centered, centered));
  Value invStd = g.op<ReciprocalOp>({g.op<SqrtOp>({g.add(var, g.scalar(x, epsilon))})});
  return {g.mul(centered, invStd), invStd};
}
Value normalizeBackward(GradientBuilder &g, const Normalized &n, Value dxhat,
                        ArrayRef<int64_t> axes) {
  int64_t count = 1;
  for (int64_t a : axes)
    count *= tensorType(dxhat).getDimSize(a);
  auto mean = [&](Value v) {
    return g.mul(g.reduceSum(v, axes, /*keepdims=*/true), 1.0 / count);
  };
  Value inner = g.sub(g.sub(dxhat, mean(dxhat)), g.mul(n.xhat, mean(g.mul(dxhat, n.xhat))));
  return g.mul(inner, n.invStd);
}

LogicalResult layerNormGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto ln = cast<LayerNormOp>(op);
  Value x = ln.getInput(), scale = ln.getScale();
  int64_t rank = tensorType(x).getRank(), axis = normalizedAxis(op, "axis");
  SmallVector<int64_t> axes;
  for (int64_t d = axis; d < rank; ++d)
    axes.push_back(d);
  Normalized n = normalize(g, x, axes, ln.getEpsilonAttr().getValueAsDouble());
  dx[0] = normalizeBackward(g, n, g.mul(dy[0], scale), axes);
  dx[1] = g.sumToShape(g.mul(dy[0], n.xhat), tensorType(scale));
  if (ln.getBias())
    dx[2] = g.sumToShape(dy[0], tensorType(ln.getBias()));
  return success();
}

/// Per-channel parameters [C] as [1, C, 1, ...] against an NC... input.
Value perChannel(GradientBuilder &g, Value p, int64_t rank) {
  SmallVector<int64_t> shape(rank, 1);
  shape[1] = tensorType(p).getDimSize(0);
  return g.reshape(p, shape);
}
/// A cotangent of NC... summed to the per-channel [C].
Value toChannels(GradientBuilder &g, Value v) {
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < tensorType(v).getRank(); ++d)
    if (d != 1)
      axes.push_back(d);
  return g.reduceSum(v, axes, /*keepdims=*/false);
}

LogicalResult instanceNormGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy,
                               Grads &dx) {
  auto in = cast<InstanceNormOp>(op);
  Value x = in.getInput();
  int64_t rank = tensorType(x).getRank();
  SmallVector<int64_t> axes;
  for (int64_t d = 2; d < rank; ++d)
    axes.push_back(d);
  Normalized n = normalize(g, x, axes, in.getEpsilonAttr().getValueAsDouble());
  Value scale = perChannel(g, in.getScale(), rank);
  dx[0] = normalizeBackward(g, n, g.mul(dy[0], scale), axes);
  dx[1] = toChannels(g, g.mul(dy[0], n.xhat));
  dx[2] = toChannels(g, dy[0]);
  return success();
}

/// Inference-mode batch norm (running statistics are operands): an affine
/// map per channel. The statistics take no cotangent (they are not
/// trained by gradients).
LogicalResult batchNormGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto bn = cast<BatchNormOp>(op);
  Value x = bn.getInput();
  int64_t rank = tensorType(x).getRank();
  Value var = perChannel(g, bn.getVar(), rank), mean = perChannel(g, bn.getMean(), rank);
  Value invStd = g.op<ReciprocalOp>(
      {g.op<SqrtOp>({g.add(var, g.scalar(var, bn.getEpsilonAttr().getValueAsDouble()))})});
  Value scale = perChannel(g, bn.getScale(), rank);
  dx[0] = g.mul(dy[0], g.mul(scale, invStd));
  dx[1] = toChannels(g, g.mul(dy[0], g.mul(g.sub(x, mean), invStd)));
  dx[2] = toChannels(g, dy[0]);
  return success();
}

/// Top-k values: each cotangent goes back to the element it was taken
/// from (the indices are distinct along the axis); the indices have none.
LogicalResult topkGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  if (!dy[0])
    return success();
  auto topk = cast<TopKOp>(op);
  Value x = topk.getInput();
  int64_t axis = topk.getAxis() < 0 ? topk.getAxis() + tensorType(x).getRank() : topk.getAxis();
  dx[0] = g.op<ScatterElementsOp>({g.splat(x, 0.0), topk.getIndices(), dy[0]},
                                  {g.integer("axis", axis)});
  return success();
}

} // namespace

void registerReductionGradients(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, GraphDialect *) {
    attachGradient<batchNormGrad, BatchNormOp>(ctx);
    attachGradient<cumSumGrad, CumSumOp>(ctx);
    attachGradient<extremumGrad, ReduceMaxOp, ReduceMinOp>(ctx);
    attachGradient<instanceNormGrad, InstanceNormOp>(ctx);
    attachGradient<l2Grad, ReduceL2Op>(ctx);
    attachGradient<layerNormGrad, LayerNormOp>(ctx);
    attachGradient<logSoftmaxGrad, LogSoftmaxOp>(ctx);
    attachGradient<logSumExpGrad, ReduceLogSumExpOp>(ctx);
    attachGradient<meanGrad, ReduceMeanOp>(ctx);
    attachGradient<prodGrad, ReduceProdOp>(ctx);
    attachGradient<softmaxGrad, SoftmaxOp>(ctx);
    attachGradient<sumGrad, ReduceSumOp>(ctx);
    attachGradient<sumSquareGrad, ReduceSumSquareOp>(ctx);
    attachGradient<topkGrad, TopKOp>(ctx);
    attachNoGradient<ArgMaxOp, ArgMinOp>(ctx);
  });
}

} // namespace partita::graph
