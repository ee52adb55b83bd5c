// RUN: not partita-opt %s --pipeline-split='stages=nope' 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not partita-opt %s --pipeline-split='stages=x' 2>&1 | FileCheck %s --check-prefix=INPUT
// RUN: not partita-opt %s --pipeline-split='stages=h2,h1' 2>&1 | FileCheck %s --check-prefix=ORDER
// RUN: not partita-opt %s --pipeline-split='stages=h2' 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not partita-opt %s --pipeline-split='stages=h1 function=other' 2>&1 | FileCheck %s --check-prefix=FUNC

// UNKNOWN: pipeline-split-failures.mlir:[[@LINE+6]]:1: error: pipeline-split: no tensor named 'nope' in @main
// INPUT: error: pipeline-split: 'x' is an input of @main; a stage boundary is a tensor an op computes
// ORDER: error: {{.*}} pipeline-split: stage boundaries must follow the model order: 'h1' does not come after 'h2'
// EMPTY: error: pipeline-split: stage 1 has no op (boundaries 'h2' and '<outputs>' are adjacent)
// FUNC: error: pipeline-split: no function @other with a body

func.func @main(%x: tensor<4x8xf32> {graph.name = "x"}) -> tensor<4x8xf32> {
  %h1 = graph.add %x, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32> loc("h1")
  %h2 = graph.mul %h1, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32> loc("h2")
  return %h2 : tensor<4x8xf32>
}
