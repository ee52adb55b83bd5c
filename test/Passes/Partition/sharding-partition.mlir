// RUN: partita-opt %s -split-input-file --sharding-propagate --sharding-partition | FileCheck %s

// Megatron MLP: local weight blocks, local matmuls, exactly one all_reduce
// (where the partial sum meets the residual).
sharding.mesh @mesh = <["model"=2]>
// CHECK-LABEL: func.func @megatron
// CHECK-SAME: (%[[X:.*]]: tensor<8x16xf32> {{.*}}, %[[W1:.*]]: tensor<16x16xf32> {sharding.partitioned = #sharding.tensor<@mesh, [{}, {"model"}]>}, %[[W2:.*]]: tensor<16x16xf32> {sharding.partitioned = #sharding.tensor<@mesh, [{"model"}, {}]>})
// CHECK-SAME: -> (tensor<8x16xf32>
// CHECK: %[[H:.*]] = graph.matmul %[[X]], %[[W1]] : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
// CHECK: %[[G:.*]] = graph.tanh %[[H]] : tensor<8x16xf32>
// CHECK: %[[Y:.*]] = graph.matmul %[[G]], %[[W2]]
// CHECK: %[[R:.*]] = collectives.all_reduce %[[Y]] on @mesh ["model"] : tensor<8x16xf32>
// CHECK: graph.add %[[R]], %[[X]]
// CHECK-NOT: collectives.
func.func @megatron(%x: tensor<8x16xf32>,
    %w1: tensor<16x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"model"}]>},
    %w2: tensor<32x16xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"model"}, {}]>}) -> tensor<8x16xf32> {
  %h = graph.matmul %x, %w1 : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  %g = graph.tanh %h : tensor<8x32xf32>
  %y = graph.matmul %g, %w2 : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
  %o = graph.add %y, %x : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  return %o : tensor<8x16xf32>
}

// -----

// Data parallel: local batch everywhere, constants sliced locally, no
// communication; reshape gets its local target shape.
sharding.mesh @mesh = <["data"=2]>
// CHECK-LABEL: func.func @data_parallel
// CHECK-SAME: (%{{.*}}: tensor<4x16xf32> {{.*}}) -> (tensor<4x2x2xf32>
// CHECK-NOT: collectives.all
// CHECK: graph.reshape %{{.*}} {shape = array<i64: 4, 2, 2>} : (tensor<4x4xf32>) -> tensor<4x2x2xf32>
func.func @data_parallel(%x: tensor<8x16xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {}]>}) -> tensor<8x2x2xf32> {
  %w = graph.constant {value = dense<1.0> : tensor<16x4xf32>} : tensor<16x4xf32>
  %h = graph.matmul %x, %w : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
  %r = graph.reshape %h {shape = array<i64: 8, 2, 2>} : (tensor<8x4xf32>) -> tensor<8x2x2xf32>
  return %r : tensor<8x2x2xf32>
}

// -----

