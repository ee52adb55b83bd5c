// RUN: partita-opt %s --pass-pipeline='builtin.module(func.func(partita-gpu-device-memory))' | FileCheck %s

memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>

// Temporaries are device allocations, whole-buffer copies device copies, and
// a constant the code kept is copied to the device once, at the start, and
// freed before the return (as is a hoisted alloca).
// CHECK-LABEL: func.func @main
// CHECK:      %[[HOST:.*]] = memref.get_global @table : memref<4xf32>
// CHECK-NEXT: %[[DEV:.*]] = gpu.alloc  () : memref<4xf32>
// CHECK-NEXT: gpu.memcpy  %[[DEV]], %[[HOST]] : memref<4xf32>, memref<4xf32>
// CHECK:      %[[TMP:.*]] = gpu.alloc  () : memref<4xf32>
// CHECK:      %[[STACK:.*]] = gpu.alloc  () : memref<2xf32>
// CHECK:      gpu.memcpy  %[[TMP]], %[[DEV]]
// CHECK:      gpu.memcpy  %{{.*}}, %[[TMP]]
// CHECK:      gpu.dealloc  %[[TMP]]
// CHECK:      gpu.dealloc  %[[STACK]]
// CHECK:      gpu.dealloc  %[[DEV]]
// CHECK-NEXT: return
// CHECK-NOT:  memref.alloc
func.func @main(%out: memref<4xf32>) {
  %t = memref.alloc() : memref<4xf32>
  %s = memref.alloca() : memref<2xf32>
  %g = memref.get_global @table : memref<4xf32>
  memref.copy %g, %t : memref<4xf32> to memref<4xf32>
  %g2 = memref.get_global @table : memref<4xf32>
  memref.copy %t, %out : memref<4xf32> to memref<4xf32>
  memref.dealloc %t : memref<4xf32>
  return
}
