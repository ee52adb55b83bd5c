// RUN: partita-opt %s -split-input-file --sharding-propagate --sharding-partition=cluster=none -verify-diagnostics

// A requested form that cannot apply is one line naming the constraint.
sharding.mesh @mesh = <["s"=2]>
func.func @ulysses_heads(%q: tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                         %k: tensor<1x3x8x4xf32>, %v: tensor<1x3x8x4xf32>)
    -> (tensor<1x3x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  // expected-error @+1 {{attention form 'ulysses' cannot apply: heads 3 do not divide over {s} (2)}}
  %a = graph.attention %q, %k, %v {scale = 5.0e-01 : f64, partita.attention_form = "ulysses"} : (tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>) -> tensor<1x3x8x4xf32>
  return %a : tensor<1x3x8x4xf32>
}

// -----

// Heads that divide alone but not on top of their own (tensor-parallel) split.
sharding.mesh @mesh = <["m"=2, "s"=2]>
func.func @ulysses_tp(%q: tensor<1x2x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"m"}, {"s"}, {}]>},
                      %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>)
    -> (tensor<1x2x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {"m"}, {"s"}, {}]>}) {
  // expected-error @+1 {{attention form 'ulysses' cannot apply: heads 2 do not divide over {s} (2) times their own split (2)}}
  %a = graph.attention %q, %k, %v {scale = 5.0e-01 : f64, partita.attention_form = "ulysses"} : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %a : tensor<1x2x8x4xf32>
}

// -----

sharding.mesh @mesh = <["s"=2]>
func.func @ring_keys(%q: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                     %k: tensor<1x4x7x4xf32>, %v: tensor<1x4x7x4xf32>)
    -> (tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  // expected-error @+1 {{attention form 'ring' cannot apply: key sequence 7 does not divide over {s} (2)}}
  %a = graph.attention %q, %k, %v {scale = 5.0e-01 : f64, partita.attention_form = "ring"} : (tensor<1x4x8x4xf32>, tensor<1x4x7x4xf32>, tensor<1x4x7x4xf32>) -> tensor<1x4x8x4xf32>
  return %a : tensor<1x4x8x4xf32>
}

// -----

// zigzag balances causal self-attention: not a non-causal one, one with a
// mask of its own, or a sequence that does not cut into 2P chunks.
sharding.mesh @mesh = <["s"=2]>
func.func @zigzag_not_causal(%q: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                             %k: tensor<1x4x8x4xf32>, %v: tensor<1x4x8x4xf32>)
    -> (tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  // expected-error @+1 {{attention form 'zigzag' cannot apply: the attention is not causal (zigzag balances causal work; use ring)}}
  %a = graph.attention %q, %k, %v {scale = 5.0e-01 : f64, partita.attention_form = "zigzag"} : (tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>) -> tensor<1x4x8x4xf32>
  return %a : tensor<1x4x8x4xf32>
}

// -----

sharding.mesh @mesh = <["s"=2]>
func.func @zigzag_mask(%q: tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                       %k: tensor<1x4x8x4xf32>, %v: tensor<1x4x8x4xf32>, %m: tensor<1x1x1x8xf32>)
    -> (tensor<1x4x8x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  // expected-error @+1 {{attention form 'zigzag' cannot apply: the attention has a mask besides its causal one}}
  %a = graph.attention %q, %k, %v, %m {scale = 5.0e-01 : f64, causal = true, partita.attention_form = "zigzag"} : (tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x4x8x4xf32>, tensor<1x1x1x8xf32>) -> tensor<1x4x8x4xf32>
  return %a : tensor<1x4x8x4xf32>
}

// -----

sharding.mesh @mesh = <["s"=4]>
func.func @zigzag_chunks(%q: tensor<1x4x4x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>},
                         %k: tensor<1x4x4x4xf32>, %v: tensor<1x4x4x4xf32>)
    -> (tensor<1x4x4x4xf32> {sharding.sharding = #sharding.tensor<@mesh, [{}, {}, {"s"}, {}]>}) {
  // expected-error @+1 {{attention form 'zigzag' cannot apply: sequence 4 does not divide into 8 chunks over {s} (4)}}
  %a = graph.attention %q, %k, %v {scale = 5.0e-01 : f64, causal = true, partita.attention_form = "zigzag"} : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  return %a : tensor<1x4x4x4xf32>
}