// A softmax over a split axis stays split: the local max and the local sum
// of exponentials are combined across the axis (max, then sum); a max over
// a split axis is combined right after the local max; a mean over a split
// axis is scaled so that its partial sums add up to the global mean, then
// summed at the end. Nothing is gathered.
sharding.mesh @mesh = <["a"=2]>
// CHECK-LABEL: func.func @reductions
// CHECK-NOT: collectives.all_gather
// CHECK: %[[LM:.*]] = graph.reduce_max %arg0 {axes = array<i64: 1>} : (tensor<4x4xf32>) -> tensor<4x1xf32>
// CHECK: %[[GM:.*]] = collectives.all_reduce %[[LM]] on @mesh ["a"] {reduction = #collectives<reduction max>}
// CHECK: %[[D:.*]] = graph.sub %arg0, %[[GM]]
// CHECK: %[[E:.*]] = graph.exp %[[D]]
// CHECK: %[[LS:.*]] = graph.reduce_sum %[[E]] {axes = array<i64: 1>}
// CHECK: %[[GS:.*]] = collectives.all_reduce %[[LS]] on @mesh ["a"] : tensor<4x1xf32>
// CHECK: graph.div %[[E]], %[[GS]] : (tensor<4x4xf32>, tensor<4x1xf32>) -> tensor<4x4xf32>
// CHECK: %[[M:.*]] = graph.reduce_max %{{.*}} : (tensor<4x4xf32>) -> tensor<4x1xf32>
// CHECK: collectives.all_reduce %[[M]] on @mesh ["a"] {reduction = #collectives<reduction max>}
// CHECK: %[[MEAN:.*]] = graph.reduce_mean %{{.*}} : (tensor<4x4xf32>) -> tensor<4x1xf32>
// CHECK: %[[HALF:.*]] = graph.constant {value = dense<5.000000e-01> : tensor<f32>}
// CHECK: %[[S:.*]] = graph.mul %[[MEAN]], %[[HALF]]
// CHECK: collectives.all_reduce %[[S]] on @mesh ["a"] : tensor<4x1xf32>
func.func @reductions(%x: tensor<4x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"a"}]>}) -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %s = graph.softmax %x {axis = 1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = graph.reduce_max %x {axes = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %n = graph.reduce_mean %x {axes = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  return %s, %m, %n : tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>
}

// -----

// A constraint that splits a (closed) replicated value is a local slice.
sharding.mesh @mesh = <["a"=2]>
// CHECK-LABEL: func.func @slice
// CHECK: collectives.axis_slice %{{.*}} on @mesh ["a"] {dim = 0 : i64} : (tensor<8x4xf32>) -> tensor<4x4xf32>
func.func @slice(%x: tensor<8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}]>}) -> tensor<8x4xf32> {
  %c = sharding.constraint %x <@mesh, [{"a"}, {}]> : tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// -----

// Vocabulary-parallel embedding: a masked lookup in the local block of rows,
// summed over the split axis.
sharding.mesh @mesh = <["model"=2]>
// CHECK-LABEL: func.func @embedding
// CHECK: %[[POS:.*]] = collectives.axis_index on @mesh ["model"] : tensor<i64>
// CHECK: %[[ROWS:.*]] = graph.constant {value = dense<128> : tensor<i64>}
// CHECK: %[[OFF:.*]] = graph.mul %[[POS]], %[[ROWS]]
// CHECK: graph.sub
// CHECK: %[[G:.*]] = graph.gather %arg0, %{{.*}} : (tensor<128x64xf32>, tensor<2x16xi64>) -> tensor<2x16x64xf32>
// CHECK: %[[M:.*]] = graph.reshape %{{.*}} {shape = array<i64: 2, 16, 1>}
// CHECK: %[[W:.*]] = graph.where %[[M]], %[[G]], %{{.*}}
// CHECK: collectives.all_reduce %[[W]] on @mesh ["model"] : tensor<2x16x64xf32>
func.func @embedding(%t: tensor<256x64xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"model"}, {}]>},
                     %ids: tensor<2x16xi64>) -> tensor<2x16x64xf32> {
  %e = graph.gather %t, %ids {axis = 0 : i64} : (tensor<256x64xf32>, tensor<2x16xi64>) -> tensor<2x16x64xf32>
  %r = graph.relu %e : tensor<2x16x64xf32>
  return %r : tensor<2x16x64xf32>
}

// -----

// The same over a split column axis: the local lookup keeps axis 1 and the
// mask broadcasts over the dimensions before and after the indices.
sharding.mesh @mesh = <["model"=2]>
// CHECK-LABEL: func.func @columns
// CHECK: %[[G:.*]] = graph.gather %arg0, %{{.*}} {axis = 1 : i64} : (tensor<64x128xf32>, tensor<2x16xi64>) -> tensor<64x2x16xf32>
// CHECK: %[[M:.*]] = graph.reshape %{{.*}} {shape = array<i64: 1, 2, 16>}
// CHECK: %[[W:.*]] = graph.where %[[M]], %[[G]], %{{.*}}
// CHECK: collectives.all_reduce %[[W]] on @mesh ["model"] : tensor<64x2x16xf32>
func.func @columns(%t: tensor<64x256xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"model"}]>},
                   %ids: tensor<2x16xi64>) -> tensor<64x2x16xf32> {
  %e = graph.gather %t, %ids {axis = 1 : i64} : (tensor<64x256xf32>, tensor<2x16xi64>) -> tensor<64x2x16xf32>
  return %e : tensor<64x2x16xf32>
}

