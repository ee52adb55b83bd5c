// RUN: partita-opt %s --partita-dealloc-after-last-use | FileCheck %s
//
// Each dealloc moves up to just after the last use of its buffer, or of a
// view of it, in the allocating block; a buffer whose address escapes as an
// integer stays freed where it was.

// CHECK-LABEL: func.func @moves
// CHECK: %[[A:.*]] = memref.alloc() : memref<8xf32>
// CHECK: %[[B:.*]] = memref.alloc() : memref<8xf32>
// CHECK: linalg.copy ins(%arg0 : memref<8xf32>) outs(%[[A]] : memref<8xf32>)
// CHECK: %[[V:.*]] = memref.subview %[[A]][0] [4] [1]
// CHECK: linalg.copy ins(%[[V]] : {{.*}}) outs(%arg1 : memref<4xf32>)
// CHECK-NEXT: memref.dealloc %[[A]]
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[B]]
// CHECK: }
// CHECK-NEXT: memref.dealloc %[[B]]
// CHECK: linalg.copy ins(%arg0 : memref<8xf32>) outs(%arg2 : memref<8xf32>)
// CHECK-NEXT: return
func.func @moves(%in: memref<8xf32>, %out: memref<4xf32>, %out2: memref<8xf32>) {
  %a = memref.alloc() : memref<8xf32>
  %b = memref.alloc() : memref<8xf32>
  linalg.copy ins(%in : memref<8xf32>) outs(%a : memref<8xf32>)
  %v = memref.subview %a[0] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1]>>
  linalg.copy ins(%v : memref<4xf32, strided<[1]>>) outs(%out : memref<4xf32>)
  %c0 = arith.constant 0 : index
  %c8 = arith.constant 8 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  scf.for %i = %c0 to %c8 step %c1 {
    memref.store %f, %b[%i] : memref<8xf32>
  }
  linalg.copy ins(%in : memref<8xf32>) outs(%out2 : memref<8xf32>)
  memref.dealloc %a : memref<8xf32>
  memref.dealloc %b : memref<8xf32>
  return
}

// The raw address of %a goes to a runtime call later: its uses through the
// integer are invisible, so the dealloc stays at the end.
// CHECK-LABEL: func.func @escapes
// CHECK: %[[P:.*]] = memref.extract_aligned_pointer_as_index
// CHECK: call @use_address(%[[P]])
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: return
func.func private @use_address(index)
func.func @escapes(%in: memref<8xf32>) {
  %a = memref.alloc() : memref<8xf32>
  linalg.copy ins(%in : memref<8xf32>) outs(%a : memref<8xf32>)
  %p = memref.extract_aligned_pointer_as_index %a : memref<8xf32> -> index
  call @use_address(%p) : (index) -> ()
  memref.dealloc %a : memref<8xf32>
  return
}
