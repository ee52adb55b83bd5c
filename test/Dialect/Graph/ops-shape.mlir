// RUN: partita-opt %s | partita-opt | FileCheck %s
// RUN: partita-opt %s --mlir-print-op-generic | partita-opt | FileCheck %s

// Round trip of constants and the data movement ops.

// CHECK-LABEL: func.func @constant
// CHECK: graph.constant {value = dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>} : tensor<2xf32>
// CHECK: graph.constant {value = dense<7> : tensor<2x2xi64>} : tensor<2x2xi64>
// CHECK: graph.constant {value = dense<[true, false]> : tensor<2xi1>} : tensor<2xi1>
// CHECK: graph.constant {value = dense<255> : tensor<ui8>} : tensor<ui8>
// CHECK: graph.constant {value = dense<5.000000e-01> : tensor<3xbf16>} : tensor<3xbf16>
func.func @constant() -> (tensor<2xf32>, tensor<2x2xi64>, tensor<2xi1>, tensor<ui8>, tensor<3xbf16>) {
  %0 = graph.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : tensor<2xf32>
  %1 = graph.constant {value = dense<7> : tensor<2x2xi64>} : tensor<2x2xi64>
  %2 = graph.constant {value = dense<[true, false]> : tensor<2xi1>} : tensor<2xi1>
  %3 = graph.constant {value = dense<255> : tensor<ui8>} : tensor<ui8>
  %4 = graph.constant {value = dense<0.5> : tensor<3xbf16>} : tensor<3xbf16>
  return %0, %1, %2, %3, %4 : tensor<2xf32>, tensor<2x2xi64>, tensor<2xi1>, tensor<ui8>, tensor<3xbf16>
}

// CHECK-LABEL: func.func @reshape_transpose
// CHECK: graph.reshape %arg0 {shape = array<i64: 6, 4>} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
// CHECK: graph.reshape %arg1 {shape = array<i64>} : (tensor<1x1xi8>) -> tensor<i8>
// CHECK: graph.transpose %arg0 {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
// CHECK: graph.transpose %arg1 {perm = array<i64: 1, 0>} : (tensor<1x1xi8>) -> tensor<1x1xi8>
func.func @reshape_transpose(%x: tensor<2x3x4xf32>, %i: tensor<1x1xi8>) {
  %0 = graph.reshape %x {shape = array<i64: 6, 4>} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %1 = graph.reshape %i {shape = array<i64>} : (tensor<1x1xi8>) -> tensor<i8>
  %2 = graph.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %3 = graph.transpose %i {perm = array<i64: 1, 0>} : (tensor<1x1xi8>) -> tensor<1x1xi8>
  return
}

// CHECK-LABEL: func.func @expand_tile
// CHECK: graph.expand %arg0 {shape = array<i64: 2, 3, 4>} : (tensor<3x1xf16>) -> tensor<2x3x4xf16>
// CHECK: graph.expand %arg0 {shape = array<i64: 1>} : (tensor<3x1xf16>) -> tensor<3x1xf16>
// CHECK: graph.tile %arg0 {repeats = array<i64: 2, 5>} : (tensor<3x1xf16>) -> tensor<6x5xf16>
// CHECK: graph.tile %arg1 {repeats = array<i64: 0>} : (tensor<4xui8>) -> tensor<0xui8>
func.func @expand_tile(%x: tensor<3x1xf16>, %u: tensor<4xui8>) {
  %0 = graph.expand %x {shape = array<i64: 2, 3, 4>} : (tensor<3x1xf16>) -> tensor<2x3x4xf16>
  %1 = graph.expand %x {shape = array<i64: 1>} : (tensor<3x1xf16>) -> tensor<3x1xf16>
  %2 = graph.tile %x {repeats = array<i64: 2, 5>} : (tensor<3x1xf16>) -> tensor<6x5xf16>
  %3 = graph.tile %u {repeats = array<i64: 0>} : (tensor<4xui8>) -> tensor<0xui8>
  return
}

