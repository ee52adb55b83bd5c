// RUN: partita-opt %s --partita-parallel-calls | FileCheck %s
//
// On the LLVM dialect, each call of a split loop nest (partita.parallel, last
// two arguments lo and hi) goes through partita_parallel_for: the other
// arguments are stored into a struct in the caller's entry block, and a
// trampoline loads them back and calls the nest on the sub-range it is given.
// Calls of other functions are left alone.

// CHECK-LABEL: llvm.func @nest(
// CHECK-LABEL: llvm.func internal @nest_task(
// CHECK-SAME: %[[CTX:.*]]: !llvm.ptr, %[[LO:.*]]: i64, %[[HI:.*]]: i64)
// CHECK: %[[P0:.*]] = llvm.getelementptr %[[CTX]][0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr, i64, f32)>
// CHECK: %[[A0:.*]] = llvm.load %[[P0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[P1:.*]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK: %[[A1:.*]] = llvm.load %[[P1]] : !llvm.ptr -> i64
// CHECK: %[[P2:.*]] = llvm.getelementptr %[[CTX]][0, 2]
// CHECK: %[[A2:.*]] = llvm.load %[[P2]] : !llvm.ptr -> f32
// CHECK: llvm.call @nest(%[[A0]], %[[A1]], %[[A2]], %[[LO]], %[[HI]])
// CHECK: llvm.return
llvm.func @nest(%p: !llvm.ptr, %n: i64, %s: f32, %lo: i64, %hi: i64) attributes {partita.parallel = 64 : i64} {
  llvm.return
}
llvm.func @serial(%p: !llvm.ptr)

// CHECK-LABEL: llvm.func @main(
// CHECK-SAME: %[[P:.*]]: !llvm.ptr, %[[S:.*]]: f32)
// CHECK: %[[ONE:.*]] = llvm.mlir.constant(1 : i64) : i64
// CHECK: %[[SLOT:.*]] = llvm.alloca %[[ONE]] x !llvm.struct<(ptr, i64, f32)>
// CHECK: llvm.call @serial(%[[P]])
// CHECK: %[[F0:.*]] = llvm.getelementptr %[[SLOT]][0, 0]
// CHECK: llvm.store %[[P]], %[[F0]]
// CHECK: %[[F1:.*]] = llvm.getelementptr %[[SLOT]][0, 1]
// CHECK: llvm.store %{{.*}}, %[[F1]]
// CHECK: %[[F2:.*]] = llvm.getelementptr %[[SLOT]][0, 2]
// CHECK: llvm.store %[[S]], %[[F2]]
// CHECK: %[[FN:.*]] = llvm.mlir.addressof @nest_task : !llvm.ptr
// CHECK: llvm.call @partita_parallel_for(%[[FN]], %[[SLOT]], %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, i64, i64) -> ()
// CHECK-NOT: llvm.call @nest(
// CHECK: llvm.return
// CHECK: llvm.func @partita_parallel_for(!llvm.ptr, !llvm.ptr, i64, i64)
llvm.func @main(%p: !llvm.ptr, %s: f32) {
  %n = llvm.mlir.constant(1024 : i64) : i64
  %lo = llvm.mlir.constant(0 : i64) : i64
  %hi = llvm.mlir.constant(64 : i64) : i64
  llvm.call @serial(%p) : (!llvm.ptr) -> ()
  llvm.call @nest(%p, %n, %s, %lo, %hi) : (!llvm.ptr, i64, f32, i64, i64) -> ()
  llvm.return
}
