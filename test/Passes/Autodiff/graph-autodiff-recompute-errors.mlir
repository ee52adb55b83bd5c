// RUN: not partita-opt %s --graph-autodiff="loss=mean recompute=full" -o /dev/null 2>&1 | FileCheck %s
// RUN: not partita-opt %s --graph-autodiff="loss=mean recompute=some" -o /dev/null 2>&1 | FileCheck %s --check-prefix=MODE

// Recomputation works per named layer: a model without layer names says so.
// CHECK: error: {{.*}}recompute=full: no op of the model is named in a layer
// MODE: error: {{.*}}unknown recompute mode 'some' (none, selective, full)
func.func @main(%x: tensor<4x3xf32> {graph.name = "x"}) -> (tensor<4x2xf32> {graph.name = "y"}) {
  %w = graph.constant {value = dense<0.5> : tensor<3x2xf32>} : tensor<3x2xf32> loc("w"("m.json":0:0))
  %y = graph.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32> loc("proj")
  return %y : tensor<4x2xf32>
}
