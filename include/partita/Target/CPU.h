//===- CPU.h - the CPU target: bufferized linalg to LLVM --------*- C++ -*-===//
//
// Both targets start from tensors lowered by graph-to-linalg; the CPU target
// owns the shared first half:
//
//   partita-cpu-bufferize      one-shot bufferization across function
//                              boundaries (identity layouts), results to
//                              caller-allocated out-params, deallocation
//                              after each temporary's last use
//
// then its own second half, `partita-cpu-lower-to-llvm`:
//
//   contractions      -> OpenBLAS calls (partita-contractions-to-calls)
//   exp/erf           -> polynomials that vectorize (partita-math-approximation)
//   loop nests        -> one never-inlined function each (partita-outline-loop-nests),
//                        large ones split over the thread pool
//                        (partita-parallelize-loop-nests, partita-parallel-calls)
//   everything        -> the LLVM dialect, for the ORC JIT or an artifact
//
// The passes are declared in lib/Target/CPU/Passes.td. `partita run` and
// `partita compile` run exactly the registered pipelines (printed with -v),
// so partita-opt reproduces them.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_TARGET_CPU_H
#define PARTITA_TARGET_CPU_H

#include "partita/Runtime/Parallel.h"

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class DialectRegistry;
class OpPassManager;
} // namespace mlir

namespace partita {

struct CpuTargetOptions : mlir::PassPipelineOptions<CpuTargetOptions> {
  Option<bool> blas{*this, "blas",
                    llvm::cl::desc("Contractions as OpenBLAS calls (else loop nests)"),
                    llvm::cl::init(true)};
  Option<bool> mathApprox{*this, "math-approx",
                          llvm::cl::desc("f32 exp/erf as vectorizable polynomials (else libm)"),
                          llvm::cl::init(true)};
  Option<bool> parallelLoops{*this, "parallel-loops",
                             llvm::cl::desc("Split large loop nests over the thread pool"),
                             llvm::cl::init(true)};
  Option<int64_t> parallelMinIterations{
      *this, "parallel-min-iterations",
      llvm::cl::desc("Nests with fewer iterations stay on one thread"),
      llvm::cl::init(kDefaultParallelMinIterations)};
};

/// The dialects and interface models both pipelines need (bufferization
/// models, LLVM IR translation).
void registerCpuBackendDialects(mlir::DialectRegistry &registry);

/// The CPU passes, `partita-cpu-bufferize` and `partita-cpu-lower-to-llvm`.
void registerCpuPipelines();

void buildCpuBufferizePipeline(mlir::OpPassManager &pm);
void buildCpuLowerToLLVMPipeline(mlir::OpPassManager &pm, const CpuTargetOptions &options);

} // namespace partita

#endif // PARTITA_TARGET_CPU_H
