//===- GraphElementwiseOps.cpp - generated elementwise op definitions --------------===//

#include "dialects/Graph/IR/GraphInference.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;

#define GET_OP_CLASSES
#include "dialects/Graph/IR/GraphElementwiseOps.cpp.inc"

namespace partita::graph {
namespace detail {
OpFoldResult foldCastConstant(Attribute input, RankedTensorType type);
} // namespace detail

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  // A cast to the type the input already has is a no-op.
  if (getInput().getType() == getType())
    return getInput();
  return detail::foldCastConstant(adaptor.getInput(), getType());
}

} // namespace partita::graph
