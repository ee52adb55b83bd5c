// RUN: partita-opt %s -split-input-file -verify-diagnostics

func.func @attention_rank(%q: tensor<2x3x4xf32>, %k: tensor<3x4xf32>) -> tensor<2x3x4xf32> {
  // expected-error @+2 {{q, k and v must have the same rank >= 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.attention %q, %k, %k {scale = 1.0 : f64} : (tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

func.func @attention_vector(%q: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{q, k and v must have the same rank >= 2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.attention %q, %q, %q {scale = 1.0 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @attention_leading(%q: tensor<2x4x8x16xf32>, %k: tensor<2x2x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+2 {{q, k and v must share leading dimensions, got 2x4x8x16, 2x2x8x16, 2x2x8x16}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.attention %q, %k, %k {scale = 1.0 : f64} : (tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

// The head dimension of q and k differ.
func.func @attention_head_dim(%q: tensor<8x16xf32>, %k: tensor<6x8xf32>, %v: tensor<6x32xf32>) -> tensor<8x32xf32> {
  // expected-error @+2 {{attention shapes do not match: q 8x16, k 6x8, v 6x32}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.attention %q, %k, %v {scale = 1.0 : f64} : (tensor<8x16xf32>, tensor<6x8xf32>, tensor<6x32xf32>) -> tensor<8x32xf32>
  return %0 : tensor<8x32xf32>
}

// -----

// k and v disagree on the key sequence length.
func.func @attention_kv_length(%q: tensor<8x16xf32>, %k: tensor<6x16xf32>, %v: tensor<5x32xf32>) -> tensor<8x32xf32> {
  // expected-error @+2 {{attention shapes do not match: q 8x16, k 6x16, v 5x32}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.attention %q, %k, %v {scale = 1.0 : f64} : (tensor<8x16xf32>, tensor<6x16xf32>, tensor<5x32xf32>) -> tensor<8x32xf32>
  return %0 : tensor<8x32xf32>
}

// -----

func.func @attention_types(%q: tensor<8x16xf32>, %k: tensor<6x16xf16>) -> tensor<8x16xf32> {
  // expected-error @+2 {{q, k and v must have the same element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.attention %q, %k, %k {scale = 1.0 : f64} : (tensor<8x16xf32>, tensor<6x16xf16>, tensor<6x16xf16>) -> tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}

// -----

// The mask must broadcast to the [..., Sq, Sk] scores, here 2x8x6.
func.func @attention_mask(%q: tensor<2x8x16xf32>, %k: tensor<2x6x16xf32>, %m: tensor<6x8xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+2 {{mask shape 6x8 does not broadcast to the scores 2x8x6}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.attention %q, %k, %k, %m {scale = 1.0 : f64} : (tensor<2x8x16xf32>, tensor<2x6x16xf32>, tensor<2x6x16xf32>, tensor<6x8xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

// ODS constraint: scale is required.
func.func @attention_no_scale(%q: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+1 {{requires attribute 'scale'}}
  %0 = graph.attention %q, %q, %q : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}

// -----

// ODS constraint: attention is float only.
func.func @attention_int(%q: tensor<8x16xi32>) -> tensor<8x16xi32> {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<8x16xi32>'}}
  %0 = graph.attention %q, %q, %q {scale = 1.0 : f64} : (tensor<8x16xi32>, tensor<8x16xi32>, tensor<8x16xi32>) -> tensor<8x16xi32>
  return %0 : tensor<8x16xi32>
}

// -----

func.func @moe_gate_rank(%l: tensor<2x6x4xf32>) -> (tensor<2x2xf32>, tensor<2x2xi64>) {
  // expected-error @+2 {{logits must be [tokens, experts], got 2x6x4}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = graph.moe_gate %l {k = 2 : i64} : (tensor<2x6x4xf32>) -> (tensor<2x2xf32>, tensor<2x2xi64>)
  return %0#0, %0#1 : tensor<2x2xf32>, tensor<2x2xi64>
}

// -----

func.func @moe_gate_k_too_large(%l: tensor<6x4xf32>) -> (tensor<6x5xf32>, tensor<6x5xi64>) {
  // expected-error @+2 {{k = 5 must be in [1, 4] (the number of experts)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = graph.moe_gate %l {k = 5 : i64} : (tensor<6x4xf32>) -> (tensor<6x5xf32>, tensor<6x5xi64>)
  return %0#0, %0#1 : tensor<6x5xf32>, tensor<6x5xi64>
}

// -----

func.func @moe_gate_k_zero(%l: tensor<6x4xf32>) -> (tensor<6x0xf32>, tensor<6x0xi64>) {
  // expected-error @+2 {{k = 0 must be in [1, 4] (the number of experts)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0:2 = graph.moe_gate %l {k = 0 : i64} : (tensor<6x4xf32>) -> (tensor<6x0xf32>, tensor<6x0xi64>)
  return %0#0, %0#1 : tensor<6x0xf32>, tensor<6x0xi64>
}

// -----

func.func @moe_dispatch_tokens(%x: tensor<6x8xf32>, %i: tensor<5x2xi64>) -> tensor<4x3x8xf32> {
  // expected-error @+2 {{expected tokens [T, H] and indices [T, k], got 6x8 and 5x2}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.moe_dispatch %x, %i {num_experts = 4 : i64, capacity = 3 : i64} : (tensor<6x8xf32>, tensor<5x2xi64>) -> tensor<4x3x8xf32>
  return %0 : tensor<4x3x8xf32>
}

// -----

func.func @moe_dispatch_capacity(%x: tensor<6x8xf32>, %i: tensor<6x2xi64>) -> tensor<4x0x8xf32> {
  // expected-error @+2 {{num_experts and capacity must be positive}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.moe_dispatch %x, %i {num_experts = 4 : i64, capacity = 0 : i64} : (tensor<6x8xf32>, tensor<6x2xi64>) -> tensor<4x0x8xf32>
  return %0 : tensor<4x0x8xf32>
}

// -----

// ODS constraint: routing indices are i64.
func.func @moe_dispatch_i32_indices(%x: tensor<6x8xf32>, %i: tensor<6x2xi32>) -> tensor<4x3x8xf32> {
  // expected-error @+1 {{operand #1 must be statically shaped tensor of 64-bit signless integer values, but got 'tensor<6x2xi32>'}}
  %0 = graph.moe_dispatch %x, %i {num_experts = 4 : i64, capacity = 3 : i64} : (tensor<6x8xf32>, tensor<6x2xi32>) -> tensor<4x3x8xf32>
  return %0 : tensor<4x3x8xf32>
}

// -----

func.func @moe_expert_matmul_shapes(%x: tensor<4x3x8xf32>, %w: tensor<4x7x5xf32>) -> tensor<4x3x5xf32> {
  // expected-error @+2 {{expected input [E, C, H] and weight [E, H, F], got 4x3x8 and 4x7x5}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.moe_expert_matmul %x, %w : (tensor<4x3x8xf32>, tensor<4x7x5xf32>) -> tensor<4x3x5xf32>
  return %0 : tensor<4x3x5xf32>
}

// -----

func.func @moe_expert_matmul_experts(%x: tensor<4x3x8xf32>, %w: tensor<2x8x5xf32>) -> tensor<4x3x5xf32> {
  // expected-error @+2 {{expected input [E, C, H] and weight [E, H, F], got 4x3x8 and 2x8x5}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.moe_expert_matmul %x, %w : (tensor<4x3x8xf32>, tensor<2x8x5xf32>) -> tensor<4x3x5xf32>
  return %0 : tensor<4x3x5xf32>
}

// -----

func.func @moe_expert_matmul_types(%x: tensor<4x3x8xf32>, %w: tensor<4x8x5xbf16>) -> tensor<4x3x5xf32> {
  // expected-error @+2 {{input and weight must have the same element type, got 'f32' and 'bf16'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.moe_expert_matmul %x, %w : (tensor<4x3x8xf32>, tensor<4x8x5xbf16>) -> tensor<4x3x5xf32>
  return %0 : tensor<4x3x5xf32>
}

// -----

func.func @moe_combine_shapes(%y: tensor<4x3x5xf32>, %w: tensor<6x2xf32>, %i: tensor<6x1xi64>) -> tensor<6x5xf32> {
  // expected-error @+2 {{expected expert_out [E, C, H] and weights, indices [T, k], got 4x3x5, 6x2, 6x1}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.moe_combine %y, %w, %i : (tensor<4x3x5xf32>, tensor<6x2xf32>, tensor<6x1xi64>) -> tensor<6x5xf32>
  return %0 : tensor<6x5xf32>
}

// -----

// The mask is added to the scores, so it must have their element type.
func.func @attention_mask_type(%q: tensor<3x4xf32>, %m: tensor<3x3xf16>) -> tensor<3x4xf32> {
  // expected-error @+2 {{q and mask must have the same element type, got 'f32' and 'f16'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.attention %q, %q, %q, %m {scale = 1.0 : f64} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x3xf16>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @moe_combine_types(%y: tensor<4x3x5xf32>, %w: tensor<6x2xf16>, %i: tensor<6x2xi64>) -> tensor<6x5xf32> {
  // expected-error @+2 {{expert_out and weights must have the same element type, got 'f32' and 'f16'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = graph.moe_combine %y, %w, %i : (tensor<4x3x5xf32>, tensor<6x2xf16>, tensor<6x2xi64>) -> tensor<6x5xf32>
  return %0 : tensor<6x5xf32>
}
