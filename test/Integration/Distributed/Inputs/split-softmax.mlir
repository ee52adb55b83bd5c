// softmax and log_softmax over an axis split across the ranks: combined
// max and sum (test/Integration/Distributed/split-softmax.test).
module @split_softmax {
  sharding.mesh @mesh = <["a"=2]>
  func.func @main(%arg0: tensor<4x16xf32> {graph.name = "x"}) -> (tensor<4x16xf32> {graph.name = "p"}, tensor<4x16xf32> {graph.name = "logp"}) {
    %0 = sharding.constraint %arg0 <@mesh, [{}, {"a"}]> : tensor<4x16xf32>
    %1 = graph.softmax %0 {axis = 1 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
    %2 = graph.log_softmax %0 {axis = -1 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
    %3 = sharding.constraint %1 <@mesh, [{}, {"a"}]> : tensor<4x16xf32>
    %4 = sharding.constraint %2 <@mesh, [{}, {"a"}]> : tensor<4x16xf32>
    return %3, %4 : tensor<4x16xf32>, tensor<4x16xf32>
  }
}
