// RUN: partita-opt %s -split-input-file --graph-autodiff -verify-diagnostics

// An op on the path to the loss without a gradient rule (every graph op
// has one or declares none; a call does not).
func.func private @f(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  return %a : tensor<2x3xf32>
}
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %w = graph.constant {value = dense<0.5> : tensor<2x3xf32>} : tensor<2x3xf32> loc("w"("m.json":0:0))
  %h = graph.add %x, %w : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // expected-error @+1 {{'func.call' has no gradient rule yet, and it lies between the parameters and the loss}}
  %y = func.call @f(%h) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// A rule that does not cover every form of its op says which.
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %w = graph.constant {value = dense<0.5> : tensor<2x3xf32>} : tensor<2x3xf32> loc("w"("m.json":0:0))
  %h = graph.add %x, %w : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %i = graph.constant {value = dense<[[0]]> : tensor<1x1xi64>} : tensor<1x1xi64>
  %u = graph.constant {value = dense<2.0> : tensor<1x3xf32>} : tensor<1x3xf32>
  // expected-error @+1 {{no gradient for a scatter_nd with reduction mul yet}}
  %y = graph.scatter_nd %h, %i, %u {reduction = #graph<reduction mul>} : (tensor<2x3xf32>, tensor<1x1xi64>, tensor<1x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// A loss on an integer output.
// expected-error @+1 {{loss 'mean' on output '#0' (type 'tensor<2xi64>') needs a floating-point output}}
func.func @main(%x: tensor<2x3xf32>) -> tensor<2xi64> {
  %w = graph.constant {value = dense<0.5> : tensor<3xf32>} : tensor<3xf32> loc("w"("m.json":0:0))
  %h = graph.mul %x, %w : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %y = graph.argmax %h {axis = 1 : i64, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xi64>
  return %y : tensor<2xi64>
}

// -----

// Nothing to train.
// expected-error @+1 {{the model has no floating-point initializers to train}}
func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = graph.relu %x : tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// expected-error @+1 {{graph-autodiff needs a @main function with a body}}
module {
}
