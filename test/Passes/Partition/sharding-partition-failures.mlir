// RUN: partita-opt %s -split-input-file --sharding-propagate --sharding-partition -verify-diagnostics

// A lookup over a split axis other than the rows is not partitioned yet.
sharding.mesh @mesh = <["model"=2]>
func.func @columns(%t: tensor<64x256xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"model"}]>},
                   %ids: tensor<2x16xi64>) -> tensor<64x2x16xf32> {
  // expected-error @+1 {{cannot partition a lookup over a split axis other than 0 yet}}
  %e = graph.gather %t, %ids {axis = 1 : i64} : (tensor<64x256xf32>, tensor<2x16xi64>) -> tensor<64x2x16xf32>
  return %e : tensor<64x2x16xf32>
}
