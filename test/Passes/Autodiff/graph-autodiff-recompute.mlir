// RUN: partita-opt %s --graph-autodiff="loss=mean optimizer=none return-grads=true recompute=full" -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s --check-prefix=FULL
// RUN: partita-opt %s --graph-autodiff="loss=mean optimizer=none return-grads=true recompute=selective" -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s --check-prefix=SEL
// RUN: partita-opt %s --graph-autodiff="loss=mean optimizer=none return-grads=true" | FileCheck %s --check-prefix=NONE

// Two layers of matmul, softmax, matmul. Full recomputation: after the
// loss, each layer's activations but its output are computed again right
// before that layer's backward (layer 1's first, then layer 0's); the
// backward reads the copies. The layer outputs (layers.0.out, read by
// layer 1) are kept.
// FULL-LABEL: func.func @train_step
// FULL: graph.softmax
// FULL: graph.softmax
// FULL: graph.reduce_mean
// FULL: %[[S1:.*]] = graph.matmul {{.*}} loc("layers.1.scores")
// FULL: %[[P1:.*]] = graph.softmax %[[S1]] {{.*}} loc("layers.1.p")
// FULL: graph.mul {{.*}}%[[P1]]
// FULL: %[[S0:.*]] = graph.matmul {{.*}} loc("layers.0.scores")
// FULL: graph.softmax %[[S0]] {{.*}} loc("layers.0.p")
// FULL-NOT: loc("layers.0.out")
// FULL: return
// Selective: the attention core (the scores and the softmax) only.
// SEL-LABEL: func.func @train_step
// SEL: graph.reduce_mean
// SEL: graph.matmul {{.*}} loc("layers.1.scores")
// SEL-NEXT: graph.softmax {{.*}} loc("layers.1.p")
// SEL: graph.matmul {{.*}} loc("layers.0.scores")
// SEL-NEXT: graph.softmax {{.*}} loc("layers.0.p")
// SEL: return
// NONE-LABEL: func.func @train_step
// NONE-COUNT-2: graph.softmax %
// NONE-NOT: graph.softmax %
// NONE: return
func.func @main(%x: tensor<4x4xf32> {graph.name = "x"}) -> (tensor<4x4xf32> {graph.name = "y"}) {
  %w0 = graph.constant {value = dense<0.25> : tensor<4x4xf32>} : tensor<4x4xf32> loc("layers.0.w"("m.json":0:0))
  %w1 = graph.constant {value = dense<0.5> : tensor<4x4xf32>} : tensor<4x4xf32> loc("layers.1.w"("m.json":0:0))
  %s0 = graph.matmul %x, %w0 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32> loc("layers.0.scores")
  %p0 = graph.softmax %s0 {axis = -1 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32> loc("layers.0.p")
  %o0 = graph.matmul %p0, %x : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32> loc("layers.0.out")
  %s1 = graph.matmul %o0, %w1 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32> loc("layers.1.scores")
  %p1 = graph.softmax %s1 {axis = -1 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32> loc("layers.1.p")
  %o1 = graph.matmul %p1, %o0 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32> loc("layers.1.out")
  return %o1 : tensor<4x4xf32>
}

