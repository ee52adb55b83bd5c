//===- GraphBuilder.cpp - building graph ops with inferred types ----------===//

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;

namespace partita::graph {

Operation *createInferred(OpBuilder &b, Location loc, StringRef name,
                          ValueRange operands, ArrayRef<NamedAttribute> attrs) {
  MLIRContext *ctx = b.getContext();
  std::optional<RegisteredOperationName> opName =
      RegisteredOperationName::lookup(name, ctx);
  if (!opName) {
    emitError(loc) << "unknown operation '" << name << "'";
    return nullptr;
  }
  auto *infer = opName->getInterface<InferTypeOpInterface>();
  if (!infer) {
    emitError(loc) << "operation '" << name << "' cannot infer its result types";
    return nullptr;
  }
  DictionaryAttr dict = DictionaryAttr::get(ctx, attrs);
  SmallVector<Type> types;
  if (failed(infer->inferReturnTypes(ctx, loc, operands, dict,
                                     OpaqueProperties(nullptr), RegionRange(),
                                     types)))
    return nullptr;
  OperationState state(loc, *opName);
  state.addOperands(operands);
  state.addAttributes(attrs);
  state.addTypes(types);
  return b.create(state);
}

Value createSplatConstant(OpBuilder &b, Location loc, RankedTensorType type,
                          double value) {
  Type elt = type.getElementType();
  Attribute scalar;
  if (auto ft = dyn_cast<FloatType>(elt))
    scalar = b.getFloatAttr(ft, value);
  else
    scalar = b.getIntegerAttr(elt, static_cast<int64_t>(value));
  auto dense = DenseElementsAttr::get(type, scalar);
  return ConstantOp::create(b, loc, type, dense);
}

} // namespace partita::graph
