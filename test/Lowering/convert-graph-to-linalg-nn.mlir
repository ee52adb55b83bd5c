// RUN: partita-opt %s --convert-graph-to-linalg -split-input-file | FileCheck %s

// Grouped, strided, dilated, padded conv in f16 (no BLAS type): one direct
// generic; the input channel is (m floordiv M/group) * C/group + c.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, (d1 floordiv 2) * 2 + d4, d2 * 2 + d5 * 2, d3 * 2 + d6 * 2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>
// CHECK-DAG: #[[O:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @conv_grouped
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[O]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-NOT: linalg.batch_matmul
func.func @conv_grouped(%x: tensor<1x4x5x5xf16>, %w: tensor<4x2x2x2xf16>) -> tensor<1x4x3x3xf16> {
  %0 = graph.conv %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 2, 2>, group = 2 : i64} : (tensor<1x4x5x5xf16>, tensor<4x2x2x2xf16>) -> tensor<1x4x3x3xf16>
  return %0 : tensor<1x4x3x3xf16>
}

// -----

// The same conv in f32: im2col + one batch_matmul over the 2 groups.
// col[g, c, w1, w2, n, o1, o2] reads x_padded[n, g*2 + c, o1*2 + w1*2, o2*2 + w2*2];
// the epilogue moves [g, m, n, o] to [n, g, m, o] and adds the bias.
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d0 * 2 + d1, d5 * 2 + d2 * 2, d6 * 2 + d3 * 2)>
// CHECK-DAG: #[[EPI:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d0, d3)>
// CHECK-DAG: #[[BIAS:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-LABEL: func.func @conv_im2col
// CHECK: tensor.pad
// CHECK: linalg.generic {indexing_maps = [#[[COL]],
// CHECK: } -> tensor<2x2x2x2x1x3x3xf32>
// CHECK: %[[C:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2, 3], [4, 5, 6]] : tensor<2x2x2x2x1x3x3xf32> into tensor<2x8x9xf32>
// CHECK: %[[MM:.*]] = linalg.batch_matmul ins(%{{.*}}, %[[C]] : tensor<2x2x8xf32>, tensor<2x8x9xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[EPI]], #[[BIAS]], {{.*}}]
// CHECK: arith.addf
// CHECK: return {{.*}} : tensor<1x4x3x3xf32>
func.func @conv_im2col(%x: tensor<1x4x5x5xf32>, %w: tensor<4x2x2x2xf32>, %b: tensor<4xf32>) -> tensor<1x4x3x3xf32> {
  %0 = graph.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 2, 2>, group = 2 : i64} : (tensor<1x4x5x5xf32>, tensor<4x2x2x2xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
  return %0 : tensor<1x4x3x3xf32>
}

// -----

// Max pool pads with -inf and iterates the window through an empty operand.
// CHECK-LABEL: func.func @max_pool
// CHECK: %[[NI:.*]] = arith.constant 0xFF800000 : f32
// CHECK: tensor.pad
// CHECK: tensor.yield %[[NI]]
// CHECK: %[[W:.*]] = tensor.empty() : tensor<3x3xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[W]] : tensor<1x1x6x6xf32>, tensor<3x3xf32>)
// CHECK: arith.maximumf
func.func @max_pool(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32> {
  %0 = graph.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32>
  return %0 : tensor<1x1x2x2xf32>
}

// -----

// CHECK-LABEL: func.func @topk
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]
// CHECK-SAME: outs(%{{.*}}, %{{.*}} : tensor<2x2xf32>, tensor<2x2xi64>)
func.func @topk(%x: tensor<2x5xf32>) -> (tensor<2x2xf32>, tensor<2x2xi64>) {
  %0:2 = graph.topk %x {k = 2 : i64} : (tensor<2x5xf32>) -> (tensor<2x2xf32>, tensor<2x2xi64>)
  return %0#0, %0#1 : tensor<2x2xf32>, tensor<2x2xi64>
}
