// RUN: partita-opt %s --graph-to-linalg | %lower-to-llvm | %run-main | FileCheck %s

// Expected values worked out by hand. x is the 1x1x3x3 image
// [[1, 2, 3], [4, 5, 6], [7, 8, 9]].

func.func private @printMemrefF32(tensor<*xf32>)

func.func @nn(%x: tensor<1x1x3x3xf32>, %w: tensor<2x1x2x2xf32>, %b: tensor<2xf32>, %v: tensor<2x4xf32>)
    -> (tensor<1x2x2x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>, tensor<2x2xf32>, tensor<2x2xf32>) {
  // Kernels [[1, 0], [0, 1]] and [[0, 1], [1, 0]], biases 0.5 and -1.
  %0 = graph.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  // 2x2 max pool, stride 2, ceil mode: windows [1,2,4,5], [3,6], [7,8], [9].
  %1 = graph.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true} : (tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32>
  // 2x2 average pool, stride 2, pads 1: windows {1}, {2, 3}, {4, 7}, {5, 6, 8, 9}.
  %2 = graph.average_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32>
  // Same with count_include_pad: divide by 4 everywhere.
  %3 = graph.average_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, dilations = array<i64: 1, 1>, count_include_pad = true} : (tensor<1x1x3x3xf32>) -> tensor<1x1x2x2xf32>
  %4 = graph.global_average_pool %x : (tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32>
  // top-2 of [3, 1, 3, 2] and [0, 5, -1, 5]: ties keep the lower index.
  %5:2 = graph.topk %v {k = 2 : i64, axis = 1 : i64} : (tensor<2x4xf32>) -> (tensor<2x2xf32>, tensor<2x2xi64>)
  %6 = graph.cast %5#1 {to = f32} : (tensor<2x2xi64>) -> tensor<2x2xf32>
  return %0, %1, %2, %3, %4, %5#0, %6 : tensor<1x2x2x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>, tensor<2x2xf32>, tensor<2x2xf32>
}

func.func @main() {
  %x = arith.constant dense<[[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]]> : tensor<1x1x3x3xf32>
  %w = arith.constant dense<[[[[1.0, 0.0], [0.0, 1.0]]], [[[0.0, 1.0], [1.0, 0.0]]]]> : tensor<2x1x2x2xf32>
  %b = arith.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %v = arith.constant dense<[[3.0, 1.0, 3.0, 2.0], [0.0, 5.0, -1.0, 5.0]]> : tensor<2x4xf32>
  %r:7 = call @nn(%x, %w, %b, %v) : (tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32>, tensor<2xf32>, tensor<2x4xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32>, tensor<2x2xf32>, tensor<2x2xf32>)
  %u0 = tensor.cast %r#0 : tensor<1x2x2x2xf32> to tensor<*xf32>
  %u1 = tensor.cast %r#1 : tensor<1x1x2x2xf32> to tensor<*xf32>
  %u2 = tensor.cast %r#2 : tensor<1x1x2x2xf32> to tensor<*xf32>
  %u3 = tensor.cast %r#3 : tensor<1x1x2x2xf32> to tensor<*xf32>
  %u4 = tensor.cast %r#4 : tensor<1x1x1x1xf32> to tensor<*xf32>
  %u5 = tensor.cast %r#5 : tensor<2x2xf32> to tensor<*xf32>
  %u6 = tensor.cast %r#6 : tensor<2x2xf32> to tensor<*xf32>
  // Channel 0: x[i][j] + x[i+1][j+1] + 0.5; channel 1: x[i][j+1] + x[i+1][j] - 1.
  // CHECK: {{\[\[\[\[}}6.5,     8.5],
  // CHECK-NEXT: [12.5,     14.5]],
  // CHECK-NEXT: {{\[\[}}5,     7],
  // CHECK-NEXT: [11,     13]]]]
  call @printMemrefF32(%u0) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[\[\[}}5,     6],
  // CHECK-NEXT: [8,     9]]]]
  call @printMemrefF32(%u1) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[\[\[}}1,     2.5],
  // CHECK-NEXT: [5.5,     7]]]]
  call @printMemrefF32(%u2) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[\[\[}}0.25,     1.25],
  // CHECK-NEXT: [2.75,     7]]]]
  call @printMemrefF32(%u3) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[\[\[}}5]]]]
  call @printMemrefF32(%u4) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}3,   3],
  // CHECK-NEXT: [5,   5]]
  call @printMemrefF32(%u5) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}0,   2],
  // CHECK-NEXT: [1,   3]]
  call @printMemrefF32(%u6) : (tensor<*xf32>) -> ()
  return
}
