// RUN: partita-opt %s -split-input-file --sharding-propagate --sharding-partition=cluster=none --collectives-simplify | FileCheck %s

// The forms of attention over a split query sequence (docs/sequence.md),
// here on 1 batch x 4 heads x 8 positions x 4 features over s=2.

// gather with a causal mask: K and V all-gathered, the query block's
// global offset from axis_index, the local op without `causal`.
sharding.mesh @mesh = <["s"=2]>
// CHECK-LABEL: func.func @gather_causal
// CHECK-SAME: tensor<1x4x4x4xf32>
// CHECK-COUNT-2: collectives.all_gather {{.*}} {dim = 2 : i64} : (tensor<1x4x4x4xf32>) -> tensor<1x4x8x4xf32>
// CHECK: collectives.axis_index
// CHECK: graph.less_equal
// CHECK: graph.attention {{.*}} : (tensor<1x4x4x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<4x8xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NOT: causal = true
// CHECK-NOT: collectives.
// CHECK: return
func.func @gather_causal(%q: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                         %k: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                         %v: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>})
    -> (tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  %a = graph.attention %q, %k, %v {causal = true, scale = 5.0e-01 : f64, partita.attention_form = "gather"} : (tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>) -> tensor<1x4x8x4xf32>
  return %a : tensor<1x4x8x4xf32>
}

// -----

// ulysses: q, k, v from sequence-split to head-split (3 all_to_alls), the
// whole sequence on 2 of the 4 heads, the output back (1 all_to_all).
sharding.mesh @mesh = <["s"=2]>
// CHECK-LABEL: func.func @ulysses
// CHECK-COUNT-3: collectives.all_to_all {{.*}} : (tensor<1x4x4x4xf32>) -> tensor<1x2x8x4xf32>
// CHECK: graph.attention {{.*}}causal = true{{.*}} : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
// CHECK: collectives.all_to_all {{.*}} : (tensor<1x2x8x4xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NOT: collectives.
// CHECK: return
func.func @ulysses(%q: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                   %k: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                   %v: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>})
    -> (tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  %a = graph.attention %q, %k, %v {causal = true, scale = 5.0e-01 : f64, partita.attention_form = "ulysses"} : (tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>) -> tensor<1x4x8x4xf32>
  return %a : tensor<1x4x8x4xf32>
}

// -----

// ring on s=4 (the module asks for it): 3 steps after the first, each
// passing K^T and V on (2 x 3 collective_permutes), no gather.
module attributes {partita.attention_form = "ring"} {
sharding.mesh @mesh = <["s"=4]>
// CHECK-LABEL: func.func @ring
// CHECK-NOT: collectives.all_gather
// CHECK-COUNT-6: collectives.collective_permute
// CHECK-NOT: collectives.all_gather
// CHECK: return {{.*}} : tensor<1x4x2x4xf32>
func.func @ring(%q: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                %k: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                %v: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>})
    -> (tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  %a = graph.attention %q, %k, %v {causal = true, scale = 5.0e-01 : f64} : (tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>) -> tensor<1x4x8x4xf32>
  return %a : tensor<1x4x8x4xf32>
}
}

// -----

// auto: 3 heads do not divide over s=2, the sequences do: ring. The mask
// keeps this rank's rows, all columns; each step takes its block.
sharding.mesh @mesh = <["s"=2]>
// CHECK-LABEL: func.func @auto_ring
// CHECK-SAME: %arg3: tensor<4x8xf32>
// CHECK-NOT: collectives.all_gather
// CHECK: graph.gather %arg3, {{.*}} : (tensor<4x8xf32>, tensor<4xi64>) -> tensor<4x4xf32>
// CHECK-COUNT-2: collectives.collective_permute
// CHECK: graph.gather %arg3
// CHECK: graph.sigmoid
// CHECK-NOT: collectives.
// CHECK: return
func.func @auto_ring(%q: tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                     %k: tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                     %v: tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                     %m: tensor<8x8xf32>)
    -> (tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  %a = graph.attention %q, %k, %v, %m {scale = 5.0e-01 : f64} : (tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>, tensor<8x8xf32>) -> tensor<1x3x8x4xf32>
  return %a : tensor<1x3x8x4xf32>
}

// -----

// auto: 3 heads, and 7 keys do not divide over s=2 either: gather (not
// causal, so the plain local op on the query block).
sharding.mesh @mesh = <["s"=2]>
// CHECK-LABEL: func.func @auto_gather
// CHECK-NOT: collectives.
// CHECK: graph.attention {{.*}} : (tensor<1x3x4x4xf32>, tensor<1x3x7x4xf32>, tensor<1x3x7x4xf32>) -> tensor<1x3x4x4xf32>
func.func @auto_gather(%q: tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                       %k: tensor<1x3x7x4xf32>, %v: tensor<1x3x7x4xf32>)
    -> (tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  %a = graph.attention %q, %k, %v {scale = 5.0e-01 : f64} : (tensor<1x3x8x4xf32>, tensor<1x3x7x4xf32>, tensor<1x3x7x4xf32>) -> tensor<1x3x8x4xf32>
  return %a : tensor<1x3x8x4xf32>
}

// -----

// zigzag on s=2: q, K and V each send their odd chunk to the other rank
// (the even chunks stay: one shift-1 permute of a half block each), one
// ring step passes the [.., 4, 4] K^T and V blocks on, and the output's odd
// chunk goes back: 6 permutes, no gather; every step is c x c blocks (c = 2).
sharding.mesh @mesh = <["s"=2]>
// CHECK-LABEL: func.func @zigzag
// CHECK-NOT: collectives.all_gather
// CHECK-COUNT-3: collectives.collective_permute {{.*}} {shift = 1 : i64} : tensor<1x4x2x4xf32>
// CHECK: collectives.collective_permute {{.*}} {shift = 1 : i64} : tensor<1x4x4x4xf32>
// CHECK: collectives.collective_permute {{.*}} {shift = 1 : i64} : tensor<1x4x4x4xf32>
// CHECK: graph.matmul {{.*}} : (tensor<1x4x2x4xf32>, tensor<1x4x4x2xf32>) -> tensor<1x4x2x2xf32>
// CHECK: collectives.collective_permute {{.*}} {shift = 1 : i64} : tensor<1x4x2x4xf32>
// CHECK-NOT: collectives.collective_permute
// CHECK: graph.concat {{.*}} -> tensor<1x4x4x4xf32>
func.func @zigzag(%q: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                  %k: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                  %v: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>})
    -> (tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  %a = graph.attention %q, %k, %v {scale = 5.0e-01 : f64, causal = true, partita.attention_form = "zigzag"} : (tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>) -> tensor<1x4x8x4xf32>
  return %a : tensor<1x4x8x4xf32>
}

// -----

// auto, causal without a mask of its own, 3 heads that do not divide over
// s=2: zigzag (half-block re-layout permutes), not the plain ring.
sharding.mesh @mesh = <["s"=2]>
// CHECK-LABEL: func.func @auto_zigzag
// CHECK: collectives.collective_permute {{.*}} {shift = 1 : i64} : tensor<1x3x2x4xf32>
func.func @auto_zigzag(%q: tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                       %k: tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                       %v: tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>})
    -> (tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  %a = graph.attention %q, %k, %v {scale = 5.0e-01 : f64, causal = true} : (tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>) -> tensor<1x3x8x4xf32>
  return %a : tensor<1x3x8x4xf32>
}
