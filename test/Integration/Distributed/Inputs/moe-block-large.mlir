// A mixture-of-experts block whose experts outweigh its tokens (8 experts
// of 512 -> 2048 -> 512, top-2, 64 tokens, capacity 20 per expert): the
// expert weights, 64 MiB, are inputs, so `partita plan` prices it without
// materializing them (moe-experts-auto.test).
func.func @main(%x: tensor<64x512xf32> {graph.name = "x"}, %wg: tensor<512x8xf32> {graph.name = "router"},
                %w1: tensor<8x512x2048xf32> {graph.name = "w1"}, %w2: tensor<8x2048x512xf32> {graph.name = "w2"})
    -> (tensor<64x512xf32> {graph.name = "y"}) {
  %logits = graph.matmul %x, %wg : (tensor<64x512xf32>, tensor<512x8xf32>) -> tensor<64x8xf32>
  %w, %i = graph.moe_gate %logits {k = 2 : i64, normalize = true} : (tensor<64x8xf32>) -> (tensor<64x2xf32>, tensor<64x2xi64>)
  %d = graph.moe_dispatch %x, %i {num_experts = 8 : i64, capacity = 20 : i64} : (tensor<64x512xf32>, tensor<64x2xi64>) -> tensor<8x20x512xf32>
  %h = graph.moe_expert_matmul %d, %w1 : (tensor<8x20x512xf32>, tensor<8x512x2048xf32>) -> tensor<8x20x2048xf32>
  %r = graph.relu %h : tensor<8x20x2048xf32>
  %o = graph.moe_expert_matmul %r, %w2 : (tensor<8x20x2048xf32>, tensor<8x2048x512xf32>) -> tensor<8x20x512xf32>
  %y = graph.moe_combine %o, %w, %i : (tensor<8x20x512xf32>, tensor<64x2xf32>, tensor<64x2xi64>) -> tensor<64x512xf32>
  return %y : tensor<64x512xf32>
}
