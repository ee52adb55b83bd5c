// RUN: partita-opt %s --graph-to-linalg | %lower-to-llvm | %run-main | FileCheck %s

// Expected values worked out by hand from the ONNX operator definitions.
// x = [[0, 1, 2], [3, 4, 5]]

func.func private @printMemrefF32(tensor<*xf32>)

func.func @movement(%x: tensor<2x3xf32>, %i: tensor<2xi64>, %e: tensor<2x2xi64>)
    -> (tensor<3x2xf32>, tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x2xf32>, tensor<2x7xf32>,
        tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>,
        tensor<2x3xf32>, tensor<3x2xf32>) {
  %0 = graph.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  // Reverse both dims: [[5, 4, 3], [2, 1, 0]].
  %1 = graph.slice %x {starts = array<i64: 1, 2>, ends = array<i64: -1, -1>, steps = array<i64: -1, -1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // concat(x, x[:, 0:2]) along axis 1.
  %s:2 = graph.split %x {axis = 1 : i64, split = array<i64: 2, 1>} : (tensor<2x3xf32>) -> (tensor<2x2xf32>, tensor<2x1xf32>)
  %2 = graph.concat %x, %s#0 {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x2xf32>) -> tensor<2x5xf32>
  // gather columns [2, -3] = [2, 0].
  %3 = graph.gather %x, %i {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x2xf32>
  // reflect pad 2 columns on each side: [2, 1, 0, 1, 2, 1, 0].
  %4 = graph.pad %x {pads = array<i64: 0, 2, 0, 2>, mode = #graph<pad_mode reflect>} : (tensor<2x3xf32>) -> tensor<2x7xf32>
  // gather_elements with [[1, 0], [-1, 2]] on axis 1: [[1, 0], [5, 5]].
  %5 = graph.gather_elements %x, %e {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x2xi64>) -> tensor<2x2xf32>
  // tile the last column twice: [[2, 2], [5, 5]].
  %6 = graph.tile %s#1 {repeats = array<i64: 1, 2>} : (tensor<2x1xf32>) -> tensor<2x2xf32>
  // scatter_elements, reduction add, at columns [[1, 0], [-1, 2]].
  %u = graph.constant {value = dense<[[10.0, 20.0], [30.0, 40.0]]> : tensor<2x2xf32>} : tensor<2x2xf32>
  %7 = graph.scatter_elements %x, %e, %u {axis = 1 : i64, reduction = #graph<reduction add>} : (tensor<2x3xf32>, tensor<2x2xi64>, tensor<2x2xf32>) -> tensor<2x3xf32>
  // scatter_nd rows: indices [[1]] with update row [7, 8, 9].
  %ni = graph.constant {value = dense<[[1]]> : tensor<1x1xi64>} : tensor<1x1xi64>
  %nu = graph.constant {value = dense<[[7.0, 8.0, 9.0]]> : tensor<1x3xf32>} : tensor<1x3xf32>
  %8 = graph.scatter_nd %x, %ni, %nu : (tensor<2x3xf32>, tensor<1x1xi64>, tensor<1x3xf32>) -> tensor<2x3xf32>
  // one_hot of [2, -3] with depth 3 and values [0, 1].
  %ov = graph.constant {value = dense<[0.0, 1.0]> : tensor<2xf32>} : tensor<2xf32>
  %9 = graph.one_hot %i, %ov {depth = 3 : i64} : (tensor<2xi64>, tensor<2xf32>) -> tensor<2x3xf32>
  // trilu lower, k = 0: [[0, 0, 0], [3, 4, 0]].
  %10 = graph.trilu %x {upper = false} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // reshape to 3x2: [[0, 1], [2, 3], [4, 5]].
  %11 = graph.reshape %x {shape = array<i64: 3, 2>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11 : tensor<3x2xf32>, tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x2xf32>, tensor<2x7xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x2xf32>
}

func.func @main() {
  %x = arith.constant dense<[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]> : tensor<2x3xf32>
  %i = arith.constant dense<[2, -3]> : tensor<2xi64>
  %e = arith.constant dense<[[1, 0], [-1, 2]]> : tensor<2x2xi64>
  %r:12 = call @movement(%x, %i, %e) : (tensor<2x3xf32>, tensor<2xi64>, tensor<2x2xi64>) -> (tensor<3x2xf32>, tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x2xf32>, tensor<2x7xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x2xf32>)
  %u0 = tensor.cast %r#0 : tensor<3x2xf32> to tensor<*xf32>
  %u1 = tensor.cast %r#1 : tensor<2x3xf32> to tensor<*xf32>
  %u2 = tensor.cast %r#2 : tensor<2x5xf32> to tensor<*xf32>
  %u3 = tensor.cast %r#3 : tensor<2x2xf32> to tensor<*xf32>
  %u4 = tensor.cast %r#4 : tensor<2x7xf32> to tensor<*xf32>
  %u5 = tensor.cast %r#5 : tensor<2x2xf32> to tensor<*xf32>
  %u6 = tensor.cast %r#6 : tensor<2x2xf32> to tensor<*xf32>
  %u7 = tensor.cast %r#7 : tensor<2x3xf32> to tensor<*xf32>
  %u8 = tensor.cast %r#8 : tensor<2x3xf32> to tensor<*xf32>
  %u9 = tensor.cast %r#9 : tensor<2x3xf32> to tensor<*xf32>
  %u10 = tensor.cast %r#10 : tensor<2x3xf32> to tensor<*xf32>
  %u11 = tensor.cast %r#11 : tensor<3x2xf32> to tensor<*xf32>
  // CHECK: {{\[\[}}0,   3],
  // CHECK-NEXT: [1,   4],
  // CHECK-NEXT: [2,   5]]
  call @printMemrefF32(%u0) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}5,   4,   3],
  // CHECK-NEXT: [2,   1,   0]]
  call @printMemrefF32(%u1) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}0,   1,   2,   0,   1],
  // CHECK-NEXT: [3,   4,   5,   3,   4]]
  call @printMemrefF32(%u2) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}2,   0],
  // CHECK-NEXT: [5,   3]]
  call @printMemrefF32(%u3) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}2,   1,   0,   1,   2,   1,   0],
  // CHECK-NEXT: [5,   4,   3,   4,   5,   4,   3]]
  call @printMemrefF32(%u4) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}1,   0],
  // CHECK-NEXT: [5,   5]]
  call @printMemrefF32(%u5) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}2,   2],
  // CHECK-NEXT: [5,   5]]
  call @printMemrefF32(%u6) : (tensor<*xf32>) -> ()
  // Row 0: x[0,1] += 10, x[0,0] += 20; row 1: x[1,2] += 30 + 40.
  // CHECK: {{\[\[}}20,   11,   2],
  // CHECK-NEXT: [3,   4,   75]]
  call @printMemrefF32(%u7) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}0,   1,   2],
  // CHECK-NEXT: [7,   8,   9]]
  call @printMemrefF32(%u8) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}0,   0,   1],
  // CHECK-NEXT: [1,   0,   0]]
  call @printMemrefF32(%u9) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}0,   0,   0],
  // CHECK-NEXT: [3,   4,   0]]
  call @printMemrefF32(%u10) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}0,   1],
  // CHECK-NEXT: [2,   3],
  // CHECK-NEXT: [4,   5]]
  call @printMemrefF32(%u11) : (tensor<*xf32>) -> ()
  return
}