// Concat and split are variadic in their inputs and results.
// CHECK-LABEL: func.func @concat_split
// CHECK: graph.concat %arg0, %arg1, %arg0 {axis = 1 : i64} : (tensor<2x3xi32>, tensor<2x5xi32>, tensor<2x3xi32>) -> tensor<2x11xi32>
// CHECK: graph.concat %arg0 {axis = -2 : i64} : (tensor<2x3xi32>) -> tensor<2x3xi32>
// CHECK: %[[S:.*]]:3 = graph.split %arg1 {axis = 1 : i64, split = array<i64: 1, 0, 4>} : (tensor<2x5xi32>) -> (tensor<2x1xi32>, tensor<2x0xi32>, tensor<2x4xi32>)
// CHECK: graph.split %arg2 {axis = 0 : i64, split = array<i64: 6>} : (tensor<6xf64>) -> tensor<6xf64>
// CHECK: return %[[S]]#2
func.func @concat_split(%a: tensor<2x3xi32>, %b: tensor<2x5xi32>, %d: tensor<6xf64>) -> tensor<2x4xi32> {
  %0 = graph.concat %a, %b, %a {axis = 1 : i64} : (tensor<2x3xi32>, tensor<2x5xi32>, tensor<2x3xi32>) -> tensor<2x11xi32>
  %1 = graph.concat %a {axis = -2 : i64} : (tensor<2x3xi32>) -> tensor<2x3xi32>
  %2:3 = graph.split %b {axis = 1 : i64, split = array<i64: 1, 0, 4>} : (tensor<2x5xi32>) -> (tensor<2x1xi32>, tensor<2x0xi32>, tensor<2x4xi32>)
  %3 = graph.split %d {axis = 0 : i64, split = array<i64: 6>} : (tensor<6xf64>) -> tensor<6xf64>
  return %2#2 : tensor<2x4xi32>
}

// Normalized slices: forward with a stride, backward down to index 0 (end
// -1), and empty.
// CHECK-LABEL: func.func @slice
// CHECK: graph.slice %arg0 {ends = array<i64: 4, 10>, starts = array<i64: 1, 0>, steps = array<i64: 1, 3>} : (tensor<4x10xf32>) -> tensor<3x4xf32>
// CHECK: graph.slice %arg0 {ends = array<i64: -1, 0>, starts = array<i64: 3, 0>, steps = array<i64: -2, 1>} : (tensor<4x10xf32>) -> tensor<2x0xf32>
func.func @slice(%x: tensor<4x10xf32>) {
  %0 = graph.slice %x {starts = array<i64: 1, 0>, ends = array<i64: 4, 10>, steps = array<i64: 1, 3>} : (tensor<4x10xf32>) -> tensor<3x4xf32>
  %1 = graph.slice %x {starts = array<i64: 3, 0>, ends = array<i64: -1, 0>, steps = array<i64: -2, 1>} : (tensor<4x10xf32>) -> tensor<2x0xf32>
  return
}

