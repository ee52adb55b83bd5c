// Layer norm, an elementwise chain and a softmax over 4x64x256 (65536
// elements per nest, above the parallel-loop threshold).
func.func @main(%x: tensor<4x64x256xf32> {graph.name = "x"}, %s: tensor<256xf32> {graph.name = "s"},
                %b: tensor<256xf32> {graph.name = "b"}) -> (tensor<4x64x256xf32> {graph.name = "y"}) {
  %0 = graph.layer_norm %x, %s, %b {axis = -1 : i64, epsilon = 1.0e-5 : f32} : (tensor<4x64x256xf32>, tensor<256xf32>, tensor<256xf32>) -> tensor<4x64x256xf32>
  %1 = graph.mul %0, %x : (tensor<4x64x256xf32>, tensor<4x64x256xf32>) -> tensor<4x64x256xf32>
  %2 = graph.softmax %1 {axis = -1 : i64} : (tensor<4x64x256xf32>) -> tensor<4x64x256xf32>
  return %2 : tensor<4x64x256xf32>
}
