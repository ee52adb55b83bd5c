//===- Driver.h - `partita compile` and `partita run` -----------*- C++ -*-===//
//
// The logic behind the two CLI subcommands; tools/partita only parses flags.
// Every failure is a one-line diagnostic and a non-zero return.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_DRIVER_H
#define PARTITA_RUNTIME_DRIVER_H

#include "partita/Runtime/Compiler.h"
#include "partita/Runtime/Tensor.h"

#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <optional>

namespace partita {

/// Imports INPUT (model.onnx, backend-test directory, .json, .mlir); null
/// after a diagnostic.
using ModelLoader =
    std::function<mlir::OwningOpRef<mlir::ModuleOp>(mlir::MLIRContext &, llvm::StringRef)>;

struct RunOptions {
  CompileOptions compile;
  /// .pb or .npy, one per model input, in order.
  std::vector<std::string> inputFiles;
  /// Expected outputs for --check (.pb or .npy); a backend-test directory
  /// supplies test_data_set_0/output_K.pb itself.
  std::vector<std::string> expectedFiles;
  /// Write output_K.npy here when set.
  std::string outputDir;
  bool check = false;
  /// Timed runs after one warm-up (0: run once, untimed).
  unsigned repeat = 0;
  uint64_t seed = 0;
  /// Elements printed per output (0: print none).
  unsigned printLimit = 16;
  /// LLVM optimization level for the JIT (see Executor::create).
  unsigned optLevel = 2;
};

/// `partita run --pipeline AXIS` (lib/Distributed/Pipelined.cpp).
struct PipelineRunOptions {
  std::string axis;                ///< the pipeline axis; empty: no pipeline
  std::vector<std::string> stages; ///< boundary tensors (stages - 1 of them)
  int64_t microbatches = 1;
  std::string schedule = "1f1b";
  std::string traceFile; ///< --trace FILE.json: the measured timeline
  /// --stage-memory-gb: what one stage's weights (training: with their
  /// gradients and optimizer state) may take on a device under --stages
  /// auto; 0: the cluster's device memory.
  double stageMemoryBytes = 0;
};

int runCompileCommand(mlir::MLIRContext &ctx, llvm::StringRef input,
                      llvm::StringRef output, const CompileOptions &options,
                      const ModelLoader &load);

int runRunCommand(mlir::MLIRContext &ctx, llvm::StringRef input,
                  const RunOptions &options, const ModelLoader &load);

/// Reads a .pb (ONNX TensorProto) or .npy tensor; null after a diagnostic.
/// Where `expected` is bf16 and the file holds uint16 (how ONNX's backend
/// tests store bfloat16), the bits are taken as bf16.
std::optional<HostTensor> readTensorFile(mlir::MLIRContext &ctx, llvm::StringRef path,
                                         std::optional<DType> expected = std::nullopt);

/// The model's inputs: from options.inputFiles, else a backend-test
/// directory's test_data_set_0, else seeded random data (an input with a
/// constant value keeps it). Null after a one-line diagnostic (file count,
/// dtype or shape that does not match the model).
std::optional<std::vector<HostTensor>> gatherInputs(mlir::MLIRContext &ctx,
                                                    llvm::StringRef input,
                                                    const ModelSignature &sig,
                                                    const RunOptions &options);

/// The expected outputs for --check: options.expectedFiles, else a
/// backend-test directory's; empty when there are none.
std::vector<std::string> expectedOutputFiles(llvm::StringRef input, const RunOptions &options);

/// Reads expected outputs, one file per model output; null after a
/// one-line diagnostic.
std::optional<std::vector<HostTensor>> readExpected(mlir::MLIRContext &ctx,
                                                    const ModelSignature &sig,
                                                    const std::vector<std::string> &files);

/// This process's peak resident set size so far, in MiB (VmHWM).
double peakRssMiB();

/// Whose machine code releaseCompilerMemory drops.
enum class CompilerCode { MLIR, MLIRAndLLVM };

/// Once a compilation phase is over: returns freed heap memory to the
/// system (malloc_trim) and drops the resident pages of MLIR's (and LLVM's)
/// machine code -- their libraries' executable mappings, which are never
/// written. MLIR's before the JIT (which only needs the LLVM dialect's
/// translation, faulted back in), both once the code is compiled. A page
/// still needed faults back in from the page cache. Only executable
/// mappings: a read-only one may be a relocated (written) RELRO segment,
/// which MADV_DONTNEED would reset to the file's contents.
void releaseCompilerMemory(CompilerCode which);

} // namespace partita

#endif // PARTITA_RUNTIME_DRIVER_H
