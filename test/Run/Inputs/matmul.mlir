// c = a @ b through linalg.matmul, plus a math chain (exp, tanh, erf) on a.
#id = affine_map<(i, j) -> (i, j)>
func.func @main(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> (tensor<2x2xf32>, tensor<2x3xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x2xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %c = linalg.matmul ins(%a, %b : tensor<2x3xf32>, tensor<3x2xf32>) outs(%f : tensor<2x2xf32>) -> tensor<2x2xf32>
  %e2 = tensor.empty() : tensor<2x3xf32>
  %t = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<2x3xf32>) outs(%e2 : tensor<2x3xf32>) {
  ^bb0(%x: f32, %o: f32):
    %ex = math.exp %x : f32
    %th = math.tanh %ex : f32
    %er = math.erf %th : f32
    linalg.yield %er : f32
  } -> tensor<2x3xf32>
  return %c, %t : tensor<2x2xf32>, tensor<2x3xf32>
}
