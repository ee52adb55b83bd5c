// RUN: partita-opt %s -split-input-file -verify-diagnostics

// A constant's value must be a tensor; a vector passes ElementsAttr.
func.func @constant_vector() -> tensor<2xf32> {
  // expected-error @+2 {{constant value must be a static tensor}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.constant {value = dense<1.0> : vector<2xf32>} : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @constant_wrong_type() -> tensor<3xf32> {
  // expected-error @+2 {{'graph.constant' op inferred type(s) 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.constant {value = dense<1.0> : tensor<2xf32>} : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) -> tensor<4x2xf32> {
  // expected-error @+2 {{cannot reshape 2x3 (6 elements) to 4x2 (8 elements)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reshape %x {shape = array<i64: 4, 2>} : (tensor<2x3xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @reshape_minus_one(%x: tensor<2x3xf32>) -> tensor<6xf32> {
  // expected-error @+2 {{reshape target -1 must be fully static (no -1)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reshape %x {shape = array<i64: -1>} : (tensor<2x3xf32>) -> tensor<6xf32>
  return %0 : tensor<6xf32>
}

// -----

func.func @transpose_perm_size(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{perm has 3 entries but the input has rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_not_permutation(%x: tensor<2x3x4xf32>) -> tensor<3x3x4xf32> {
  // expected-error @+2 {{perm 1x1x2 is not a permutation of [0, 3)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.transpose %x {perm = array<i64: 1, 1, 2>} : (tensor<2x3x4xf32>) -> tensor<3x3x4xf32>
  return %0 : tensor<3x3x4xf32>
}

// -----

func.func @transpose_perm_out_of_range(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{perm 2x0 is not a permutation of [0, 2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.transpose %x {perm = array<i64: 2, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @expand_incompatible(%x: tensor<3x2xf32>) -> tensor<3x4xf32> {
  // expected-error @+2 {{cannot expand 3x2 to 3x4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.expand %x {shape = array<i64: 3, 4>} : (tensor<3x2xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @tile_count(%x: tensor<3x2xf32>) -> tensor<6x2xf32> {
  // expected-error @+2 {{repeats has 1 entries but the input has rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.tile %x {repeats = array<i64: 2>} : (tensor<3x2xf32>) -> tensor<6x2xf32>
  return %0 : tensor<6x2xf32>
}

// -----

func.func @tile_negative(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{repeats must be non-negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.tile %x {repeats = array<i64: 1, -1>} : (tensor<3x2xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @concat_empty() -> tensor<2xf32> {
  // expected-error @+2 {{concat needs at least one input}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.concat {axis = 0 : i64} : () -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @concat_shapes(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) -> tensor<2x6xf32> {
  // expected-error @+2 {{concat input #1 has shape 4x3, incompatible with 2x3 along axis 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @concat_ranks(%a: tensor<2x3xf32>, %b: tensor<2x3x1xf32>) -> tensor<4x3xf32> {
  // expected-error @+2 {{concat input #1 has shape 2x3x1, incompatible with 2x3 along axis 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3x1xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @concat_types(%a: tensor<2xf32>, %b: tensor<2xi32>) -> tensor<4xf32> {
  // expected-error @+2 {{concat inputs must have the same element type, got 'f32' and 'i32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.concat %a, %b {axis = 0 : i64} : (tensor<2xf32>, tensor<2xi32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @concat_axis(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+2 {{axis 1 is out of range for rank 1 (expected [-1, 1))}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.concat %a, %a {axis = 1 : i64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @split_sum(%x: tensor<2x5xf32>) -> (tensor<2x1xf32>, tensor<2x3xf32>) {
  // expected-error @+2 {{split sizes sum to 4 but axis 1 has size 5}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = graph.split %x {axis = 1 : i64, split = array<i64: 1, 3>} : (tensor<2x5xf32>) -> (tensor<2x1xf32>, tensor<2x3xf32>)
  return %0#0, %0#1 : tensor<2x1xf32>, tensor<2x3xf32>
}

// -----

func.func @split_negative(%x: tensor<2x5xf32>) -> (tensor<2x6xf32>, tensor<2x1xf32>) {
  // expected-error @+2 {{split sizes must be non-negative}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = graph.split %x {axis = 1 : i64, split = array<i64: 6, -1>} : (tensor<2x5xf32>) -> (tensor<2x6xf32>, tensor<2x1xf32>)
  return %0#0, %0#1 : tensor<2x6xf32>, tensor<2x1xf32>
}

// -----

// The number of results follows the number of split sizes.
func.func @split_result_count(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{'graph.split' op inferred type(s) 'tensor<2xf32>', 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.split %x {axis = 0 : i64, split = array<i64: 2, 2>} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @slice_arity(%x: tensor<4x10xf32>) -> tensor<3x10xf32> {
  // expected-error @+2 {{slice needs one start, end and step per dimension (2)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.slice %x {starts = array<i64: 1>, ends = array<i64: 4>, steps = array<i64: 1>} : (tensor<4x10xf32>) -> tensor<3x10xf32>
  return %0 : tensor<3x10xf32>
}

// -----

// Negative starts are an ONNX form the importer normalizes away.
func.func @slice_negative_start(%x: tensor<4x10xf32>) -> tensor<1x10xf32> {
  // expected-error @+2 {{slice (start -1, end 4, step 1) is not normalized for dimension 0 of size 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.slice %x {starts = array<i64: -1, 0>, ends = array<i64: 4, 10>, steps = array<i64: 1, 1>} : (tensor<4x10xf32>) -> tensor<1x10xf32>
  return %0 : tensor<1x10xf32>
}

// -----

// Ends past the dimension (ONNX's INT_MAX) are clamped at import.
func.func @slice_end_past_dim(%x: tensor<4x10xf32>) -> tensor<4x10xf32> {
  // expected-error @+2 {{slice (start 0, end 11, step 1) is not normalized for dimension 1 of size 10}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 4, 11>, steps = array<i64: 1, 1>} : (tensor<4x10xf32>) -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

func.func @slice_zero_step(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{slice (start 0, end 4, step 0) is not normalized for dimension 0 of size 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.slice %x {starts = array<i64: 0>, ends = array<i64: 4>, steps = array<i64: 0>} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @pad_count(%x: tensor<3x4xf32>) -> tensor<5x4xf32> {
  // expected-error @+2 {{pads has 2 entries, expected 2 x rank = 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.pad %x {pads = array<i64: 1, 1>} : (tensor<3x4xf32>) -> tensor<5x4xf32>
  return %0 : tensor<5x4xf32>
}

// -----

func.func @pad_crop_below_zero(%x: tensor<3x4xf32>) -> tensor<3x0xf32> {
  // expected-error @+2 {{pads crop dimension 1 below zero}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.pad %x {pads = array<i64: 0, -3, 0, -2>} : (tensor<3x4xf32>) -> tensor<3x0xf32>
  return %0 : tensor<3x0xf32>
}

// -----

func.func @pad_bad_mode(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  // expected-error @+2 {{expected ::partita::graph::PadMode to be one of: constant, reflect, edge, wrap}}
  // expected-error @+1 {{failed to parse Graph_PadModeAttr parameter 'value'}}
  %0 = graph.pad %x {pads = array<i64: 0, 0, 0, 0>, mode = #graph<pad_mode mirror>} : (tensor<3x4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @gather_scalar(%x: tensor<f32>, %i: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+2 {{gather input must have rank >= 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.gather %x, %i : (tensor<f32>, tensor<2xi64>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @gather_axis(%x: tensor<5x4xf32>, %i: tensor<2xi64>) -> tensor<5x2xf32> {
  // expected-error @+2 {{axis -3 is out of range for rank 2 (expected [-2, 2))}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.gather %x, %i {axis = -3 : i64} : (tensor<5x4xf32>, tensor<2xi64>) -> tensor<5x2xf32>
  return %0 : tensor<5x2xf32>
}

// -----

// ODS constraint: indices are i32 or i64.
func.func @gather_float_indices(%x: tensor<5x4xf32>, %i: tensor<2xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{operand #1 must be statically shaped tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<2xf32>'}}
  %0 = graph.gather %x, %i : (tensor<5x4xf32>, tensor<2xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @gather_elements_rank(%x: tensor<5x4xf32>, %i: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+2 {{indices rank 1 differs from input rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.gather_elements %x, %i : (tensor<5x4xf32>, tensor<2xi64>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @scatter_elements_shapes(%x: tensor<4x4xf32>, %i: tensor<2x4xi64>, %u: tensor<2x3xf32>) -> tensor<4x4xf32> {
  // expected-error @+2 {{indices 2x4 and updates 2x3 must have equal shapes of the input's rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.scatter_elements %x, %i, %u : (tensor<4x4xf32>, tensor<2x4xi64>, tensor<2x3xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @scatter_elements_types(%x: tensor<4x4xf32>, %i: tensor<2x4xi64>, %u: tensor<2x4xf16>) -> tensor<4x4xf32> {
  // expected-error @+2 {{input and updates must have the same element type, got 'f32' and 'f16'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.scatter_elements %x, %i, %u {reduction = #graph<reduction add>} : (tensor<4x4xf32>, tensor<2x4xi64>, tensor<2x4xf16>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @scatter_nd_tuple_too_long(%x: tensor<4x4xf32>, %i: tensor<2x3xi64>, %u: tensor<2xf32>) -> tensor<4x4xf32> {
  // expected-error @+2 {{indices 2x3 must end in a tuple length <= the input rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.scatter_nd %x, %i, %u : (tensor<4x4xf32>, tensor<2x3xi64>, tensor<2xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @scatter_nd_updates(%x: tensor<4x4xf32>, %i: tensor<3x1xi64>, %u: tensor<3xf32>) -> tensor<4x4xf32> {
  // expected-error @+2 {{updates must have shape 3x4, got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.scatter_nd %x, %i, %u {reduction = #graph<reduction add>} : (tensor<4x4xf32>, tensor<3x1xi64>, tensor<3xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @scatter_nd_types(%x: tensor<4x4xf32>, %i: tensor<3x1xi64>, %u: tensor<3x4xi32>) -> tensor<4x4xf32> {
  // expected-error @+2 {{input and updates must have the same element type, got 'f32' and 'i32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.scatter_nd %x, %i, %u : (tensor<4x4xf32>, tensor<3x1xi64>, tensor<3x4xi32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @scatter_bad_reduction(%x: tensor<4x4xf32>, %i: tensor<3x1xi64>, %u: tensor<3x4xf32>) -> tensor<4x4xf32> {
  // expected-error @+2 {{expected ::partita::graph::ScatterReduction to be one of: none, add, mul, max, min}}
  // expected-error @+1 {{failed to parse Graph_ScatterReductionAttr parameter 'value'}}
  %0 = graph.scatter_nd %x, %i, %u {reduction = #graph<reduction sub>} : (tensor<4x4xf32>, tensor<3x1xi64>, tensor<3x4xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @one_hot_values(%i: tensor<3xi64>, %v: tensor<3xf32>) -> tensor<3x4xf32> {
  // expected-error @+2 {{values must be [off, on], shape 2, got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.one_hot %i, %v {depth = 4 : i64} : (tensor<3xi64>, tensor<3xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @one_hot_values_rank(%i: tensor<3xi64>, %v: tensor<1x2xf32>) -> tensor<3x4xf32> {
  // expected-error @+2 {{values must be [off, on], shape 2, got 1x2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.one_hot %i, %v {depth = 4 : i64} : (tensor<3xi64>, tensor<1x2xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @one_hot_depth(%i: tensor<3xi64>, %v: tensor<2xf32>) -> tensor<3x0xf32> {
  // expected-error @+2 {{depth must be positive, got 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.one_hot %i, %v {depth = 0 : i64} : (tensor<3xi64>, tensor<2xf32>) -> tensor<3x0xf32>
  return %0 : tensor<3x0xf32>
}

// -----

// The axis ranges over the output rank (input rank + 1).
func.func @one_hot_axis(%i: tensor<3xi64>, %v: tensor<2xf32>) -> tensor<3x4xf32> {
  // expected-error @+2 {{axis 2 is out of range for rank 2 (expected [-2, 2))}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.one_hot %i, %v {depth = 4 : i64, axis = 2 : i64} : (tensor<3xi64>, tensor<2xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @trilu_rank(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{trilu input must have rank >= 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.trilu %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
