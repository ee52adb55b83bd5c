//===- ShardingGradients.cpp - gradients of the sharding dialect's value ops ===//
//
// A user annotation inside a model (sharding.constraint) is the identity on
// values: its cotangent passes through, pinned to the same sharding, so the
// gradient of an annotated weight or activation is laid out as the value
// itself. A reshard moves data only: its cotangent passes through and
// propagation chooses its layout.
//
//===----------------------------------------------------------------------===//

#include "dialects/Sharding/Rules/GraphShardingRules.h"

#include "dialects/Graph/Gradients/GradientBuilder.h"
#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

namespace partita::sharding {
namespace {

LogicalResult constraintGrad(graph::GradientBuilder &g, Operation *op, ArrayRef<Value> dy,
                             SmallVectorImpl<Value> &dx) {
  if (dy[0])
    dx[0] = ConstraintOp::create(g.builder(), g.location(), dy[0],
                                 cast<ConstraintOp>(op).getSharding());
  return success();
}

LogicalResult reshardGrad(graph::GradientBuilder &, Operation *, ArrayRef<Value> dy,
                          SmallVectorImpl<Value> &dx) {
  dx[0] = dy[0];
  return success();
}

} // namespace

void registerShardingGradients(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, ShardingDialect *) {
    graph::attachGradient<constraintGrad, ConstraintOp>(ctx);
    graph::attachGradient<reshardGrad, ReshardOp>(ctx);
  });
}

} // namespace partita::sharding
