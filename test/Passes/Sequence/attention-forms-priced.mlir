// `auto` priced on a cluster (passes/Sequence/FormCosts.cpp): the fastest
// form that fits the device's memory. docs/sequence.md, "Choosing by cost".
// RUN: partita-opt %s -split-input-file --sharding-propagate --sharding-partition=cluster=cpu-local --collectives-simplify | FileCheck %s
// RUN: partita-opt %s -split-input-file --sharding-propagate --sharding-partition=cluster=%S/Inputs/small-memory.json --collectives-simplify | FileCheck %s --check-prefix=SMALL
// RUN: not partita-opt %s -split-input-file --sharding-propagate --sharding-partition=cluster=no-such-cluster 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: sharding-partition: cluster 'no-such-cluster': {{.*}}no-such-cluster

// Causal, 2048 tokens over s=2: zigzag computes 5 of the plain ring's 8
// half-chunk blocks and wins on cpu-local (the re-layout permutes a half
// block of q, K, V: 512 tokens).
sharding.mesh @mesh = <["s"=2]>
// CHECK-LABEL: func.func @long_causal
// CHECK: collectives.collective_permute {{.*}} : tensor<1x8x512x32xf32>
// CHECK-NOT: collectives.all_gather
// CHECK-NOT: collectives.all_to_all
// CHECK: return
// SMALL-LABEL: func.func @long_causal
// SMALL: collectives.collective_permute {{.*}} : tensor<1x8x512x32xf32>
func.func @long_causal(%q: tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                       %k: tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                       %v: tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>})
    -> (tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  %a = graph.attention %q, %k, %v {scale = 1.767767e-01 : f64, causal = true} : (tensor<1x8x2048x32xf32>, tensor<1x8x2048x32xf32>, tensor<1x8x2048x32xf32>) -> tensor<1x8x2048x32xf32>
  return %a : tensor<1x8x2048x32xf32>
}

// -----

// Non-causal, 2048 tokens: Ulysses moves as many bytes as gather at P = 2
// but each rank reads K and V for half the heads, and the ring pays its
// per-block passes: Ulysses. Its [4, 2048, 2048] scores (64 MiB) do not fit
// in 50 MB, nor do gather's: there the ring (one [8, 1024, 1024] block) is
// taken.
sharding.mesh @mesh = <["s"=2]>
// CHECK-LABEL: func.func @long_encoder
// CHECK-COUNT-4: collectives.all_to_all
// CHECK-NOT: collectives.collective_permute
// CHECK: return
// SMALL-LABEL: func.func @long_encoder
// SMALL-NOT: collectives.all_gather
// SMALL: collectives.collective_permute {{.*}} : tensor<1x8x32x1024xf32>
// SMALL: collectives.collective_permute {{.*}} : tensor<1x8x1024x32xf32>
// SMALL: return
func.func @long_encoder(%q: tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                        %k: tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                        %v: tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>})
    -> (tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  %a = graph.attention %q, %k, %v {scale = 1.767767e-01 : f64} : (tensor<1x8x2048x32xf32>, tensor<1x8x2048x32xf32>, tensor<1x8x2048x32xf32>) -> tensor<1x8x2048x32xf32>
  return %a : tensor<1x8x2048x32xf32>
}

// -----

// Requested forms are kept whatever they cost.
sharding.mesh @mesh = <["s"=2]>
// CHECK-LABEL: func.func @requested_ring
// CHECK: collectives.collective_permute {{.*}} : tensor<1x8x32x1024xf32>
func.func @requested_ring(%q: tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                          %k: tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                          %v: tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>})
    -> (tensor<1x8x2048x32xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  %a = graph.attention %q, %k, %v {scale = 1.767767e-01 : f64, partita.attention_form = "ring"} : (tensor<1x8x2048x32xf32>, tensor<1x8x2048x32xf32>, tensor<1x8x2048x32xf32>) -> tensor<1x8x2048x32xf32>
  return %a : tensor<1x8x2048x32xf32>
}
