// RUN: partita-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{duplicate axis name: "a"}}
sharding.mesh @m = <["a"=2, "a"=2]>

// -----

// expected-error @+1 {{mesh axis "a" must have a positive size, got 0}}
sharding.mesh @m = <["a"=0]>

// -----

// expected-error @+1 {{unknown mesh @nowhere}}
func.func @f(%x: tensor<4xf32> {sharding.sharding = #sharding.tensor<@nowhere, [{"a"}]>}) {
  return
}

// -----

sharding.mesh @m = <["data"=2, "model"=2]>
// expected-error @+1 {{unknown axis "batch" in the sharding of argument #0 (mesh @m has axes data, model)}}
func.func @f(%x: tensor<4xf32> {sharding.sharding = #sharding.tensor<@m, [{"batch"}]>}) {
  return
}

// -----

sharding.mesh @m = <["data"=2, "model"=2]>
// expected-error @+1 {{axis "data" is used twice in the sharding of argument #0}}
func.func @f(%x: tensor<4x4xf32> {sharding.sharding = #sharding.tensor<@m, [{"data"}, {"data"}]>}) {
  return
}

// -----

sharding.mesh @m = <["data"=2, "model"=2]>
// expected-error @+1 {{sharding of result #0 has 1 dimensions but the tensor has rank 2}}
func.func @f(%x: tensor<4x4xf32>) -> (tensor<4x4xf32> {sharding.sharding = #sharding.tensor<@m, [{"data"}]>}) {
  return %x : tensor<4x4xf32>
}

// -----

sharding.mesh @m = <["data"=2, "model"=4]>
func.func @f(%x: tensor<6x4xf32>) -> tensor<6x4xf32> {
  // expected-error @+1 {{dimension 0 of the constrained value has size 6, not divisible by 4 (the product of its mesh axes)}}
  %c = sharding.constraint %x <@m, [{"model"}, {}]> : tensor<6x4xf32>
  return %c : tensor<6x4xf32>
}

// -----

sharding.mesh @m = <["data"=2]>
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{axis "data" is used twice in the sharding of the resharded value}}
  %c = sharding.reshard %x <@m, [{"data"}], unreduced={"data"}> : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

sharding.mesh @m = <["data"=2]>
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'?' must be the last entry}}
  %c = sharding.constraint %x <@m, [{?, "data"}]> : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

sharding.mesh @m = <["data"=2]>
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{unknown clause 'replicate' (expected replicated, unreduced or priority)}}
  %c = sharding.constraint %x <@m, [{"data"}], replicate={"data"}> : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

sharding.mesh @m = <["model"=2]>
func.func @f(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{'sharding.manual_computation' op input #0 has local type 'tensor<8x16xf32>' but its sharding over the manual axes gives 'tensor<4x16xf32>'}}
  %0 = sharding.manual_computation(%x) in_shardings = [#sharding.tensor<@m, [{"model"}, {}]>]
      out_shardings = [#sharding.tensor<@m, [{"model"}, {}]>] manual_axes = ["model"] {
  ^bb0(%l: tensor<8x16xf32>):
    sharding.return %l : tensor<8x16xf32>
  } : (tensor<8x16xf32>) -> tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}
