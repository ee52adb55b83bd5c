// RUN: partita-opt %s -split-input-file --pipeline-split='stages=h1,h2' | FileCheck %s

// Three stages in a chain. The input x, used again by stage 2, and h1,
// used again by stage 2, are relayed through stage 1. The weight w is used
// by stages 0 and 2: cloned into both and marked tied; b only by stage 1.
// CHECK-LABEL: func.func @main_stage0
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32> {graph.name = "x"}) -> (tensor<4x8xf32> {graph.name = "x"}, tensor<4x8xf32> {graph.name = "h1"})
// CHECK-SAME: attributes {pipeline.stage = 0 : i64}
// CHECK: %[[W:.*]] = graph.constant {pipeline.tied, value = {{.*}}} : tensor<8x8xf32>
// CHECK: %[[H1:.*]] = graph.matmul %[[X]], %[[W]]
// CHECK: return %[[X]], %[[H1]]
// CHECK-LABEL: func.func @main_stage1
// CHECK-SAME: (%[[X1:.*]]: tensor<4x8xf32> {graph.name = "x"}, %[[A:.*]]: tensor<4x8xf32> {graph.name = "h1"}) -> (tensor<4x8xf32> {graph.name = "x"}, tensor<4x8xf32> {graph.name = "h1"}, tensor<4x8xf32> {graph.name = "h2"})
// CHECK-SAME: attributes {pipeline.stage = 1 : i64}
// CHECK: %[[B:.*]] = graph.constant {value = {{.*}}} : tensor<8xf32>
// CHECK: %[[H2:.*]] = graph.add %[[A]], %[[B]]
// CHECK: return %[[X1]], %[[A]], %[[H2]]
// CHECK-LABEL: func.func @main_stage2
// CHECK-SAME: (%[[E:.*]]: tensor<4x8xf32> {graph.name = "x"}, %[[D:.*]]: tensor<4x8xf32> {graph.name = "h1"}, %[[C:.*]]: tensor<4x8xf32> {graph.name = "h2"}) -> (tensor<4x8xf32> {graph.name = "y"})
// CHECK: graph.constant {pipeline.tied
// CHECK: graph.matmul %[[C]]
// CHECK: graph.add {{.*}}%[[D]]
// CHECK: graph.add {{.*}}%[[E]]
// CHECK-LABEL: func.func @main
// CHECK-NEXT: %[[S0:.*]]:2 = call @main_stage0(%arg0)
// CHECK-NEXT: %[[S1:.*]]:3 = call @main_stage1(%[[S0]]#0, %[[S0]]#1)
// CHECK-NEXT: %[[S2:.*]] = call @main_stage2(%[[S1]]#0, %[[S1]]#1, %[[S1]]#2)
// CHECK-NEXT: return %[[S2]]
func.func @main(%x: tensor<4x8xf32> {graph.name = "x"}) -> tensor<4x8xf32> {
  %w = graph.constant {value = dense<0.5> : tensor<8x8xf32>} : tensor<8x8xf32> loc("w")
  %b = graph.constant {value = dense<1.0> : tensor<8xf32>} : tensor<8xf32> loc("b")
  %h1 = graph.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("h1")
  %h2 = graph.add %h1, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32> loc("h2")
  %h3 = graph.matmul %h2, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("h3")
  %h4 = graph.add %h3, %h1 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32> loc("h4")
  %y = graph.add %h4, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32> loc("y")
  return %y : tensor<4x8xf32>
}

// -----

// A weight's annotation (a constraint right after the weight, where
// --shardings puts it) and what is computed from weights alone go with the
// weight into the stage using it: nothing of it crosses a boundary.
// CHECK-LABEL: func.func @main_stage0
// CHECK-SAME: -> (tensor<4x8xf32> {graph.name = "h1"})
// CHECK-NOT: sharding.constraint
// CHECK: return
// CHECK-LABEL: func.func @main_stage1
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32> {graph.name = "h1"}) -> (tensor<4x8xf32> {graph.name = "h2"})
// CHECK: %[[W:.*]] = graph.constant
// CHECK: %[[C:.*]] = sharding.constraint %[[W]]
// CHECK: %[[T:.*]] = graph.transpose %[[C]]
// CHECK: graph.matmul %[[A]], %[[T]]
sharding.mesh @mesh = <["model"=2]>
func.func @main(%x: tensor<4x8xf32> {graph.name = "x"}) -> tensor<4x8xf32> {
  %w = graph.constant {value = dense<0.5> : tensor<8x8xf32>} : tensor<8x8xf32> loc("w")
  %c = sharding.constraint %w <@mesh, [{}, {"model"}]> : tensor<8x8xf32>
  %t = graph.transpose %c {perm = array<i64: 1, 0>} : (tensor<8x8xf32>) -> tensor<8x8xf32>
  %h1 = graph.tanh %x : tensor<4x8xf32> loc("h1")
  %h2 = graph.matmul %h1, %t : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("h2")
  %y = graph.tanh %h2 : tensor<4x8xf32> loc("y")
  return %y : tensor<4x8xf32>
}
