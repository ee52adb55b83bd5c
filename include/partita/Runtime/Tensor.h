//===- Tensor.h - host tensors for the CPU runtime --------------*- C++ -*-===//
//
// A HostTensor is a dense, row-major (C order) buffer with an element type
// from the set the CPU backend binds to memref descriptors. Booleans take one
// byte per element (numpy's layout and LLVM's in-memory i1).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_TENSOR_H
#define PARTITA_RUNTIME_TENSOR_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partita {

enum class DType { F16, BF16, F32, F64, I1, I8, I16, I32, I64, U8, U16, U32, U64 };

/// "f32", "bf16", "i1", "ui8", ... (MLIR's spelling).
llvm::StringRef dtypeName(DType t);
std::optional<DType> parseDType(llvm::StringRef name);
unsigned dtypeBytes(DType t);
bool isFloat(DType t);

/// The DType of an MLIR element type; nullopt for types the CPU backend does
/// not bind (complex, f8 variants, index, odd widths, ...).
std::optional<DType> dtypeOf(mlir::Type elementType);
mlir::Type mlirType(mlir::MLIRContext *ctx, DType t);

/// "2x3x4" ("scalar" for rank 0).
std::string shapeString(llvm::ArrayRef<int64_t> shape);

struct HostTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data; ///< numElements() * dtypeBytes(dtype) bytes

  HostTensor() = default;
  HostTensor(DType dtype, std::vector<int64_t> shape);
  int64_t numElements() const;
  size_t numBytes() const { return data.size(); }
  /// Element `i` (flat index) widened to double; exact for ints up to 2^53.
  double getDouble(int64_t i) const;
  /// Element `i` as int64 (integer and bool dtypes; u64 reinterpreted).
  int64_t getInt(int64_t i) const;
};

/// Copies an elements attribute (splat or not) into a host tensor. Fails for
/// element types dtypeOf rejects.
std::optional<HostTensor> tensorFromAttr(mlir::DenseElementsAttr attr);

/// Seeded random data: floats uniform in [-1, 1), integers in [0, 4), bools
/// 0/1. Small integer ranges keep random indices in bounds for most models.
HostTensor randomTensor(DType dtype, llvm::ArrayRef<int64_t> shape, uint64_t seed);

/// f16 / bf16 bit patterns <-> float.
float halfToFloat(uint16_t bits);
float bf16ToFloat(uint16_t bits);

} // namespace partita

#endif // PARTITA_RUNTIME_TENSOR_H
