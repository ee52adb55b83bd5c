// top-k along an axis split across the ranks (largest and smallest, with
// ties): local top-k, all_gather of the candidates, top-k of those
// (test/Integration/Distributed/split-topk.test).
module @split_topk {
  sharding.mesh @mesh = <["a"=2]>
  func.func @main(%arg0: tensor<3x16xf32> {graph.name = "x"}) -> (tensor<3x5xf32> {graph.name = "v"}, tensor<3x5xi64> {graph.name = "i"}, tensor<3x3xf32> {graph.name = "sv"}, tensor<3x3xi64> {graph.name = "si"}, tensor<3xi64> {graph.name = "am"}, tensor<3x1xi64> {graph.name = "an"}) {
    %0 = sharding.constraint %arg0 <@mesh, [{}, {"a"}]> : tensor<3x16xf32>
    %v, %i = graph.topk %0 {k = 5 : i64, axis = 1 : i64} : (tensor<3x16xf32>) -> (tensor<3x5xf32>, tensor<3x5xi64>)
    %ties = graph.constant {value = dense<[[1.0, 2.0, 2.0, 0.0, 5.0, 2.0, 1.0, 1.0, 2.0, 5.0, 0.0, 0.0, 1.0, 2.0, 3.0, 3.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0]]> : tensor<3x16xf32>} : tensor<3x16xf32>
    %t = sharding.constraint %ties <@mesh, [{}, {"a"}]> : tensor<3x16xf32>
    %s = graph.add %0, %t : (tensor<3x16xf32>, tensor<3x16xf32>) -> tensor<3x16xf32>
    %f = graph.floor %s : tensor<3x16xf32>
    %sv, %si = graph.topk %f {k = 3 : i64, axis = 1 : i64, largest = false} : (tensor<3x16xf32>) -> (tensor<3x3xf32>, tensor<3x3xi64>)
    // argmax / argmin per block, then over the blocks' candidates: ties
    // (rows 0 and 1) pick the first index, or the last one with
    // select_last_index, as on one device.
    %am = graph.argmax %f {axis = 1 : i64, keepdims = false} : (tensor<3x16xf32>) -> tensor<3xi64>
    %an = graph.argmin %f {axis = 1 : i64, keepdims = true, select_last_index = true} : (tensor<3x16xf32>) -> tensor<3x1xi64>
    return %v, %i, %sv, %si, %am, %an : tensor<3x5xf32>, tensor<3x5xi64>, tensor<3x3xf32>, tensor<3x3xi64>, tensor<3xi64>, tensor<3x1xi64>
  }
}
