// RUN: partita-opt %s --partita-contractions-to-calls | FileCheck %s
//
// GEMM-class linalg ops on memrefs become calls into the BLAS runtime
// (include/partita/Runtime/Contraction.h): operands as unranked memrefs, then
// the loop count and, per operand, nibble i = the loop indexing dimension i.

// CHECK-LABEL: func.func @mm
// CHECK: %[[A:.*]] = memref.cast %arg0 : memref<4x8xf32> to memref<*xf32>
// CHECK: %[[B:.*]] = memref.cast %arg1
// CHECK: %[[C:.*]] = memref.cast %arg2
// CHECK-DAG: %[[L:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[MA:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[MB:.*]] = arith.constant 18 : i64
// CHECK-DAG: %[[MC:.*]] = arith.constant 16 : i64
// CHECK: call @partita_contract_f32(%[[A]], %[[B]], %[[C]], %[[L]], %[[MA]], %[[MB]], %[[MC]])
// CHECK-NOT: linalg.matmul
func.func @mm(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}
// Batch: 4 loops (b, m, n, k); A = (b, m, k) -> 0x310 = 784.
// CHECK-LABEL: func.func @bmm
// CHECK-DAG: arith.constant 784 : i64
// CHECK-DAG: arith.constant 560 : i64
// CHECK-DAG: arith.constant 528 : i64
// CHECK: call @partita_contract_f64(
func.func @bmm(%a: memref<2x4x8xf64>, %b: memref<2x8x16xf64>, %c: memref<2x4x16xf64>) {
  linalg.batch_matmul ins(%a, %b : memref<2x4x8xf64>, memref<2x8x16xf64>) outs(%c : memref<2x4x16xf64>)
  return
}
// f16 has no BLAS routine here: the matmul stays a loop nest.
// CHECK-LABEL: func.func @half
// CHECK: linalg.matmul
// CHECK-NOT: call
func.func @half(%a: memref<4x8xf16>, %b: memref<8x16xf16>, %c: memref<4x16xf16>) {
  linalg.matmul ins(%a, %b : memref<4x8xf16>, memref<8x16xf16>) outs(%c : memref<4x16xf16>)
  return
}
// B is indexed (n, k): a transposed operand, mapB nibbles = [2, 1].
// CHECK-LABEL: func.func @generic_nt
// CHECK-DAG: arith.constant 33 : i64
// CHECK: call @partita_contract_f32(
func.func @generic_nt(%a: memref<4x8xf32>, %b: memref<16x8xf32>, %c: memref<4x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : memref<4x8xf32>, memref<16x8xf32>) outs(%c : memref<4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %z, %p : f32
    linalg.yield %s : f32
  }
  return
}
// Not a contraction (max instead of add): stays a loop nest.
// CHECK-LABEL: func.func @not_contraction
// CHECK: linalg.generic
// CHECK-NOT: call
func.func @not_contraction(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.maximumf %z, %p : f32
    linalg.yield %s : f32
  }
  return
}
