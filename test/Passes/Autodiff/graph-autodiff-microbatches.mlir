// RUN: partita-opt %s --graph-autodiff="loss=mean optimizer=sgd microbatches=2" | FileCheck %s
// RUN: partita-opt %s --graph-autodiff="loss=sum optimizer=sgd microbatches=2" | FileCheck %s --check-prefix=SUM

// Gradient accumulation: the model defines one microbatch (4 rows), the
// step takes two (8 rows). Microbatch m is rows m, m+2, ... (reshape to
// [4, 2, 3], column m, reshape back); each forward, at the model's shapes,
// is followed by its backward, so the first microbatch's activations die
// before the second starts; the mean loss and the gradients are averaged.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[W:.*]]: tensor<3x2xf32> {{{.*}}graph.role = "parameter"}, %[[X:.*]]: tensor<8x3xf32>
// CHECK: %[[G0:.*]] = graph.reshape %[[X]] {shape = array<i64: 4, 2, 3>}
// CHECK: %[[S0:.*]] = graph.slice %[[G0]] {ends = array<i64: 4, 1, 3>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>}
// CHECK: %[[X0:.*]] = graph.reshape %[[S0]] {shape = array<i64: 4, 3>}
// CHECK: %[[Y0:.*]] = graph.matmul %[[X0]], %[[W]]
// CHECK: %[[L0:.*]] = graph.reduce_mean %[[Y0]]
// CHECK: %[[XT0:.*]] = graph.transpose %[[X0]]
// CHECK: %[[D0:.*]] = graph.matmul %[[XT0]]
// CHECK: %[[G1:.*]] = graph.reshape %[[X]] {shape = array<i64: 4, 2, 3>}
// CHECK: graph.slice %[[G1]] {ends = array<i64: 4, 2, 3>, starts = array<i64: 0, 1, 0>
// CHECK: %[[L1:.*]] = graph.reduce_mean
// CHECK: %[[D1:.*]] = graph.matmul
// CHECK: %[[DSUM:.*]] = graph.add %[[D0]], %[[D1]]
// CHECK: %[[LSUM:.*]] = graph.add %[[L0]], %[[L1]]
// CHECK: %[[HALF:.*]] = graph.constant {value = dense<5.000000e-01> : tensor<f32>}
// CHECK: %[[LOSS:.*]] = graph.mul %[[LSUM]], %[[HALF]]
// CHECK: graph.mul %[[DSUM]]
// CHECK: return %[[LOSS]]
// The full-batch forward is gone.
// CHECK-NOT: tensor<8x2xf32>
// A sum loss is the sum over microbatches: no averaging.
// SUM-LABEL: func.func @train_step
// SUM: graph.add {{.*}} -> tensor<3x2xf32>
// SUM: %[[LSUM:.*]] = graph.add {{.*}} -> tensor<f32>
// SUM-NOT: dense<5.000000e-01>
// SUM: return %[[LSUM]]
func.func @main(%x: tensor<4x3xf32> {graph.name = "x"}) -> (tensor<4x2xf32> {graph.name = "y"}) {
  %w = graph.constant {value = dense<0.5> : tensor<3x2xf32>} : tensor<3x2xf32> loc("w"("m.json":0:0))
  %y = graph.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
