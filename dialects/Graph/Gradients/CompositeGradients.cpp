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

} // namespace

void registerCompositeGradients(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, GraphDialect *) {
    attachGradient<attentionGrad, AttentionOp>(ctx);
  });
}

} // namespace partita::graph
