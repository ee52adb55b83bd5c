// RUN: partita-opt %s --partita-math-approximation | FileCheck %s
//
// f32 exp and erf become polynomial arithmetic (no libm call, so the loops
// around them vectorize); other math ops and other types are left alone.

// CHECK-LABEL: func.func @approximated
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: math.fma
// CHECK: return
func.func @approximated(%x: f32) -> (f32, f32) {
  %e = math.exp %x : f32
  %r = math.erf %x : f32
  return %e, %r : f32, f32
}

// CHECK-LABEL: func.func @kept
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.tanh %{{.*}} : f32
func.func @kept(%x: f64, %y: f32) -> (f64, f32) {
  %e = math.exp %x : f64
  %t = math.tanh %y : f32
  return %e, %t : f64, f32
}
