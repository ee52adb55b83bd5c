// RUN: partita-opt %s --graph-to-linalg | FileCheck %s

// The pipeline expands composites before converting, so attention lowers
// to contractions, a softmax and elementwise generics.
// CHECK-LABEL: func.func @attention
// CHECK-NOT: graph.
// CHECK: linalg.batch_matmul
// CHECK: math.exp
// CHECK: linalg.batch_matmul
// CHECK: return
func.func @attention(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %0 = graph.attention %q, %k, %v {scale = 0.35 : f64, causal = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %0 : tensor<2x4x8xf32>
}

// MoE expands to softmax/topk/one_hot/cumsum/einsum primitives.
// CHECK-LABEL: func.func @moe
// CHECK-NOT: graph.
// CHECK: return
func.func @moe(%x: tensor<4x8xf32>, %logits: tensor<4x2xf32>, %w: tensor<2x8x8xf32>) -> tensor<4x8xf32> {
  %g:2 = graph.moe_gate %logits {k = 1 : i64} : (tensor<4x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xi64>)
  %d = graph.moe_dispatch %x, %g#1 {num_experts = 2 : i64, capacity = 2 : i64} : (tensor<4x8xf32>, tensor<4x1xi64>) -> tensor<2x2x8xf32>
  %e = graph.moe_expert_matmul %d, %w : (tensor<2x2x8xf32>, tensor<2x8x8xf32>) -> tensor<2x2x8xf32>
  %o = graph.moe_combine %e, %g#0, %g#1 : (tensor<2x2x8xf32>, tensor<4x1xf32>, tensor<4x1xi64>) -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}
