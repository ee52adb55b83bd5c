// RUN: partita-opt %s -canonicalize | FileCheck %s

sharding.mesh @mesh = <["a"=2, "b"=2]>
// An all_reduce whose only use keeps one block is a reduce_scatter.
// CHECK-LABEL: func.func @all_reduce_then_slice
// CHECK: %[[R:.*]] = collectives.reduce_scatter %arg0 on @mesh ["a"] {dim = 0 : i64} : (tensor<8x4xf32>) -> tensor<4x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @all_reduce_then_slice(%x: tensor<8x4xf32>) -> tensor<4x4xf32> {
  %0 = collectives.all_reduce %x on @mesh ["a"] : tensor<8x4xf32>
  %1 = collectives.axis_slice %0 on @mesh ["a"] {dim = 0 : i64} : (tensor<8x4xf32>) -> tensor<4x4xf32>
  return %1 : tensor<4x4xf32>
}

// Different axes, or another use of the sum: no rewrite.
// CHECK-LABEL: func.func @no_rewrite
// CHECK: collectives.all_reduce
// CHECK: collectives.axis_slice
// CHECK: collectives.all_reduce
// CHECK: collectives.axis_slice
func.func @no_rewrite(%x: tensor<8x4xf32>) -> (tensor<4x4xf32>, tensor<4x4xf32>, tensor<8x4xf32>) {
  %0 = collectives.all_reduce %x on @mesh ["a"] : tensor<8x4xf32>
  %1 = collectives.axis_slice %0 on @mesh ["b"] {dim = 0 : i64} : (tensor<8x4xf32>) -> tensor<4x4xf32>
  %2 = collectives.all_reduce %x on @mesh ["b"] : tensor<8x4xf32>
  %3 = collectives.axis_slice %2 on @mesh ["b"] {dim = 0 : i64} : (tensor<8x4xf32>) -> tensor<4x4xf32>
  return %1, %3, %2 : tensor<4x4xf32>, tensor<4x4xf32>, tensor<8x4xf32>
}
