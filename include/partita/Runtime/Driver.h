//===- Driver.h - `partita compile` and `partita run` -----------*- C++ -*-===//
//
// The logic behind the two CLI subcommands; tools/partita only parses flags.
// Every failure is a one-line diagnostic and a non-zero return.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_DRIVER_H
#define PARTITA_RUNTIME_DRIVER_H

#include "partita/Runtime/Compiler.h"

#include "mlir/IR/OwningOpRef.h"

#include <functional>

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

int runCompileCommand(mlir::MLIRContext &ctx, llvm::StringRef input,
                      llvm::StringRef output, const CompileOptions &options,
                      const ModelLoader &load);

int runRunCommand(mlir::MLIRContext &ctx, llvm::StringRef input,
                  const RunOptions &options, const ModelLoader &load);

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
