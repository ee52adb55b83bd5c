// The CPU target's pipelines as partita runs them (`partita run -v` prints
// the second one with its options): the matmul calls OpenBLAS, the nests
// above the threshold go through the thread pool, outlined nests stay out of
// line; each switch turns its part off.
// RUN: partita-opt %s --graph-to-linalg --partita-cpu-bufferize '--partita-cpu-lower-to-llvm=blas=1 math-approx=1 parallel-loops=1 parallel-min-iterations=1024' | FileCheck %s
// RUN: partita-opt %s --graph-to-linalg --partita-cpu-bufferize '--partita-cpu-lower-to-llvm=blas=0 parallel-loops=0' | FileCheck %s --check-prefix=OFF
// RUN: partita run %s -v --print-limit 0 2>&1 | FileCheck %s --check-prefix=DRIVER

// CHECK: llvm.func internal @main_nest0(
// CHECK-SAME: no_inline
// CHECK: llvm.func @main(
// CHECK: llvm.call @partita_parallel_for(
// CHECK: llvm.call @partita_contract_f32(
// OFF-NOT: partita_contract_f32
// OFF-NOT: partita_parallel_for
// DRIVER: partita: CPU pipeline: partita-cpu-lower-to-llvm{blas=1 math-approx=1 parallel-loops=1 parallel-min-iterations=32768}
func.func @main(%x: tensor<64x64xf32>, %w: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %0 = graph.matmul %x, %w : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  %1 = graph.tanh %0 : tensor<64x64xf32>
  return %1 : tensor<64x64xf32>
}
