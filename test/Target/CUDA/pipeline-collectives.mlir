// An SPMD program for the CUDA target: the all-reduce after the row-split
// matmul calls the collectives runtime with device pointers (NCCL on the
// rank's stream), between the cuBLAS call and the kernels.
// REQUIRES: cuda-toolkit
// RUN: partita-opt %s --convert-collectives-to-runtime --graph-to-linalg --partita-cpu-bufferize --partita-cuda-lower-to-llvm | FileCheck %s

// CHECK: llvm.func @main(
// CHECK: llvm.call @partita_cuda_contract_f32(
// CHECK: llvm.call @mgpuStreamSynchronize(
// CHECK: llvm.call @partita_all_reduce(
// CHECK: gpu.launch_func
// CHECK: llvm.call @mgpuMemFree(
sharding.mesh @mesh = <["data"=2, "model"=2]>
func.func @main(%x: tensor<4x6xf32>, %w: tensor<6x6xf32>) -> tensor<4x6xf32> {
  %m = graph.matmul %x, %w : (tensor<4x6xf32>, tensor<6x6xf32>) -> tensor<4x6xf32>
  %a = collectives.all_reduce %m on @mesh ["model"] {reduction = #collectives<reduction sum>} : tensor<4x6xf32>
  %r = graph.relu %a : tensor<4x6xf32>
  return %r : tensor<4x6xf32>
}
