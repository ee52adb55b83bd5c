// cumsum along an axis split across 4 ranks: forward, exclusive, reverse,
// and on integers (test/Integration/Distributed/split-cumsum.test).
module @split_cumsum {
  sharding.mesh @mesh = <["a"=2, "b"=2]>
  func.func @main(%arg0: tensor<3x16xf32> {graph.name = "x"}, %arg1: tensor<2x8xi64> {graph.name = "n"}) -> (tensor<3x16xf32> {graph.name = "fwd"}, tensor<3x16xf32> {graph.name = "excl"}, tensor<3x16xf32> {graph.name = "rev"}, tensor<2x8xi64> {graph.name = "ints"}) {
    %0 = sharding.constraint %arg0 <@mesh, [{}, {"a", "b"}]> : tensor<3x16xf32>
    %1 = graph.cumsum %0 {axis = 1 : i64} : (tensor<3x16xf32>) -> tensor<3x16xf32>
    %2 = graph.cumsum %0 {axis = 1 : i64, exclusive = true} : (tensor<3x16xf32>) -> tensor<3x16xf32>
    %3 = graph.cumsum %0 {axis = -1 : i64, reverse = true, exclusive = true} : (tensor<3x16xf32>) -> tensor<3x16xf32>
    %4 = sharding.constraint %arg1 <@mesh, [{}, {"b"}]> : tensor<2x8xi64>
    %5 = graph.cumsum %4 {axis = 1 : i64, reverse = true} : (tensor<2x8xi64>) -> tensor<2x8xi64>
    %6 = sharding.constraint %1 <@mesh, [{}, {"a", "b"}]> : tensor<3x16xf32>
    %7 = sharding.constraint %2 <@mesh, [{}, {"a", "b"}]> : tensor<3x16xf32>
    %8 = sharding.constraint %3 <@mesh, [{}, {"a", "b"}]> : tensor<3x16xf32>
    %9 = sharding.constraint %5 <@mesh, [{}, {"b"}]> : tensor<2x8xi64>
    return %6, %7, %8, %9 : tensor<3x16xf32>, tensor<3x16xf32>, tensor<3x16xf32>, tensor<2x8xi64>
  }
}
