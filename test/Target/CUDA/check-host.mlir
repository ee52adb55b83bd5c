// RUN: partita-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(partita-gpu-check-host)'

// The check names what would run on the CPU against device memory.
func.func @host_load(%m: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.load' is left on the host outside a GPU kernel}}
  %v = memref.load %m[%c0] : memref<4xf32>
  return %v : f32
}

// -----

func.func @host_loop(%m: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %f = arith.constant 1.0 : f32
  // expected-error @+1 {{'scf.for' is left on the host outside a GPU kernel}}
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %f, %m[%i] : memref<4xf32>
  }
  return
}

// -----

// Launches, device memory and runtime calls pass.
func.func private @partita_cuda_contract_f32(memref<*xf32>)
func.func @ok(%m: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %d = gpu.alloc () : memref<4xf32>
  gpu.memcpy %d, %m : memref<4xf32>, memref<4xf32>
  gpu.launch blocks(%b0, %b1, %b2) in (%g0 = %c1, %g1 = %c1, %g2 = %c1)
             threads(%t0, %t1, %t2) in (%s0 = %c1, %s1 = %c1, %s2 = %c1) {
    %c0 = arith.constant 0 : index
    %v = memref.load %d[%c0] : memref<4xf32>
    memref.store %v, %m[%c0] : memref<4xf32>
    gpu.terminator
  }
  %u = memref.cast %d : memref<4xf32> to memref<*xf32>
  func.call @partita_cuda_contract_f32(%u) : (memref<*xf32>) -> ()
  gpu.dealloc %d : memref<4xf32>
  return
}
