//===- GraphShardingRules.h - sharding rules of the graph dialect -*- C++ -*-===//

#ifndef PARTITA_DIALECTS_SHARDING_RULES_GRAPHSHARDINGRULES_H
#define PARTITA_DIALECTS_SHARDING_RULES_GRAPHSHARDINGRULES_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace partita::sharding {

/// Attaches ShardingRuleOpInterface to every graph-dialect op and to the
/// sharding dialect's own value ops (constraint, reshard).
void registerGraphShardingRules(mlir::DialectRegistry &registry);

} // namespace partita::sharding

#endif // PARTITA_DIALECTS_SHARDING_RULES_GRAPHSHARDINGRULES_H
