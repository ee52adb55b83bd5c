// RUN: partita-opt %s --convert-graph-to-linalg -split-input-file | FileCheck %s

// The reduction drops the reduced dim; keepdims re-inserts it.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[RED:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @reduce_sum_keepdims
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[RED]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME: outs(%[[Z]] : tensor<2xf32>)
// CHECK: arith.addf
// CHECK: tensor.expand_shape %[[R]] {{\[\[}}0, 1]] output_shape [2, 1] : tensor<2xf32> into tensor<2x1xf32>
func.func @reduce_sum_keepdims(%x: tensor<2x3xf32>) -> tensor<2x1xf32> {
  %0 = graph.reduce_sum %x {axes = array<i64: 1>, keepdims = true} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

// Max starts from the lowest value of the (unsigned) type.
// CHECK-LABEL: func.func @reduce_max_u8
// CHECK: %[[LO:.*]] = arith.constant 0 : i8
// CHECK: linalg.fill ins(%[[LO]] : i8)
// CHECK: arith.maxui
func.func @reduce_max_u8(%x: tensor<4xui8>) -> tensor<ui8> {
  %0 = graph.reduce_max %x {axes = array<i64: 0>, keepdims = false} : (tensor<4xui8>) -> tensor<ui8>
  return %0 : tensor<ui8>
}

// -----

// argmax: value and index outputs; select_last_index uses >=.
// CHECK-LABEL: func.func @argmax_last
// CHECK: linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<2xf32>, tensor<2xi64>)
// CHECK: arith.cmpf oge
// CHECK: linalg.index 1
func.func @argmax_last(%x: tensor<2x3xf32>) -> tensor<2x1xi64> {
  %0 = graph.argmax %x {axis = 1 : i64, select_last_index = true} : (tensor<2x3xf32>) -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}

// -----

// softmax subtracts the max before exponentiating.
// CHECK-LABEL: func.func @softmax
// CHECK: arith.maximumf
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: math.exp
// CHECK: arith.divf
func.func @softmax(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = graph.softmax %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
