// RUN: partita-opt %s -split-input-file --sharding-propagate | FileCheck %s

// Data parallel MLP: only the batch of the input is annotated. The split
// reaches every activation and the output; no intermediate is replicated and
// the weights stay whole (upstream sharding-propagation all-gathers %h here).
sharding.mesh @mesh = <["data"=2, "model"=2]>
// CHECK-LABEL: func.func @mlp_data_parallel
// CHECK-SAME: -> (tensor<8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data", ?}, {?}]>})
func.func @mlp_data_parallel(%x: tensor<8x16xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {}]>},
                             %w1: tensor<16x32xf32>, %w2: tensor<32x4xf32>) -> tensor<8x4xf32> {
  // CHECK: graph.matmul {{.*}}sharding.shardings = [#sharding.tensor<@mesh, [{"data", ?}, {?}]>]
  %h = graph.matmul %x, %w1 : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  // CHECK: graph.relu {{.*}}sharding.shardings = [#sharding.tensor<@mesh, [{"data", ?}, {?}]>]
  %r = graph.relu %h : tensor<8x32xf32>
  // CHECK: graph.matmul {{.*}}sharding.shardings = [#sharding.tensor<@mesh, [{"data", ?}, {?}]>]
  %y = graph.matmul %r, %w2 : (tensor<8x32xf32>, tensor<32x4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// Megatron MLP: column-parallel then row-parallel weights. The hidden
// dimension is split and the second product ends unreduced on "model".
sharding.mesh @mesh = <["model"=2]>
// CHECK-LABEL: func.func @mlp_megatron
func.func @mlp_megatron(%x: tensor<8x16xf32>,
    %w1: tensor<16x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"model"}]>},
    %w2: tensor<32x16xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"model"}, {}]>}) -> tensor<8x16xf32> {
  // CHECK: graph.matmul {{.*}}[#sharding.tensor<@mesh, [{?}, {"model", ?}]>]
  %h = graph.matmul %x, %w1 : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  // CHECK: graph.tanh {{.*}}[#sharding.tensor<@mesh, [{?}, {"model", ?}]>]
  %g = graph.tanh %h : tensor<8x32xf32>
  // CHECK: graph.matmul {{.*}}[#sharding.tensor<@mesh, [{?}, {?}], unreduced={"model"}>]
  %y = graph.matmul %g, %w2 : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
  // The residual add needs the sum: its result is not partial.
  // CHECK: graph.add {{.*}}[#sharding.tensor<@mesh, [{?}, {?}]>]
  %o = graph.add %y, %x : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  return %o : tensor<8x16xf32>
}

// -----

// Broadcasting: a bias of shape [32] picks up the split of the last dim;
// a size-1 dimension never does.
sharding.mesh @mesh = <["data"=2, "model"=2]>
// CHECK-LABEL: func.func @broadcast
func.func @broadcast(%x: tensor<8x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {"model"}]>},
                     %b: tensor<32xf32>, %c: tensor<1x32xf32>) -> tensor<8x32xf32> {
  // CHECK: %arg1: tensor<32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"model", ?}]>}
  // CHECK-SAME: %arg2: tensor<1x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{?}, {"model", ?}]>}
  %0 = graph.add %x, %b : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %1 = graph.mul %0, %c : (tensor<8x32xf32>, tensor<1x32xf32>) -> tensor<8x32xf32>
  return %1 : tensor<8x32xf32>
}

// -----

// Reductions: reducing a split dimension leaves a partial sum (sum, mean)
// but a max over a split dimension does not become "unreduced".
sharding.mesh @mesh = <["data"=2]>
// CHECK-LABEL: func.func @reductions
func.func @reductions(%x: tensor<8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {}]>}) -> (tensor<4xf32>, tensor<4xf32>, tensor<8x1xf32>) {
  // CHECK: graph.reduce_sum {{.*}}[#sharding.tensor<@mesh, [{?}], unreduced={"data"}>]
  %s = graph.reduce_sum %x {axes = array<i64: 0>, keepdims = false} : (tensor<8x4xf32>) -> tensor<4xf32>
  // CHECK: graph.reduce_max {{.*}}[#sharding.tensor<@mesh, [{?}]>]
  %m = graph.reduce_max %x {axes = array<i64: 0>, keepdims = false} : (tensor<8x4xf32>) -> tensor<4xf32>
  // Reducing an unsplit dimension keeps the split of the others.
  // CHECK: graph.reduce_mean {{.*}}[#sharding.tensor<@mesh, [{"data", ?}, {?}]>]
  %r = graph.reduce_mean %x {axes = array<i64: 1>} : (tensor<8x4xf32>) -> tensor<8x1xf32>
  return %s, %m, %r : tensor<4xf32>, tensor<4xf32>, tensor<8x1xf32>
}

