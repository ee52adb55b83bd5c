// RUN: partita-opt %s -split-input-file --sharding-propagate -verify-diagnostics

// Propagation works over one mesh per module.
sharding.mesh @a = <["x"=2]>
sharding.mesh @b = <["y"=2]>
func.func @f(%v: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{all shardings in a module must use one mesh (@a), this one uses @b}}
  %c = sharding.constraint %v <@b, [{"y"}]> : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

sharding.mesh @a = <["x"=2]>
sharding.mesh @b = <["y"=2]>
// expected-error @+1 {{all shardings in a module must use one mesh (@a), argument #0 uses @b}}
func.func @g(%v: tensor<4xf32> {sharding.sharding = #sharding.tensor<@b, [{"y"}]>}) -> tensor<4xf32> {
  return %v : tensor<4xf32>
}
