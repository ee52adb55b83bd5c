//===- ShardingInterfaces.td - sharding rules as an op interface -*- tablegen -*-===//

#ifndef PARTITA_SHARDING_INTERFACES_TD
#define PARTITA_SHARDING_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Sharding_ShardingRuleOpInterface : OpInterface<"ShardingRuleOpInterface"> {
  let description = [{
    Describes an op's operand and result dimensions as factors (see
    ShardingRule.h); the propagation pass is generic over these rules.
  }];
  let cppNamespace = "::partita::sharding";
  let methods = [
    InterfaceMethod<"The op's sharding rule.", "::partita::sharding::ShardingRule",
                    "getShardingRule", (ins)>,
  ];
}

#endif // PARTITA_SHARDING_INTERFACES_TD