// -----

// A value needed in the same layout by two consumers is resharded once.
sharding.mesh @mesh = <["data"=2]>
// CHECK-LABEL: func.func @shared_reshard
// CHECK: %[[R:.*]] = collectives.all_reduce
// CHECK-NOT: collectives.all_reduce
// CHECK: graph.sub %{{.*}}, %[[R]]
// CHECK: return %[[R]]
func.func @shared_reshard(%x: tensor<4x2xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {}]>}) -> (tensor<1x1xf32>, tensor<4x2xf32>) {
  %m = graph.reduce_sum %x {axes = array<i64: 0, 1>} : (tensor<4x2xf32>) -> tensor<1x1xf32>
  %d = graph.sub %x, %m : (tensor<4x2xf32>, tensor<1x1xf32>) -> tensor<4x2xf32>
  return %m, %d : tensor<1x1xf32>, tensor<4x2xf32>
}

// -----

// A bias inside a split contraction is added once in total, not once per
// device: gemm's beta and conv's bias are scaled by 1/P on each partial sum.
sharding.mesh @mesh = <["k"=2]>
// CHECK-LABEL: func.func @bias_in_split_contraction
// CHECK: graph.gemm {{.*}}beta = 1.750000e-01 : f32
// CHECK: %[[C:.*]] = graph.conv %{{.*}}, %{{.*}} {{{.*}}} : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x3x3xf32>
// CHECK: %[[B:.*]] = graph.reshape %{{.*}} {shape = array<i64: 1, 3, 1, 1>}
// CHECK: %[[H:.*]] = graph.constant {value = dense<5.000000e-01> : tensor<f32>}
// CHECK: %[[S:.*]] = graph.mul %[[B]], %[[H]]
// CHECK: graph.add %[[C]], %[[S]]
func.func @bias_in_split_contraction(
    %a: tensor<2x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"k"}]>},
    %w: tensor<8x3xf32>, %c: tensor<3xf32>,
    %x: tensor<1x4x5x5xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"k"}, {}, {}]>},
    %f: tensor<3x4x3x3xf32>, %bias: tensor<3xf32>) -> (tensor<2x3xf32>, tensor<1x3x3x3xf32>) {
  %g = graph.gemm %a, %w, %c {beta = 3.5e-01 : f32} : (tensor<2x8xf32>, tensor<8x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %y = graph.conv %x, %f, %bias {dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x5x5xf32>, tensor<3x4x3x3xf32>, tensor<3xf32>) -> tensor<1x3x3x3xf32>
  return %g, %y : tensor<2x3xf32>, tensor<1x3x3x3xf32>
}

// -----

// An open constraint (the Python frontend's unannotated outputs) keeps the
// layout propagation gave it: the batch stays split, no all_gather + slice.
sharding.mesh @mesh = <["data"=2]>
// CHECK-LABEL: func.func @open_constraint
// CHECK-SAME: -> (tensor<4x4xf32> {{.*}}sharding.partitioned = #sharding.tensor<@mesh, [{"data"}, {}]>
// CHECK-NOT: collectives.
// CHECK: return
func.func @open_constraint(%x: tensor<8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"data"}, {}]>}) -> tensor<8x4xf32> {
  %e = graph.exp %x : tensor<8x4xf32>
  %c = sharding.constraint %e <@mesh, [{?}, {?}]> : tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// -----

// An axis moving between dimensions is one all_to_all (split the new dim,
// concatenate the old); a run of axes moves together; when no such move
// applies, every all_gather comes before every slice, so no layout uses an
// axis twice on the way.
sharding.mesh @mesh = <["a"=2, "b"=2]>
// CHECK-LABEL: func.func @moves
// CHECK: collectives.all_to_all %arg0 on @mesh ["b"] {concat_dim = 0 : i64, split_dim = 1 : i64} : (tensor<2x12xf32>) -> tensor<4x6xf32>
// CHECK: collectives.all_to_all %arg1 on @mesh ["a", "b"] {concat_dim = 1 : i64, split_dim = 0 : i64} : (tensor<8x3xf32>) -> tensor<2x12xf32>
// CHECK: %[[G:.*]] = collectives.all_gather %arg2 on @mesh ["a", "b"] {dim = 0 : i64} : (tensor<2x12xf32>) -> tensor<8x12xf32>
// CHECK: %[[S:.*]] = collectives.axis_slice %[[G]] on @mesh ["b"] {dim = 0 : i64} : (tensor<8x12xf32>) -> tensor<4x12xf32>
// CHECK: collectives.axis_slice %[[S]] on @mesh ["a"] {dim = 1 : i64} : (tensor<4x12xf32>) -> tensor<4x6xf32>
func.func @moves(%x: tensor<8x12xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a", "b"}, {}]>},
                 %y: tensor<8x12xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"a", "b"}]>},
                 %z: tensor<8x12xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a", "b"}, {}]>})
    -> (tensor<8x12xf32>, tensor<8x12xf32>, tensor<8x12xf32>) {
  %cx = sharding.constraint %x <@mesh, [{"a"}, {"b"}]> : tensor<8x12xf32>
  %cy = sharding.constraint %y <@mesh, [{"a", "b"}, {}]> : tensor<8x12xf32>
  %cz = sharding.constraint %z <@mesh, [{"b"}, {"a"}]> : tensor<8x12xf32>
  return %cx, %cy, %cz : tensor<8x12xf32>, tensor<8x12xf32>, tensor<8x12xf32>
}

