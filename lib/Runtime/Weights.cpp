//===- Weights.cpp - model weights passed to @main as arguments -----------===//

#include "partita/Runtime/Weights.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace partita {

/// A view of the attribute's bytes when they are laid out as the runtime
/// binds them (row-major, one element per dtypeBytes, aligned); else a copy.
static std::optional<WeightBuffer> bufferOf(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  std::optional<DType> dt = dtypeOf(type.getElementType());
  if (!dt)
    return std::nullopt;
  WeightBuffer w;
  w.dtype = *dt;
  w.shape.assign(type.getShape().begin(), type.getShape().end());
  size_t expected = size_t(type.getNumElements()) * dtypeBytes(*dt);
  ArrayRef<char> raw;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    // Booleans are bit-packed in the attribute; splats hold one element.
    if (*dt != DType::I1 && !dense.isSplat())
      raw = dense.getRawData();
  } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      raw = blob->getData();
  }
  auto aligned = [&](const char *p) {
    return reinterpret_cast<uintptr_t>(p) % dtypeBytes(*dt) == 0;
  };
  if (raw.size() == expected && aligned(raw.data())) {
    w.data = reinterpret_cast<const uint8_t *>(raw.data());
    w.numBytes = raw.size();
    return w;
  }
  if (raw.size() == expected && isa<DenseResourceElementsAttr>(attr)) {
    w.unaligned = reinterpret_cast<const uint8_t *>(raw.data());
    w.numBytes = raw.size();
    return w;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  std::optional<HostTensor> copy = dense ? tensorFromAttr(dense) : std::nullopt;
  if (!copy)
    return std::nullopt;
  auto owned = std::make_shared<HostTensor>(std::move(*copy));
  w.data = owned->data.data();
  w.numBytes = owned->numBytes();
  w.owner = owned;
  return w;
}

void outlineWeights(func::FuncOp main, int64_t minBytes,
                    std::vector<WeightBuffer> &weights) {
  if (main.isExternal())
    return;
  SmallVector<arith::ConstantOp> candidates;
  main.walk([&](arith::ConstantOp op) {
    auto type = dyn_cast<RankedTensorType>(op.getType());
    auto attr = dyn_cast<ElementsAttr>(op.getValue());
    if (!type || !type.hasStaticShape() || !attr || attr.isSplat())
      return;
    std::optional<DType> dt = dtypeOf(type.getElementType());
    if (dt && int64_t(type.getNumElements() * dtypeBytes(*dt)) >= minBytes)
      candidates.push_back(op);
  });
  llvm::DenseMap<Attribute, BlockArgument> argOf;
  for (arith::ConstantOp op : candidates) {
    Attribute value = op.getValue();
    auto it = argOf.find(value);
    if (it == argOf.end()) {
      std::optional<WeightBuffer> buffer = bufferOf(cast<ElementsAttr>(value));
      if (!buffer)
        continue;
      unsigned index = main.getNumArguments();
      if (failed(main.insertArgument(index, op.getType(), DictionaryAttr(), op.getLoc())))
        continue;
      weights.push_back(std::move(*buffer));
      it = argOf.try_emplace(value, main.getArgument(index)).first;
    }
    op.replaceAllUsesWith(it->second);
    op.erase();
  }
}

} // namespace partita
