//===- GradientBuilder.cpp - building backward graph ops ------------------===//

#include "dialects/Graph/Gradients/GradientBuilder.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

namespace partita::graph {

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

SmallVector<Value> GradientBuilder::ops(StringRef name, ValueRange operands,
                                        ArrayRef<NamedAttribute> attrs) {
  if (hasFailed || llvm::any_of(operands, [](Value v) { return !v; }))
    return {};
  Operation *op = createInferred(b, loc, name, operands, attrs);
  if (!op) {
    hasFailed = true;
    return {};
  }
  return SmallVector<Value>(op->getResults());
}

Value GradientBuilder::op(StringRef name, ValueRange operands, ArrayRef<NamedAttribute> attrs) {
  SmallVector<Value> r = ops(name, operands, attrs);
  return r.empty() ? Value() : r.front();
}

Value GradientBuilder::scalar(Value like, double value) {
  if (!like)
    return {};
  return createSplatConstant(b, loc, RankedTensorType::get({}, tensorType(like).getElementType()),
                             value);
}

Value GradientBuilder::splat(Value like, double value) {
  if (!like)
    return {};
  return createSplatConstant(b, loc, tensorType(like), value);
}

Value GradientBuilder::add(Value a, Value c) { return op<AddOp>({a, c}); }
Value GradientBuilder::sub(Value a, Value c) { return op<SubOp>({a, c}); }
Value GradientBuilder::mul(Value a, Value c) { return op<MulOp>({a, c}); }
Value GradientBuilder::div(Value a, Value c) { return op<DivOp>({a, c}); }
Value GradientBuilder::neg(Value a) { return op<NegOp>({a}); }
Value GradientBuilder::select(Value cond, Value a, Value c) { return op<WhereOp>({cond, a, c}); }

Value GradientBuilder::indicator(Value cond, Value like) {
  if (!cond || !like)
    return {};
  return cast(cond, tensorType(like).getElementType());
}

Value GradientBuilder::reduceSum(Value v, ArrayRef<int64_t> axes, bool keepdims) {
  if (axes.empty())
    return v;
  return op<ReduceSumOp>({v}, {ints("axes", axes), attr("keepdims", b.getBoolAttr(keepdims))});
}

Value GradientBuilder::reshape(Value v, ArrayRef<int64_t> shape) {
  if (v && tensorType(v).getShape() == shape)
    return v;
  return op<ReshapeOp>({v}, {ints("shape", shape)});
}

Value GradientBuilder::transposeLast2(Value v) {
  if (!v)
    return {};
  int64_t r = tensorType(v).getRank();
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < r; ++d)
    perm.push_back(d);
  std::swap(perm[r - 2], perm[r - 1]);
  return transpose(v, perm);
}

Value GradientBuilder::transpose(Value v, ArrayRef<int64_t> perm) {
  bool identity = true;
  for (auto [i, p] : llvm::enumerate(perm))
    identity &= (int64_t)i == p;
  if (identity)
    return v;
  return op<TransposeOp>({v}, {ints("perm", perm)});
}

Value GradientBuilder::expand(Value v, ArrayRef<int64_t> shape) {
  if (v && tensorType(v).getShape() == shape)
    return v;
  return op<ExpandOp>({v}, {ints("shape", shape)});
}

Value GradientBuilder::cast(Value v, Type elementType) {
  if (v && tensorType(v).getElementType() == elementType)
    return v;
  return op<CastOp>({v}, {attr("to", TypeAttr::get(elementType))});
}

Value GradientBuilder::oneHot(Value indices, int64_t depth, int64_t axis, Type et) {
  auto valuesType = RankedTensorType::get({2}, et);
  Value values = ConstantOp::create(
      b, loc, valuesType,
      DenseElementsAttr::get(valuesType,
                             ArrayRef<Attribute>{FloatAttr::get(et, 0), FloatAttr::get(et, 1)}));
  return op<OneHotOp>({indices, values}, {integer("depth", depth), integer("axis", axis)});
}

Value GradientBuilder::sumToShape(Value grad, RankedTensorType target) {
  if (!grad)
    return {};
  ArrayRef<int64_t> from = tensorType(grad).getShape(), to = target.getShape();
  if (from == to)
    return grad;
  // Align right: leading dimensions of the gradient were added by the
  // broadcast, and size-1 dimensions of the target were stretched.
  SmallVector<int64_t> axes;
  int64_t lead = (int64_t)from.size() - (int64_t)to.size();
  for (int64_t d = 0; d < (int64_t)from.size(); ++d)
    if (d < lead || (to[d - lead] == 1 && from[d] != 1))
      axes.push_back(d);
  return reshape(reduceSum(grad, axes, /*keepdims=*/true), to);
}

Value GradientBuilder::unreduce(Value grad, ArrayRef<int64_t> axes, bool keepdims,
                                ArrayRef<int64_t> shape) {
  if (!grad)
    return {};
  SmallVector<int64_t> kept(shape);
  for (int64_t a : axes)
    kept[a] = 1;
  if (!keepdims || tensorType(grad).getShape() != ArrayRef<int64_t>(kept))
    grad = reshape(grad, kept);
  return expand(grad, shape);
}

void registerGraphGradients(DialectRegistry &registry) {
  registerElementwiseGradients(registry);
  registerReductionGradients(registry);
  registerContractionGradients(registry);
  registerShapeGradients(registry);
  registerCompositeGradients(registry);
}

} // namespace partita::graph
