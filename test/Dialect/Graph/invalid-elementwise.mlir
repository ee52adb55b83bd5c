// RUN: partita-opt %s -split-input-file -verify-diagnostics

// ODS constraint: a float-only op rejects integers.
func.func @sqrt_of_int(%x: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<4xi32>'}}
  %0 = graph.sqrt %x : tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// Unary ops infer their result type while parsing, so a dynamic shape is
// caught by inference rather than by the ODS constraint.
func.func @dynamic_shape_unary(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{operand 'input' must be a statically shaped tensor, got 'tensor<?x4xf32>'}}
  %0 = graph.abs %x : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// ODS constraint: shapes must be static.
func.func @dynamic_shape(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of}}
  %0 = graph.add %x, %x : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// ODS constraint: logical ops take i1 only.
func.func @and_of_float(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 1-bit signless integer values, but got 'tensor<4xf32>'}}
  %0 = graph.and %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// The declared result type must match the inferred one.
func.func @wrong_result_shape(%x: tensor<2x3xf32>, %y: tensor<3xf32>) -> tensor<3x3xf32> {
  // expected-error @+2 {{'graph.add' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x3xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.add %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

// Comparisons produce i1, not the operand type.
func.func @compare_result_not_bool(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{'graph.less' op inferred type(s) 'tensor<4xi1>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.less %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @cast_wrong_result(%x: tensor<4xf32>) -> tensor<4xf16> {
  // expected-error @+2 {{'graph.cast' op inferred type(s) 'tensor<4xi8>' are incompatible with return type(s) of operation 'tensor<4xf16>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.cast %x {to = i8} : (tensor<4xf32>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

func.func @not_broadcastable(%x: tensor<2x3xf32>, %y: tensor<2xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{operand shapes 2x3 and 2 are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.mul %x, %y : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @mixed_element_types(%x: tensor<4xf32>, %y: tensor<4xf16>) -> tensor<4xf32> {
  // expected-error @+2 {{operands must have the same element type, got 'f32' and 'f16'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.sub %x, %y : (tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @prelu_slope_too_wide(%x: tensor<2x3xf32>, %s: tensor<2x3x1xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{slope shape 2x3x1 does not broadcast to input shape 2x3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.prelu %x, %s : (tensor<2x3xf32>, tensor<2x3x1xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// PRelu broadcasts one way only: the slope may not widen the input.
func.func @prelu_not_unidirectional(%x: tensor<1x3xf32>, %s: tensor<4x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+2 {{slope shape 4x3 does not broadcast to input shape 1x3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.prelu %x, %s : (tensor<1x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @prelu_mixed_types(%x: tensor<3xf32>, %s: tensor<3xf64>) -> tensor<3xf32> {
  // expected-error @+2 {{input and slope must have the same element type, got 'f32' and 'f64'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.prelu %x, %s : (tensor<3xf32>, tensor<3xf64>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @where_not_broadcastable(%c: tensor<3xi1>, %x: tensor<4xf32>, %y: tensor<f32>) -> tensor<4xf32> {
  // expected-error @+2 {{shapes 3, 4 and scalar are not broadcast-compatible}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.where %c, %x, %y : (tensor<3xi1>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @where_mixed_types(%c: tensor<4xi1>, %x: tensor<4xf32>, %y: tensor<4xi32>) -> tensor<4xf32> {
  // expected-error @+2 {{x and y must have the same element type, got 'f32' and 'i32'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.where %c, %x, %y : (tensor<4xi1>, tensor<4xf32>, tensor<4xi32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// ODS checks required attributes before inference runs.
func.func @cast_without_to(%x: tensor<4xf32>) -> tensor<4xf16> {
  // expected-error @+1 {{'graph.cast' op requires attribute 'to'}}
  %0 = graph.cast %x : (tensor<4xf32>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}
