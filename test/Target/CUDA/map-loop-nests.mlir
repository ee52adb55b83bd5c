// RUN: partita-opt %s --pass-pipeline='builtin.module(partita-gpu-map-loop-nests{block-size=128})' | FileCheck %s

// An elementwise nest: one thread per element of the 4x64 space in blocks of
// 128 threads, the last block guarded.
// CHECK-LABEL: func.func @elementwise
// CHECK-DAG: %[[TOTAL:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[BLOCK:.*]] = arith.constant 128 : index
// CHECK: %[[BLOCKS:.*]] = affine.apply #{{.*}}(%[[GRID]])
// CHECK: %[[THREADS:.*]] = affine.apply #{{.*}}(%[[BLOCK]])
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[BLOCKS]], %{{.*}} = %[[ONE:.*]], %{{.*}} = %[[ONE]]) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[THREADS]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]])
// CHECK:   arith.cmpi slt, %{{.*}}, %[[TOTAL]] : index
// CHECK:   scf.if
// CHECK:     arith.remsi
// CHECK:     arith.divsi
// CHECK:     memref.load
// CHECK:     math.exp
// CHECK:     memref.store
// CHECK-NOT: scf.parallel
// CHECK: return
func.func @elementwise(%a: memref<4x64xf32>, %b: memref<4x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x64xf32>) outs(%b : memref<4x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// A reduction over the leading dimension: interchanged so each thread owns
// one output element and runs the reduction loop itself.
// CHECK-LABEL: func.func @column_sum
// CHECK: gpu.launch
// CHECK:   scf.if
// CHECK:     scf.for
// CHECK:       arith.addf
// CHECK-NOT: scf.for
// CHECK: return
func.func @column_sum(%a: memref<128x16xf32>, %b: memref<16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(k, j) -> (k, j)>, affine_map<(k, j) -> (j)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%a : memref<128x16xf32>) outs(%b : memref<16xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  }
  return
}

// Scalar code on the host (a 0-d op) becomes one thread; a copy out of a
// strided view becomes a copy kernel, a whole-buffer copy stays a copy.
// CHECK-LABEL: func.func @scalar_and_copies
// CHECK: gpu.launch blocks(%{{.*}}) in (%{{.*}} = %[[ONE:.*]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads
// CHECK:   memref.load %{{.*}}[] : memref<f32>
// CHECK:   arith.mulf
// CHECK:   memref.store
// CHECK: gpu.launch
// CHECK:   memref.load %{{.*}} : memref<2x4xf32, strided<[8, 1], offset: 2>>
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<2x8xf32> to memref<2x8xf32>
func.func @scalar_and_copies(%s: memref<f32>, %t: memref<f32>, %m: memref<2x8xf32>,
                             %o: memref<2x4xf32>, %p: memref<2x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<() -> ()>, affine_map<() -> ()>],
                  iterator_types = []}
      ins(%s : memref<f32>) outs(%t : memref<f32>) {
  ^bb0(%x: f32, %y: f32):
    %d = arith.mulf %x, %x : f32
    linalg.yield %d : f32
  }
  %v = memref.subview %m[0, 2] [2, 4] [1, 1] : memref<2x8xf32> to memref<2x4xf32, strided<[8, 1], offset: 2>>
  memref.copy %v, %o : memref<2x4xf32, strided<[8, 1], offset: 2>> to memref<2x4xf32>
  memref.copy %m, %p : memref<2x8xf32> to memref<2x8xf32>
  return
}
