//===- Executor.h - run a lowered @main in-process --------------*- C++ -*-===//
//
// JIT-compiles an LLVM-dialect module with mlir::ExecutionEngine (ORC, host
// CPU features, LLVM -O2 by default, -O3 codegen) and calls @main through its C interface: every input
// and output is passed as a pointer to a ranked memref descriptor
//   { T *allocated, T *aligned, int64 offset, int64 sizes[R], int64 strides[R] }
// built here for any rank. Outputs are out-params (see
// buildCpuBufferizePipeline), allocated by the executor: the JIT-ed code never
// hands a buffer back, so there is nothing to free or leak. A module compiled
// for the CUDA target gets device copies of every argument (the weights
// once), made and read back here; without a usable GPU, create() fails with
// "no CUDA device: <why>".
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_EXECUTOR_H
#define PARTITA_RUNTIME_EXECUTOR_H

#include "partita/Runtime/Compiler.h"

#include <memory>

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace partita {

class Executor {
public:
  ~Executor();
  /// Emits a diagnostic and returns null when JIT compilation fails.
  static std::unique_ptr<Executor> create(mlir::ModuleOp llvmModule,
                                          ModelSignature signature,
                                          unsigned optLevel = 2);
  const ModelSignature &signature() const { return sig; }
  /// `inputs` must match the signature (the driver checks and reports);
  /// `outputs` is resized and filled.
  llvm::Error run(llvm::ArrayRef<HostTensor> inputs, std::vector<HostTensor> &outputs);

private:
  Executor() = default;
  /// One of @main's memref arguments.
  struct Argument {
    void *data;
    llvm::ArrayRef<int64_t> shape;
    size_t bytes;
  };
  /// Calls @main through its C interface on these buffers.
  llvm::Error invokeMain(llvm::ArrayRef<Argument> arguments);
  /// The CUDA backend of run(): inputs, weights (once) and outputs in device
  /// memory, copied around the call.
  llvm::Error runOnDevice(llvm::ArrayRef<Argument> host, size_t numInputs, size_t numOutputs);
  std::unique_ptr<mlir::ExecutionEngine> engine;
  ModelSignature sig;
  /// Compiled for the CUDA target (module attribute partita.target).
  bool cuda = false;
  std::vector<void *> deviceWeights;
};

} // namespace partita

#endif // PARTITA_RUNTIME_EXECUTOR_H
