// RUN: partita-opt %s -split-input-file --graph-autodiff="loss=sum optimizer=sgd lr=0.5 return-grads=true" | FileCheck %s
// RUN: partita-opt %s -split-input-file --graph-autodiff="loss=mse optimizer=adamw" | FileCheck %s --check-prefix=ADAM

// y = x W: the initializer W becomes the first argument, the batch follows;
// dW = x^T dy (dy = ones for a sum), and SGD writes W - lr dW back.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[W:.*]]: tensor<3x2xf32> {graph.init = dense<5.000000e-01> : tensor<3x2xf32>, graph.name = "w", graph.role = "parameter"}
// CHECK-SAME: %[[X:.*]]: tensor<4x3xf32> {graph.name = "x", graph.role = "input"}
// CHECK-SAME: -> (tensor<f32> {graph.name = "loss"}, tensor<3x2xf32> {graph.name = "w", graph.updates = 0 : i64}, tensor<3x2xf32> {graph.gradient_of = 0 : i64, graph.name = "w"})
// CHECK: %[[Y:.*]] = graph.matmul %[[X]], %[[W]]
// CHECK: %[[L:.*]] = graph.reduce_sum %[[Y]] {axes = array<i64: 0, 1>, keepdims = false}
// CHECK: %[[XT:.*]] = graph.transpose %[[X]] {perm = array<i64: 1, 0>}
// CHECK: %[[DW:.*]] = graph.matmul %[[XT]], %{{.*}} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
// CHECK: %[[LR:.*]] = graph.constant {value = dense<5.000000e-01> : tensor<f32>}
// CHECK: %[[STEP:.*]] = graph.mul %[[DW]], %[[LR]]
// CHECK: %[[NEW:.*]] = graph.sub %[[W]], %[[STEP]]
// CHECK: return %[[L]], %[[NEW]], %[[DW]]
// @main stays as it was.
// CHECK-LABEL: func.func @main
// CHECK: graph.constant
// ADAM-LABEL: func.func @train_step
// ADAM-SAME: graph.name = "w.m", graph.role = "state"
// ADAM-SAME: graph.name = "w.v", graph.role = "state"
// ADAM-SAME: graph.name = "labels", graph.role = "label"
// ADAM-SAME: graph.name = "step", graph.role = "step"
// ADAM: graph.pow
func.func @main(%x: tensor<4x3xf32> {graph.name = "x"}) -> (tensor<4x2xf32> {graph.name = "y"}) {
  %w = graph.constant {value = dense<0.5> : tensor<3x2xf32>} : tensor<3x2xf32> loc("w"("m.json":0:0))
  %y = graph.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// A value with two users sums its cotangents; an initializer the loss does
// not reach (b only feeds the second output) stays a constant; a node's
// constant (not an initializer) is not trained.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[A:.*]]: tensor<3xf32> {{{.*}}graph.name = "a", graph.role = "parameter"}, %{{.*}}: tensor<3xf32> {graph.name = "x", graph.role = "input"})
// CHECK-NOT: graph.name = "b"
// CHECK: graph.add %{{.*}}, %{{.*}} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
// CHECK: return
func.func @main(%x: tensor<3xf32> {graph.name = "x"}) -> (tensor<3xf32> {graph.name = "y"}, tensor<3xf32> {graph.name = "z"}) {
  %a = graph.constant {value = dense<2.0> : tensor<3xf32>} : tensor<3xf32> loc("a"("m.json":0:0))
  %b = graph.constant {value = dense<3.0> : tensor<3xf32>} : tensor<3xf32> loc("b"("m.json":0:0))
  %c = graph.constant {value = dense<4.0> : tensor<3xf32>} : tensor<3xf32> loc("c"("m.json":7:0))
  %h = graph.mul %x, %a : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %h2 = graph.mul %h, %a : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %y = graph.mul %h2, %c : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %z = graph.add %x, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %y, %z : tensor<3xf32>, tensor<3xf32>
}
