//===- CUDA.h - the CUDA target: bufferized linalg to host LLVM + cubin -*- C++ -*-===//
//
// The CUDA target lowers the same bufferized module the CPU target starts
// from (buildCpuBufferizePipeline):
//
//   contractions      -> calls into cuBLAS (partita_cuda_contract_*)
//   other loop nests  -> gpu.launch, one thread per output element
//                        (partita-gpu-map-loop-nests)
//   host buffers      -> device memory (partita-gpu-device-memory)
//   check             -> nothing touches memory on the host (partita-gpu-check-host)
//   kernels           -> NVVM -> PTX -> cubin (ptxas), embedded in the host module
//   host              -> LLVM dialect calling the mgpu* runtime (runtime/CudaRuntime.cpp)
//
// `partita-cuda-lower-to-llvm` is the registered pipeline; `partita run
// --target cuda` and `partita compile --target cuda` run exactly it.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_TARGET_CUDA_H
#define PARTITA_TARGET_CUDA_H

#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir {
class DialectRegistry;
class OpPassManager;
} // namespace mlir

namespace partita {

struct CudaTargetOptions : mlir::PassPipelineOptions<CudaTargetOptions> {
  Option<std::string> chip{*this, "chip", llvm::cl::desc("GPU architecture (sm_80, sm_90, ...)"),
                           llvm::cl::init("sm_90")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX features; PTX 8.0 is the first for sm_90"),
                               llvm::cl::init("+ptx80")};
  Option<std::string> format{*this, "format",
                             llvm::cl::desc("Kernel object: bin (cubin), isa (PTX), fatbin"),
                             llvm::cl::init("bin")};
  Option<int64_t> blockSize{*this, "block-size", llvm::cl::desc("Threads per block"),
                            llvm::cl::init(256)};
};

/// Dialects, interfaces and translations the pipeline and the JIT need (gpu,
/// nvvm, the NVVM target's serialization, gpu.binary embedding).
void registerCudaBackendDialects(mlir::DialectRegistry &registry);

/// The CUDA passes and `partita-cuda-lower-to-llvm` for partita-opt.
void registerCudaPipelines();

/// The pipeline described above; starts from a bufferized module.
void buildCudaLowerToLLVMPipeline(mlir::OpPassManager &pm, const CudaTargetOptions &options);

/// Checks the mapping without a GPU: contractions to (CPU) BLAS calls where
/// the CUDA target would call cuBLAS, partita-gpu-map-loop-nests without the
/// launch conversion, then the CPU target runs the mapped nests
/// (`partita run --target cuda-on-cpu`).
void buildCudaEmulationPipeline(mlir::OpPassManager &pm, const CudaTargetOptions &options);

/// The CUDA toolkit the kernels are compiled with (ptxas, libdevice):
/// CUDA_HOME if set, else the toolkit found when Partita was built.
std::string cudaToolkitPath();

} // namespace partita

#endif // PARTITA_TARGET_CUDA_H
