// RUN: partita-opt %s -split-input-file --sharding-propagate --sharding-partition -verify-diagnostics

// A lookup over a split table axis needs a masked local lookup: not yet.
sharding.mesh @mesh = <["model"=2]>
func.func @vocab_parallel(%t: tensor<256x64xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"model"}, {}]>},
                          %ids: tensor<2x16xi64>) -> tensor<2x16x64xf32> {
  // expected-error @+1 {{cannot partition a lookup over a split table axis yet (vocabulary-parallel gather needs a masked local lookup)}}
  %e = graph.gather %t, %ids {axis = 0 : i64} : (tensor<256x64xf32>, tensor<2x16xi64>) -> tensor<2x16x64xf32>
  return %e : tensor<2x16x64xf32>
}
