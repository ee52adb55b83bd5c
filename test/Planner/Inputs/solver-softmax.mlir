// A softmax over a long axis, batch 2 (test/Planner/solver.test).
func.func @main(%x: tensor<2x65536xf32> {graph.name = "x"}) -> (tensor<2x65536xf32> {graph.name = "y"}) {
  %y = graph.softmax %x {axis = 1 : i64} : (tensor<2x65536xf32>) -> tensor<2x65536xf32> loc("y")
  return %y : tensor<2x65536xf32>
}
