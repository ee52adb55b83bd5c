// RUN: partita-opt %s --partita-outline-loop-nests | FileCheck %s
// RUN: partita-opt %s --partita-outline-loop-nests --partita-outline-loop-nests | FileCheck %s --check-prefix=TWICE
//
// Each top-level op with regions moves into its own private, never-inlined
// function; constants it uses are cloned in, other captured values (operands,
// values used inside its regions) become arguments. Ops without regions
// (allocations, deallocations, calls) stay.

// CHECK-LABEL: func.func private @main_nest0(
// CHECK-SAME: %[[A:.*]]: memref<4x8xf32>, %[[T:.*]]: memref<4x8xf32>, %[[S:.*]]: f32)
// CHECK-SAME: attributes {no_inline, partita.outlined}
// CHECK: %[[TWO:.*]] = arith.constant 2.0
// CHECK: linalg.generic
// CHECK: arith.mulf %{{.*}}, %[[TWO]]
// CHECK: arith.addf %{{.*}}, %[[S]]
// CHECK: return

// CHECK-LABEL: func.func private @main_nest1(
// CHECK-SAME: %{{.*}}: memref<4x8xf32>, %{{.*}}: memref<4x8xf32>)
// CHECK: linalg.copy

// CHECK-LABEL: func.func @main(
// CHECK: %[[SHIFT:.*]] = memref.load
// CHECK: %[[ALLOC:.*]] = memref.alloc()
// CHECK: call @main_nest0(%arg0, %[[ALLOC]], %[[SHIFT]])
// CHECK: call @main_nest1(%[[ALLOC]], %arg1)
// CHECK: memref.dealloc %[[ALLOC]]
// CHECK-NOT: linalg.

// Outlined functions are not outlined again.
// TWICE-COUNT-2: func.func private @main_nest
// TWICE-NOT: func.func private @main_nest0_nest
func.func @main(%a: memref<4x8xf32>, %b: memref<4x8xf32>, %shift: memref<f32>) {
  %c = arith.constant 2.0 : f32
  %s = memref.load %shift[] : memref<f32>
  %t = memref.alloc() : memref<4x8xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%a : memref<4x8xf32>) outs(%t : memref<4x8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %m = arith.mulf %x, %c : f32
    %n = arith.addf %m, %s : f32
    linalg.yield %n : f32
  }
  linalg.copy ins(%t : memref<4x8xf32>) outs(%b : memref<4x8xf32>)
  memref.dealloc %t : memref<4x8xf32>
  return
}
