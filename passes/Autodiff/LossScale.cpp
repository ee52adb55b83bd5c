//===- LossScale.cpp - dynamic loss scaling for f16 training --------------===//
//
// precision=f16: the backward of f16 activations underflows unless the loss
// is scaled up. The step keeps the scale S (f32, 2^16 at first) and a count
// of good steps as state. It differentiates S * loss, divides the gradients
// by S, and applies the update only when every gradient is finite; then S
// halves after an overflow (and the count restarts) or doubles after 2000
// good steps in a row -- the defaults of PyTorch's GradScaler.
//
//===----------------------------------------------------------------------===//

#include "passes/Autodiff/TrainingStep.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"

using namespace mlir;

namespace partita::graph {
namespace {

Value make(OpBuilder &b, Location loc, StringRef name, ValueRange operands,
           ArrayRef<NamedAttribute> attrs = {}) {
  Operation *op = createInferred(b, loc, name, operands, attrs);
  return op ? op->getResult(0) : Value();
}

Value scalarF32(OpBuilder &b, Location loc, double v) {
  return createSplatConstant(b, loc, RankedTensorType::get({}, b.getF32Type()), v);
}

} // namespace

Value allFinite(OpBuilder &b, Location loc, ArrayRef<Value> grads) {
  // x * 0 is 0 for a finite x and NaN otherwise; count what is not 0.
  Value count;
  for (Value g : grads) {
    if (!g)
      continue;
    auto type = cast<RankedTensorType>(g.getType());
    Value zero = createSplatConstant(b, loc, RankedTensorType::get({}, type.getElementType()), 0);
    Value bad = make(b, loc, "graph.not",
                     {make(b, loc, "graph.equal", {make(b, loc, "graph.mul", {g, zero}), zero})});
    Value asF32 = make(b, loc, "graph.cast", {bad}, {b.getNamedAttr("to", TypeAttr::get(b.getF32Type()))});
    SmallVector<int64_t> axes;
    for (int64_t d = 0; d < type.getRank(); ++d)
      axes.push_back(d);
    Value n = make(b, loc, "graph.reduce_sum", {asF32},
                   {b.getNamedAttr("axes", b.getDenseI64ArrayAttr(axes)),
                    b.getNamedAttr("keepdims", b.getBoolAttr(false))});
    count = count ? make(b, loc, "graph.add", {count, n}) : n;
  }
  if (!count)
    count = scalarF32(b, loc, 0);
  return make(b, loc, "graph.equal", {count, scalarF32(b, loc, 0)});
}

Value selectIf(OpBuilder &b, Location loc, Value cond, Value ifTrue, Value ifFalse) {
  return make(b, loc, "graph.where", {cond, ifTrue, ifFalse});
}

std::pair<Value, Value> nextLossScale(OpBuilder &b, Location loc, Value scale, Value good,
                                      Value finite) {
  constexpr double kGrowthInterval = 2000;
  Value goodPlus = make(b, loc, "graph.add", {good, scalarF32(b, loc, 1)});
  Value grow = make(b, loc, "graph.and",
                    {finite, make(b, loc, "graph.greater_equal",
                                  {goodPlus, scalarF32(b, loc, kGrowthInterval)})});
  Value halved = make(b, loc, "graph.mul", {scale, scalarF32(b, loc, 0.5)});
  Value doubled = make(b, loc, "graph.mul", {scale, scalarF32(b, loc, 2)});
  Value nextScale = selectIf(b, loc, finite, selectIf(b, loc, grow, doubled, scale), halved);
  Value zero = scalarF32(b, loc, 0);
  Value nextGood = selectIf(b, loc, grow, zero, selectIf(b, loc, finite, goodPlus, zero));
  return {nextScale, nextGood};
}

} // namespace partita::graph