// -----

// Reshape: splitting a dimension hands its axes to the major factor;
// merging dimensions concatenates them.
sharding.mesh @mesh = <["a"=2, "b"=2]>
// CHECK-LABEL: func.func @reshape
func.func @reshape(%x: tensor<8x64xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a"}, {"b"}]>}) -> (tensor<8x4x16xf32>, tensor<512xf32>) {
  // CHECK: graph.reshape {{.*}}[#sharding.tensor<@mesh, [{"a", ?}, {"b", ?}, {?}]>]
  %s = graph.reshape %x {shape = array<i64: 8, 4, 16>} : (tensor<8x64xf32>) -> tensor<8x4x16xf32>
  // A merge of [8{a}, 64{b}]: only "a" is contiguous (the major factor, 8, is split by 2 only).
  // CHECK: graph.reshape {{.*}}[#sharding.tensor<@mesh, [{"a", ?}]>]
  %m = graph.reshape %x {shape = array<i64: 512>} : (tensor<8x64xf32>) -> tensor<512xf32>
  return %s, %m : tensor<8x4x16xf32>, tensor<512xf32>
}

// -----

// Transpose permutes; softmax passes its axis's split through (the
// partitioner combines max and sum across it); concat keeps its axis whole.
sharding.mesh @mesh = <["a"=2, "b"=2]>
// CHECK-LABEL: func.func @data_movement
func.func @data_movement(%x: tensor<4x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a"}, {"b"}]>}) -> (tensor<8x4xf32>, tensor<4x8xf32>, tensor<4x16xf32>) {
  // CHECK: graph.transpose {{.*}}[#sharding.tensor<@mesh, [{"b", ?}, {"a", ?}]>]
  %t = graph.transpose %x {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  // CHECK: graph.softmax {{.*}}[#sharding.tensor<@mesh, [{"a", ?}, {"b", ?}]>]
  %s = graph.softmax %x {axis = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: graph.concat {{.*}}[#sharding.tensor<@mesh, [{"a", ?}, {?}]>]
  %c = graph.concat %x, %x {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
  return %t, %s, %c : tensor<8x4xf32>, tensor<4x8xf32>, tensor<4x16xf32>
}

// -----

// Vocabulary-parallel embedding: a split of the table's rows makes the
// lookup a partial sum (masked local lookups, summed).
sharding.mesh @mesh = <["model"=2]>
// CHECK-LABEL: func.func @embedding
func.func @embedding(%table: tensor<256x64xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"model"}, {}]>},
                     %ids: tensor<2x16xi64>) -> tensor<2x16x64xf32> {
  // CHECK: graph.gather {{.*}}[#sharding.tensor<@mesh, [{?}, {?}, {?}], unreduced={"model"}>]
  %e = graph.gather %table, %ids {axis = 0 : i64} : (tensor<256x64xf32>, tensor<2x16xi64>) -> tensor<2x16x64xf32>
  return %e : tensor<2x16x64xf32>
}

// -----

// Attention: heads split freely; conv: batch and output channels.
sharding.mesh @mesh = <["data"=2, "model"=2]>
// CHECK-LABEL: func.func @attention_conv
func.func @attention_conv(%q: tensor<2x4x8x16xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {"model"}, {}, {}]>},
    %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>,
    %img: tensor<4x3x8x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {}, {}, {}]>},
    %w: tensor<6x3x3x3xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"model"}, {}, {}, {}]>}) -> (tensor<2x4x8x16xf32>, tensor<4x6x6x6xf32>) {
  // CHECK: %arg1: tensor<2x4x8x16xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data", ?}, {"model", ?}, {?}, {?}]>}
  // CHECK: graph.attention {{.*}}[#sharding.tensor<@mesh, [{"data", ?}, {"model", ?}, {?}, {?}]>]
  %a = graph.attention %q, %k, %v {causal = true, scale = 2.5e-01 : f64} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  // CHECK: graph.conv {{.*}}[#sharding.tensor<@mesh, [{"data", ?}, {"model", ?}, {?}, {?}]>]
  %c = graph.conv %img, %w {dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<4x3x8x8xf32>, tensor<6x3x3x3xf32>) -> tensor<4x6x6x6xf32>
  return %a, %c : tensor<2x4x8x16xf32>, tensor<4x6x6x6xf32>
}

// -----

