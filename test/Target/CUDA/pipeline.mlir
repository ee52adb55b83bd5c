// The whole CUDA target from a graph-level model: the matmul goes to cuBLAS,
// the bias add and the softmax become kernels compiled by ptxas to a cubin for
// the chip asked for, the host calls the mgpu* runtime.
// REQUIRES: cuda-toolkit
// RUN: partita-opt %s --graph-to-linalg --partita-cpu-bufferize --partita-cuda-lower-to-llvm | FileCheck %s
// RUN: partita-opt %s --graph-to-linalg --partita-cpu-bufferize '--partita-cuda-lower-to-llvm=chip=sm_80 features=+ptx80' | FileCheck %s --check-prefix=SM80
// RUN: partita-opt %s --graph-to-linalg --partita-cpu-bufferize --partita-cuda-lower-to-llvm | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVM

// CHECK-NOT: scf.
// CHECK-NOT: memref.
// CHECK: llvm.func @main(
// CHECK: %[[STREAM:.*]] = llvm.call @mgpuStreamCreate()
// CHECK: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @{{.*}}::@{{.*}} blocks in
// CHECK: llvm.call @partita_cuda_contract_f32(
// CHECK: llvm.call @mgpuMemAlloc(
// CHECK: gpu.launch_func
// CHECK: gpu.binary @{{.*}} [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">, {{.*}}bin = "\7FELF
// SM80: #nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">

// The kernels are loaded when the module is, and launched through the runtime.
// LLVM: @llvm.global_ctors
// LLVM: define {{.*}}@main(
// LLVM: call {{.*}}@mgpuLaunchKernel(
// LLVM: call void @partita_cuda_contract_f32(
// LLVM: call ptr @mgpuModuleLoad(
func.func @main(%x: tensor<8x64xf32>, %w: tensor<64x32xf32>, %b: tensor<32xf32>) -> tensor<8x32xf32> {
  %0 = graph.matmul %x, %w : (tensor<8x64xf32>, tensor<64x32xf32>) -> tensor<8x32xf32>
  %1 = graph.add %0, %b : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %2 = graph.softmax %1 {axis = -1 : i64} : (tensor<8x32xf32>) -> tensor<8x32xf32>
  return %2 : tensor<8x32xf32>
}
