// A graph-dialect model: run lowers it with convert-graph-to-linalg first.
func.func @main(%a: tensor<2x2xf32> {graph.name = "a"}, %b: tensor<2xf32> {graph.name = "b"})
    -> (tensor<2x2xf32> {graph.name = "sum"}) {
  %0 = graph.add %a, %b : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}
