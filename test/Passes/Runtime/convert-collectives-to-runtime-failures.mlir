// RUN: partita-opt %s -split-input-file --convert-collectives-to-runtime -verify-diagnostics

sharding.mesh @mesh = <["data"=2]>
func.func @complex(%x: tensor<4xcomplex<f32>>) -> tensor<4xcomplex<f32>> {
  // expected-error @+1 {{'collectives.all_reduce' on element type 'complex<f32>' is not supported by the runtime}}
  %a = collectives.all_reduce %x on @mesh ["data"] : tensor<4xcomplex<f32>>
  return %a : tensor<4xcomplex<f32>>
}

// -----

sharding.mesh @mesh = <["data"=2]>
func.func @same_dim(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{all_to_all with split_dim == concat_dim is not lowered to the runtime yet}}
  %a = collectives.all_to_all %x on @mesh ["data"] {split_dim = 0 : i64, concat_dim = 0 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return %a : tensor<4xf32>
}
