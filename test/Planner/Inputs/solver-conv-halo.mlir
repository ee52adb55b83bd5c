// A conv whose only divisible dimensions are spatial (test/Planner/solver.test).
func.func @main(%x: tensor<1x3x1024x1024xf32> {graph.name = "x"}, %f: tensor<4x3x3x3xf32> {graph.name = "f"}) -> (tensor<1x4x1024x1024xf32> {graph.name = "y"}) {
  %y = graph.conv %x, %f {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x1024x1024xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x1024x1024xf32> loc("y")
  return %y : tensor<1x4x1024x1024xf32>
}
