// RUN: partita-opt %s --sharding-propagate | FileCheck %s --check-prefix=AGGR
// RUN: partita-opt %s --sharding-propagate=conservative=true | FileCheck %s --check-prefix=CONS

// Equal-priority conflict on one factor: the aggressive strategy picks the
// larger split (then operand order); the conservative one keeps the common
// prefix, here nothing.
sharding.mesh @mesh = <["a"=2, "b"=4]>
// AGGR-LABEL: func.func @conflict
// CONS-LABEL: func.func @conflict
func.func @conflict(%x: tensor<8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a", ?}]>},
                    %y: tensor<8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"b", ?}]>}) -> tensor<8xf32> {
  // AGGR: graph.add {{.*}}[#sharding.tensor<@mesh, [{"b", ?}]>]
  // CONS: graph.add {{.*}}[#sharding.tensor<@mesh, [{?}]>]
  %z = graph.add %x, %y : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %z : tensor<8xf32>
}
