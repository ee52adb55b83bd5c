// RUN: partita-opt %s | partita-opt | FileCheck %s
// RUN: partita-opt %s --mlir-print-op-generic | partita-opt | FileCheck %s

// Round trip of contractions, convolution and pooling.

// CHECK-LABEL: func.func @matmul
// CHECK: graph.matmul %arg0, %arg1 : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
// CHECK: graph.matmul %arg2, %arg1 : (tensor<4xf32>, tensor<4x5xf32>) -> tensor<5xf32>
// CHECK: graph.matmul %arg0, %arg2 : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3xf32>
// CHECK: graph.matmul %arg3, %arg4 : (tensor<1x3x2x8xbf16>, tensor<5x1x8x6xbf16>) -> tensor<5x3x2x6xbf16>
// CHECK: graph.matmul %arg5, %arg5 : (tensor<3x3xi8>, tensor<3x3xi8>) -> tensor<3x3xi8>
func.func @matmul(%a: tensor<2x3x4xf32>, %b: tensor<4x5xf32>, %v: tensor<4xf32>,
                  %c: tensor<1x3x2x8xbf16>, %d: tensor<5x1x8x6xbf16>, %i: tensor<3x3xi8>) {
  %0 = graph.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  %1 = graph.matmul %v, %b : (tensor<4xf32>, tensor<4x5xf32>) -> tensor<5xf32>
  %2 = graph.matmul %a, %v : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  %3 = graph.matmul %c, %d : (tensor<1x3x2x8xbf16>, tensor<5x1x8x6xbf16>) -> tensor<5x3x2x6xbf16>
  %4 = graph.matmul %i, %i : (tensor<3x3xi8>, tensor<3x3xi8>) -> tensor<3x3xi8>
  return
}

