// RUN: partita-opt %s | partita-opt | FileCheck %s

sharding.mesh @mesh = <["data"=2, "model"=4]>
// CHECK-LABEL: func.func @collectives
func.func @collectives(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // CHECK: collectives.all_reduce %{{.*}} on @mesh ["model"] : tensor<8x16xf32>
  %0 = collectives.all_reduce %x on @mesh ["model"] : tensor<8x16xf32>
  // CHECK: collectives.all_reduce %{{.*}} on @mesh ["data", "model"] {reduction = #collectives<reduction max>}
  %1 = collectives.all_reduce %0 on @mesh ["data", "model"] {reduction = #collectives<reduction max>} : tensor<8x16xf32>
  // CHECK: collectives.all_gather %{{.*}} on @mesh ["model"] {dim = 1 : i64} : (tensor<8x16xf32>) -> tensor<8x64xf32>
  %2 = collectives.all_gather %1 on @mesh ["model"] {dim = 1 : i64} : (tensor<8x16xf32>) -> tensor<8x64xf32>
  // CHECK: collectives.reduce_scatter %{{.*}} on @mesh ["model"] {dim = 1 : i64} : (tensor<8x64xf32>) -> tensor<8x16xf32>
  %3 = collectives.reduce_scatter %2 on @mesh ["model"] {dim = 1 : i64} : (tensor<8x64xf32>) -> tensor<8x16xf32>
  // CHECK: collectives.all_to_all %{{.*}} on @mesh ["data"] {concat_dim = 1 : i64, split_dim = 0 : i64} : (tensor<8x16xf32>) -> tensor<4x32xf32>
  %4 = collectives.all_to_all %3 on @mesh ["data"] {split_dim = 0 : i64, concat_dim = 1 : i64} : (tensor<8x16xf32>) -> tensor<4x32xf32>
  // CHECK: collectives.axis_slice %{{.*}} on @mesh ["data"] {dim = 1 : i64} : (tensor<4x32xf32>) -> tensor<4x16xf32>
  %5 = collectives.axis_slice %4 on @mesh ["data"] {dim = 1 : i64} : (tensor<4x32xf32>) -> tensor<4x16xf32>
  // CHECK: collectives.collective_permute %{{.*}} on @mesh ["model"] {shift = 1 : i64} : tensor<4x16xf32>
  %6 = collectives.collective_permute %5 on @mesh ["model"] {shift = 1 : i64} : tensor<4x16xf32>
  // CHECK: collectives.send %{{.*}} on @mesh ["model"] {shift = 1 : i64} : tensor<4x16xf32>
  collectives.send %6 on @mesh ["model"] {shift = 1 : i64} : tensor<4x16xf32>
  // CHECK: collectives.recv on @mesh ["model"] {shift = 1 : i64} : tensor<4x16xf32>
  %r = collectives.recv on @mesh ["model"] {shift = 1 : i64} : tensor<4x16xf32>
  // CHECK: collectives.axis_index on @mesh ["data", "model"] : tensor<i64>
  %i = collectives.axis_index on @mesh ["data", "model"] : tensor<i64>
  %7 = graph.reshape %6 {shape = array<i64: 8, 8>} : (tensor<4x16xf32>) -> tensor<8x8xf32>
  %8 = collectives.all_gather %7 on @mesh ["data"] {dim = 1 : i64} : (tensor<8x8xf32>) -> tensor<8x16xf32>
  return %8 : tensor<8x16xf32>
}
