// RUN: partita-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(partita-gpu-map-loop-nests)'

// A value loaded on the device cannot feed a host call.
func.func private @consume(f32)
func.func @device_value_on_host(%m: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %v = memref.load %m[%c0] : memref<4xf32>
  // expected-error @+1 {{uses a value computed on the device; the CUDA target cannot keep it on the host}}
  func.call @consume(%v) : (f32) -> ()
  return
}

// -----

// Linalg on tensors: bufferization did not run.
func.func @tensors(%t: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{is on tensors after bufferization}}
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      outs(%t : tensor<4xf32>) {
  ^bb0(%x: f32):
    linalg.yield %x : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// A parallel loop that reduces into results.
func.func @reducing_loop(%m: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @+1 {{with reductions cannot be mapped to GPU threads}}
  %s = scf.parallel (%i) = (%c0) to (%c4) step (%c1) init (%zero) -> f32 {
    %v = memref.load %m[%i] : memref<4xf32>
    scf.reduce(%v : f32) {
    ^bb0(%a: f32, %b: f32):
      %r = arith.addf %a, %b : f32
      scf.reduce.return %r : f32
    }
  }
  return %s : f32
}
