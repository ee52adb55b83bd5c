// RUN: partita-opt %s -canonicalize -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @cast_same_type
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NOT: graph.cast
// CHECK: return %[[X]]
func.func @cast_same_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = graph.cast %x {to = f32} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @cast_other_type
// CHECK: %[[C:.*]] = graph.cast %arg0 {to = f16} : (tensor<4xf32>) -> tensor<4xf16>
// CHECK: return %[[C]]
func.func @cast_other_type(%x: tensor<4xf32>) -> tensor<4xf16> {
  %0 = graph.cast %x {to = f16} : (tensor<4xf32>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

// CHECK-LABEL: func.func @reshape_same_type
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NOT: graph.reshape
// CHECK: return %[[X]]
func.func @reshape_same_type(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = graph.reshape %x {shape = array<i64: 2, 3>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Only the outer reshape's shape matters.
// CHECK-LABEL: func.func @reshape_of_reshape
// CHECK-NEXT: %[[R:.*]] = graph.reshape %arg0 {shape = array<i64: 3, 2>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_of_reshape(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = graph.reshape %x {shape = array<i64: 6>} : (tensor<2x3xf32>) -> tensor<6xf32>
  %1 = graph.reshape %0 {shape = array<i64: 3, 2>} : (tensor<6xf32>) -> tensor<3x2xf32>
  return %1 : tensor<3x2xf32>
}

// -----

// A reshape chain that returns to the original shape disappears entirely.
// CHECK-LABEL: func.func @reshape_round_trip
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NOT: graph.reshape
// CHECK: return %[[X]]
func.func @reshape_round_trip(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = graph.reshape %x {shape = array<i64: 6>} : (tensor<2x3xf32>) -> tensor<6xf32>
  %1 = graph.reshape %0 {shape = array<i64: 2, 3>} : (tensor<6xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// The inner reshape keeps its other use.
// CHECK-LABEL: func.func @reshape_of_shared_reshape
// CHECK: %[[A:.*]] = graph.reshape %arg0 {shape = array<i64: 6>}
// CHECK: %[[B:.*]] = graph.reshape %arg0 {shape = array<i64: 3, 2>}
// CHECK: return %[[A]], %[[B]]
func.func @reshape_of_shared_reshape(%x: tensor<2x3xf32>) -> (tensor<6xf32>, tensor<3x2xf32>) {
  %0 = graph.reshape %x {shape = array<i64: 6>} : (tensor<2x3xf32>) -> tensor<6xf32>
  %1 = graph.reshape %0 {shape = array<i64: 3, 2>} : (tensor<6xf32>) -> tensor<3x2xf32>
  return %0, %1 : tensor<6xf32>, tensor<3x2xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_of_constant
// CHECK-NEXT: %[[C:.*]] = graph.constant {value = dense<{{\[}}[1, 2], [3, 4], [5, 6]]> : tensor<3x2xi64>} : tensor<3x2xi64>
// CHECK-NEXT: return %[[C]]
func.func @reshape_of_constant() -> tensor<3x2xi64> {
  %c = graph.constant {value = dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>} : tensor<2x3xi64>
  %0 = graph.reshape %c {shape = array<i64: 3, 2>} : (tensor<2x3xi64>) -> tensor<3x2xi64>
  return %0 : tensor<3x2xi64>
}

// -----

// A reshape of a non-constant to a new shape stays.
// CHECK-LABEL: func.func @reshape_kept
// CHECK: %[[R:.*]] = graph.reshape %arg0 {shape = array<i64: 6>}
// CHECK: return %[[R]]
func.func @reshape_kept(%x: tensor<2x3xf32>) -> tensor<6xf32> {
  %0 = graph.reshape %x {shape = array<i64: 6>} : (tensor<2x3xf32>) -> tensor<6xf32>
  return %0 : tensor<6xf32>
}

// -----

// CHECK-LABEL: func.func @transpose_identity
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NOT: graph.transpose
// CHECK: return %[[X]]
func.func @transpose_identity(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = graph.transpose %x {perm = array<i64: 0, 1, 2>} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// transpose(transpose(x, [1, 2, 0]), [1, 2, 0]) == transpose(x, [2, 0, 1]).
// CHECK-LABEL: func.func @transpose_of_transpose
// CHECK-NEXT: %[[T:.*]] = graph.transpose %arg0 {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK-NEXT: return %[[T]]
func.func @transpose_of_transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = graph.transpose %x {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  %1 = graph.transpose %0 {perm = array<i64: 1, 2, 0>} : (tensor<3x4x2xf32>) -> tensor<4x2x3xf32>
  return %1 : tensor<4x2x3xf32>
}

// -----

// The composition is not symmetric: [2, 0, 1] then [0, 2, 1] is [2, 1, 0].
// CHECK-LABEL: func.func @transpose_compose_order
// CHECK-NEXT: %[[T:.*]] = graph.transpose %arg0 {perm = array<i64: 2, 1, 0>} : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
// CHECK-NEXT: return %[[T]]
func.func @transpose_compose_order(%x: tensor<2x3x4xf32>) -> tensor<4x3x2xf32> {
  %0 = graph.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %1 = graph.transpose %0 {perm = array<i64: 0, 2, 1>} : (tensor<4x2x3xf32>) -> tensor<4x3x2xf32>
  return %1 : tensor<4x3x2xf32>
}

// -----

// Inverse permutations cancel.
// CHECK-LABEL: func.func @transpose_inverse
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NOT: graph.transpose
// CHECK: return %[[X]]
func.func @transpose_inverse(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = graph.transpose %x {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
  %1 = graph.transpose %0 {perm = array<i64: 2, 0, 1>} : (tensor<3x4x2xf32>) -> tensor<2x3x4xf32>
  return %1 : tensor<2x3x4xf32>
}

// -----

// A square transpose keeps the type but moves elements: it must stay.
// CHECK-LABEL: func.func @transpose_kept
// CHECK: %[[T:.*]] = graph.transpose %arg0 {perm = array<i64: 1, 0>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK: return %[[T]]
func.func @transpose_kept(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %0 = graph.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// CHECK-LABEL: func.func @expand_tile_identity
// CHECK-SAME: (%[[X:.*]]: tensor<3x1xf32>)
// CHECK-NOT: graph.expand
// CHECK-NOT: graph.tile
// CHECK: return %[[X]], %[[X]]
func.func @expand_tile_identity(%x: tensor<3x1xf32>) -> (tensor<3x1xf32>, tensor<3x1xf32>) {
  %0 = graph.expand %x {shape = array<i64: 3, 1>} : (tensor<3x1xf32>) -> tensor<3x1xf32>
  %1 = graph.tile %x {repeats = array<i64: 1, 1>} : (tensor<3x1xf32>) -> tensor<3x1xf32>
  return %0, %1 : tensor<3x1xf32>, tensor<3x1xf32>
}

// -----

// CHECK-LABEL: func.func @expand_tile_kept
// CHECK: %[[E:.*]] = graph.expand %arg0 {shape = array<i64: 3, 4>}
// CHECK: %[[T:.*]] = graph.tile %arg0 {repeats = array<i64: 1, 4>}
// CHECK: return %[[E]], %[[T]]
func.func @expand_tile_kept(%x: tensor<3x1xf32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  %0 = graph.expand %x {shape = array<i64: 3, 4>} : (tensor<3x1xf32>) -> tensor<3x4xf32>
  %1 = graph.tile %x {repeats = array<i64: 1, 4>} : (tensor<3x1xf32>) -> tensor<3x4xf32>
  return %0, %1 : tensor<3x4xf32>, tensor<3x4xf32>
}

// -----

// CHECK-LABEL: func.func @concat_single
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NOT: graph.concat
// CHECK: return %[[X]]
func.func @concat_single(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = graph.concat %x {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @concat_kept
// CHECK: %[[C:.*]] = graph.concat %arg0, %arg0 {axis = 1 : i64}
// CHECK: return %[[C]]
func.func @concat_kept(%x: tensor<2x3xf32>) -> tensor<2x6xf32> {
  %0 = graph.concat %x, %x {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

// CHECK-LABEL: func.func @slice_full
// CHECK-SAME: (%[[X:.*]]: tensor<4x10xf32>)
// CHECK-NOT: graph.slice
// CHECK: return %[[X]]
func.func @slice_full(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  %0 = graph.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 4, 10>, steps = array<i64: 1, 1>} : (tensor<4x10xf32>) -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

// Reversing keeps the type but not the values.
// CHECK-LABEL: func.func @slice_reverse_kept
// CHECK: %[[S:.*]] = graph.slice %arg0 {ends = array<i64: -1, 10>, starts = array<i64: 3, 0>, steps = array<i64: -1, 1>}
// CHECK: return %[[S]]
func.func @slice_reverse_kept(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  %0 = graph.slice %x {starts = array<i64: 3, 0>, ends = array<i64: -1, 10>, steps = array<i64: -1, 1>} : (tensor<4x10xf32>) -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

// CHECK-LABEL: func.func @slice_partial_kept
// CHECK: %[[S:.*]] = graph.slice %arg0 {ends = array<i64: 4, 9>, starts = array<i64: 0, 1>, steps = array<i64: 1, 1>}
// CHECK: return %[[S]]
func.func @slice_partial_kept(%x: tensor<4x10xf32>) -> tensor<4x8xf32> {
  %0 = graph.slice %x {starts = array<i64: 0, 1>, ends = array<i64: 4, 9>, steps = array<i64: 1, 1>} : (tensor<4x10xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Graph ops are pure: unused ones are erased.
// CHECK-LABEL: func.func @dead_ops
// CHECK-NOT: graph.
// CHECK: return
func.func @dead_ops(%x: tensor<4xf32>) {
  %0 = graph.exp %x : tensor<4xf32>
  %1 = graph.add %0, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}
