//===- GraphShardingRules.h - sharding rules of the graph dialect -*- C++ -*-===//

#ifndef PARTITA_DIALECTS_SHARDING_RULES_GRAPHSHARDINGRULES_H
#define PARTITA_DIALECTS_SHARDING_RULES_GRAPHSHARDINGRULES_H

#include "mlir/IR/Operation.h"

#include <optional>
#include <string>

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace partita::sharding {

/// Attaches ShardingRuleOpInterface to every graph-dialect op and to the
/// sharding dialect's own value ops (constraint, reshard).
void registerGraphShardingRules(mlir::DialectRegistry &registry);

/// Attaches the graph dialect's GradientOpInterface to the sharding
/// dialect's value ops: a constraint's cotangent passes through under the
/// same constraint, a reshard's passes through (ShardingGradients.cpp).
void registerShardingGradients(mlir::DialectRegistry &registry);

/// The window of one spatial dimension of a conv, max_pool or average_pool.
struct WindowDim {
  int64_t kernel, stride, dilation, padBegin, padEnd;
  /// Rows one window spans: dilation * (kernel - 1) + 1.
  int64_t extent() const { return dilation * (kernel - 1) + 1; }
};

/// The window of spatial dimension `dim` (2 and up) of a conv, max_pool or
/// average_pool; nullopt for other ops or malformed attributes.
std::optional<WindowDim> windowDim(mlir::Operation *op, unsigned dim);

/// Why spatial dimension `dim` of a conv / max_pool / average_pool cannot be
/// split into `parts` blocks (0: into some number of blocks) with halo
/// exchange giving exact results, or an empty string when it can. A split is
/// exact when every block of outputs reads the same window of rows around
/// its block of inputs: output size * stride == input size, and ceil_mode
/// adds no partial window.
std::string windowSplitObstacle(mlir::Operation *op, unsigned dim, int64_t parts = 0);

/// The factors of graph.attention's rule for a rank-`rank` query
/// [..., Sq, D]: leading (batch, head) dimension d is factor d, then these.
struct AttentionFactors {
  int64_t querySeq, headDim, keySeq, valueDim;
  static AttentionFactors of(int64_t rank) { return {rank - 2, rank - 1, rank, rank + 1}; }
};

} // namespace partita::sharding

#endif // PARTITA_DIALECTS_SHARDING_RULES_GRAPHSHARDINGRULES_H
