// A module that declares its mesh and carries its annotations (what the Python
// frontend hands its ranks): Megatron MLP, w1 by columns, w2 by rows.
module @mlp {
  sharding.mesh @mesh = <["model"=2]>
  func.func @main(%arg0: tensor<4x4xf32> {graph.name = "x"}) -> (tensor<4x4xf32> {graph.name = "y"}) {
    %0 = graph.constant {value = dense<[[0.000000e+00, 1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01, 5.000000e-01, 6.000000e-01, 0.699999988], [8.000000e-01, 0.899999976, 1.000000e+00, 1.100000e+00, 1.200000e+00, 1.300000e+00, 1.400000e+00, 1.500000e+00], [1.600000e+00, 1.700000e+00, 1.800000e+00, 1.900000e+00, 2.000000e+00, 2.100000e+00, 2.200000e+00, 2.300000e+00], [2.400000e+00, 2.500000e+00, 2.600000e+00, 2.700000e+00, 2.800000e+00, 2.900000e+00, 3.000000e+00, 3.100000e+00]]> : tensor<4x8xf32>} : tensor<4x8xf32>
    %1 = sharding.constraint %0 <@mesh, [{}, {"model"}]> : tensor<4x8xf32>
    %2 = graph.constant {value = dense<[[-1.000000e+00, -0.899999976, -8.000000e-01, -0.699999988], [-6.000000e-01, -5.000000e-01, -4.000000e-01, -3.000000e-01], [-2.000000e-01, -1.000000e-01, 0.000000e+00, 1.000000e-01], [2.000000e-01, 3.000000e-01, 4.000000e-01, 5.000000e-01], [6.000000e-01, 0.699999988, 8.000000e-01, 0.899999976], [1.000000e+00, 1.100000e+00, 1.200000e+00, 1.300000e+00], [1.400000e+00, 1.500000e+00, 1.600000e+00, 1.700000e+00], [1.800000e+00, 1.900000e+00, 2.000000e+00, 2.100000e+00]]> : tensor<8x4xf32>} : tensor<8x4xf32>
    %3 = sharding.constraint %2 <@mesh, [{"model"}, {}]> : tensor<8x4xf32>
    %4 = graph.matmul %arg0, %1 : (tensor<4x4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
    %5 = graph.relu %4 : tensor<4x8xf32>
    %6 = graph.matmul %5, %3 : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
    %7 = sharding.constraint %6 <@mesh, [{?}, {?}]> : tensor<4x4xf32>
    return %7 : tensor<4x4xf32>
  }
}
