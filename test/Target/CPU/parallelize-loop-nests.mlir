// RUN: partita-opt %s -split-input-file --partita-parallelize-loop-nests --canonicalize | FileCheck %s
// RUN: partita-opt %s -split-input-file --partita-parallelize-loop-nests=min-iterations=1000000 | FileCheck %s --check-prefix=BIG
//
// An outlined linalg nest with enough iterations becomes loops, one parallel
// loop of which runs over [lo, hi) from two new trailing arguments; its calls
// pass the whole range. Nests that cannot be split safely, or are too small
// (below min-iterations), keep their linalg op.

// Elementwise: the outermost loop (64 iterations) is split.
// CHECK-LABEL: func.func private @main_nest0(
// CHECK-SAME: %[[A:.*]]: memref<64x1024xf32>, %[[B:.*]]: memref<64x1024xf32>, %[[LO:.*]]: index, %[[HI:.*]]: index)
// CHECK-SAME: partita.parallel = 64 : i64
// CHECK: scf.for %[[I:.*]] = %[[LO]] to %[[HI]]
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}}
// CHECK: memref.load %[[A]][%[[I]], %[[J]]]
// CHECK: memref.store %{{.*}}, %[[B]][%[[I]], %[[J]]]
// CHECK-NOT: linalg.generic
// CHECK-LABEL: func.func @main(
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: call @main_nest0(%{{.*}}, %{{.*}}, %[[C0]], %[[C64]])

// Above the threshold nothing changes.
// BIG-LABEL: func.func private @main_nest0(
// BIG-SAME: %{{.*}}: memref<64x1024xf32>, %{{.*}}: memref<64x1024xf32>)
// BIG-NOT: partita.parallel
// BIG: linalg.generic
// BIG-LABEL: func.func @main(
// BIG: call @main_nest0(%{{.*}}, %{{.*}}) :
func.func private @main_nest0(%a: memref<64x1024xf32>, %b: memref<64x1024xf32>) attributes {no_inline, partita.outlined} {
  %c = arith.constant 2.0 : f32
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%a : memref<64x1024xf32>) outs(%b : memref<64x1024xf32>) {
  ^bb0(%x: f32, %y: f32):
    %m = arith.mulf %x, %c : f32
    linalg.yield %m : f32
  }
  return
}
func.func @main(%a: memref<64x1024xf32>, %b: memref<64x1024xf32>) {
  call @main_nest0(%a, %b) : (memref<64x1024xf32>, memref<64x1024xf32>) -> ()
  return
}

// -----

