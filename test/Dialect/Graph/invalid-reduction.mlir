// RUN: partita-opt %s -split-input-file -verify-diagnostics

func.func @reduce_axis_out_of_range(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{reduction axis 2 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reduce_sum %x {axes = array<i64: 2>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Reduction axes are normalized at import: negative ones are rejected here.
func.func @reduce_negative_axis(%x: tensor<2x3xf32>) -> tensor<2x1xf32> {
  // expected-error @+2 {{reduction axis -1 is out of range for rank 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reduce_max %x {axes = array<i64: -1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

func.func @reduce_axes_unsorted(%x: tensor<2x3xf32>) -> tensor<1x1xf32> {
  // expected-error @+2 {{reduction axes must be strictly increasing}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reduce_mean %x {axes = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<1x1xf32>
  return %0 : tensor<1x1xf32>
}

// -----

func.func @reduce_axes_duplicate(%x: tensor<2x3xf32>) -> tensor<2x1xf32> {
  // expected-error @+2 {{reduction axes must be strictly increasing}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reduce_prod %x {axes = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

// keepdims = false drops the reduced dimension.
func.func @reduce_keepdims_result(%x: tensor<2x3xf32>) -> tensor<2x1xf32> {
  // expected-error @+2 {{'graph.reduce_sum' op inferred type(s) 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<2x1xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.reduce_sum %x {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

// ODS constraint: log-sum-exp is float only.
func.func @reduce_log_sum_exp_int(%x: tensor<2x3xi32>) -> tensor<2x1xi32> {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<2x3xi32>'}}
  %0 = graph.reduce_log_sum_exp %x {axes = array<i64: 1>} : (tensor<2x3xi32>) -> tensor<2x1xi32>
  return %0 : tensor<2x1xi32>
}

// -----

// ODS constraint: the axes attribute is required.
func.func @reduce_missing_axes(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{requires attribute 'axes'}}
  %0 = graph.reduce_sum %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @argmax_axis_out_of_range(%x: tensor<2x3xf32>) -> tensor<2x1xi64> {
  // expected-error @+2 {{axis 2 is out of range for rank 2 (expected [-2, 2))}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.argmax %x {axis = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x1xi64>
  return %0 : tensor<2x1xi64>
}

// -----

// ODS constraint: arg reductions return i64 indices.
func.func @argmin_i32_result(%x: tensor<2x3xf32>) -> tensor<2x1xi32> {
  // expected-error @+1 {{result #0 must be statically shaped tensor of 64-bit signless integer values, but got 'tensor<2x1xi32>'}}
  %0 = graph.argmin %x {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x1xi32>
  return %0 : tensor<2x1xi32>
}

// -----

func.func @cumsum_axis_out_of_range(%x: tensor<4xi64>) -> tensor<4xi64> {
  // expected-error @+2 {{axis -2 is out of range for rank 1 (expected [-1, 1))}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.cumsum %x {axis = -2 : i64} : (tensor<4xi64>) -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// The default axis (-1) has no valid value on a scalar.
func.func @softmax_scalar(%x: tensor<f32>) -> tensor<f32> {
  // expected-error @+2 {{axis -1 is out of range for rank 0 (expected [0, 0))}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.softmax %x : (tensor<f32>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @topk_k_too_large(%x: tensor<2x8xf32>) -> (tensor<2x9xf32>, tensor<2x9xi64>) {
  // expected-error @+2 {{k = 9 must be in [0, 8], the size of axis 1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = graph.topk %x {k = 9 : i64} : (tensor<2x8xf32>) -> (tensor<2x9xf32>, tensor<2x9xi64>)
  return %0#0, %0#1 : tensor<2x9xf32>, tensor<2x9xi64>
}

// -----

func.func @topk_k_negative(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xi64>) {
  // expected-error @+2 {{k = -1 must be in [0, 2], the size of axis 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = graph.topk %x {k = -1 : i64, axis = 0 : i64} : (tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xi64>)
  return %0#0, %0#1 : tensor<2x8xf32>, tensor<2x8xi64>
}

// -----

func.func @topk_axis_out_of_range(%x: tensor<8xf32>) -> (tensor<2xf32>, tensor<2xi64>) {
  // expected-error @+2 {{axis 1 is out of range for rank 1 (expected [-1, 1))}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = graph.topk %x {k = 2 : i64, axis = 1 : i64} : (tensor<8xf32>) -> (tensor<2xf32>, tensor<2xi64>)
  return %0#0, %0#1 : tensor<2xf32>, tensor<2xi64>
}

// -----

func.func @batch_norm_rank1(%x: tensor<3xf32>, %c: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+2 {{input must have rank >= 2 (N, C, ...), got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.batch_norm %x, %c, %c, %c, %c : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @batch_norm_bad_var(%x: tensor<2x3x4xf32>, %c: tensor<3xf32>, %v: tensor<4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+2 {{operand 'var' must have shape 3 (the channel count), got 4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.batch_norm %x, %c, %c, %c, %v : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

func.func @instance_norm_bad_scale(%x: tensor<2x3x4xf32>, %s: tensor<1x3xf32>, %c: tensor<3xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+2 {{operand 'scale' must have shape 3 (the channel count), got 1x3}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.instance_norm %x, %s, %c : (tensor<2x3x4xf32>, tensor<1x3xf32>, tensor<3xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

func.func @layer_norm_bad_scale(%x: tensor<2x5x8xf32>, %g: tensor<5xf32>) -> tensor<2x5x8xf32> {
  // expected-error @+2 {{scale shape 5 does not broadcast to the normalized shape 8}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.layer_norm %x, %g : (tensor<2x5x8xf32>, tensor<5xf32>) -> tensor<2x5x8xf32>
  return %0 : tensor<2x5x8xf32>
}

// -----

func.func @layer_norm_bad_bias(%x: tensor<2x5x8xf32>, %g: tensor<8xf32>, %b: tensor<2x5x8xf32>) -> tensor<2x5x8xf32> {
  // expected-error @+2 {{bias shape 2x5x8 does not broadcast to the normalized shape 5x8}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.layer_norm %x, %g, %b {axis = 1 : i64} : (tensor<2x5x8xf32>, tensor<8xf32>, tensor<2x5x8xf32>) -> tensor<2x5x8xf32>
  return %0 : tensor<2x5x8xf32>
}

// -----

func.func @layer_norm_axis_out_of_range(%x: tensor<2x5xf32>, %g: tensor<5xf32>) -> tensor<2x5xf32> {
  // expected-error @+2 {{axis 2 is out of range for rank 2 (expected [-2, 2))}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.layer_norm %x, %g {axis = 2 : i64} : (tensor<2x5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}
