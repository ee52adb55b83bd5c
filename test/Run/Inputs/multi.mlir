// Several outputs of different kinds: an i64 computation, an i1 comparison,
// an embedded constant (a weight), and an input returned as is.
#id = affine_map<(i) -> (i)>
func.func @main(%x: tensor<4xf32> {graph.name = "x"}, %n: tensor<4xi64> {graph.name = "n"})
    -> (tensor<4xi64> {graph.name = "twice"}, tensor<4xi1> {graph.name = "positive"},
        tensor<2x2xf32> {graph.name = "weight"}, tensor<4xf32> {graph.name = "same"}) {
  %c2 = arith.constant 2 : i64
  %z = arith.constant 0.0 : f32
  %e64 = tensor.empty() : tensor<4xi64>
  %twice = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%n : tensor<4xi64>) outs(%e64 : tensor<4xi64>) {
  ^bb0(%v: i64, %o: i64):
    %m = arith.muli %v, %c2 : i64
    linalg.yield %m : i64
  } -> tensor<4xi64>
  %e1 = tensor.empty() : tensor<4xi1>
  %pos = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%e1 : tensor<4xi1>) {
  ^bb0(%v: f32, %o: i1):
    %c = arith.cmpf ogt, %v, %z : f32
    linalg.yield %c : i1
  } -> tensor<4xi1>
  %w = arith.constant dense<[[1.5, -2.5], [3.0, 4.25]]> : tensor<2x2xf32>
  return %twice, %pos, %w, %x : tensor<4xi64>, tensor<4xi1>, tensor<2x2xf32>, tensor<4xf32>
}
