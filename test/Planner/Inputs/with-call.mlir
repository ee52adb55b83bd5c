// A model whose @main calls another function: the solver does not plan
// calls yet (test/Planner/strategy-auto-call.test).
func.func private @relu(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = graph.relu %x : tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
func.func @main(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %r = func.call @relu(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %r : tensor<4x8xf32>
}
