//===- Pipeline.cpp - the CUDA target's lowering pipeline ------------------===//
//
// See include/partita/Target/CUDA.h. After Partita's own passes (cuBLAS
// calls, loop nests to launches, device memory, the host check) the kernels
// are outlined, the host's GPU ops chained on a stream (gpu-async-region), and
// upstream's NVVM pipeline compiles the kernels to cubin with ptxas and the
// host to LLVM calls of the mgpu* runtime.
//
//===----------------------------------------------------------------------===//

#include "partita/Target/CUDA.h"

#include "Passes.h"
#include "lib/Target/CPU/Passes.h"
#include "partita/Target/CPU.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUCommon/GPUToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToFuncs/MathToFuncs.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

#include <cstdlib>

#ifndef PARTITA_CUDA_TOOLKIT
#define PARTITA_CUDA_TOOLKIT "/usr/local/cuda"
#endif

using namespace mlir;

namespace partita {

std::string cudaToolkitPath() {
  if (const char *home = std::getenv("CUDA_HOME"))
    return home;
  return PARTITA_CUDA_TOOLKIT;
}

void registerCudaBackendDialects(DialectRegistry &registry) {
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect>();
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  // convert-gpu-to-nvvm lowers a kernel's other dialects through their
  // ConvertToLLVM interfaces; without one (cf, say) a kernel's branches keep
  // index operands while their blocks take i64.
  arith::registerConvertArithToLLVMInterface(registry);
  cf::registerConvertControlFlowToLLVMInterface(registry);
  gpu::registerConvertGpuToLLVMInterface(registry);
  index::registerConvertIndexToLLVMInterface(registry);
  NVVM::registerConvertGpuToNVVMInterface(registry);
  registerConvertFuncToLLVMInterface(registry);
  registerConvertMathToLLVMInterface(registry);
  registerConvertMemRefToLLVMInterface(registry);
  registerConvertNVVMToLLVMInterface(registry);
  ub::registerConvertUBToLLVMInterface(registry);
}

void buildCudaLowerToLLVMPipeline(OpPassManager &pm, const CudaTargetOptions &options) {
  // MLIR's NVVM serializer finds ptxas and libdevice through CUDA_HOME.
  setenv("CUDA_HOME", cudaToolkitPath().c_str(), /*overwrite=*/0);
  cpu::ContractionsToCallsOptions contractions;
  contractions.calleePrefix = "partita_cuda_contract";
  contractions.staticLayoutsOnly = true;
  pm.addPass(cpu::createContractionsToCalls(contractions));
  // Integer powers and bit counts have no NVVM lowering: MLIR functions,
  // which kernel outlining copies into the kernels' module.
  pm.addPass(createConvertMathToFuncs());
  cuda::GpuMapLoopNestsOptions map;
  map.blockSize = options.blockSize;
  pm.addPass(cuda::createGpuMapLoopNests(map));
  pm.addNestedPass<func::FuncOp>(cuda::createGpuDeviceMemory());
  pm.addPass(cuda::createGpuCheckHost());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  gpu::GPUToNVVMPipelineOptions nvvm;
  nvvm.cubinChip = options.chip;
  nvvm.cubinFeatures = options.features;
  nvvm.cubinFormat = options.format;
  nvvm.optLevel = 3;
  gpu::buildLowerToNVVMPassPipeline(pm, nvvm);
}

void buildCudaEmulationPipeline(OpPassManager &pm, const CudaTargetOptions &options) {
  cpu::ContractionsToCallsOptions contractions;
  contractions.staticLayoutsOnly = true;
  pm.addPass(cpu::createContractionsToCalls(contractions));
  cuda::GpuMapLoopNestsOptions map;
  map.blockSize = options.blockSize;
  map.launch = false;
  pm.addPass(cuda::createGpuMapLoopNests(map));
  CpuTargetOptions cpuOptions;
  cpuOptions.blas = false;          // done above, as for cuBLAS
  cpuOptions.parallelLoops = false; // takes linalg nests, not mapped loops
  buildCpuLowerToLLVMPipeline(pm, cpuOptions);
}

void registerCudaPipelines() {
  cuda::registerCUDAPasses();
  PassPipelineRegistration<CudaTargetOptions>(
      "partita-cuda-emulate-on-cpu",
      "The CUDA target's mapping of loop nests (blocks x threads, guards, reductions in "
      "the thread, sunk loads, one-thread code) run on the CPU, to check it without a GPU",
      buildCudaEmulationPipeline);
  PassPipelineRegistration<CudaTargetOptions>(
      "partita-cuda-lower-to-llvm",
      "CUDA target: bufferized linalg to host LLVM calling cuBLAS and launching embedded "
      "cubin kernels",
      buildCudaLowerToLLVMPipeline);
}

} // namespace partita
