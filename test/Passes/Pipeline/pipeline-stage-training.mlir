// RUN: partita-opt %s --pipeline-split='stages=h1' --pipeline-stage-training='loss=mse optimizer=sgd momentum=0.9' | FileCheck %s
// RUN: partita-opt %s --pipeline-split='stages=h1' --pipeline-stage-training='loss=mean optimizer=adamw split-backward=true' | FileCheck %s --check-prefix=SPLIT
// RUN: not partita-opt %s --pipeline-stage-training 2>&1 | FileCheck %s --check-prefix=NOSTAGES
// RUN: not partita-opt %s --pipeline-split='stages=h1' --pipeline-stage-training='clip-norm=1.0' 2>&1 | FileCheck %s --check-prefix=CLIP
// RUN: not partita-opt %s --pipeline-split='stages=h1' --pipeline-stage-training='optimizer=lion' 2>&1 | FileCheck %s --check-prefix=OPT
// RUN: not partita-opt %s --pipeline-split='stages=h1' --pipeline-stage-training='output=nope' 2>&1 | FileCheck %s --check-prefix=OUTPUT
// RUN: not partita-opt %s --pipeline-split='stages=h1' --pipeline-stage-training='loss=hinge' 2>&1 | FileCheck %s --check-prefix=LOSS

// Two stages sharing the weight w (tied); b only in the last. Stage 0's
// forward takes w and x; its backward also the gradient of h1 and gives
// only w's gradient (stage 0 sends no input gradient back). The last
// stage's forward gives the loss (mse: it takes the labels), its backward
// the gradient of its input h1, then of w and b.
// CHECK-LABEL: func.func @main_stage0_forward
// CHECK-SAME: (%{{.*}}: tensor<8x8xf32> {graph.init = {{.*}}, graph.name = "w", graph.role = "parameter", pipeline.tied}, %{{.*}}: tensor<4x8xf32> {graph.name = "x", graph.role = "input"}) -> (tensor<4x8xf32> {graph.name = "h1"})
// CHECK-LABEL: func.func @main_stage0_backward
// CHECK-SAME: %{{.*}}: tensor<4x8xf32> {graph.name = "h1.grad", graph.role = "output_grad"}) -> (tensor<8x8xf32> {graph.gradient_of = 0 : i64, graph.name = "w.grad"})
// CHECK: graph.mul {{.*}}%arg2
// CHECK: graph.matmul
// CHECK-LABEL: func.func @main_stage0_update
// CHECK-SAME: {graph.name = "w.momentum", graph.role = "state"}, %{{.*}}: tensor<8x8xf32> {graph.name = "w.grad", graph.role = "gradient"}) -> (tensor<8x8xf32> {graph.name = "w", graph.updates = 0 : i64}, tensor<8x8xf32> {graph.name = "w.momentum", graph.updates = 1 : i64})
// CHECK-LABEL: func.func @main_stage1_forward
// CHECK-SAME: graph.name = "b", graph.role = "parameter"}, %{{.*}}: tensor<4x8xf32> {graph.name = "h1", graph.role = "input"}, %{{.*}}: tensor<4x8xf32> {graph.name = "labels", graph.role = "label"}) -> (tensor<f32> {graph.name = "loss"})
// CHECK: graph.reduce_mean
// CHECK-LABEL: func.func @main_stage1_backward
// CHECK-SAME: -> (tensor<4x8xf32> {graph.gradient_of = 2 : i64, graph.name = "h1.grad"}, tensor<8x8xf32> {graph.gradient_of = 0 : i64, graph.name = "w.grad"}, tensor<8xf32> {graph.gradient_of = 1 : i64, graph.name = "b.grad"})
// CHECK-LABEL: func.func @main_stage1_update
// CHECK-LABEL: func.func @main(

// The zero-bubble split: I gives the input gradient, W the weights'; they
// share no work: I also gives what W takes from the part both need (here
// the loss's cotangent and tanh's output, "saved"), and W computes only
// x^T dy and the bias's sum from them. The update of adamw takes the step.
// SPLIT-LABEL: func.func @main_stage0_forward
// SPLIT-LABEL: func.func @main_stage0_backward_input
// SPLIT-SAME: graph.role = "output_grad"}) attributes
// SPLIT-LABEL: func.func @main_stage0_backward_weight
// SPLIT-SAME: -> (tensor<8x8xf32> {graph.gradient_of = 0 : i64, graph.name = "w.grad"})
// SPLIT-LABEL: func.func @main_stage0_update
// SPLIT-SAME: {graph.name = "step", graph.role = "step"}
// SPLIT-LABEL: func.func @main_stage1_forward
// SPLIT-SAME: %{{.*}}: tensor<4x8xf32> {graph.name = "h1", graph.role = "input"}) -> (tensor<f32> {graph.name = "loss"})
// SPLIT-LABEL: func.func @main_stage1_backward_input
// SPLIT-SAME: -> (tensor<4x8xf32> {graph.gradient_of = 2 : i64, graph.name = "h1.grad"}, tensor<4x8xf32> {graph.name = "saved.0", graph.role = "saved"}, tensor<4x8xf32> {graph.name = "saved.1", graph.role = "saved"})
// SPLIT-NOT: graph.reduce_sum
// SPLIT-LABEL: func.func @main_stage1_backward_weight
// SPLIT-SAME: %[[DY:[^:]*]]: tensor<4x8xf32> {graph.name = "saved.0", graph.role = "saved"}, %[[T:[^:]*]]: tensor<4x8xf32> {graph.name = "saved.1", graph.role = "saved"})
// SPLIT-SAME: -> (tensor<8x8xf32> {graph.gradient_of = 0 : i64, graph.name = "w.grad"}, tensor<8xf32> {graph.gradient_of = 1 : i64, graph.name = "b.grad"})
// SPLIT-NOT: graph.tanh
// SPLIT: graph.reduce_sum %[[DY]]
// SPLIT: graph.transpose %[[T]]
// SPLIT-NOT: graph.tanh
// SPLIT: return

// NOSTAGES: error: pipeline-stage-training: no stage functions (run pipeline-split first)
// CLIP: error: pipeline-stage-training: clip-norm spans every stage; the schedule executor clips (leave it 0 here)
// OPT: error: pipeline-stage-training: unknown optimizer 'lion' (none, sgd, adamw)
// OUTPUT: error: pipeline-stage-training: no output named 'nope' in the last stage (outputs: y)
// LOSS: error: pipeline-stage-training: loss 'hinge' on output 'y' (type 'tensor<4x8xf32>') is not a known loss (mean, sum, mse, cross_entropy)
func.func @main(%x: tensor<4x8xf32> {graph.name = "x"}) -> (tensor<4x8xf32> {graph.name = "y"}) {
  %w = graph.constant {value = dense<0.5> : tensor<8x8xf32>} : tensor<8x8xf32> loc("w"("m.json":0:0))
  %b = graph.constant {value = dense<1.0> : tensor<8xf32>} : tensor<8xf32> loc("b"("m.json":0:0))
  %h1 = graph.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("h1")
  %t = graph.tanh %h1 : tensor<4x8xf32> loc("t")
  %y0 = graph.matmul %t, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("y0")
  %y = graph.add %y0, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32> loc("y")
  return %y : tensor<4x8xf32>
}
