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

// -----

// Resource-backed constants (how ranks import mapped ONNX weights): the
// slice reads its block from the blob, and a replicated one becomes dense,
// so that no op refers to a blob once the pass is done.
sharding.mesh @mesh = <["a"=2, "b"=2]>
// R0-LABEL: func.func @resources
// R0-DAG: graph.constant {value = dense<[0.000000e+00, 1.000000e+00]> : tensor<2xf32>}
// R0-DAG: graph.constant {value = dense<[0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<4xf32>}
// R0-NOT: dense_resource
// R3-LABEL: func.func @resources
// R3-DAG: graph.constant {value = dense<[2.000000e+00, 3.000000e+00]> : tensor<2xf32>}
func.func @resources() -> (tensor<2xf32>, tensor<4xf32>) {
  %w = graph.constant {value = dense_resource<w> : tensor<4xf32>} : tensor<4xf32>
  %s = collectives.axis_slice %w on @mesh ["a"] {dim = 0 : i64} : (tensor<4xf32>) -> tensor<2xf32>
  %r = graph.constant {value = dense_resource<r> : tensor<4xf32>} : tensor<4xf32>
  return %s, %r : tensor<2xf32>, tensor<4xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x04000000000000000000803F0000004000004040",
      r: "0x04000000000000000000803F0000004000004040"
    }
  }
#-}

// -----

// A chain whose middle link is also read elsewhere: both blocks are read
// from the constant, and the constant goes once nothing reads it.
sharding.mesh @mesh = <["a"=2, "b"=2]>
// R3-LABEL: func.func @shared_link
// R3-DAG: graph.constant {value = dense<{{\[\[}}4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00]]> : tensor<1x4xf32>}
// R3-DAG: graph.constant {value = dense<{{\[\[}}6.000000e+00, 7.000000e+00]]> : tensor<1x2xf32>}
// R3-NOT: tensor<2x4xf32>
func.func @shared_link() -> (tensor<1x4xf32>, tensor<1x2xf32>) {
  %w = graph.constant {value = dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]> : tensor<2x4xf32>} : tensor<2x4xf32>
  %r = collectives.axis_slice %w on @mesh ["a"] {dim = 0 : i64} : (tensor<2x4xf32>) -> tensor<1x4xf32>
  %c = collectives.axis_slice %r on @mesh ["b"] {dim = 1 : i64} : (tensor<1x4xf32>) -> tensor<1x2xf32>
  return %r, %c : tensor<1x4xf32>, tensor<1x2xf32>
}
