// RUN: partita-opt %s -canonicalize | FileCheck %s
// RUN: partita-opt %s --collectives-simplify | FileCheck %s

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

// Consecutive collectives over disjoint axes merge into one; the order of
// the merged axes is the order of the blocks (row-major over the list).
// CHECK-LABEL: func.func @merge
// CHECK-NEXT: %[[R:.*]] = collectives.all_reduce %arg0 on @mesh ["a", "b"] : tensor<8x4xf32>
// CHECK-NEXT: %[[G:.*]] = collectives.all_gather %arg0 on @mesh ["a", "b"] {dim = 1 : i64} : (tensor<8x4xf32>) -> tensor<8x16xf32>
// CHECK-NEXT: %[[S:.*]] = collectives.axis_slice %arg0 on @mesh ["a", "b"] {dim = 0 : i64} : (tensor<8x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT: return %[[R]], %[[G]], %[[S]]
func.func @merge(%x: tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<8x16xf32>, tensor<2x4xf32>) {
  %0 = collectives.all_reduce %x on @mesh ["a"] : tensor<8x4xf32>
  %1 = collectives.all_reduce %0 on @mesh ["b"] : tensor<8x4xf32>
  %2 = collectives.all_gather %x on @mesh ["b"] {dim = 1 : i64} : (tensor<8x4xf32>) -> tensor<8x8xf32>
  %3 = collectives.all_gather %2 on @mesh ["a"] {dim = 1 : i64} : (tensor<8x8xf32>) -> tensor<8x16xf32>
  %4 = collectives.axis_slice %x on @mesh ["a"] {dim = 0 : i64} : (tensor<8x4xf32>) -> tensor<4x4xf32>
  %5 = collectives.axis_slice %4 on @mesh ["b"] {dim = 0 : i64} : (tensor<4x4xf32>) -> tensor<2x4xf32>
  return %1, %3, %5 : tensor<8x4xf32>, tensor<8x16xf32>, tensor<2x4xf32>
}

// No merge: a shared axis, different reductions, different dimensions, or
// another use of the first collective.
// CHECK-LABEL: func.func @no_merge
// CHECK-COUNT-2: collectives.all_reduce %{{.*}} on @mesh ["a"]
// CHECK: collectives.all_reduce %{{.*}} on @mesh ["a"] {reduction = #collectives<reduction max>}
// CHECK: collectives.all_reduce %{{.*}} on @mesh ["b"]
// CHECK: collectives.all_gather %arg0 on @mesh ["b"] {dim = 0 : i64}
// CHECK: collectives.all_gather %{{.*}} on @mesh ["a"] {dim = 1 : i64}
// CHECK: collectives.all_reduce %arg0 on @mesh ["a"]
// CHECK: collectives.all_reduce %{{.*}} on @mesh ["b"]
func.func @no_merge(%x: tensor<8x4xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>, tensor<16x8xf32>, tensor<8x4xf32>, tensor<8x4xf32>) {
  %0 = collectives.all_reduce %x on @mesh ["a"] : tensor<8x4xf32>
  %1 = collectives.all_reduce %0 on @mesh ["a"] : tensor<8x4xf32>
  %2 = collectives.all_reduce %x on @mesh ["a"] {reduction = #collectives<reduction max>} : tensor<8x4xf32>
  %3 = collectives.all_reduce %2 on @mesh ["b"] : tensor<8x4xf32>
  %4 = collectives.all_gather %x on @mesh ["b"] {dim = 0 : i64} : (tensor<8x4xf32>) -> tensor<16x4xf32>
  %5 = collectives.all_gather %4 on @mesh ["a"] {dim = 1 : i64} : (tensor<16x4xf32>) -> tensor<16x8xf32>
  %6 = collectives.all_reduce %x on @mesh ["a"] : tensor<8x4xf32>
  %7 = collectives.all_reduce %6 on @mesh ["b"] : tensor<8x4xf32>
  return %1, %3, %5, %6, %7 : tensor<8x4xf32>, tensor<8x4xf32>, tensor<16x8xf32>, tensor<8x4xf32>, tensor<8x4xf32>
}

// A slice of its own gather, and a gather of its own slice, cancel.
// CHECK-LABEL: func.func @cancel
// CHECK-NOT: collectives.
// CHECK: return %arg0, %arg1
func.func @cancel(%x: tensor<2x4xf32>, %y: tensor<8x4xf32>) -> (tensor<2x4xf32>, tensor<8x4xf32>) {
  %0 = collectives.all_gather %x on @mesh ["a", "b"] {dim = 0 : i64} : (tensor<2x4xf32>) -> tensor<8x4xf32>
  %1 = collectives.axis_slice %0 on @mesh ["a", "b"] {dim = 0 : i64} : (tensor<8x4xf32>) -> tensor<2x4xf32>
  %2 = collectives.axis_slice %y on @mesh ["b"] {dim = 1 : i64} : (tensor<8x4xf32>) -> tensor<8x2xf32>
  %3 = collectives.all_gather %2 on @mesh ["b"] {dim = 1 : i64} : (tensor<8x2xf32>) -> tensor<8x4xf32>
  return %1, %3 : tensor<2x4xf32>, tensor<8x4xf32>
}
