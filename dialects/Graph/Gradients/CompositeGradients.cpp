//===- CompositeGradients.cpp - vector-Jacobian products of composites ----===//
//
// attention: the forward keeps only its output, so the rule recomputes the
// probabilities P = softmax(scale q k^T + mask) from q and k (as
// flash-attention's backward does) and builds the backward of the
// primitives: dV = P^T dO, dS = P (dO V^T - rowsum(dO V^T P)), dQ = scale
// dS K, dK = scale dS^T Q, the mask's cotangent dS summed to its shape. All
// of it is matmuls, a softmax and elementwise ops with sharding rules of
// their own.
//
// The MoE ops: the gate's picks are piecewise constant (the cotangent goes
// through the softmax at the picked experts), dispatch and combine are each
// other's transposes (per assignment, with the same slots and drops), the
// expert matmul is a batched matmul.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/Gradients/GradientBuilder.h"

#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/DialectRegistry.h"

#include <cmath>

using namespace mlir;

namespace partita::graph {
namespace {

using Grads = SmallVectorImpl<Value>;

/// [Sq, Sk]: 0 where query i may attend to key j (j <= i + Sk - Sq), -inf
/// elsewhere; of `like`'s element type.
Value causalMask(GradientBuilder &g, Value like, int64_t sq, int64_t sk) {
  OpBuilder &b = g.builder();
  auto f32 = RankedTensorType::get({sq, sk}, b.getF32Type());
  std::vector<float> values(sq * sk);
  for (int64_t i = 0; i < sq; ++i)
    for (int64_t j = 0; j < sk; ++j)
      values[i * sk + j] = j <= i + (sk - sq) ? 0.0f : -INFINITY;
  Value c = ConstantOp::create(b, g.location(), f32,
                               DenseElementsAttr::get(f32, ArrayRef<float>(values)));
  return g.cast(c, tensorType(like).getElementType());
}

LogicalResult attentionGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto att = cast<AttentionOp>(op);
  Value q = att.getQ(), k = att.getK(), v = att.getV(), mask = att.getMask();
  double scale = att.getScaleAttr().getValueAsDouble();
  int64_t rank = tensorType(q).getRank();
  Value s = g.mul(g.op<MatMulOp>({q, g.transposeLast2(k)}), scale);
  if (mask)
    s = g.add(s, mask);
  if (att.getCausal())
    s = g.add(s, causalMask(g, s, tensorType(q).getDimSize(rank - 2),
                            tensorType(k).getDimSize(rank - 2)));
  Value p = g.op<SoftmaxOp>({s}, {g.integer("axis", rank - 1)});
  dx[2] = g.op<MatMulOp>({g.transposeLast2(p), dy[0]});
  Value dp = g.op<MatMulOp>({dy[0], g.transposeLast2(v)});
  Value ds = g.mul(p, g.sub(dp, g.reduceSum(g.mul(dp, p), {rank - 1}, /*keepdims=*/true)));
  if (mask)
    dx[3] = g.sumToShape(ds, tensorType(mask));
  Value scaled = g.mul(ds, scale);
  dx[0] = g.op<MatMulOp>({scaled, k});
  dx[1] = g.op<MatMulOp>({g.transposeLast2(scaled), q});
  return success();
}

/// Router: p = softmax(logits) over the experts, w = p at the k picked
/// experts (divided by their sum S with `normalize`). The picks are
/// piecewise constant, so dp is dw at the picked experts (with normalize,
/// (dw - <dw, w>) / S), and softmax's backward gives
/// dlogits = p (dp - <dp, p>).
LogicalResult moeGateGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto gate = cast<MoeGateOp>(op);
  if (!dy[0])
    return success();
  Value logits = gate.getLogits(), w = gate.getWeights(), idx = gate.getIndices();
  int64_t rank = tensorType(logits).getRank(), experts = tensorType(logits).getShape().back();
  Value p = g.op<SoftmaxOp>({logits}, {g.integer("axis", rank - 1)});
  Value picked = g.oneHot(idx, experts, -1, tensorType(logits).getElementType()); // [..., k, E]
  Value dsel = dy[0];
  if (gate.getNormalize()) {
    // S = the picked probabilities' sum: p at the picks, summed.
    SmallVector<int64_t> oneRow(tensorType(p).getShape());
    oneRow.insert(oneRow.end() - 1, 1); // [..., 1, E]
    Value psel = g.reduceSum(g.mul(picked, g.reshape(p, oneRow)), {rank},
                             /*keepdims=*/false); // [..., k]
    Value sum = g.reduceSum(psel, {rank - 1}, /*keepdims=*/true);
    Value inner = g.reduceSum(g.mul(dy[0], w), {rank - 1}, /*keepdims=*/true);
    dsel = g.div(g.sub(dy[0], inner), sum);
  }
  SmallVector<int64_t> withOne(tensorType(dsel).getShape());
  withOne.push_back(1);
  Value dp = g.reduceSum(g.mul(picked, g.reshape(dsel, withOne)), {rank - 1},
                         /*keepdims=*/false); // [..., E]
  dx[0] = g.mul(p, g.sub(dp, g.reduceSum(g.mul(dp, p), {rank - 1}, /*keepdims=*/true)));
  return success();
}

