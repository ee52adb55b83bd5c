// RUN: partita-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(sharding-split-fused-projections))' | FileCheck %s
// RUN: partita-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(sharding-split-fused-projections),sharding-propagate,sharding-partition)' | FileCheck %s --check-prefix=SPMD

// A fused QKV weight [2, 6] with bias, columns split over model=2, split into
// q, k, v: each output gets its own matmul + add on its column block, under
// the same constraint. After partitioning, no collective is left (device r
// holds columns r of each of q, k, v).
sharding.mesh @mesh = <["model"=2]>
// CHECK-LABEL: func.func @qkv
// CHECK: %[[WQ:.*]] = graph.constant {value = dense<{{\[\[}}0.000000e+00, 1.000000e+00], [6.000000e+00, 7.000000e+00]]> : tensor<2x2xf32>}
// CHECK: %[[CQ:.*]] = sharding.constraint %[[WQ]] <@mesh, [{}, {"model"}]>
// CHECK: %[[MQ:.*]] = graph.matmul %arg0, %[[CQ]]
// CHECK: %[[BQ:.*]] = graph.constant {value = dense<[1.000000e+01, 2.000000e+01]> : tensor<2xf32>}
// CHECK: %[[CBQ:.*]] = sharding.constraint %[[BQ]] <@mesh, [{"model"}]>
// CHECK: %[[Q:.*]] = graph.add %[[CBQ]], %[[MQ]]
// CHECK: %[[WK:.*]] = graph.constant {value = dense<{{\[\[}}2.000000e+00, 3.000000e+00], [8.000000e+00, 9.000000e+00]]> : tensor<2x2xf32>}
// CHECK: %[[K:.*]] = graph.add
// CHECK: graph.constant {value = dense<[5.000000e+01, 6.000000e+01]> : tensor<2xf32>}
// CHECK: %[[V:.*]] = graph.add
// CHECK-NOT: graph.split
// CHECK-NOT: tensor<2x6xf32>
// CHECK: return %[[Q]], %[[K]], %[[V]]
// SPMD-LABEL: func.func @qkv
// SPMD-NOT: collectives.all_gather
// SPMD-NOT: collectives.all_reduce
// SPMD: return {{.*}} : tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>
func.func @qkv(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) {
  %w = graph.constant {value = dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]]> : tensor<2x6xf32>} : tensor<2x6xf32>
  %wc = sharding.constraint %w <@mesh, [{}, {"model"}]> : tensor<2x6xf32>
  %b = graph.constant {value = dense<[10.0, 20.0, 30.0, 40.0, 50.0, 60.0]> : tensor<6xf32>} : tensor<6xf32>
  %bc = sharding.constraint %b <@mesh, [{"model"}]> : tensor<6xf32>
  %m = graph.matmul %x, %wc : (tensor<4x2xf32>, tensor<2x6xf32>) -> tensor<4x6xf32>
  %a = graph.add %bc, %m : (tensor<6xf32>, tensor<4x6xf32>) -> tensor<4x6xf32>
  %q, %k, %v = graph.split %a {axis = 1 : i64, split = array<i64: 2, 2, 2>} : (tensor<4x6xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>)
  return %q, %k, %v : tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// Not rewritten: the columns are not split (no constraint on the weight).
// CHECK-LABEL: func.func @replicated
// CHECK: graph.split
func.func @replicated(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %w = graph.constant {value = dense<1.0> : tensor<2x4xf32>} : tensor<2x4xf32>
  %m = graph.matmul %x, %w : (tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %q, %k = graph.split %m {axis = 1 : i64, split = array<i64: 2, 2>} : (tensor<4x4xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>)
  return %q, %k : tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// Not rewritten: a block (3 columns) does not split evenly over model=2.
sharding.mesh @mesh = <["model"=2]>
// CHECK-LABEL: func.func @uneven
// CHECK: graph.split
func.func @uneven(%x: tensor<4x2xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>) {
  %w = graph.constant {value = dense<1.0> : tensor<2x6xf32>} : tensor<2x6xf32>
  %wc = sharding.constraint %w <@mesh, [{}, {"model"}]> : tensor<2x6xf32>
  %m = graph.matmul %x, %wc : (tensor<4x2xf32>, tensor<2x6xf32>) -> tensor<4x6xf32>
  %q, %k = graph.split %m {axis = 1 : i64, split = array<i64: 3, 3>} : (tensor<4x6xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>)
  return %q, %k : tensor<4x3xf32>, tensor<4x3xf32>
}

// -----

// Not rewritten: the matmul result has another user.
sharding.mesh @mesh = <["model"=2]>
// CHECK-LABEL: func.func @shared
// CHECK: graph.split
func.func @shared(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x4xf32>) {
  %w = graph.constant {value = dense<1.0> : tensor<2x4xf32>} : tensor<2x4xf32>
  %wc = sharding.constraint %w <@mesh, [{}, {"model"}]> : tensor<2x4xf32>
  %m = graph.matmul %x, %wc : (tensor<4x2xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %q, %k = graph.split %m {axis = 1 : i64, split = array<i64: 2, 2>} : (tensor<4x4xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>)
  return %q, %k, %m : tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x4xf32>
}
