// RUN: partita-opt %s -split-input-file --graph-expand-composites | FileCheck %s
// RUN: partita-opt %s -split-input-file --graph-expand-composites | FileCheck %s --check-prefix=NOCOMPOSITE
// RUN: partita-opt %s -split-input-file --graph-recognize-composites --graph-expand-composites | FileCheck %s --check-prefix=RT
// RUN: partita-opt %s -split-input-file --graph-expand-composites --graph-recognize-composites | FileCheck %s --check-prefix=ER

// No composite op survives the expansion.
// NOCOMPOSITE-NOT: graph.attention
// NOCOMPOSITE-NOT: graph.moe_

// Attention becomes transpose(k), matmul, scale, softmax over the last axis,
// matmul with v.
// Expanding then recognizing gives the op back.
// ER-LABEL: func.func @attention
// ER-NEXT: %[[A:.*]] = graph.attention %arg0, %arg1, %arg2 {scale = 2.500000e-01 : f64}
// ER-NEXT: return %[[A]]
// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x8x16xf32>, %[[K:.*]]: tensor<2x4x6x16xf32>, %[[V:.*]]: tensor<2x4x6x32xf32>)
// CHECK-DAG: %[[S:.*]] = graph.constant {value = dense<2.500000e-01> : tensor<f32>} : tensor<f32>
// CHECK-DAG: %[[KT:.*]] = graph.transpose %[[K]] {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x6x16xf32>) -> tensor<2x4x16x6xf32>
// CHECK: %[[QK:.*]] = graph.matmul %[[Q]], %[[KT]] : (tensor<2x4x8x16xf32>, tensor<2x4x16x6xf32>) -> tensor<2x4x8x6xf32>
// CHECK: %[[SC:.*]] = graph.mul %[[QK]], %[[S]]
// CHECK-NOT: graph.add
// CHECK: %[[P:.*]] = graph.softmax %[[SC]] : (tensor<2x4x8x6xf32>) -> tensor<2x4x8x6xf32>
// CHECK: %[[O:.*]] = graph.matmul %[[P]], %[[V]] : (tensor<2x4x8x6xf32>, tensor<2x4x6x32xf32>) -> tensor<2x4x8x32xf32>
// CHECK: return %[[O]]
func.func @attention(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x6x16xf32>, %v: tensor<2x4x6x32xf32>) -> tensor<2x4x8x32xf32> {
  %0 = graph.attention %q, %k, %v {scale = 0.25 : f64} : (tensor<2x4x8x16xf32>, tensor<2x4x6x16xf32>, tensor<2x4x6x32xf32>) -> tensor<2x4x8x32xf32>
  return %0 : tensor<2x4x8x32xf32>
}

// -----

// The additive mask is added after scaling, in the operands' element type.
// ER-LABEL: func.func @attention_mask
// ER-NEXT: %[[A:.*]] = graph.attention %arg0, %arg1, %arg2, %arg3 {scale = 1.000000e+00 : f64}
// ER-NEXT: return %[[A]]
// CHECK-LABEL: func.func @attention_mask
// CHECK-SAME: (%[[Q:.*]]: tensor<8x16xf16>, %[[K:.*]]: tensor<6x16xf16>, %[[V:.*]]: tensor<6x4xf16>, %[[M:.*]]: tensor<1x6xf16>)
// CHECK-DAG: %[[S:.*]] = graph.constant {value = dense<1.000000e+00> : tensor<f16>} : tensor<f16>
// CHECK-DAG: %[[KT:.*]] = graph.transpose %[[K]] {perm = array<i64: 1, 0>}
// CHECK: %[[QK:.*]] = graph.matmul %[[Q]], %[[KT]]
// CHECK: %[[SC:.*]] = graph.mul %[[QK]], %[[S]]
// CHECK: %[[MS:.*]] = graph.add %[[SC]], %[[M]] : (tensor<8x6xf16>, tensor<1x6xf16>) -> tensor<8x6xf16>
// CHECK: %[[P:.*]] = graph.softmax %[[MS]]
// CHECK: %[[O:.*]] = graph.matmul %[[P]], %[[V]] : (tensor<8x6xf16>, tensor<6x4xf16>) -> tensor<8x4xf16>
// CHECK: return %[[O]]
func.func @attention_mask(%q: tensor<8x16xf16>, %k: tensor<6x16xf16>, %v: tensor<6x4xf16>, %m: tensor<1x6xf16>) -> tensor<8x4xf16> {
  %0 = graph.attention %q, %k, %v, %m {scale = 1.0 : f64} : (tensor<8x16xf16>, tensor<6x16xf16>, tensor<6x4xf16>, tensor<1x6xf16>) -> tensor<8x4xf16>
  return %0 : tensor<8x4xf16>
}

