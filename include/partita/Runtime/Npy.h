//===- Npy.h - numpy .npy reader and writer ---------------------*- C++ -*-===//
//
// Format versions 1.0-3.0, little-endian, C order, the dtypes of Tensor.h.
// numpy has no bfloat16: bf16 is written as 2-byte void ('|V2'), which numpy
// loads as raw bytes (view it as ml_dtypes.bfloat16), and read back as bf16.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_NPY_H
#define PARTITA_RUNTIME_NPY_H

#include "partita/Runtime/Tensor.h"

#include "llvm/Support/Error.h"

namespace partita {

/// Parses .npy bytes; the error says what is wrong with the header.
llvm::Expected<HostTensor> parseNpy(llvm::StringRef bytes);
llvm::Expected<HostTensor> readNpyFile(llvm::StringRef path);

/// Serializes as .npy version 1.0, the same bytes as numpy's np.save.
std::string serializeNpy(const HostTensor &t);
llvm::Error writeNpyFile(llvm::StringRef path, const HostTensor &t);

} // namespace partita

#endif // PARTITA_RUNTIME_NPY_H
