// RUN: partita-opt %s --partita-parallel-calls -verify-diagnostics

// expected-error @+1 {{split loop nest @nest does not end in (i64 lo, i64 hi) or returns a value}}
llvm.func @nest(%p: !llvm.ptr, %lo: i32) attributes {partita.parallel = 64 : i64} {
  llvm.return
}
llvm.func @main(%p: !llvm.ptr) {
  %lo = llvm.mlir.constant(0 : i32) : i32
  llvm.call @nest(%p, %lo) : (!llvm.ptr, i32) -> ()
  llvm.return
}