// MoE: the expert dimension of the expert weights splits the expert matmul.
sharding.mesh @mesh = <["expert"=2]>
// CHECK-LABEL: func.func @moe
func.func @moe(%x: tensor<4x3x8xf32>, %w: tensor<4x8x16xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"expert"}, {}, {}]>}) -> tensor<4x3x16xf32> {
  // CHECK: graph.moe_expert_matmul {{.*}}[#sharding.tensor<@mesh, [{"expert", ?}, {?}, {?}]>]
  %y = graph.moe_expert_matmul %x, %w : (tensor<4x3x8xf32>, tensor<4x8x16xf32>) -> tensor<4x3x16xf32>
  return %y : tensor<4x3x16xf32>
}

// -----

// Priorities: two annotations want different axes for the same factor; the
// stronger (priority 0) wins, whatever the program order.
sharding.mesh @mesh = <["a"=2, "b"=2]>
// CHECK-LABEL: func.func @priorities
func.func @priorities(%x: tensor<8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a", ?}], priority=1>},
                      %y: tensor<8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"b", ?}], priority=0>}) -> tensor<8xf32> {
  // CHECK: graph.add {{.*}}[#sharding.tensor<@mesh, [{"b", ?}]>]
  %z = graph.add %x, %y : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %z : tensor<8xf32>
}

// -----

// Closed dimensions never change; open ones only grow.
sharding.mesh @mesh = <["a"=2, "b"=2]>
// CHECK-LABEL: func.func @open_closed
// CHECK-SAME: %arg0: tensor<8x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a"}, {}]>}
// CHECK-SAME: %arg1: tensor<8x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a", ?}, {"b"}]>}
func.func @open_closed(%x: tensor<8x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a"}, {}]>},
                       %y: tensor<8x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{?}, {"b"}]>}) -> tensor<8x8xf32> {
  %z = graph.add %x, %y : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  return %z : tensor<8x8xf32>
}

// -----

