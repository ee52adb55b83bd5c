// RUN: partita-opt %s -split-input-file --sharding-localize-constants=rank=0 | FileCheck %s --check-prefix=R0
// RUN: partita-opt %s -split-input-file --sharding-localize-constants=rank=3 | FileCheck %s --check-prefix=R3
// RUN: not partita-opt %s -split-input-file --sharding-localize-constants=rank=4 2>&1 | FileCheck %s --check-prefix=BAD

// A weight split over rows on "a" and columns on "b" (mesh a=2 x b=2): each
// rank keeps its own 1x2 block. Rank 3 is (a=1, b=1).
sharding.mesh @mesh = <["a"=2, "b"=2]>
// R0-LABEL: func.func @weight
// R0: %[[W:.*]] = graph.constant {value = dense<{{\[\[}}0.000000e+00, 1.000000e+00]]> : tensor<1x2xf32>}
// R0-NOT: axis_slice
// R0: return %[[W]]
// R3-LABEL: func.func @weight
// R3: graph.constant {value = dense<{{\[\[}}6.000000e+00, 7.000000e+00]]> : tensor<1x2xf32>}
// BAD: error: rank 4 is outside the mesh of 4 devices
func.func @weight() -> tensor<1x2xf32> {
  %w = graph.constant {value = dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]> : tensor<2x4xf32>} : tensor<2x4xf32>
  %r = collectives.axis_slice %w on @mesh ["a"] {dim = 0 : i64} : (tensor<2x4xf32>) -> tensor<1x4xf32>
  %c = collectives.axis_slice %r on @mesh ["b"] {dim = 1 : i64} : (tensor<1x4xf32>) -> tensor<1x2xf32>
  return %c : tensor<1x2xf32>
}

// -----

// Slices of non-constants are left for the runtime.
sharding.mesh @mesh = <["a"=4]>
// R0-LABEL: func.func @argument
// R0: collectives.axis_slice
func.func @argument(%x: tensor<8xf32>) -> tensor<2xf32> {
  %s = collectives.axis_slice %x on @mesh ["a"] {dim = 0 : i64} : (tensor<8xf32>) -> tensor<2xf32>
  return %s : tensor<2xf32>
}