/// [T, k] assignments as T*k single ones, in the same row-major order (so
/// the same slots and the same dropped assignments).
Value singleAssignments(GradientBuilder &g, Value indices) {
  return g.reshape(indices, {tensorType(indices).getNumElements(), 1});
}

/// Dispatch copies token t into each of its kept slots: its cotangent is
/// the sum of those slots' cotangents, a combine with unit weights.
LogicalResult moeDispatchGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy,
                              Grads &dx) {
  auto dispatch = cast<MoeDispatchOp>(op);
  Value tokens = dispatch.getTokens(), idx = dispatch.getIndices();
  Value ones = g.cast(g.splat(idx, 1), tensorType(tokens).getElementType());
  SmallVector<Value> operands{dy[0], ones, idx};
  if (Value priority = dispatch.getPriority())
    operands.push_back(priority); // orders the slots; no gradient of its own
  dx[0] = g.op<MoeCombineOp>(operands, {g.integer("groups", dispatch.getGroups())});
  return success();
}

/// out[t] = sum_j w[t, j] X[e(t, j), s(t, j)]: X's cotangent is w[t, j] dy[t]
/// dispatched to slot (e, s) -- each assignment as a token of its own --
/// and w's is <dy[t], X[e, s]> (zero where the assignment was dropped).
LogicalResult moeCombineGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy,
                             Grads &dx) {
  auto combine = cast<MoeCombineOp>(op);
  Value x = combine.getExpertOut(), w = combine.getWeights(), idx = combine.getIndices();
  RankedTensorType xt = tensorType(x), wt = tensorType(w);
  int64_t t = wt.getDimSize(0), k = wt.getDimSize(1), h = xt.getDimSize(2);
  Value single = singleAssignments(g, idx);
  Value perAssignment = g.mul(g.reshape(dy[0], {t, 1, h}), g.reshape(w, {t, k, 1}));
  // The T*k single assignments keep the tokens' groups (row-major order),
  // and with a priority its order (the same values, one per assignment).
  int64_t groups = combine.getGroups();
  Value priority = combine.getPriority() ? g.reshape(combine.getPriority(), {t * k, 1}) : Value();
  SmallVector<Value> dispatchOperands{g.reshape(perAssignment, {t * k, h}), single};
  if (priority)
    dispatchOperands.push_back(priority);
  dx[0] = g.op<MoeDispatchOp>(dispatchOperands,
                              {g.integer("num_experts", xt.getDimSize(0)),
                               g.integer("capacity", xt.getDimSize(1) / groups),
                               g.integer("groups", groups)});
  Value ones = g.cast(g.splat(single, 1), wt.getElementType());
  SmallVector<Value> combineOperands{x, ones, single};
  if (priority)
    combineOperands.push_back(priority);
  Value rows = g.reshape(g.op<MoeCombineOp>(combineOperands, {g.integer("groups", groups)}),
                         {t, k, h});
  dx[1] = g.reduceSum(g.mul(rows, g.reshape(dy[0], {t, 1, h})), {2}, /*keepdims=*/false);
  return success();
}

/// One matmul per expert: dX = dY W^T, dW = X^T dY, batched over experts.
LogicalResult moeExpertMatMulGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy,
                                  Grads &dx) {
  Value x = op->getOperand(0), w = op->getOperand(1);
  dx[0] = g.op<MatMulOp>({dy[0], g.transposeLast2(w)});
  dx[1] = g.op<MatMulOp>({g.transposeLast2(x), dy[0]});
  return success();
}

} // namespace

void registerCompositeGradients(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, GraphDialect *) {
    attachGradient<attentionGrad, AttentionOp>(ctx);
    attachGradient<moeCombineGrad, MoeCombineOp>(ctx);
    attachGradient<moeDispatchGrad, MoeDispatchOp>(ctx);
    attachGradient<moeExpertMatMulGrad, MoeExpertMatMulOp>(ctx);
    attachGradient<moeGateGrad, MoeGateOp>(ctx);
  });
}

} // namespace partita::graph
