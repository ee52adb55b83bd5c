// RUN: partita-opt %s -split-input-file --graph-recognize-composites | FileCheck %s

// The PyTorch export spelling: transpose, matmul, div by sqrt(d), softmax, matmul.
// CHECK-LABEL: func.func @sdpa
// CHECK: %[[A:.*]] = graph.attention %arg0, %arg1, %arg2 {scale = 2.500000e-01 : f64}
// CHECK-NOT: graph.softmax
// CHECK: return %[[A]]
func.func @sdpa(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  %kt = graph.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x4x8x16xf32>) -> tensor<2x4x16x8xf32>
  %s = graph.matmul %q, %kt : (tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x8x8xf32>
  %c = graph.constant {value = dense<4.0> : tensor<f32>} : tensor<f32>
  %s2 = graph.div %s, %c : (tensor<2x4x8x8xf32>, tensor<f32>) -> tensor<2x4x8x8xf32>
  %p = graph.softmax %s2 {axis = -1 : i64} : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %o = graph.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// A constant causal mask becomes `causal = true`.
// CHECK-LABEL: func.func @causal
// CHECK: %[[K:.*]] = graph.transpose %arg1
// CHECK: graph.attention %arg0, %[[K]], %arg2 {causal = true, scale = 1.000000e+00 : f64}
func.func @causal(%q: tensor<3x4xf32>, %kt: tensor<4x3xf32>, %v: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %s = graph.matmul %q, %kt : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %m = graph.constant {value = dense<[[0.0, -1.0e9, -1.0e9], [0.0, 0.0, -1.0e9], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>} : tensor<3x3xf32>
  %s2 = graph.add %s, %m : (tensor<3x3xf32>, tensor<3x3xf32>) -> tensor<3x3xf32>
  %p = graph.softmax %s2 {axis = 1 : i64} : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %o = graph.matmul %p, %v : (tensor<3x3xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  return %o : tensor<3x4xf32>
}

// -----

// A non-causal mask stays an operand.
// CHECK-LABEL: func.func @masked
// CHECK: graph.attention %arg0, %{{.*}}, %arg2, %arg3
func.func @masked(%q: tensor<3x4xf32>, %kt: tensor<4x3xf32>, %v: tensor<3x4xf32>, %m: tensor<3x3xf32>) -> tensor<3x4xf32> {
  %s = graph.matmul %q, %kt : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %s2 = graph.add %s, %m : (tensor<3x3xf32>, tensor<3x3xf32>) -> tensor<3x3xf32>
  %p = graph.softmax %s2 {axis = -1 : i64} : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %o = graph.matmul %p, %v : (tensor<3x3xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  return %o : tensor<3x4xf32>
}

// -----

// Probabilities used twice: not rewritten.
// CHECK-LABEL: func.func @shared_probs
// CHECK-NOT: graph.attention
// CHECK: graph.softmax
func.func @shared_probs(%q: tensor<3x4xf32>, %kt: tensor<4x3xf32>, %v: tensor<3x4xf32>) -> (tensor<3x4xf32>, tensor<3x3xf32>) {
  %s = graph.matmul %q, %kt : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %p = graph.softmax %s {axis = -1 : i64} : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %o = graph.matmul %p, %v : (tensor<3x3xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  return %o, %p : tensor<3x4xf32>, tensor<3x3xf32>
}

// -----

// Softmax over a non-last axis is not attention.
// CHECK-LABEL: func.func @wrong_axis
// CHECK-NOT: graph.attention
func.func @wrong_axis(%q: tensor<3x4xf32>, %kt: tensor<4x3xf32>, %v: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %s = graph.matmul %q, %kt : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %p = graph.softmax %s {axis = 0 : i64} : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %o = graph.matmul %p, %v : (tensor<3x3xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  return %o : tensor<3x4xf32>
}

// -----

// GPT-2 as Hugging Face exports it: the scale as a constant expression
// (pow(d, 0.5) + 0), a boolean causal mask through where(keep, scores,
// lowest): causal attention.
// CHECK-LABEL: func.func @where_causal
// CHECK: %[[A:.*]] = graph.attention %arg0, %{{.*}}, %arg2 {causal = true, scale = 2.500000e-01 : f64}
// CHECK-NOT: graph.where
// CHECK-NOT: graph.softmax
// CHECK: return %[[A]]
func.func @where_causal(%q: tensor<1x2x3x16xf32>, %kt: tensor<1x2x16x3xf32>, %v: tensor<1x2x3x16xf32>) -> tensor<1x2x3x16xf32> {
  %d = graph.constant {value = dense<16.0> : tensor<f32>} : tensor<f32>
  %half = graph.constant {value = dense<0.5> : tensor<f32>} : tensor<f32>
  %zero = graph.constant {value = dense<0.0> : tensor<f32>} : tensor<f32>
  %keep = graph.constant {value = dense<[[[[true, false, false], [true, true, false], [true, true, true]]]]> : tensor<1x1x3x3xi1>} : tensor<1x1x3x3xi1>
  %low = graph.constant {value = dense<-3.40282347e+38> : tensor<f32>} : tensor<f32>
  %s = graph.matmul %q, %kt : (tensor<1x2x3x16xf32>, tensor<1x2x16x3xf32>) -> tensor<1x2x3x3xf32>
  %p = graph.pow %d, %half : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %c = graph.add %zero, %p : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %s1 = graph.div %s, %c : (tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  %s2 = graph.where %keep, %s1, %low : (tensor<1x1x3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  %pr = graph.softmax %s2 {axis = -1 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o = graph.matmul %pr, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x16xf32>) -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}

// -----

// LLaMA as Hugging Face exports it: the additive causal mask computed at
// run time from constants -- triu(full(lowest), 1) times a comparison mask,
// reshaped, expanded over the batch of 2 and sliced to the keys: evaluated,
// every batch copy causal, so the attention is causal and the mask dropped.
// CHECK-LABEL: func.func @computed_causal_mask
// CHECK: %[[A:.*]] = graph.attention %arg0, %arg1, %arg2 {causal = true, scale = 2.500000e-01 : f64}
// CHECK-NOT: graph.trilu
// CHECK: return %[[A]]
func.func @computed_causal_mask(%q: tensor<2x2x3x16xf32>, %k: tensor<2x2x3x16xf32>, %v: tensor<2x2x3x16xf32>) -> tensor<2x2x3x16xf32> {
  %full = graph.constant {value = dense<-3.40282347e+38> : tensor<3x4xf32>} : tensor<3x4xf32>
  %keep = graph.constant {value = dense<1.0> : tensor<3x4xf32>} : tensor<3x4xf32>
  %scale = graph.constant {value = dense<0.25> : tensor<f32>} : tensor<f32>
  %t = graph.trilu %full {k = 1 : i64} : (tensor<3x4xf32>) -> tensor<3x4xf32>
  %m0 = graph.mul %t, %keep : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  %m1 = graph.reshape %m0 {shape = array<i64: 1, 1, 3, 4>} : (tensor<3x4xf32>) -> tensor<1x1x3x4xf32>
  %m2 = graph.expand %m1 {shape = array<i64: 2, 1, 1, 1>} : (tensor<1x1x3x4xf32>) -> tensor<2x1x3x4xf32>
  %m3 = graph.slice %m2 {starts = array<i64: 0, 0, 0, 0>, ends = array<i64: 2, 1, 3, 3>, steps = array<i64: 1, 1, 1, 1>} : (tensor<2x1x3x4xf32>) -> tensor<2x1x3x3xf32>
  %kt = graph.transpose %k {perm = array<i64: 0, 1, 3, 2>} : (tensor<2x2x3x16xf32>) -> tensor<2x2x16x3xf32>
  %s = graph.matmul %q, %kt : (tensor<2x2x3x16xf32>, tensor<2x2x16x3xf32>) -> tensor<2x2x3x3xf32>
  %s1 = graph.mul %s, %scale : (tensor<2x2x3x3xf32>, tensor<f32>) -> tensor<2x2x3x3xf32>
  %s2 = graph.add %s1, %m3 : (tensor<2x2x3x3xf32>, tensor<2x1x3x3xf32>) -> tensor<2x2x3x3xf32>
  %pr = graph.softmax %s2 {axis = -1 : i64} : (tensor<2x2x3x3xf32>) -> tensor<2x2x3x3xf32>
  %o = graph.matmul %pr, %v : (tensor<2x2x3x3xf32>, tensor<2x2x3x16xf32>) -> tensor<2x2x3x16xf32>
  return %o : tensor<2x2x3x16xf32>
}

// -----

// A boolean padding mask (an input) and an additive one: both join the
// attention's additive mask.
// CHECK-LABEL: func.func @where_padding
// CHECK: %[[M:.*]] = graph.where %arg3, %{{.*}}, %{{.*}} : (tensor<1x1x1x3xi1>, tensor<f32>, tensor<f32>) -> tensor<1x1x1x3xf32>
// CHECK: %[[SUM:.*]] = graph.add %arg4, %[[M]]
// CHECK: graph.attention %arg0, %{{.*}}, %arg2, %[[SUM]] {scale = 1.000000e+00 : f64}
func.func @where_padding(%q: tensor<1x2x3x16xf32>, %kt: tensor<1x2x16x3xf32>, %v: tensor<1x2x3x16xf32>,
                         %keep: tensor<1x1x1x3xi1>, %bias: tensor<1x1x3x3xf32>) -> tensor<1x2x3x16xf32> {
  %low = graph.constant {value = dense<-3.40282347e+38> : tensor<f32>} : tensor<f32>
  %s = graph.matmul %q, %kt : (tensor<1x2x3x16xf32>, tensor<1x2x16x3xf32>) -> tensor<1x2x3x3xf32>
  %s1 = graph.add %s, %bias : (tensor<1x2x3x3xf32>, tensor<1x1x3x3xf32>) -> tensor<1x2x3x3xf32>
  %s2 = graph.where %keep, %s1, %low : (tensor<1x1x1x3xi1>, tensor<1x2x3x3xf32>, tensor<f32>) -> tensor<1x2x3x3xf32>
  %pr = graph.softmax %s2 {axis = -1 : i64} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %o = graph.matmul %pr, %v : (tensor<1x2x3x3xf32>, tensor<1x2x3x16xf32>) -> tensor<1x2x3x16xf32>
  return %o : tensor<1x2x3x16xf32>
}
