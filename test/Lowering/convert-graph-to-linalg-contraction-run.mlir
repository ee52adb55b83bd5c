// RUN: partita-opt %s --graph-to-linalg | %lower-to-llvm | %run-main | FileCheck %s

// Expected values computed by hand.

func.func private @printMemrefF32(tensor<*xf32>)

func.func @contract(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>, %v: tensor<3xf32>, %c: tensor<2xf32>, %i: tensor<2x2xi32>)
    -> (tensor<2x2xf32>, tensor<2xf32>, tensor<2x2xf32>, tensor<f32>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %0 = graph.matmul %a, %b : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %1 = graph.matmul %a, %v : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2xf32>
  %2 = graph.gemm %a, %a, %c {transB = true, alpha = 0.5 : f32, beta = 2.0 : f32} : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %3 = graph.einsum %a, %b {equation = "ij,ji"} : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<f32>
  %4 = graph.einsum %a, %b {equation = "ij,jk->ki"} : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %5 = graph.matmul %i, %i : (tensor<2x2xi32>, tensor<2x2xi32>) -> tensor<2x2xi32>
  %f5 = graph.cast %5 {to = f32} : (tensor<2x2xi32>) -> tensor<2x2xf32>
  return %0, %1, %2, %3, %4, %f5 : tensor<2x2xf32>, tensor<2xf32>, tensor<2x2xf32>, tensor<f32>, tensor<2x2xf32>, tensor<2x2xf32>
}

func.func @main() {
  %a = arith.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %b = arith.constant dense<[[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]> : tensor<3x2xf32>
  %v = arith.constant dense<[1.0, -1.0, 2.0]> : tensor<3xf32>
  %c = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %i = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi32>
  %r:6 = call @contract(%a, %b, %v, %c, %i) : (tensor<2x3xf32>, tensor<3x2xf32>, tensor<3xf32>, tensor<2xf32>, tensor<2x2xi32>) -> (tensor<2x2xf32>, tensor<2xf32>, tensor<2x2xf32>, tensor<f32>, tensor<2x2xf32>, tensor<2x2xf32>)
  %u0 = tensor.cast %r#0 : tensor<2x2xf32> to tensor<*xf32>
  %u1 = tensor.cast %r#1 : tensor<2xf32> to tensor<*xf32>
  %u2 = tensor.cast %r#2 : tensor<2x2xf32> to tensor<*xf32>
  %u3 = tensor.cast %r#3 : tensor<f32> to tensor<*xf32>
  %u4 = tensor.cast %r#4 : tensor<2x2xf32> to tensor<*xf32>
  %u5 = tensor.cast %r#5 : tensor<2x2xf32> to tensor<*xf32>
  // a @ b = [[4, -1], [10, -1]]
  // CHECK: {{\[\[}}4,   -1],
  // CHECK-NEXT: [10,   -1]]
  call @printMemrefF32(%u0) : (tensor<*xf32>) -> ()
  // a @ v = [5, 11]
  // CHECK: [5,  11]
  call @printMemrefF32(%u1) : (tensor<*xf32>) -> ()
  // 0.5 * a a^T + 2 c = 0.5 * [[14, 32], [32, 77]] + [2, -2]
  // CHECK: {{\[\[}}9,   14],
  // CHECK-NEXT: [18,   36.5]]
  call @printMemrefF32(%u2) : (tensor<*xf32>) -> ()
  // trace(a @ b) = 4 - 1 = 3
  // CHECK: [3]
  call @printMemrefF32(%u3) : (tensor<*xf32>) -> ()
  // (a @ b)^T
  // CHECK: {{\[\[}}4,   10],
  // CHECK-NEXT: [-1,   -1]]
  call @printMemrefF32(%u4) : (tensor<*xf32>) -> ()
  // CHECK: {{\[\[}}7,   10],
  // CHECK-NEXT: [15,   22]]
  call @printMemrefF32(%u5) : (tensor<*xf32>) -> ()
  return
}
