// softmax, log_softmax and layer_norm over an axis split across the ranks:
// combined max and sums (test/Integration/Distributed/split-normalizations.test).
module @split_normalizations {
  sharding.mesh @mesh = <["a"=2]>
  func.func @main(%arg0: tensor<4x16xf32> {graph.name = "x"}) -> (tensor<4x16xf32> {graph.name = "p"}, tensor<4x16xf32> {graph.name = "logp"}, tensor<4x16xf32> {graph.name = "ln"}) {
    %0 = sharding.constraint %arg0 <@mesh, [{}, {"a"}]> : tensor<4x16xf32>
    %1 = graph.softmax %0 {axis = 1 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
    %2 = graph.log_softmax %0 {axis = -1 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
    %scale = graph.constant {value = dense<[0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, -0.5, -1.0, -1.5, -2.0, -2.5, -3.0, -3.5, -4.0]> : tensor<16xf32>} : tensor<16xf32>
    %bias = graph.constant {value = dense<[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5]> : tensor<16xf32>} : tensor<16xf32>
    %3 = graph.layer_norm %0, %scale, %bias {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
    %4 = sharding.constraint %1 <@mesh, [{}, {"a"}]> : tensor<4x16xf32>
    %5 = sharding.constraint %2 <@mesh, [{}, {"a"}]> : tensor<4x16xf32>
    %6 = sharding.constraint %3 <@mesh, [{}, {"a"}]> : tensor<4x16xf32>
    return %4, %5, %6 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
  }
}
