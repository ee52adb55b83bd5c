// A mixture-of-experts block in GShard's groups: 8 tokens in 2 groups of 4,
// 4 experts, top-2, 2 slots per expert and group (assignments beyond drop).
func.func @main(%x: tensor<8x4xf32> {graph.name = "x"}, %wg: tensor<4x4xf32> {graph.name = "router"},
                %w1: tensor<4x4x6xf32> {graph.name = "w1"}, %w2: tensor<4x6x4xf32> {graph.name = "w2"})
    -> (tensor<8x4xf32> {graph.name = "y"}) {
  %logits = graph.matmul %x, %wg : (tensor<8x4xf32>, tensor<4x4xf32>) -> tensor<8x4xf32>
  %w, %i = graph.moe_gate %logits {k = 2 : i64, normalize = true} : (tensor<8x4xf32>) -> (tensor<8x2xf32>, tensor<8x2xi64>)
  %d = graph.moe_dispatch %x, %i {num_experts = 4 : i64, capacity = 2 : i64, groups = 2 : i64} : (tensor<8x4xf32>, tensor<8x2xi64>) -> tensor<4x4x4xf32>
  %h = graph.moe_expert_matmul %d, %w1 : (tensor<4x4x4xf32>, tensor<4x4x6xf32>) -> tensor<4x4x6xf32>
  %r = graph.relu %h : tensor<4x4x6xf32>
  %o = graph.moe_expert_matmul %r, %w2 : (tensor<4x4x6xf32>, tensor<4x6x4xf32>) -> tensor<4x4x4xf32>
  %y = graph.moe_combine %o, %w, %i {groups = 2 : i64} : (tensor<4x4x4xf32>, tensor<8x2xf32>, tensor<8x2xi64>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}
