//===- Compiler.h - lower @main to LLVM for the CPU backend -----*- C++ -*-===//
//
// lowerToLLVM takes @main from the graph dialect (or upstream dialects on
// tensors) to the LLVM dialect for a target, ready for mlir::ExecutionEngine
// or for an artifact, by running registered pipelines by name: the CPU's
// (include/partita/Target/CPU.h) or the CUDA's (Target/CUDA.h).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_COMPILER_H
#define PARTITA_RUNTIME_COMPILER_H

#include "partita/Runtime/Tensor.h"
#include "partita/Runtime/Weights.h"

#include "mlir/IR/BuiltinOps.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class DialectRegistry;
class OpPassManager;
} // namespace mlir

namespace partita {

struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// For inputs the importer specialized (`graph.specialized`): the value
  /// baked into the code, used when no input is given.
  std::optional<HostTensor> value;
};

/// @main's inputs and outputs, in order, and the weights lowerToLLVM turned
/// into arguments: the compiled @main takes (inputs..., weights..., outputs...).
struct ModelSignature {
  std::vector<TensorSpec> inputs, outputs;
  std::vector<WeightBuffer> weights;
};

struct CompileOptions {
  /// Print each stage and its wall time to stderr.
  bool verbose = false;
  /// PassManager::enableIRPrinting for every stage.
  bool printIRAfterAll = false;
  /// The pass or pipeline that lowers the graph dialect, looked up in the
  /// pass registry; empty: `graph-to-linalg` if registered, else
  /// `convert-graph-to-linalg`.
  std::string graphLoweringPass;
  /// Constants of @main with at least this many bytes become arguments
  /// (Weights.h); negative: every constant stays in the code.
  int64_t weightMinBytes = kDefaultWeightMinBytes;
  /// "cpu", or "cuda": after bufferization the registered pipeline
  /// `partita-cuda-lower-to-llvm` (include/partita/Target/CUDA.h) instead
  /// of the CPU's; the module is marked `partita.target = "cuda"`.
  /// "cuda-on-cpu": the CUDA target's loop mapping run on the CPU
  /// (`partita-cuda-emulate-on-cpu`), to check it without a GPU.
  std::string target = "cpu";
  /// The CUDA target's GPU architecture; empty: the device's when the CUDA
  /// runtime is initialized (cudaDeviceProblem), else sm_90.
  std::string cudaChip;
  /// Where the CUDA target writes each kernel module's object
  /// (`<module>.cubin`, or `.ptx` with cudaFormat "isa"); empty: nowhere.
  std::string cudaKernelDir;
  /// The kernels' object format: "bin" (cubin, default), "isa" (PTX the
  /// driver compiles at load), "fatbin".
  std::string cudaFormat = "bin";
};

/// For the CUDA target: empty when this process has a usable GPU (the CUDA
/// runtime is then initialized on it, runtime/CudaRuntime.h), else the
/// one-line reason ("no CUDA device: ..."). Callers check it before
/// compiling, so a machine without a GPU fails fast.
std::string cudaDeviceProblem();

/// The target lowerToLLVM compiled `module` for ("cpu" when unmarked).
std::string compiledTarget(mlir::ModuleOp module);

/// A size field of /proc/self/status ("VmRSS", "VmHWM", ...) in MiB; -1
/// when it cannot be read.
double processStatusMiB(llvm::StringRef field);

/// Prints "partita: stage <stage>: <ms> ms (resident <MiB> MiB)" to stderr
/// when verbose; collects the total.
struct StageTimer {
  bool verbose = false;
  double totalSeconds = 0;
  void record(llvm::StringRef stage, double seconds);
};

/// Reads @main's signature from the tensor-level module (before lowering).
/// Fails with "dtype X is not supported by the CPU backend" and similar.
mlir::FailureOr<ModelSignature> getSignature(mlir::ModuleOp module);

/// Lowers `module` in place to the LLVM dialect; @main gets
/// `llvm.emit_c_interface`. With `signature`, @main's large constants become
/// arguments recorded in `signature->weights` (options.weightMinBytes);
/// without, they are compiled into the code. Emits diagnostics on failure.
mlir::LogicalResult lowerToLLVM(mlir::ModuleOp module, const CompileOptions &options,
                                StageTimer &timer, ModelSignature *signature = nullptr);

} // namespace partita

#endif // PARTITA_RUNTIME_COMPILER_H
