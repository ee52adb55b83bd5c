//===- GraphShapeOps.cpp - data movement ops and their folders ------------===//

#include "dialects/Graph/IR/GraphInference.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;

#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphShapeOps.cpp.inc"

namespace partita::graph {
namespace detail {
OpFoldResult foldConcatConstants(ArrayRef<Attribute> operands,
                                 RankedTensorType type, int64_t axis);
OpFoldResult foldSliceConstant(Attribute input, RankedTensorType type,
                               ArrayRef<int64_t> starts, ArrayRef<int64_t> steps);
} // namespace detail

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

StringRef ConstantOp::getInitializerName() {
  auto name = dyn_cast<NameLoc>(getLoc());
  if (!name)
    return "";
  auto file = dyn_cast<FileLineColLoc>(name.getChildLoc());
  if (!file || file.getLine() != 0)
    return "";
  return name.getName().getValue();
}

bool ConstantOp::isTrainableInitializer() {
  auto type = cast<RankedTensorType>(getType());
  return !getInitializerName().empty() && type.getRank() > 0 &&
         isa<FloatType>(type.getElementType());
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  // reshape(reshape(x)) == reshape(x): only the final shape matters.
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  // Reshaping a dense constant is free: the elements keep their order.
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    return dense.reshape(getType());
  return {};
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = true;
  for (auto [i, p] : llvm::enumerate(perm))
    identity &= (int64_t)i == p;
  if (identity)
    return getInput();
  // transpose(transpose(x, p1), p2) == transpose(x, p1[p2[i]]).
  if (auto inner = getInput().getDefiningOp<TransposeOp>()) {
    ArrayRef<int64_t> innerPerm = inner.getPerm();
    SmallVector<int64_t> composed;
    for (int64_t p : perm)
      composed.push_back(innerPerm[p]);
    getInputMutable().assign(inner.getInput());
    setPerm(composed);
    return getResult();
  }
  return {};
}

OpFoldResult ExpandOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

OpFoldResult TileOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1)
    return getInputs().front();
  int64_t axis = getAxis() < 0 ? getAxis() + getType().getRank() : getAxis();
  return detail::foldConcatConstants(adaptor.getInputs(), getType(), axis);
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  // Slicing everything with unit steps returns the input.
  if (getInput().getType() == getType() &&
      llvm::all_of(getSteps(), [](int64_t s) { return s == 1; }))
    return getInput();
  return detail::foldSliceConstant(adaptor.getInput(), getType(), getStarts(),
                                   getSteps());
}

} // namespace partita::graph