// -----

// A layer_norm over a split hidden dimension: the sums behind the mean and
// the variance are combined; scale and bias are used in local blocks.
sharding.mesh @mesh = <["a"=2]>
// CHECK-LABEL: func.func @layer_norm_split
// CHECK-NOT: collectives.all_gather
// CHECK: %[[S1:.*]] = graph.reduce_sum %arg0 {axes = array<i64: 1>} : (tensor<4x4xf32>) -> tensor<4x1xf32>
// CHECK: collectives.all_reduce %[[S1]] on @mesh ["a"] : tensor<4x1xf32>
// CHECK: graph.constant {value = dense<1.250000e-01> : tensor<f32>}
// CHECK: graph.reduce_sum
// CHECK: collectives.all_reduce
// CHECK: graph.sqrt
// CHECK: graph.mul %{{.*}}, %{{.*}} : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4x4xf32>
// CHECK: graph.add %{{.*}}, %{{.*}} : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4x4xf32>
// CHECK-NOT: collectives.all_gather
func.func @layer_norm_split(%x: tensor<4x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"a"}]>},
                            %s: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %y = graph.layer_norm %x, %s, %b {axis = 1 : i64} : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %c = sharding.constraint %y <@mesh, [{}, {"a"}]> : tensor<4x8xf32>
  return %c : tensor<4x8xf32>
}

// -----

