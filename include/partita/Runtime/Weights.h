//===- Weights.h - model weights passed to @main as arguments ---*- C++ -*-===//
//
// The CPU backend does not compile weights into the code. Before
// bufferization, every large constant of @main (non-splat, at least
// `minBytes`) becomes an argument appended after the model's inputs, and the
// runtime passes a view of the bytes where they already are:
//   - compiling in-process: the constant's attribute in the MLIRContext
//     (no copy; the context outlives the executor);
//   - running an artifact: `weights.bin`, memory-mapped read-only.
// LLVM never sees the weights, so JIT time no longer grows with them and the
// process holds one copy instead of three (attribute, LLVM global, JIT-ed
// data section). docs/runtime.md, "Weights".
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_RUNTIME_WEIGHTS_H
#define PARTITA_RUNTIME_WEIGHTS_H

#include "partita/Runtime/Tensor.h"

#include "mlir/Support/LogicalResult.h"

#include <memory>

namespace mlir {
namespace func {
class FuncOp;
} // namespace func
} // namespace mlir

namespace partita {

/// A read-only weight: `numBytes` row-major bytes at `data`, aligned to the
/// element size. `owner` keeps the bytes alive when the MLIRContext does not
/// (a mapped file, or a converted copy).
struct WeightBuffer {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  size_t numBytes = 0;
  std::shared_ptr<const void> owner;
  /// Set instead of `data` when the bytes sit at an address not aligned for
  /// the dtype (an initializer read in place from a mapped ONNX file, see
  /// ImportOptions::mapWeights). The executor copies them into an owned
  /// buffer before the first run -- after compilation, so the copy and the
  /// compiler's peak memory are never resident together.
  const uint8_t *unaligned = nullptr;
  /// The bytes, aligned or not (for readers that copy them).
  const uint8_t *bytes() const { return data ? data : unaligned; }
};

/// Constants below this many bytes stay in the code, where LLVM can fold them.
constexpr int64_t kDefaultWeightMinBytes = 1024;

/// Replaces every non-splat `arith.constant` of a ranked tensor type with at
/// least `minBytes` bytes in `main` by a new trailing argument (one per
/// distinct value), and appends its buffer to `weights` in argument order.
/// Constants of element types the runtime does not bind stay in the code.
void outlineWeights(mlir::func::FuncOp main, int64_t minBytes,
                    std::vector<WeightBuffer> &weights);

} // namespace partita

#endif // PARTITA_RUNTIME_WEIGHTS_H