// The bias operand `c` is optional.
// CHECK-LABEL: func.func @gemm
// CHECK: graph.gemm %arg0, %arg1 : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
// CHECK: graph.gemm %arg0, %arg1, %arg2 {alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32} : (tensor<3x4xf32>, tensor<4x5xf32>, tensor<5xf32>) -> tensor<3x5xf32>
// CHECK: graph.gemm %arg1, %arg0, %arg3 {transA = true, transB = true} : (tensor<4x5xf32>, tensor<3x4xf32>, tensor<5x1xf32>) -> tensor<5x3xf32>
func.func @gemm(%a: tensor<3x4xf32>, %b: tensor<4x5xf32>, %c: tensor<5xf32>, %c2: tensor<5x1xf32>) {
  %0 = graph.gemm %a, %b : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  %1 = graph.gemm %a, %b, %c {alpha = 0.5 : f32, beta = 2.0 : f32} : (tensor<3x4xf32>, tensor<4x5xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  %2 = graph.gemm %b, %a, %c2 {transA = true, transB = true} : (tensor<4x5xf32>, tensor<3x4xf32>, tensor<5x1xf32>) -> tensor<5x3xf32>
  return
}

// Einsum is variadic: one, two and three operands, explicit and implicit
// outputs, ellipsis broadcasting.
// CHECK-LABEL: func.func @einsum
// CHECK: graph.einsum %arg0, %arg1 {equation = "ij,jk->ik"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
// CHECK: graph.einsum %arg0 {equation = "ij->ji"} : (tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK: graph.einsum %arg0, %arg1 {equation = "ij,jk"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
// CHECK: graph.einsum %arg0, %arg1, %arg2 {equation = "ij,jk,k->i"} : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<2xf32>
// CHECK: graph.einsum %arg3, %arg4 {equation = "...ij,...jk->...ik"} : (tensor<5x1x2x3xf16>, tensor<4x3x6xf16>) -> tensor<5x4x2x6xf16>
// CHECK: graph.einsum %arg5 {equation = "ii->i"} : (tensor<3x3xi32>) -> tensor<3xi32>
func.func @einsum(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<4xf32>,
                  %x: tensor<5x1x2x3xf16>, %y: tensor<4x3x6xf16>, %d: tensor<3x3xi32>) {
  %0 = graph.einsum %a, %b {equation = "ij,jk->ik"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %1 = graph.einsum %a {equation = "ij->ji"} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %2 = graph.einsum %a, %b {equation = "ij,jk"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %3 = graph.einsum %a, %b, %c {equation = "ij,jk,k->i"} : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<2xf32>
  %4 = graph.einsum %x, %y {equation = "...ij,...jk->...ik"} : (tensor<5x1x2x3xf16>, tensor<4x3x6xf16>) -> tensor<5x4x2x6xf16>
  %5 = graph.einsum %d {equation = "ii->i"} : (tensor<3x3xi32>) -> tensor<3xi32>
  return
}

// The bias operand is optional; grouped, strided, padded and dilated forms.
// CHECK-LABEL: func.func @conv
// CHECK: graph.conv %arg0, %arg1 {dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
// CHECK: graph.conv %arg0, %arg1, %arg2 {dilations = array<i64: 2, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<6xf32>) -> tensor<1x6x3x4xf32>
// CHECK: graph.conv %arg0, %arg3 {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<6x2x1x1xf32>) -> tensor<1x6x8x8xf32>
// CHECK: graph.conv %arg4, %arg5 {dilations = array<i64: 1>, pads = array<i64: 2, 0>, strides = array<i64: 1>} : (tensor<2x3x10xf64>, tensor<5x3x4xf64>) -> tensor<2x5x9xf64>
func.func @conv(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>, %b: tensor<6xf32>,
                %wg: tensor<6x2x1x1xf32>, %x1: tensor<2x3x10xf64>, %w1: tensor<5x3x4xf64>) {
  %0 = graph.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  %1 = graph.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 2, 1>} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<6xf32>) -> tensor<1x6x3x4xf32>
  %2 = graph.conv %x, %wg {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x1x1xf32>) -> tensor<1x6x8x8xf32>
  %3 = graph.conv %x1, %w1 {strides = array<i64: 1>, pads = array<i64: 2, 0>, dilations = array<i64: 1>} : (tensor<2x3x10xf64>, tensor<5x3x4xf64>) -> tensor<2x5x9xf64>
  return
}

// CHECK-LABEL: func.func @pool
// CHECK: graph.average_pool %arg0 {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x7x7xf32>) -> tensor<1x3x3x3xf32>
// CHECK: graph.average_pool %arg0 {ceil_mode = true, count_include_pad = true, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x7x7xf32>) -> tensor<1x3x4x4xf32>
// CHECK: graph.max_pool %arg0 {dilations = array<i64: 2, 2>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x7x7xf32>) -> tensor<1x3x3x3xf32>
// CHECK: graph.max_pool %arg1 {ceil_mode = true, dilations = array<i64: 1>, kernel_shape = array<i64: 2>, pads = array<i64: 0, 0>, strides = array<i64: 2>} : (tensor<2x4x5xi8>) -> tensor<2x4x3xi8>
// CHECK: graph.global_average_pool %arg0 : (tensor<1x3x7x7xf32>) -> tensor<1x3x1x1xf32>
// CHECK: graph.global_max_pool %arg2 : (tensor<2x4x5x6x7xbf16>) -> tensor<2x4x1x1x1xbf16>
func.func @pool(%x: tensor<1x3x7x7xf32>, %i: tensor<2x4x5xi8>, %v: tensor<2x4x5x6x7xbf16>) {
  %0 = graph.average_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x3x7x7xf32>) -> tensor<1x3x3x3xf32>
  %1 = graph.average_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true, count_include_pad = true} : (tensor<1x3x7x7xf32>) -> tensor<1x3x4x4xf32>
  %2 = graph.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>} : (tensor<1x3x7x7xf32>) -> tensor<1x3x3x3xf32>
  %3 = graph.max_pool %i {kernel_shape = array<i64: 2>, strides = array<i64: 2>, pads = array<i64: 0, 0>, dilations = array<i64: 1>, ceil_mode = true} : (tensor<2x4x5xi8>) -> tensor<2x4x3xi8>
  %4 = graph.global_average_pool %x : (tensor<1x3x7x7xf32>) -> tensor<1x3x1x1xf32>
  %5 = graph.global_max_pool %v : (tensor<2x4x5x6x7xbf16>) -> tensor<2x4x1x1x1xbf16>
  return
}