// top-k along a split axis: a local top-k (k capped at the block), indices
// made global with the device's position, the candidates gathered, and the
// top k of those; the gathered indices are picked by the final positions.
sharding.mesh @mesh = <["a"=2]>
// CHECK-LABEL: func.func @topk_split
// CHECK: %[[V:.*]], %[[I:.*]] = graph.topk %arg0 {axis = 1 : i64, k = 3 : i64} : (tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x3xi64>)
// CHECK: %[[P:.*]] = collectives.axis_index on @mesh ["a"] : tensor<i64>
// CHECK: %[[OFF:.*]] = graph.mul %[[P]]
// CHECK: %[[GI:.*]] = graph.add %[[I]], %[[OFF]]
// CHECK: %[[CV:.*]] = collectives.all_gather %[[V]] on @mesh ["a"] {dim = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x6xf32>
// CHECK: %[[CI:.*]] = collectives.all_gather %[[GI]] on @mesh ["a"] {dim = 1 : i64} : (tensor<2x3xi64>) -> tensor<2x6xi64>
// CHECK: %[[BV:.*]], %[[BI:.*]] = graph.topk %[[CV]] {axis = 1 : i64, k = 3 : i64}
// CHECK: %[[IDX:.*]] = graph.gather_elements %[[CI]], %[[BI]] {axis = 1 : i64}
// CHECK: return %[[BV]], %[[IDX]]
func.func @topk_split(%x: tensor<2x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"a"}]>}) -> (tensor<2x3xf32>, tensor<2x3xi64>) {
  %v, %i = graph.topk %x {k = 3 : i64, axis = 1 : i64} : (tensor<2x8xf32>) -> (tensor<2x3xf32>, tensor<2x3xi64>)
  return %v, %i : tensor<2x3xf32>, tensor<2x3xi64>
}

// -----

// argmax along a split axis: each block's arg (keepdims) made global, the
// value there, both gathered, the arg of the candidates picks the index;
// without keepdims a reshape drops the axis. The whole axis is not gathered.
sharding.mesh @mesh = <["a"=2]>
// CHECK-LABEL: func.func @argmax_split
// CHECK: %[[I:.*]] = graph.argmax %arg0 {axis = 1 : i64, select_last_index = true} : (tensor<2x4xf32>) -> tensor<2x1xi64>
// CHECK: %[[V:.*]] = graph.gather_elements %arg0, %[[I]] {axis = 1 : i64}
// CHECK: %[[P:.*]] = collectives.axis_index on @mesh ["a"] : tensor<i64>
// CHECK: %[[OFF:.*]] = graph.mul %[[P]]
// CHECK: %[[GI:.*]] = graph.add %[[I]], %[[OFF]]
// CHECK: %[[CV:.*]] = collectives.all_gather %[[V]] on @mesh ["a"] {dim = 1 : i64} : (tensor<2x1xf32>) -> tensor<2x2xf32>
// CHECK: %[[CI:.*]] = collectives.all_gather %[[GI]] on @mesh ["a"] {dim = 1 : i64} : (tensor<2x1xi64>) -> tensor<2x2xi64>
// CHECK: %[[B:.*]] = graph.argmax %[[CV]] {axis = 1 : i64, select_last_index = true}
// CHECK: %[[IDX:.*]] = graph.gather_elements %[[CI]], %[[B]] {axis = 1 : i64}
// CHECK: %[[R:.*]] = graph.reshape %[[IDX]] {shape = array<i64: 2>}
// CHECK-NOT: collectives.
// CHECK: return %[[R]]
func.func @argmax_split(%x: tensor<2x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"a"}]>}) -> tensor<2xi64> {
  %i = graph.argmax %x {axis = 1 : i64, keepdims = false, select_last_index = true} : (tensor<2x8xf32>) -> tensor<2xi64>
  return %i : tensor<2xi64>
}

// -----