// Calls: the callee learns from the call site and the caller from the callee.
sharding.mesh @mesh = <["data"=2]>
// CHECK-LABEL: func.func @callee
// CHECK-SAME: %arg0: tensor<8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data", ?}, {?}]>}
func.func @callee(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // CHECK: graph.exp {{.*}}[#sharding.tensor<@mesh, [{"data", ?}, {?}]>]
  %e = graph.exp %x : tensor<8x4xf32>
  return %e : tensor<8x4xf32>
}
// CHECK-LABEL: func.func @caller
func.func @caller(%x: tensor<8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {}]>}) -> tensor<8x4xf32> {
  // CHECK: call @callee{{.*}}[#sharding.tensor<@mesh, [{"data", ?}, {?}]>]
  %y = func.call @callee(%x) : (tensor<8x4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// Inline constraints pin a value in the middle of a function.
sharding.mesh @mesh = <["model"=2]>
// CHECK-LABEL: func.func @constraint
// CHECK-SAME: %arg0: tensor<4x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{?}, {"model", ?}]>}
func.func @constraint(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %n = graph.neg %x : tensor<4x8xf32>
  %c = sharding.constraint %n <@mesh, [{}, {"model"}]> : tensor<4x8xf32>
  return %c : tensor<4x8xf32>
}

// -----

// Manual regions: the boundary is fixed by in/out shardings; inside, the
// local values keep the non-manual axes ("data"), and propagation continues
// on both sides.
sharding.mesh @mesh = <["data"=2, "model"=2]>
// CHECK-LABEL: func.func @manual
func.func @manual(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // CHECK: graph.exp {{.*}}[#sharding.tensor<@mesh, [{"data", ?}, {"model", ?}]>]
  %e = graph.exp %x : tensor<8x16xf32>
  %0 = sharding.manual_computation(%e) in_shardings = [#sharding.tensor<@mesh, [{"data"}, {"model"}]>]
      out_shardings = [#sharding.tensor<@mesh, [{"data"}, {"model"}]>] manual_axes = ["model"] {
  ^bb0(%l: tensor<8x8xf32>):
    // CHECK: graph.neg {{.*}}[#sharding.tensor<@mesh, [{"data", ?}, {?}]>]
    %n = graph.neg %l : tensor<8x8xf32>
    sharding.return %n : tensor<8x8xf32>
  } : (tensor<8x16xf32>) -> tensor<8x16xf32>
  // CHECK: graph.sqrt {{.*}}[#sharding.tensor<@mesh, [{"data", ?}, {"model", ?}]>]
  %s = graph.sqrt %0 : tensor<8x16xf32>
  return %s : tensor<8x16xf32>
}

// -----

// Declarations (no body) are left alone; calls to them stop propagation.
sharding.mesh @mesh = <["data"=2]>
// CHECK-LABEL: func.func private @external
func.func private @external(tensor<8x4xf32>) -> tensor<8x4xf32>
// CHECK-LABEL: func.func @calls_external
func.func @calls_external(%x: tensor<8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {}]>}) -> tensor<8x4xf32> {
  // CHECK: graph.neg {{.*}}[#sharding.tensor<@mesh, [{"data", ?}, {?}]>]
  %n = graph.neg %x : tensor<8x4xf32>
  %y = func.call @external(%n) : (tensor<8x4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// Causal or not, the query sequence may be split (the partitioner gives a
// causal block its global offset, passes/Sequence); keys stay whole.
sharding.mesh @mesh = <["s"=2]>
// CHECK-LABEL: func.func @causal_queries
func.func @causal_queries(%q: tensor<1x2x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s", ?}, {}]>},
                          %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) {
  // CHECK: graph.attention {{.*}}causal = true{{.*}}[#sharding.tensor<@mesh, [{?}, {?}, {"s", ?}, {?}]>]
  %a = graph.attention %q, %k, %v {causal = true, scale = 5.0e-01 : f64} : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  // CHECK: graph.attention {{.*}}[#sharding.tensor<@mesh, [{?}, {?}, {"s", ?}, {?}]>]
  %b = graph.attention %q, %k, %v {scale = 5.0e-01 : f64} : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %a, %b : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
}

// -----

// Einsum: labels are factors (contracted ones are reductions); a slice
// keeps the split of the dimensions it takes whole.
sharding.mesh @mesh = <["a"=2, "b"=2]>
// CHECK-LABEL: func.func @einsum_slice
func.func @einsum_slice(%x: tensor<4x6x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a"}, {}, {"b"}]>},
                        %w: tensor<8x5xf32>) -> (tensor<4x6x5xf32>, tensor<4x3x8xf32>) {
  // CHECK: graph.einsum {{.*}}[#sharding.tensor<@mesh, [{"a", ?}, {?}, {?}], unreduced={"b"}>]
  %e = graph.einsum %x, %w {equation = "bsk,kn->bsn"} : (tensor<4x6x8xf32>, tensor<8x5xf32>) -> tensor<4x6x5xf32>
  // CHECK: graph.slice {{.*}}[#sharding.tensor<@mesh, [{"a", ?}, {?}, {"b", ?}]>]
  %s = graph.slice %x {starts = array<i64: 0, 0, 0>, ends = array<i64: 4, 6, 8>, steps = array<i64: 1, 2, 1>} : (tensor<4x6x8xf32>) -> tensor<4x3x8xf32>
  return %e, %s : tensor<4x6x5xf32>, tensor<4x3x8xf32>
}

// -----

// Spatial splits of windowed ops (halo exchange): H passes through a conv,
// a stride-2 max pool and an average pool whose output size * stride equals
// the input size; a stride-2 conv without padding (8 rows -> 3) and a
// ceil_mode pool with a partial last window keep H whole.
sharding.mesh @mesh = <["h"=2]>
// CHECK-LABEL: func.func @window_spatial
func.func @window_spatial(%x: tensor<1x2x8x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"h"}, {}]>},
    %w: tensor<2x2x3x3xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x3x3xf32>, tensor<1x2x4x4xf32>) {
  // CHECK: graph.conv {{.*}}[#sharding.tensor<@mesh, [{?}, {?}, {"h", ?}, {?}]>]
  %c = graph.conv %x, %w {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  // CHECK: graph.max_pool {{.*}}[#sharding.tensor<@mesh, [{?}, {?}, {"h", ?}, {?}]>]
  %m = graph.max_pool %c {kernel_shape = array<i64: 3, 3>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
  // CHECK: graph.conv {{.*}}[#sharding.tensor<@mesh, [{?}, {?}, {?}, {?}]>]
  %s = graph.conv %x, %w {dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  // CHECK: graph.max_pool {{.*}}ceil_mode = true{{.*}}[#sharding.tensor<@mesh, [{?}, {?}, {?}, {?}]>]
  %p = graph.max_pool %x {kernel_shape = array<i64: 3, 3>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>, ceil_mode = true} : (tensor<1x2x8x8xf32>) -> tensor<1x2x4x4xf32>
  return %m, %s, %p : tensor<1x2x4x4xf32>, tensor<1x2x3x3xf32>, tensor<1x2x4x4xf32>
}
