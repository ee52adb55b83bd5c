//===- Passes.td - sharding propagation -------------------------*- tablegen -*-===//

#ifndef PARTITA_PASSES_PROPAGATION_PASSES_TD
#define PARTITA_PASSES_PROPAGATION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ShardingPropagate : Pass<"sharding-propagate", "::mlir::ModuleOp"> {
  let summary = "Propagate tensor shardings from annotations to every value";
  let description = [{
    Starting from `sharding.sharding` function argument/result attributes and
    `sharding.constraint` ops, moves mesh axes through every op by way of its
    factor-based sharding rule (ShardingRuleOpInterface) until nothing
    changes: annotations of stronger user priority first, pass-through ops
    before the others within a round, program order within a kind. Closed
    dimensions are never changed; open ones only grow. Results of sharded
    sum-reductions become unreduced. Calls link call sites to callees. The
    result: every op carries `sharding.shardings` and every function
    argument and result `sharding.sharding`. See docs/design/sharding.md.
  }];
  let options = [
    Option<"conservative", "conservative", "bool", "false",
           "On conflicting candidates keep only their common prefix instead "
           "of picking the strongest one">,
    Option<"explain", "explain", "bool", "false",
           "Emit a remark at every op whose operand must be resharded, naming "
           "the tensor, both shardings, the implied collective and the "
           "annotation that won">,
  ];
  let dependentDialects = ["::partita::sharding::ShardingDialect"];
}

#endif // PARTITA_PASSES_PROPAGATION_PASSES_TD
