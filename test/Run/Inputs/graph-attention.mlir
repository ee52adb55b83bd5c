// graph.attention has no direct lowering: the bare convert-graph-to-linalg
// pass (without the pipeline's composite expansion) reports it.
func.func @main(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %0 = graph.attention %q, %k, %v {scale = 0.35 : f64} : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}
