// RUN: partita-opt %s | partita-opt | FileCheck %s
// RUN: partita-opt %s --mlir-print-op-generic | partita-opt | FileCheck %s

// Round trip of attention and the mixture-of-experts ops.

// The mask operand is optional; Sq may differ from Sk and D from Dv.
// CHECK-LABEL: func.func @attention
// CHECK: graph.attention %arg0, %arg1, %arg2 {scale = 1.250000e-01 : f64} : (tensor<2x4x8x16xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x32xf32>) -> tensor<2x4x8x32xf32>
// CHECK: graph.attention %arg0, %arg1, %arg2, %arg3 {causal = true, scale = 1.000000e+00 : f64} : (tensor<2x4x8x16xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x32xf32>, tensor<8x6xf32>) -> tensor<2x4x8x32xf32>
// CHECK: graph.attention %arg4, %arg4, %arg4 {causal = true, scale = 5.000000e-01 : f64} : (tensor<3x4xf16>, tensor<3x4xf16>, tensor<3x4xf16>) -> tensor<3x4xf16>
func.func @attention(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x6x16xf32>, %v: tensor<2x4x6x32xf32>,
                     %m: tensor<8x6xf32>, %h: tensor<3x4xf16>) {
  %0 = graph.attention %q, %k, %v {scale = 0.125 : f64} : (tensor<2x4x8x16xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x32xf32>) -> tensor<2x4x8x32xf32>
  %1 = graph.attention %q, %k, %v, %m {scale = 1.0 : f64, causal = true} : (tensor<2x4x8x16xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x32xf32>, tensor<8x6xf32>) -> tensor<2x4x8x32xf32>
  %2 = graph.attention %h, %h, %h {scale = 0.5 : f64, causal = true} : (tensor<3x4xf16>, tensor<3x4xf16>, tensor<3x4xf16>) -> tensor<3x4xf16>
  return
}

// CHECK-LABEL: func.func @moe
// CHECK: %[[W:.*]], %[[I:.*]] = graph.moe_gate %arg0 {k = 2 : i64} : (tensor<6x4xf32>) -> (tensor<6x2xf32>, tensor<6x2xi64>)
// CHECK: graph.moe_gate %arg0 {k = 4 : i64, normalize = true} : (tensor<6x4xf32>) -> (tensor<6x4xf32>, tensor<6x4xi64>)
// CHECK: %[[D:.*]] = graph.moe_dispatch %arg1, %[[I]] {capacity = 3 : i64, num_experts = 4 : i64} : (tensor<6x8xf32>, tensor<6x2xi64>) -> tensor<4x3x8xf32>
// CHECK: %[[E:.*]] = graph.moe_expert_matmul %[[D]], %arg2 : (tensor<4x3x8xf32>, tensor<4x8x5xf32>) -> tensor<4x3x5xf32>
// CHECK: graph.moe_combine %[[E]], %[[W]], %[[I]] : (tensor<4x3x5xf32>, tensor<6x2xf32>, tensor<6x2xi64>) -> tensor<6x5xf32>
func.func @moe(%logits: tensor<6x4xf32>, %x: tensor<6x8xf32>, %w: tensor<4x8x5xf32>) -> tensor<6x5xf32> {
  %g:2 = graph.moe_gate %logits {k = 2 : i64} : (tensor<6x4xf32>) -> (tensor<6x2xf32>, tensor<6x2xi64>)
  %g2:2 = graph.moe_gate %logits {k = 4 : i64, normalize = true} : (tensor<6x4xf32>) -> (tensor<6x4xf32>, tensor<6x4xi64>)
  %d = graph.moe_dispatch %x, %g#1 {num_experts = 4 : i64, capacity = 3 : i64} : (tensor<6x8xf32>, tensor<6x2xi64>) -> tensor<4x3x8xf32>
  %e = graph.moe_expert_matmul %d, %w : (tensor<4x3x8xf32>, tensor<4x8x5xf32>) -> tensor<4x3x5xf32>
  %o = graph.moe_combine %e, %g#0, %g#1 : (tensor<4x3x5xf32>, tensor<6x2xf32>, tensor<6x2xi64>) -> tensor<6x5xf32>
  return %o : tensor<6x5xf32>
}
