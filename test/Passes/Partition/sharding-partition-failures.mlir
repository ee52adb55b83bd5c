// RUN: partita-opt %s -split-input-file --sharding-propagate --sharding-partition -verify-diagnostics

// A call is not partitioned (the callee would need a local signature).
sharding.mesh @mesh = <["model"=2]>
func.func private @callee(tensor<4x8xf32>) -> tensor<4x8xf32>
func.func @call(%x: tensor<4x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"model"}, {}]>}) -> tensor<4x8xf32> {
  // expected-error @+1 {{cannot partition 'func.call' yet}}
  %y = func.call @callee(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