// The pad mode enum in each spelling; negative pads crop.
// CHECK-LABEL: func.func @pad
// CHECK: graph.pad %arg0 {pads = array<i64: 1, 0, 1, 2>} : (tensor<3x4xf32>) -> tensor<5x6xf32>
// CHECK: graph.pad %arg0 {pads = array<i64: 1, 0, 1, 2>, value = 1.500000e+00 : f64} : (tensor<3x4xf32>) -> tensor<5x6xf32>
// CHECK: graph.pad %arg0 {mode = #graph<pad_mode reflect>, pads = array<i64: 1, 1, 1, 1>} : (tensor<3x4xf32>) -> tensor<5x6xf32>
// CHECK: graph.pad %arg0 {mode = #graph<pad_mode edge>, pads = array<i64: 0, 2, 0, 0>} : (tensor<3x4xf32>) -> tensor<3x6xf32>
// CHECK: graph.pad %arg1 {mode = #graph<pad_mode wrap>, pads = array<i64: -1, 2>} : (tensor<5xi64>) -> tensor<6xi64>
func.func @pad(%x: tensor<3x4xf32>, %i: tensor<5xi64>) {
  %0 = graph.pad %x {pads = array<i64: 1, 0, 1, 2>} : (tensor<3x4xf32>) -> tensor<5x6xf32>
  %1 = graph.pad %x {pads = array<i64: 1, 0, 1, 2>, mode = #graph<pad_mode constant>, value = 1.5 : f64} : (tensor<3x4xf32>) -> tensor<5x6xf32>
  %2 = graph.pad %x {pads = array<i64: 1, 1, 1, 1>, mode = #graph<pad_mode reflect>} : (tensor<3x4xf32>) -> tensor<5x6xf32>
  %3 = graph.pad %x {pads = array<i64: 0, 2, 0, 0>, mode = #graph<pad_mode edge>} : (tensor<3x4xf32>) -> tensor<3x6xf32>
  %4 = graph.pad %i {pads = array<i64: -1, 2>, mode = #graph<pad_mode wrap>} : (tensor<5xi64>) -> tensor<6xi64>
  return
}

// CHECK-LABEL: func.func @gather
// CHECK: graph.gather %arg0, %arg1 : (tensor<5x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
// CHECK: graph.gather %arg0, %arg2 {axis = -1 : i64} : (tensor<5x4xf32>, tensor<i32>) -> tensor<5xf32>
// CHECK: graph.gather_elements %arg0, %arg3 {axis = 1 : i64} : (tensor<5x4xf32>, tensor<5x2xi32>) -> tensor<5x2xf32>
func.func @gather(%x: tensor<5x4xf32>, %i: tensor<2x3xi64>, %s: tensor<i32>, %e: tensor<5x2xi32>) {
  %0 = graph.gather %x, %i : (tensor<5x4xf32>, tensor<2x3xi64>) -> tensor<2x3x4xf32>
  %1 = graph.gather %x, %s {axis = -1 : i64} : (tensor<5x4xf32>, tensor<i32>) -> tensor<5xf32>
  %2 = graph.gather_elements %x, %e {axis = 1 : i64} : (tensor<5x4xf32>, tensor<5x2xi32>) -> tensor<5x2xf32>
  return
}

// The scatter reduction enum in each spelling.
// CHECK-LABEL: func.func @scatter
// CHECK: graph.scatter_elements %arg0, %arg1, %arg2 : (tensor<4x4xf32>, tensor<2x4xi64>, tensor<2x4xf32>) -> tensor<4x4xf32>
// CHECK: graph.scatter_elements %arg0, %arg1, %arg2 {axis = 1 : i64, reduction = #graph<reduction add>}
// CHECK: graph.scatter_elements %arg0, %arg1, %arg2 {reduction = #graph<reduction mul>}
// CHECK: graph.scatter_nd %arg0, %arg3, %arg4 {reduction = #graph<reduction max>} : (tensor<4x4xf32>, tensor<3x1xi64>, tensor<3x4xf32>) -> tensor<4x4xf32>
// CHECK: graph.scatter_nd %arg0, %arg5, %arg6 {reduction = #graph<reduction min>} : (tensor<4x4xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<4x4xf32>
// CHECK: graph.scatter_nd %arg0, %arg5, %arg6 : (tensor<4x4xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<4x4xf32>
func.func @scatter(%x: tensor<4x4xf32>, %i: tensor<2x4xi64>, %u: tensor<2x4xf32>,
                   %ni: tensor<3x1xi64>, %nu: tensor<3x4xf32>,
                   %pi: tensor<2x2xi64>, %pu: tensor<2xf32>) {
  %0 = graph.scatter_elements %x, %i, %u : (tensor<4x4xf32>, tensor<2x4xi64>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %1 = graph.scatter_elements %x, %i, %u {axis = 1 : i64, reduction = #graph<reduction add>} : (tensor<4x4xf32>, tensor<2x4xi64>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %2 = graph.scatter_elements %x, %i, %u {reduction = #graph<reduction mul>} : (tensor<4x4xf32>, tensor<2x4xi64>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %3 = graph.scatter_nd %x, %ni, %nu {reduction = #graph<reduction max>} : (tensor<4x4xf32>, tensor<3x1xi64>, tensor<3x4xf32>) -> tensor<4x4xf32>
  %4 = graph.scatter_nd %x, %pi, %pu {reduction = #graph<reduction min>} : (tensor<4x4xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<4x4xf32>
  %5 = graph.scatter_nd %x, %pi, %pu {reduction = #graph<reduction none>} : (tensor<4x4xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<4x4xf32>
  return
}

// CHECK-LABEL: func.func @one_hot_trilu
// CHECK: graph.one_hot %arg0, %arg1 {depth = 5 : i64} : (tensor<2x3xi64>, tensor<2xf32>) -> tensor<2x3x5xf32>
// CHECK: graph.one_hot %arg0, %arg2 {axis = 0 : i64, depth = 4 : i64} : (tensor<2x3xi64>, tensor<2xi1>) -> tensor<4x2x3xi1>
// CHECK: graph.trilu %arg3 : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
// CHECK: graph.trilu %arg3 {k = -1 : i64, upper = false} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
func.func @one_hot_trilu(%i: tensor<2x3xi64>, %v: tensor<2xf32>, %b: tensor<2xi1>, %x: tensor<2x4x4xf32>) {
  %0 = graph.one_hot %i, %v {depth = 5 : i64} : (tensor<2x3xi64>, tensor<2xf32>) -> tensor<2x3x5xf32>
  %1 = graph.one_hot %i, %b {depth = 4 : i64, axis = 0 : i64} : (tensor<2x3xi64>, tensor<2xi1>) -> tensor<4x2x3xi1>
  %2 = graph.trilu %x : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %3 = graph.trilu %x {upper = false, k = -1 : i64} : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return
}
