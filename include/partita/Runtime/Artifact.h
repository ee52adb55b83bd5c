//===- Artifact.h - compiled CPU artifacts ----------------------*- C++ -*-===//
//
// An artifact is a directory:
//   artifact.json   format/version (2), source, inputs and outputs (name,
//                   dtype, shape; `value` names an .npy for specialized
//                   inputs), the weights table (dtype, shape, offset, bytes)
//   model.mlirbc    @main lowered to the LLVM dialect, MLIR bytecode; the
//                   weights are @main arguments, not in the code
//   weights.bin     the weights at 64-byte-aligned offsets, mapped read-only
//                   when the artifact runs
//   input_K.npy     values of specialized inputs, when any
// Running it only translates to LLVM IR and JIT-compiles (docs/runtime.md).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_ARTIFACT_H
#define PARTITA_RUNTIME_ARTIFACT_H

#include "partita/Runtime/Compiler.h"

#include "mlir/IR/OwningOpRef.h"

namespace partita {

/// A directory holding artifact.json.
bool isArtifact(llvm::StringRef path);

mlir::LogicalResult writeArtifact(llvm::StringRef dir, mlir::ModuleOp llvmModule,
                                  const ModelSignature &signature,
                                  llvm::StringRef source);

/// Loads the module and fills `signature`; null after a diagnostic.
mlir::OwningOpRef<mlir::ModuleOp> readArtifact(mlir::MLIRContext &ctx,
                                               llvm::StringRef dir,
                                               ModelSignature &signature);

} // namespace partita

#endif // PARTITA_RUNTIME_ARTIFACT_H
