// RUN: partita-opt %s --sharding-propagate=explain=true -verify-diagnostics -split-input-file -allow-unregistered-dialect

// Every place that needs communication is a remark at the consumer, naming
// the tensor, both layouts and the annotation the layout came from.
sharding.mesh @mesh = <["model"=2]>
func.func @megatron(%x: tensor<8x16xf32> {graph.name = "x"},
    %w1: tensor<16x32xf32> {graph.name = "w1", sharding.sharding = #sharding.tensor<@mesh, [{}, {"model"}]>},
    %w2: tensor<32x16xf32> {graph.name = "w2", sharding.sharding = #sharding.tensor<@mesh, [{"model"}, {}]>}) -> tensor<8x16xf32> {
  %h = graph.matmul %x, %w1 : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32> loc("h")
  %y = graph.matmul %h, %w2 : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32> loc("y")
  // expected-remark @+1 {{all_reduce on {model} of 'y' for graph.add: [{?}, {?}] unreduced{model} -> [{}, {}] (required layout from 'w1')}}
  %o = graph.add %y, %x : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  return %o : tensor<8x16xf32>
}

// -----

// A trilu over a split matrix dimension gathers it first (an argmax over a
// split axis does not: the partitioner merges per-block candidates).
sharding.mesh @mesh = <["a"=2]>
func.func @gather_for_trilu(%x: tensor<4x8xf32> {graph.name = "x", sharding.sharding = #sharding.tensor<@mesh, [{}, {"a"}]>}) -> (tensor<4x8xf32>, tensor<4x1xi64>) {
  // expected-remark @+1 {{all_gather on {a} of 'x' for graph.trilu: [{}, {a}] -> [{}, {}]}}
  %s = graph.trilu %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = graph.argmax %x {axis = 1 : i64, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xi64>
  return %s, %m : tensor<4x8xf32>, tensor<4x1xi64>
}

// -----

// Ops from other dialects without a rule get one warning per op name.
sharding.mesh @mesh = <["a"=2]>
func.func @no_rule(%x: tensor<4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{"a"}]>}) -> tensor<4xf32> {
  // expected-warning @+1 {{op 'test.unregistered' has no sharding rule; its operands and results are treated as replicated}}
  %0 = "test.unregistered"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %1 = "test.unregistered"(%0) : (tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}
