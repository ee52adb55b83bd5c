sharding.mesh @mesh = <["data"=2, "model"=8]>
func.func @main(%x: tensor<16x128x12288xbf16> {graph.name = "x"},
    %l0_ln1_g: tensor<12288xbf16> {graph.name = "layers.0.ln1.g"},
    %l0_ln1_b: tensor<12288xbf16> {graph.name = "layers.0.ln1.b"},
    %l0_wq: tensor<12288x12288xbf16> {graph.name = "layers.0.wq"},
    %l0_wk: tensor<12288x12288xbf16> {graph.name = "layers.0.wk"},
    %l0_wv: tensor<12288x12288xbf16> {graph.name = "layers.0.wv"},
    %l0_wo: tensor<12288x12288xbf16> {graph.name = "layers.0.wo"},
    %l0_ln2_g: tensor<12288xbf16> {graph.name = "layers.0.ln2.g"},
    %l0_ln2_b: tensor<12288xbf16> {graph.name = "layers.0.ln2.b"},
    %l0_w1: tensor<12288x49152xbf16> {graph.name = "layers.0.w1"},
    %l0_w2: tensor<49152x12288xbf16> {graph.name = "layers.0.w2"},
    %l1_ln1_g: tensor<12288xbf16> {graph.name = "layers.1.ln1.g"},
    %l1_ln1_b: tensor<12288xbf16> {graph.name = "layers.1.ln1.b"},
    %l1_wq: tensor<12288x12288xbf16> {graph.name = "layers.1.wq"},
    %l1_wk: tensor<12288x12288xbf16> {graph.name = "layers.1.wk"},
    %l1_wv: tensor<12288x12288xbf16> {graph.name = "layers.1.wv"},
    %l1_wo: tensor<12288x12288xbf16> {graph.name = "layers.1.wo"},
    %l1_ln2_g: tensor<12288xbf16> {graph.name = "layers.1.ln2.g"},
    %l1_ln2_b: tensor<12288xbf16> {graph.name = "layers.1.ln2.b"},
    %l1_w1: tensor<12288x49152xbf16> {graph.name = "layers.1.w1"},
    %l1_w2: tensor<49152x12288xbf16> {graph.name = "layers.1.w2"}) -> tensor<16x128x12288xbf16> {
  %l0_ln1 = graph.layer_norm %x, %l0_ln1_g, %l0_ln1_b : (tensor<16x128x12288xbf16>, tensor<12288xbf16>, tensor<12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.0.ln1")
  %l0_q = graph.matmul %l0_ln1, %l0_wq : (tensor<16x128x12288xbf16>, tensor<12288x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.0.q")
  %l0_q_reshape = graph.reshape %l0_q {shape = array<i64: 16, 128, 96, 128>} : (tensor<16x128x12288xbf16>) -> tensor<16x128x96x128xbf16> loc("layers.0.q.reshape")
  %l0_q_transpose = graph.transpose %l0_q_reshape {perm = array<i64: 0, 2, 1, 3>} : (tensor<16x128x96x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.0.q.transpose")
  %l0_k = graph.matmul %l0_ln1, %l0_wk : (tensor<16x128x12288xbf16>, tensor<12288x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.0.k")
  %l0_k_reshape = graph.reshape %l0_k {shape = array<i64: 16, 128, 96, 128>} : (tensor<16x128x12288xbf16>) -> tensor<16x128x96x128xbf16> loc("layers.0.k.reshape")
  %l0_k_transpose = graph.transpose %l0_k_reshape {perm = array<i64: 0, 2, 3, 1>} : (tensor<16x128x96x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.0.k.transpose")
  %l0_v = graph.matmul %l0_ln1, %l0_wv : (tensor<16x128x12288xbf16>, tensor<12288x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.0.v")
  %l0_v_reshape = graph.reshape %l0_v {shape = array<i64: 16, 128, 96, 128>} : (tensor<16x128x12288xbf16>) -> tensor<16x128x96x128xbf16> loc("layers.0.v.reshape")
  %l0_v_transpose = graph.transpose %l0_v_reshape {perm = array<i64: 0, 2, 1, 3>} : (tensor<16x128x96x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.0.v.transpose")
  %l0_scores = graph.matmul %l0_q_transpose, %l0_k_transpose : (tensor<16x96x128x128xbf16>, tensor<16x96x128x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.0.scores")
  %l0_probs = graph.softmax %l0_scores {axis = 3 : i64} : (tensor<16x96x128x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.0.probs")
  %l0_context = graph.matmul %l0_probs, %l0_v_transpose : (tensor<16x96x128x128xbf16>, tensor<16x96x128x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.0.context")
  %l0_context_transpose = graph.transpose %l0_context {perm = array<i64: 0, 2, 1, 3>} : (tensor<16x96x128x128xbf16>) -> tensor<16x128x96x128xbf16> loc("layers.0.context.transpose")
  %l0_context_reshape = graph.reshape %l0_context_transpose {shape = array<i64: 16, 128, 12288>} : (tensor<16x128x96x128xbf16>) -> tensor<16x128x12288xbf16> loc("layers.0.context.reshape")
  %l0_attn_out = graph.matmul %l0_context_reshape, %l0_wo : (tensor<16x128x12288xbf16>, tensor<12288x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.0.attn_out")
  %l0_residual1 = graph.add %x, %l0_attn_out : (tensor<16x128x12288xbf16>, tensor<16x128x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.0.residual1")
  %l0_ln2 = graph.layer_norm %l0_residual1, %l0_ln2_g, %l0_ln2_b : (tensor<16x128x12288xbf16>, tensor<12288xbf16>, tensor<12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.0.ln2")
  %l0_fc1 = graph.matmul %l0_ln2, %l0_w1 : (tensor<16x128x12288xbf16>, tensor<12288x49152xbf16>) -> tensor<16x128x49152xbf16> loc("layers.0.fc1")
  %l0_relu = graph.relu %l0_fc1 : tensor<16x128x49152xbf16> loc("layers.0.relu")
  %l0_fc2 = graph.matmul %l0_relu, %l0_w2 : (tensor<16x128x49152xbf16>, tensor<49152x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.0.fc2")
  %l0_residual2 = graph.add %l0_residual1, %l0_fc2 : (tensor<16x128x12288xbf16>, tensor<16x128x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.0.residual2")
  %l1_ln1 = graph.layer_norm %l0_residual2, %l1_ln1_g, %l1_ln1_b : (tensor<16x128x12288xbf16>, tensor<12288xbf16>, tensor<12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.1.ln1")
  %l1_q = graph.matmul %l1_ln1, %l1_wq : (tensor<16x128x12288xbf16>, tensor<12288x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.1.q")
  %l1_q_reshape = graph.reshape %l1_q {shape = array<i64: 16, 128, 96, 128>} : (tensor<16x128x12288xbf16>) -> tensor<16x128x96x128xbf16> loc("layers.1.q.reshape")
  %l1_q_transpose = graph.transpose %l1_q_reshape {perm = array<i64: 0, 2, 1, 3>} : (tensor<16x128x96x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.1.q.transpose")
  %l1_k = graph.matmul %l1_ln1, %l1_wk : (tensor<16x128x12288xbf16>, tensor<12288x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.1.k")
  %l1_k_reshape = graph.reshape %l1_k {shape = array<i64: 16, 128, 96, 128>} : (tensor<16x128x12288xbf16>) -> tensor<16x128x96x128xbf16> loc("layers.1.k.reshape")
  %l1_k_transpose = graph.transpose %l1_k_reshape {perm = array<i64: 0, 2, 3, 1>} : (tensor<16x128x96x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.1.k.transpose")
  %l1_v = graph.matmul %l1_ln1, %l1_wv : (tensor<16x128x12288xbf16>, tensor<12288x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.1.v")
  %l1_v_reshape = graph.reshape %l1_v {shape = array<i64: 16, 128, 96, 128>} : (tensor<16x128x12288xbf16>) -> tensor<16x128x96x128xbf16> loc("layers.1.v.reshape")
  %l1_v_transpose = graph.transpose %l1_v_reshape {perm = array<i64: 0, 2, 1, 3>} : (tensor<16x128x96x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.1.v.transpose")
  %l1_scores = graph.matmul %l1_q_transpose, %l1_k_transpose : (tensor<16x96x128x128xbf16>, tensor<16x96x128x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.1.scores")
  %l1_probs = graph.softmax %l1_scores {axis = 3 : i64} : (tensor<16x96x128x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.1.probs")
  %l1_context = graph.matmul %l1_probs, %l1_v_transpose : (tensor<16x96x128x128xbf16>, tensor<16x96x128x128xbf16>) -> tensor<16x96x128x128xbf16> loc("layers.1.context")
  %l1_context_transpose = graph.transpose %l1_context {perm = array<i64: 0, 2, 1, 3>} : (tensor<16x96x128x128xbf16>) -> tensor<16x128x96x128xbf16> loc("layers.1.context.transpose")
  %l1_context_reshape = graph.reshape %l1_context_transpose {shape = array<i64: 16, 128, 12288>} : (tensor<16x128x96x128xbf16>) -> tensor<16x128x12288xbf16> loc("layers.1.context.reshape")
  %l1_attn_out = graph.matmul %l1_context_reshape, %l1_wo : (tensor<16x128x12288xbf16>, tensor<12288x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.1.attn_out")
  %l1_residual1 = graph.add %l0_residual2, %l1_attn_out : (tensor<16x128x12288xbf16>, tensor<16x128x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.1.residual1")
  %l1_ln2 = graph.layer_norm %l1_residual1, %l1_ln2_g, %l1_ln2_b : (tensor<16x128x12288xbf16>, tensor<12288xbf16>, tensor<12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.1.ln2")
  %l1_fc1 = graph.matmul %l1_ln2, %l1_w1 : (tensor<16x128x12288xbf16>, tensor<12288x49152xbf16>) -> tensor<16x128x49152xbf16> loc("layers.1.fc1")
  %l1_relu = graph.relu %l1_fc1 : tensor<16x128x49152xbf16> loc("layers.1.relu")
  %l1_fc2 = graph.matmul %l1_relu, %l1_w2 : (tensor<16x128x49152xbf16>, tensor<49152x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.1.fc2")
  %l1_residual2 = graph.add %l1_residual1, %l1_fc2 : (tensor<16x128x12288xbf16>, tensor<16x128x12288xbf16>) -> tensor<16x128x12288xbf16> loc("layers.1.residual2")
  return %l1_residual2 : tensor<16x128x12288xbf16>
}