// cumsum along a split axis: the local scan plus the (exclusive) scan of the
// gathered block totals at this device's position.
sharding.mesh @mesh = <["a"=2]>
// CHECK-LABEL: func.func @cumsum_split
// CHECK: %[[C:.*]] = graph.cumsum %arg0 {axis = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK: %[[T:.*]] = graph.reduce_sum %arg0 {axes = array<i64: 1>} : (tensor<2x4xf32>) -> tensor<2x1xf32>
// CHECK: %[[TS:.*]] = collectives.all_gather %[[T]] on @mesh ["a"] {dim = 1 : i64} : (tensor<2x1xf32>) -> tensor<2x2xf32>
// CHECK: %[[B:.*]] = graph.cumsum %[[TS]] {axis = 1 : i64, exclusive = true}
// CHECK: %[[P:.*]] = collectives.axis_index on @mesh ["a"]
// CHECK: %[[I:.*]] = graph.reshape %[[P]]
// CHECK: %[[O:.*]] = graph.gather %[[B]], %[[I]] {axis = 1 : i64} : (tensor<2x2xf32>, tensor<1xi64>) -> tensor<2x1xf32>
// CHECK: graph.add %[[C]], %[[O]]
func.func @cumsum_split(%x: tensor<2x8xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"a"}]>}) -> tensor<2x8xf32> {
  %c = graph.cumsum %x {axis = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %r = sharding.constraint %c <@mesh, [{}, {"a"}]> : tensor<2x8xf32>
  return %r : tensor<2x8xf32>
}

// -----

// A reshape of 34 rows into 17x2 with the 2 split: a block of the 34 rows
// is a block of the 17 first, so no block of the input holds one half of
// every pair. The reshape runs whole and its result is sliced (vit_tiny's
// attention output, found by bench/fuzz_partition.sh: the local reshape
// once took the whole input to the local result's shape).
sharding.mesh @mesh = <["a"=2]>
// CHECK-LABEL: func.func @merged_minor_split
// CHECK: %[[R:.*]] = graph.reshape %arg0 {shape = array<i64: 17, 2, 64>} : (tensor<34x64xf32>) -> tensor<17x2x64xf32>
// CHECK: collectives.axis_slice %[[R]] on @mesh ["a"] {dim = 1 : i64} : (tensor<17x2x64xf32>) -> tensor<17x1x64xf32>
func.func @merged_minor_split(%x: tensor<34x64xf32>) -> tensor<17x2x64xf32> {
  %r = graph.reshape %x {shape = array<i64: 17, 2, 64>} : (tensor<34x64xf32>) -> tensor<17x2x64xf32>
  %c = sharding.constraint %r <@mesh, [{}, {"a"}, {}]> : tensor<17x2x64xf32>
  %e = graph.exp %c : tensor<17x2x64xf32>
  return %e : tensor<17x2x64xf32>
}

// -----

// Experts split: the dispatch runs on every token and each device keeps
// its experts' slots (no communication); the combine needs every expert's
// output and every token (a token's slot counts all earlier assignments).
sharding.mesh @mesh = <["e"=2]>
// CHECK-LABEL: func.func @moe_experts
// CHECK: %[[D:.*]] = graph.moe_dispatch {{.*}} -> tensor<4x5x4xf32>
// CHECK: collectives.axis_slice %[[D]] on @mesh ["e"] {dim = 0 : i64} : (tensor<4x5x4xf32>) -> tensor<2x5x4xf32>
// CHECK: graph.moe_expert_matmul {{.*}} : (tensor<2x5x4xf32>, tensor<2x4x6xf32>) -> tensor<2x5x6xf32>
// CHECK: collectives.all_gather {{.*}} : (tensor<2x5x6xf32>) -> tensor<4x5x6xf32>
// CHECK: graph.moe_combine {{.*}} : (tensor<4x5x6xf32>, tensor<8x2xf32>, tensor<8x2xi64>) -> tensor<8x6xf32>
func.func @moe_experts(%x: tensor<8x4xf32>, %i: tensor<8x2xi64>, %g: tensor<8x2xf32>,
                       %w: tensor<4x4x6xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"e"}, {}, {}]>}) -> tensor<8x6xf32> {
  %d = graph.moe_dispatch %x, %i {num_experts = 4 : i64, capacity = 5 : i64} : (tensor<8x4xf32>, tensor<8x2xi64>) -> tensor<4x5x4xf32>
  %h = graph.moe_expert_matmul %d, %w : (tensor<4x5x4xf32>, tensor<4x4x6xf32>) -> tensor<4x5x6xf32>
  %y = graph.moe_combine %h, %g, %i : (tensor<4x5x6xf32>, tensor<8x2xf32>, tensor<8x2xi64>) -> tensor<8x6xf32>
  return %y : tensor<8x6xf32>
}
