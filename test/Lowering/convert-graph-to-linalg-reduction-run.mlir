// RUN: partita-opt %s --graph-to-linalg | %lower-to-llvm | %run-main | FileCheck %s

// Expected values computed by hand / with python3's math module.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @reductions(%x: tensor<2x3xf32>) -> (tensor<2x1xf32>, tensor<3xf32>, tensor<2xf32>, tensor<1x1xf32>, tensor<2xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = graph.reduce_sum %x {axes = array<i64: 1>, keepdims = true} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  %1 = graph.reduce_max %x {axes = array<i64: 0>, keepdims = false} : (tensor<2x3xf32>) -> tensor<3xf32>
  %2 = graph.reduce_log_sum_exp %x {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  %3 = graph.reduce_mean %x {axes = array<i64: 0, 1>, keepdims = true} : (tensor<2x3xf32>) -> tensor<1x1xf32>
  %4 = graph.argmax %x {axis = 1 : i64, keepdims = false, select_last_index = true} : (tensor<2x3xf32>) -> tensor<2xi64>
  %f4 = graph.cast %4 {to = f32} : (tensor<2xi64>) -> tensor<2xf32>
  %5 = graph.softmax %x {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %6 = graph.cumsum %x {axis = 1 : i64, exclusive = true, reverse = true} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0, %1, %2, %3, %f4, %5, %6 : tensor<2x1xf32>, tensor<3xf32>, tensor<2xf32>, tensor<1x1xf32>, tensor<2xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

func.func @norms(%x: tensor<1x2x2xf32>, %s: tensor<2xf32>, %b: tensor<2xf32>) -> (tensor<1x2x2xf32>, tensor<1x2x2xf32>) {
  %0 = graph.layer_norm %x, %s, %b {axis = -1 : i64, epsilon = 0.0 : f32} : (tensor<1x2x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x2xf32>
  %1 = graph.log_softmax %x {axis = 1 : i64} : (tensor<1x2x2xf32>) -> tensor<1x2x2xf32>
  return %0, %1 : tensor<1x2x2xf32>, tensor<1x2x2xf32>
}

func.func @main() {
  %x = arith.constant dense<[[1.0, 3.0, 3.0], [-1.0, 0.0, 2.0]]> : tensor<2x3xf32>
  %r:7 = call @reductions(%x) : (tensor<2x3xf32>) -> (tensor<2x1xf32>, tensor<3xf32>, tensor<2xf32>, tensor<1x1xf32>, tensor<2xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  %u0 = tensor.cast %r#0 : tensor<2x1xf32> to tensor<*xf32>
  %u1 = tensor.cast %r#1 : tensor<3xf32> to tensor<*xf32>
  %u2 = tensor.cast %r#2 : tensor<2xf32> to tensor<*xf32>
  %u3 = tensor.cast %r#3 : tensor<1x1xf32> to tensor<*xf32>
  %u4 = tensor.cast %r#4 : tensor<2xf32> to tensor<*xf32>
  %u5 = tensor.cast %r#5 : tensor<2x3xf32> to tensor<*xf32>
  %u6 = tensor.cast %r#6 : tensor<2x3xf32> to tensor<*xf32>
  // CHECK: sizes = [2, 1]
  // CHECK-NEXT: [7],
  // CHECK-NEXT: [1]]
  call @printMemrefF32(%u0) : (tensor<*xf32>) -> ()
  // CHECK: [1,  3,  3]
  call @printMemrefF32(%u1) : (tensor<*xf32>) -> ()
  // log(e+2e^3) = 3.75862, log(e^-1+1+e^2) = 2.16985
  // CHECK: [3.75862,  2.16985]
  call @printMemrefF32(%u2) : (tensor<*xf32>) -> ()
  // CHECK: sizes = [1, 1]
  // CHECK-NEXT: {{\[\[}}1.33333]]
  call @printMemrefF32(%u3) : (tensor<*xf32>) -> ()
  // select_last_index picks the second 3.
  // CHECK: [2,  2]
  call @printMemrefF32(%u4) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}0.0633789,   0.468311,   0.468311],
  // CHECK-NEXT: [0.0420101,   0.114195,   0.843795]]
  call @printMemrefF32(%u5) : (tensor<*xf32>) -> ()
  // Reverse exclusive cumsum: [3+3, 3, 0], [0+2, 2, 0].
  // CHECK: {{\[\[}}6,   3,   0],
  // CHECK-NEXT: [2,   2,   0]]
  call @printMemrefF32(%u6) : (tensor<*xf32>) -> ()

  %y = arith.constant dense<[[[1.0, 3.0], [2.0, 4.0]]]> : tensor<1x2x2xf32>
  %s = arith.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %b = arith.constant dense<[0.5, 0.0]> : tensor<2xf32>
  %n:2 = call @norms(%y, %s, %b) : (tensor<1x2x2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<1x2x2xf32>, tensor<1x2x2xf32>)
  %v0 = tensor.cast %n#0 : tensor<1x2x2xf32> to tensor<*xf32>
  %v1 = tensor.cast %n#1 : tensor<1x2x2xf32> to tensor<*xf32>
  // Rows [1, 3] and [2, 4]: (x - mean) / std = [-1, 1], * [2, 1] + [0.5, 0].
  // CHECK: {{\[\[\[}}-1.5,    1],
  // CHECK-NEXT: [-1.5,    1]]]
  call @printMemrefF32(%v0) : (tensor<*xf32>) -> ()
  // log_softmax over axis 1: columns [1, 2] and [3, 4] -> [-1.31326, -0.313262].
  // CHECK: {{\[\[\[}}-1.31326,    -1.31326],
  // CHECK-NEXT: [-0.313262,    -0.313262]]]
  call @printMemrefF32(%v1) : (tensor<*xf32>) -> ()
  return
}