// -----

// With Sq = 3 < Sk = 5, query i sees keys j <= i + 2.
// ER-LABEL: func.func @attention_causal
// ER-NEXT: %[[A:.*]] = graph.attention %arg0, %arg1, %arg2 {causal = true, scale = 5.000000e-01 : f64}
// ER-NEXT: return %[[A]]
// CHECK-LABEL: func.func @attention_causal
// CHECK-DAG: %[[C:.*]] = graph.constant {value = dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00, 0xFF800000, 0xFF800000], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0xFF800000], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<3x5xf32>}
// CHECK-DAG: %[[S:.*]] = graph.constant {value = dense<5.000000e-01> : tensor<f32>}
// CHECK: graph.transpose %arg1 {perm = array<i64: 0, 2, 1>}
// CHECK: %[[QK:.*]] = graph.matmul
// CHECK: %[[SC:.*]] = graph.mul %[[QK]], %[[S]]
// CHECK: %[[MS:.*]] = graph.add %[[SC]], %[[C]] : (tensor<2x3x5xf32>, tensor<3x5xf32>) -> tensor<2x3x5xf32>
// CHECK: %[[P:.*]] = graph.softmax %[[MS]]
// CHECK: graph.matmul %[[P]], %arg2
func.func @attention_causal(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %0 = graph.attention %q, %k, %v {scale = 0.5 : f64, causal = true} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x5x4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// An explicit mask and the causal mask are both added, the explicit one first.
// CHECK-LABEL: func.func @attention_causal_mask
// CHECK-DAG: %[[C:.*]] = graph.constant {value = dense<{{\[}}[0.000000e+00, 0xFF800000, 0xFF800000], [0.000000e+00, 0.000000e+00, 0xFF800000], [0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<3x3xf32>}
// CHECK: %[[SC:.*]] = graph.mul
// CHECK: %[[A1:.*]] = graph.add %[[SC]], %arg1
// CHECK: %[[A2:.*]] = graph.add %[[A1]], %[[C]]
// CHECK: graph.softmax %[[A2]]
func.func @attention_causal_mask(%q: tensor<3x4xf32>, %m: tensor<3x3xf32>) -> tensor<3x4xf32> {
  %0 = graph.attention %q, %q, %q, %m {scale = 0.5 : f64, causal = true} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x3xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Gating is softmax then top-k over the experts.
// CHECK-LABEL: func.func @moe_gate
// CHECK: %[[P:.*]] = graph.softmax %arg0 : (tensor<6x4xf32>) -> tensor<6x4xf32>
// CHECK: %[[W:.*]], %[[I:.*]] = graph.topk %[[P]] {k = 2 : i64} : (tensor<6x4xf32>) -> (tensor<6x2xf32>, tensor<6x2xi64>)
// CHECK-NOT: graph.div
// CHECK: return %[[W]], %[[I]]
func.func @moe_gate(%l: tensor<6x4xf32>) -> (tensor<6x2xf32>, tensor<6x2xi64>) {
  %0:2 = graph.moe_gate %l {k = 2 : i64} : (tensor<6x4xf32>) -> (tensor<6x2xf32>, tensor<6x2xi64>)
  return %0#0, %0#1 : tensor<6x2xf32>, tensor<6x2xi64>
}

// -----

// normalize divides the selected probabilities by their sum.
// CHECK-LABEL: func.func @moe_gate_normalize
// CHECK: %[[P:.*]] = graph.softmax %arg0
// CHECK: %[[W:.*]], %[[I:.*]] = graph.topk %[[P]] {k = 2 : i64}
// CHECK: %[[S:.*]] = graph.reduce_sum %[[W]] {axes = array<i64: 1>} : (tensor<6x2xf32>) -> tensor<6x1xf32>
// CHECK: %[[N:.*]] = graph.div %[[W]], %[[S]] : (tensor<6x2xf32>, tensor<6x1xf32>) -> tensor<6x2xf32>
// CHECK: return %[[N]], %[[I]]
func.func @moe_gate_normalize(%l: tensor<6x4xf32>) -> (tensor<6x2xf32>, tensor<6x2xi64>) {
  %0:2 = graph.moe_gate %l {k = 2 : i64, normalize = true} : (tensor<6x4xf32>) -> (tensor<6x2xf32>, tensor<6x2xi64>)
  return %0#0, %0#1 : tensor<6x2xf32>, tensor<6x2xi64>
}

// -----

// Each assignment's row of the [E*C, H] slot buffer: its slot from an
// exclusive cumsum over a [T*k, E] one-hot (f32), row = expert*C + slot
// where slot < C, else the extra row 12; the tokens, repeated k times,
// scattered there (add), the extra row cut off.
// CHECK-LABEL: func.func @moe_dispatch
// CHECK-SAME: (%[[X:.*]]: tensor<6x8xf32>, %[[I:.*]]: tensor<6x2xi64>)
// CHECK-DAG: %[[Z:.*]] = graph.constant {value = dense<0.000000e+00> : tensor<13x8xf32>}
// CHECK-DAG: %[[DUMP:.*]] = graph.constant {value = dense<12> : tensor<i64>}
// CHECK-DAG: %[[C:.*]] = graph.constant {value = dense<3> : tensor<i64>}
// CHECK: %[[E1:.*]] = graph.one_hot %[[I]], %{{.*}} {depth = 4 : i64} : (tensor<6x2xi64>, tensor<2xf32>) -> tensor<6x2x4xf32>
// CHECK: %[[F:.*]] = graph.reshape %[[E1]] {shape = array<i64: 12, 4>}
// CHECK: %[[CS:.*]] = graph.cumsum %[[F]] {axis = 0 : i64, exclusive = true} : (tensor<12x4xf32>) -> tensor<12x4xf32>
// CHECK: %[[M:.*]] = graph.mul %[[CS]], %[[F]]
// CHECK: %[[SL:.*]] = graph.reduce_sum %[[M]] {axes = array<i64: 1>, keepdims = false} : (tensor<12x4xf32>) -> tensor<12xf32>
// CHECK: %[[SI:.*]] = graph.cast %[[SL]] {to = i64} : (tensor<12xf32>) -> tensor<12xi64>
// CHECK: %[[EX:.*]] = graph.reshape %[[I]] {shape = array<i64: 12>}
// CHECK: %[[EC:.*]] = graph.mul %[[EX]], %[[C]]
// CHECK: %[[ROW:.*]] = graph.add %[[EC]], %[[SI]]
// CHECK: %[[KEPT:.*]] = graph.less %[[SI]], %[[C]]
// CHECK: %[[R:.*]] = graph.where %[[KEPT]], %[[ROW]], %[[DUMP]]
// CHECK: %[[X1:.*]] = graph.reshape %[[X]] {shape = array<i64: 6, 1, 8>}
// CHECK: %[[X2:.*]] = graph.expand %[[X1]] {shape = array<i64: 6, 2, 8>}
// CHECK: %[[X3:.*]] = graph.reshape %[[X2]] {shape = array<i64: 12, 8>}
// CHECK: %[[R2:.*]] = graph.reshape %[[R]] {shape = array<i64: 12, 1>}
// CHECK: %[[B:.*]] = graph.scatter_nd %[[Z]], %[[R2]], %[[X3]] {reduction = #graph<reduction add>} : (tensor<13x8xf32>, tensor<12x1xi64>, tensor<12x8xf32>) -> tensor<13x8xf32>
// CHECK: %[[K:.*]] = graph.slice %[[B]] {ends = array<i64: 12, 8>, starts = array<i64: 0, 0>, steps = array<i64: 1, 1>}
// CHECK: %[[O:.*]] = graph.reshape %[[K]] {shape = array<i64: 4, 3, 8>}
// CHECK: return %[[O]]
func.func @moe_dispatch(%x: tensor<6x8xf32>, %i: tensor<6x2xi64>) -> tensor<4x3x8xf32> {
  %0 = graph.moe_dispatch %x, %i {num_experts = 4 : i64, capacity = 3 : i64} : (tensor<6x8xf32>, tensor<6x2xi64>) -> tensor<4x3x8xf32>
  return %0 : tensor<4x3x8xf32>
}

// -----

// Groups: the cumsum restarts per group of 3 tokens (6 assignments), and
// each assignment's row adds its group's first slot (0 or C = 2).
// CHECK-LABEL: func.func @moe_dispatch_groups
// CHECK-DAG: %[[START:.*]] = graph.constant {value = dense<[0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2]> : tensor<12xi64>}
// CHECK-DAG: %[[DUMP:.*]] = graph.constant {value = dense<16> : tensor<i64>}
// CHECK: %[[G:.*]] = graph.reshape %{{.*}} {shape = array<i64: 2, 6, 4>}
// CHECK: graph.cumsum %[[G]] {axis = 1 : i64, exclusive = true} : (tensor<2x6x4xf32>) -> tensor<2x6x4xf32>
// CHECK: %[[ROW:.*]] = graph.add %{{.*}}, %[[START]] : (tensor<12xi64>, tensor<12xi64>) -> tensor<12xi64>
// CHECK: graph.where %{{.*}}, %[[ROW]], %[[DUMP]]
// CHECK: graph.scatter_nd {{.*}} -> tensor<17x8xf32>
// CHECK: graph.reshape %{{.*}} {shape = array<i64: 4, 4, 8>} : (tensor<16x8xf32>) -> tensor<4x4x8xf32>
func.func @moe_dispatch_groups(%x: tensor<6x8xf32>, %i: tensor<6x2xi64>) -> tensor<4x4x8xf32> {
  %0 = graph.moe_dispatch %x, %i {num_experts = 4 : i64, capacity = 2 : i64, groups = 2 : i64} : (tensor<6x8xf32>, tensor<6x2xi64>) -> tensor<4x4x8xf32>
  return %0 : tensor<4x4x8xf32>
}

// -----

// By probability: each group's assignments sorted by descending priority
// (top-k over the 6 of a group), counted in that order, the counts
// scattered back to the assignments' own positions.
// CHECK-LABEL: func.func @moe_dispatch_priority
// CHECK: %[[P:.*]] = graph.reshape %arg2 {shape = array<i64: 2, 6>}
// CHECK: %{{.*}}, %[[ORDER:.*]] = graph.topk %[[P]] {k = 6 : i64} : (tensor<2x6xf32>) -> (tensor<2x6xf32>, tensor<2x6xi64>)
// CHECK: graph.gather %{{.*}}, %{{.*}} : (tensor<12x4xf32>, tensor<12xi64>) -> tensor<12x4xf32>
// CHECK: graph.cumsum %{{.*}} {axis = 1 : i64, exclusive = true} : (tensor<2x6x4xf32>) -> tensor<2x6x4xf32>
// CHECK: graph.scatter_nd %{{.*}} : (tensor<12xf32>, tensor<12x1xi64>, tensor<12xf32>) -> tensor<12xf32>
// CHECK: graph.scatter_nd {{.*}} -> tensor<17x8xf32>
func.func @moe_dispatch_priority(%x: tensor<6x8xf32>, %i: tensor<6x2xi64>, %p: tensor<6x2xf32>) -> tensor<4x4x8xf32> {
  %0 = graph.moe_dispatch %x, %i, %p {num_experts = 4 : i64, capacity = 2 : i64, groups = 2 : i64} : (tensor<6x8xf32>, tensor<6x2xi64>, tensor<6x2xf32>) -> tensor<4x4x8xf32>
  return %0 : tensor<4x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @moe_expert_matmul
// CHECK: %[[O:.*]] = graph.matmul %arg0, %arg1 : (tensor<4x3x8xbf16>, tensor<4x8x5xbf16>) -> tensor<4x3x5xbf16>
// CHECK: return %[[O]]
func.func @moe_expert_matmul(%x: tensor<4x3x8xbf16>, %w: tensor<4x8x5xbf16>) -> tensor<4x3x5xbf16> {
  %0 = graph.moe_expert_matmul %x, %w : (tensor<4x3x8xbf16>, tensor<4x8x5xbf16>) -> tensor<4x3x5xbf16>
  return %0 : tensor<4x3x5xbf16>
}

// -----

// Combine finds the same rows from the routing indices, gathers them from
// the expert outputs (a zero row appended for the dropped assignments),
// weights them by the gate and sums each token's choices.
// CHECK-LABEL: func.func @moe_combine
// CHECK-SAME: (%[[Y:.*]]: tensor<4x3x5xf32>, %[[W:.*]]: tensor<6x2xf32>, %[[I:.*]]: tensor<6x2xi64>)
// CHECK-DAG: %[[ZERO:.*]] = graph.constant {value = dense<0.000000e+00> : tensor<1x5xf32>}
// CHECK: graph.one_hot %[[I]], %{{.*}} {depth = 4 : i64}
// CHECK: graph.cumsum
// CHECK: %[[R:.*]] = graph.where
// CHECK: %[[YF:.*]] = graph.reshape %[[Y]] {shape = array<i64: 12, 5>}
// CHECK: %[[Y1:.*]] = graph.concat %[[YF]], %[[ZERO]] {axis = 0 : i64} : (tensor<12x5xf32>, tensor<1x5xf32>) -> tensor<13x5xf32>
// CHECK: %[[P:.*]] = graph.gather %[[Y1]], %[[R]] : (tensor<13x5xf32>, tensor<12xi64>) -> tensor<12x5xf32>
// CHECK: %[[WR:.*]] = graph.reshape %[[W]] {shape = array<i64: 12, 1>}
// CHECK: %[[WP:.*]] = graph.mul %[[P]], %[[WR]] : (tensor<12x5xf32>, tensor<12x1xf32>) -> tensor<12x5xf32>
// CHECK: %[[PC:.*]] = graph.reshape %[[WP]] {shape = array<i64: 6, 2, 5>}
// CHECK: %[[O:.*]] = graph.reduce_sum %[[PC]] {axes = array<i64: 1>, keepdims = false} : (tensor<6x2x5xf32>) -> tensor<6x5xf32>
// CHECK: return %[[O]]
func.func @moe_combine(%y: tensor<4x3x5xf32>, %w: tensor<6x2xf32>, %i: tensor<6x2xi64>) -> tensor<6x5xf32> {
  %0 = graph.moe_combine %y, %w, %i : (tensor<4x3x5xf32>, tensor<6x2xf32>, tensor<6x2xi64>) -> tensor<6x5xf32>
  return %0 : tensor<6x5xf32>
}

// -----

// Recognize then expand: the exporter's chain (division by sqrt(d), a
// -1e9 causal mask) comes back as the canonical one (multiplication by the
// scale, a -inf mask).
// CHECK-LABEL: func.func @recognize_expand
// CHECK: graph.div
// RT-LABEL: func.func @recognize_expand
// RT-SAME: (%[[Q:.*]]: tensor<2x3x4xf32>, %[[K:.*]]: tensor<2x3x4xf32>, %[[V:.*]]: tensor<2x3x4xf32>)
// RT-DAG: %[[C:.*]] = graph.constant {value = dense<{{\[}}[0.000000e+00, 0xFF800000, 0xFF800000], [0.000000e+00, 0.000000e+00, 0xFF800000], [0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<3x3xf32>}
// RT-DAG: %[[S:.*]] = graph.constant {value = dense<5.000000e-01> : tensor<f32>}
// RT-DAG: %[[KT:.*]] = graph.transpose %[[K]] {perm = array<i64: 0, 2, 1>}
// RT: %[[QK:.*]] = graph.matmul %[[Q]], %[[KT]]
// RT: %[[SC:.*]] = graph.mul %[[QK]], %[[S]]
// RT: %[[MS:.*]] = graph.add %[[SC]], %[[C]]
// RT: %[[P:.*]] = graph.softmax %[[MS]]
// RT: %[[O:.*]] = graph.matmul %[[P]], %[[V]]
// RT-NOT: graph.div
// RT: return %[[O]]
func.func @recognize_expand(%q: tensor<2x3x4xf32>, %k: tensor<2x3x4xf32>, %v: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %kt = graph.transpose %k {perm = array<i64: 0, 2, 1>} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
  %s = graph.matmul %q, %kt : (tensor<2x3x4xf32>, tensor<2x4x3xf32>) -> tensor<2x3x3xf32>
  %c = graph.constant {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %s2 = graph.div %s, %c : (tensor<2x3x3xf32>, tensor<f32>) -> tensor<2x3x3xf32>
  %m = graph.constant {value = dense<[[0.0, -1.0e9, -1.0e9], [0.0, 0.0, -1.0e9], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>} : tensor<3x3xf32>
  %s3 = graph.add %s2, %m : (tensor<2x3x3xf32>, tensor<3x3xf32>) -> tensor<2x3x3xf32>
  %p = graph.softmax %s3 {axis = -1 : i64} : (tensor<2x3x3xf32>) -> tensor<2x3x3xf32>
  %o = graph.matmul %p, %v : (tensor<2x3x3xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %o : tensor<2x3x4xf32>
}

// -----

// A chain the recognizer leaves alone (the probabilities are used twice) is
// left alone by the expansion too.
// CHECK-LABEL: func.func @not_recognized
// RT-LABEL: func.func @not_recognized
// RT-NOT: graph.attention
// RT: %[[P:.*]] = graph.softmax
// RT: graph.matmul %[[P]], %arg2
// RT: return %{{.*}}, %[[P]]
func.func @not_recognized(%q: tensor<3x4xf32>, %kt: tensor<4x3xf32>, %v: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x3xf32>) {
  %s = graph.matmul %q, %kt : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %p = graph.softmax %s {axis = -1 : i64} : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %o = graph.matmul %p, %v : (tensor<3x3xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  return %o, %p : tensor<3x4xf32>, tensor<3x3xf32>
}
