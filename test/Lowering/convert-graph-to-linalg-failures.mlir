// RUN: partita-opt %s --convert-graph-to-linalg -split-input-file -verify-diagnostics

// Composites have no direct lowering: the graph-to-linalg pipeline expands
// them first; the bare pass reports them.
func.func @attention(%q: tensor<1x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  // expected-error @below {{graph.attention cannot be lowered to linalg yet}}
  %0 = graph.attention %q, %k, %v {scale = 0.35 : f64} : (tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x8xf32>
  return %0 : tensor<1x4x8xf32>
}

// -----

// A supported op in an unsupported configuration is reported the same way.
func.func @reduce_l2_int(%x: tensor<4xi32>) -> tensor<1xi32> {
  // expected-error @below {{graph.reduce_l2 cannot be lowered to linalg yet}}
  %0 = graph.reduce_l2 %x {axes = array<i64: 0>} : (tensor<4xi32>) -> tensor<1xi32>
  return %0 : tensor<1xi32>
}
