// RUN: partita-opt %s | partita-opt | FileCheck %s
// RUN: partita-opt %s --mlir-print-op-generic | partita-opt | FileCheck %s

// Round trip of reductions, arg reductions, scans, softmax, top-k and the
// normalizations.

// CHECK-LABEL: func.func @reduce
// CHECK: graph.reduce_sum %arg0 {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
// CHECK: graph.reduce_mean %arg0 {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
// CHECK: graph.reduce_max %arg1 {axes = array<i64>} : (tensor<5x6xi32>) -> tensor<5x6xi32>
// CHECK: graph.reduce_min %arg1 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<5x6xi32>) -> tensor<i32>
// CHECK: graph.reduce_prod %arg2 {axes = array<i64: 0>} : (tensor<7xui8>) -> tensor<1xui8>
// CHECK: graph.reduce_l2 %arg3 {axes = array<i64: 1>} : (tensor<2x8xf16>) -> tensor<2x1xf16>
// CHECK: graph.reduce_log_sum_exp %arg4 {axes = array<i64: 1>, keepdims = false} : (tensor<2x8xbf16>) -> tensor<2xbf16>
// CHECK: graph.reduce_sum_square %arg5 {axes = array<i64: 0>} : (tensor<3x3xf64>) -> tensor<1x3xf64>
func.func @reduce(%x: tensor<2x3x4xf32>, %i: tensor<5x6xi32>, %u: tensor<7xui8>,
                  %h: tensor<2x8xf16>, %b: tensor<2x8xbf16>, %d: tensor<3x3xf64>) {
  %0 = graph.reduce_sum %x {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %1 = graph.reduce_mean %x {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  %2 = graph.reduce_max %i {axes = array<i64>} : (tensor<5x6xi32>) -> tensor<5x6xi32>
  %3 = graph.reduce_min %i {axes = array<i64: 0, 1>, keepdims = false} : (tensor<5x6xi32>) -> tensor<i32>
  %4 = graph.reduce_prod %u {axes = array<i64: 0>, keepdims = true} : (tensor<7xui8>) -> tensor<1xui8>
  %5 = graph.reduce_l2 %h {axes = array<i64: 1>} : (tensor<2x8xf16>) -> tensor<2x1xf16>
  %6 = graph.reduce_log_sum_exp %b {axes = array<i64: 1>, keepdims = false} : (tensor<2x8xbf16>) -> tensor<2xbf16>
  %7 = graph.reduce_sum_square %d {axes = array<i64: 0>} : (tensor<3x3xf64>) -> tensor<1x3xf64>
  return
}

// CHECK-LABEL: func.func @arg_reduce
// CHECK: graph.argmax %arg0 {axis = 1 : i64} : (tensor<2x5xf32>) -> tensor<2x1xi64>
// CHECK: graph.argmin %arg0 {axis = -1 : i64, keepdims = false, select_last_index = true} : (tensor<2x5xf32>) -> tensor<2xi64>
// CHECK: graph.argmax %arg1 {axis = 0 : i64, keepdims = false} : (tensor<4xi8>) -> tensor<i64>
func.func @arg_reduce(%x: tensor<2x5xf32>, %i: tensor<4xi8>) {
  %0 = graph.argmax %x {axis = 1 : i64} : (tensor<2x5xf32>) -> tensor<2x1xi64>
  %1 = graph.argmin %x {axis = -1 : i64, keepdims = false, select_last_index = true} : (tensor<2x5xf32>) -> tensor<2xi64>
  %2 = graph.argmax %i {axis = 0 : i64, keepdims = false} : (tensor<4xi8>) -> tensor<i64>
  return
}

// CHECK-LABEL: func.func @cumsum
// CHECK: graph.cumsum %arg0 {axis = 0 : i64} : (tensor<3x4xi64>) -> tensor<3x4xi64>
// CHECK: graph.cumsum %arg0 {axis = -1 : i64, exclusive = true, reverse = true} : (tensor<3x4xi64>) -> tensor<3x4xi64>
func.func @cumsum(%x: tensor<3x4xi64>) {
  %0 = graph.cumsum %x {axis = 0 : i64} : (tensor<3x4xi64>) -> tensor<3x4xi64>
  %1 = graph.cumsum %x {axis = -1 : i64, exclusive = true, reverse = true} : (tensor<3x4xi64>) -> tensor<3x4xi64>
  return
}

// CHECK-LABEL: func.func @softmax
// CHECK: graph.softmax %arg0 : (tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK: graph.softmax %arg0 {axis = 0 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK: graph.log_softmax %arg1 {axis = 1 : i64} : (tensor<2x8xf16>) -> tensor<2x8xf16>
func.func @softmax(%x: tensor<2x8xf32>, %h: tensor<2x8xf16>) {
  %0 = graph.softmax %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %1 = graph.softmax %x {axis = 0 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %2 = graph.log_softmax %h {axis = 1 : i64} : (tensor<2x8xf16>) -> tensor<2x8xf16>
  return
}

// CHECK-LABEL: func.func @topk
// CHECK: %{{.*}}, %{{.*}} = graph.topk %arg0 {k = 3 : i64} : (tensor<2x8xf32>) -> (tensor<2x3xf32>, tensor<2x3xi64>)
// CHECK: graph.topk %arg0 {axis = 0 : i64, k = 0 : i64, largest = false, sorted = false} : (tensor<2x8xf32>) -> (tensor<0x8xf32>, tensor<0x8xi64>)
// CHECK: graph.topk %arg1 {k = 4 : i64} : (tensor<4xi32>) -> (tensor<4xi32>, tensor<4xi64>)
func.func @topk(%x: tensor<2x8xf32>, %i: tensor<4xi32>) {
  %0:2 = graph.topk %x {k = 3 : i64} : (tensor<2x8xf32>) -> (tensor<2x3xf32>, tensor<2x3xi64>)
  %1:2 = graph.topk %x {k = 0 : i64, axis = 0 : i64, largest = false, sorted = false} : (tensor<2x8xf32>) -> (tensor<0x8xf32>, tensor<0x8xi64>)
  %2:2 = graph.topk %i {k = 4 : i64} : (tensor<4xi32>) -> (tensor<4xi32>, tensor<4xi64>)
  return
}

// CHECK-LABEL: func.func @norms
// CHECK: graph.batch_norm %arg0, %arg1, %arg1, %arg1, %arg1 : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
// CHECK: graph.batch_norm %arg0, %arg1, %arg1, %arg1, %arg1 {epsilon = 1.000000e-03 : f32}
// CHECK: graph.instance_norm %arg0, %arg1, %arg1 : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
// CHECK: graph.layer_norm %arg2, %arg3, %arg3 : (tensor<2x5x8xf16>, tensor<8xf16>, tensor<8xf16>) -> tensor<2x5x8xf16>
// CHECK: graph.layer_norm %arg2, %arg4 {axis = 1 : i64, epsilon = 9.99999997E-7 : f32} : (tensor<2x5x8xf16>, tensor<5x1xf16>) -> tensor<2x5x8xf16>
func.func @norms(%x: tensor<2x3x4x4xf32>, %c: tensor<3xf32>, %y: tensor<2x5x8xf16>,
                 %g: tensor<8xf16>, %g2: tensor<5x1xf16>) {
  %0 = graph.batch_norm %x, %c, %c, %c, %c : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  %1 = graph.batch_norm %x, %c, %c, %c, %c {epsilon = 1.0e-3 : f32} : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  %2 = graph.instance_norm %x, %c, %c : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  // With and without the optional bias.
  %3 = graph.layer_norm %y, %g, %g : (tensor<2x5x8xf16>, tensor<8xf16>, tensor<8xf16>) -> tensor<2x5x8xf16>
  %4 = graph.layer_norm %y, %g2 {axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x5x8xf16>, tensor<5x1xf16>) -> tensor<2x5x8xf16>
  return
}
