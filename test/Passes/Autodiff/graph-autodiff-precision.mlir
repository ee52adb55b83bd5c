// RUN: partita-opt %s --graph-autodiff="loss=cross_entropy optimizer=adamw precision=bf16 return-grads=true" | FileCheck %s
// RUN: partita-opt %s --graph-autodiff="loss=cross_entropy optimizer=sgd precision=f16" | FileCheck %s --check-prefix=F16
// RUN: not partita-opt %s --graph-autodiff="precision=fp8" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD

// Mixed precision: the parameter and the input are cast to bf16 once, the
// matmul runs in bf16, the softmax (a FullPrecision op) in f32 between
// casts; the output is cast back to f32 for the loss; the parameter's
// gradient comes back through the cast in f32, and AdamW's state is f32.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[W:arg[0-9]+]]: tensor<3x4xf32> {{{.*}}graph.role = "parameter"}
// CHECK-SAME: tensor<3x4xf32> {graph.name = "w.m", graph.role = "state"}
// CHECK-SAME: %[[X:arg[0-9]+]]: tensor<2x3xf32> {graph.name = "x", graph.role = "input"}
// CHECK-DAG: %[[WB:.*]] = graph.cast %[[W]] {to = bf16} : (tensor<3x4xf32>) -> tensor<3x4xbf16>
// CHECK-DAG: %[[XB:.*]] = graph.cast %[[X]] {to = bf16} : (tensor<2x3xf32>) -> tensor<2x3xbf16>
// CHECK: %[[Y:.*]] = graph.matmul %[[XB]], %[[WB]] : (tensor<2x3xbf16>, tensor<3x4xbf16>) -> tensor<2x4xbf16>
// CHECK: %[[YF:.*]] = graph.cast %[[Y]] {to = f32}
// CHECK: %[[P:.*]] = graph.softmax %[[YF]] {{.*}} -> tensor<2x4xf32>
// CHECK: %[[PB:.*]] = graph.cast %[[P]] {to = bf16}
// CHECK: %[[OUT:.*]] = graph.cast %[[PB]] {to = f32}
// CHECK: graph.log_softmax %[[OUT]]
// The gradient of w: bf16 in the backward, f32 after the cast's rule.
// CHECK: graph.matmul {{.*}} -> tensor<3x4xbf16>
// CHECK: %[[DW:.*]] = graph.cast {{.*}} {to = f32} : (tensor<3x4xbf16>) -> tensor<3x4xf32>
// CHECK: return
// BAD: error: unknown precision 'fp8' (f32, bf16, f16)

// f16: the forward in f16 and a dynamic loss scale: two f32 state scalars
// (2^16 and 0 at first), the backward of scale * loss, the gradient divided
// by the scale, the update only where every gradient is finite, and the
// scale's next value.
// F16-LABEL: func.func @train_step
// F16-SAME: %[[W:arg[0-9]+]]: tensor<3x4xf32> {{{.*}}graph.role = "parameter"}
// F16-SAME: %[[S:arg[0-9]+]]: tensor<f32> {graph.init = dense<6.553600e+04> : tensor<f32>, graph.name = "loss_scale", graph.role = "state"}
// F16-SAME: %[[G:arg[0-9]+]]: tensor<f32> {graph.init = dense<0.000000e+00> : tensor<f32>, graph.name = "loss_scale.good_steps", graph.role = "state"}
// F16-SAME: -> (tensor<f32> {graph.name = "loss"}, tensor<3x4xf32> {graph.name = "w", graph.updates = 0 : i64}, tensor<f32> {graph.name = "loss_scale", graph.updates = 1 : i64}, tensor<f32> {graph.name = "loss_scale.good_steps", graph.updates = 2 : i64})
// F16: graph.matmul {{.*}} -> tensor<2x4xf16>
// F16: graph.mul %{{.*}}, %[[S]] : (tensor<f32>, tensor<f32>) -> tensor<f32>
// F16: %[[DW:.*]] = graph.div %{{.*}}, %[[S]] : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x4xf32>
// F16: %[[OK:.*]] = graph.equal {{.*}} : (tensor<f32>, tensor<f32>) -> tensor<i1>
// F16: graph.where %[[OK]], %{{.*}}, %[[W]]
// F16: return
func.func @main(%x: tensor<2x3xf32> {graph.name = "x"}) -> (tensor<2x4xf32> {graph.name = "y"}) {
  %w = graph.constant {value = dense<0.5> : tensor<3x4xf32>} : tensor<3x4xf32> loc("w"("m.json":0:0))
  %y = graph.matmul %x, %w : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %p = graph.softmax %y {axis = -1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  return %p : tensor<2x4xf32>
}
