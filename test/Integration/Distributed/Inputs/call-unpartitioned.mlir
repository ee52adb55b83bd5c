// A call with a split operand: the partitioner does not partition calls.
sharding.mesh @mesh = <["model"=2]>
func.func private @twice(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %y = graph.add %x, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
func.func @main(%x: tensor<4x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"model"}, {}]>}) -> tensor<4x8xf32> {
  %y = func.call @twice(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