// A row reduction (softmax's max, layer norm's mean): the parallel rows are
// split, each task reduces its rows whole.
// CHECK-LABEL: func.func private @main_nest0(
// CHECK-SAME: %[[LO:[^:]*]]: index, %[[HI:[^:]*]]: index)
// CHECK-SAME: partita.parallel = 512 : i64
// CHECK: scf.for %[[I:.*]] = %[[LO]] to %[[HI]]
// CHECK: scf.for
// CHECK: arith.maximumf
// CHECK: memref.store %{{.*}}[%[[I]]]
func.func private @main_nest0(%a: memref<512x128xf32>, %r: memref<512xf32>) attributes {no_inline, partita.outlined} {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]} ins(%a : memref<512x128xf32>) outs(%r : memref<512xf32>) {
  ^bb0(%x: f32, %y: f32):
    %m = arith.maximumf %x, %y : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A short leading loop (batch 4) gives way to the next parallel one: each
// task runs every batch over its share of the 128 rows; linalg.index reads
// the loop's own induction variable.
// CHECK-LABEL: func.func private @main_nest0(
// CHECK-SAME: %[[LO:[^:]*]]: index, %[[HI:[^:]*]]: index)
// CHECK-SAME: partita.parallel = 128 : i64
// CHECK: %[[C4:.*]] = arith.constant 4 : index
// CHECK: scf.for %[[B:.*]] = %{{.*}} to %[[C4]]
// CHECK: scf.for %[[R:.*]] = %[[LO]] to %[[HI]]
// CHECK: scf.for
// CHECK: arith.index_cast %[[R]]
func.func private @main_nest0(%a: memref<4x128x128xf32>) attributes {no_inline, partita.outlined} {
  linalg.generic {indexing_maps = [affine_map<(b, i, j) -> (b, i, j)>], iterator_types = ["parallel", "parallel", "parallel"]} outs(%a : memref<4x128x128xf32>) {
  ^bb0(%y: f32):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i64
    %f = arith.sitofp %ii : i64 to f32
    linalg.yield %f : f32
  }
  return
}

// -----

// Reduction outermost: no leading parallel loop, nothing to split.
// CHECK-LABEL: func.func private @main_nest0(
// CHECK-SAME: %{{.*}}: memref<512x128xf32>, %{{.*}}: memref<128xf32>)
// CHECK-NOT: partita.parallel
// CHECK: linalg.generic
func.func private @main_nest0(%a: memref<512x128xf32>, %r: memref<128xf32>) attributes {no_inline, partita.outlined} {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>], iterator_types = ["reduction", "parallel"]} ins(%a : memref<512x128xf32>) outs(%r : memref<128xf32>) {
  ^bb0(%x: f32, %y: f32):
    %m = arith.addf %x, %y : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// An output that does not vary with the loop (here it is marked parallel but
// every iteration of i writes the same elements): splitting i would race;
// j, the other parallel loop, is split.
// CHECK-LABEL: func.func private @main_nest0(
// CHECK-SAME: %[[LO:[^:]*]]: index, %[[HI:[^:]*]]: index)
// CHECK-SAME: partita.parallel = 256 : i64
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}}
// CHECK: scf.for %{{.*}} = %[[LO]] to %[[HI]]
func.func private @main_nest0(%a: memref<512x256xf32>, %r: memref<256xf32>) attributes {no_inline, partita.outlined} {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>], iterator_types = ["parallel", "parallel"]} ins(%a : memref<512x256xf32>) outs(%r : memref<256xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// Not outlined, dynamic sizes, more than one op, or a body that writes
// memory the indexing maps do not describe: left alone.
// CHECK-LABEL: func.func @not_outlined(
// CHECK-NOT: partita.parallel
// CHECK: linalg.fill
// CHECK-LABEL: func.func private @dynamic(
// CHECK-NOT: partita.parallel
// CHECK: linalg.fill
// CHECK-LABEL: func.func private @two_ops(
// CHECK-NOT: partita.parallel
// CHECK: linalg.fill
// CHECK: linalg.fill
// CHECK-LABEL: func.func private @stores(
// CHECK-NOT: partita.parallel
// CHECK: linalg.generic
func.func @not_outlined(%a: memref<512x512xf32>) {
  %c = arith.constant 0.0 : f32
  linalg.fill ins(%c : f32) outs(%a : memref<512x512xf32>)
  return
}
func.func private @dynamic(%a: memref<?x512xf32>) attributes {no_inline, partita.outlined} {
  %c = arith.constant 0.0 : f32
  linalg.fill ins(%c : f32) outs(%a : memref<?x512xf32>)
  return
}
func.func private @two_ops(%a: memref<512x512xf32>, %b: memref<512x512xf32>) attributes {no_inline, partita.outlined} {
  %c = arith.constant 0.0 : f32
  linalg.fill ins(%c : f32) outs(%a : memref<512x512xf32>)
  linalg.fill ins(%c : f32) outs(%b : memref<512x512xf32>)
  return
}
func.func private @stores(%a: memref<512x512xf32>, %log: memref<f32>) attributes {no_inline, partita.outlined} {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} outs(%a : memref<512x512xf32>) {
  ^bb0(%y: f32):
    memref.store %y, %log[] : memref<f32>
    linalg.yield %y : f32
  }
  return
}
