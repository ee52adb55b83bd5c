//===- Precision.cpp - the forward in bf16 with f32 master weights --------===//
//
// precision=bf16: every f32 parameter and input is cast to bf16 once at the
// top of the step (the cast's gradient brings each parameter's cotangent
// back in f32, for the f32 optimizer and state), every f32 constant the
// forward reads is cast as well, and each forward op is rebuilt on the cast
// operands with its types inferred. Ops with the FullPrecision trait
// (statistics, normalizations, softmax) run in f32 between casts. The
// model's outputs are cast back to their own types, so the loss is f32.
//
//===----------------------------------------------------------------------===//

#include "passes/Autodiff/TrainingStep.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace partita::graph {
namespace {

bool isF32OrLow(Value v, Type low) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && (t.getElementType().isF32() || t.getElementType() == low);
}

/// `loc` without its name: casts must not take the name of what they cast
/// (annotations find tensors by name).
Location unnamed(Location loc) {
  if (auto n = dyn_cast<NameLoc>(loc))
    return n.getChildLoc();
  return loc;
}

} // namespace

LogicalResult runForwardInPrecision(Block &body, ArrayRef<Value> entry, Type low) {
  Operation *ret = body.getTerminator();
  SmallVector<Operation *> forward;
  for (Operation &op : body.without_terminator())
    forward.push_back(&op);
  OpBuilder b = OpBuilder::atBlockBegin(&body);
  Type f32 = b.getF32Type();
  auto castTo = [&](Value v, Type et, Location loc) -> Value {
    if (cast<RankedTensorType>(v.getType()).getElementType() == et)
      return v;
    Operation *c = createInferred<CastOp>(b, loc, {v}, {b.getNamedAttr("to", TypeAttr::get(et))});
    return c ? c->getResult(0) : Value();
  };
  IRMapping map;
  for (Value v : entry)
    if (isF32OrLow(v, low))
      map.map(v, castTo(v, low, unnamed(v.getLoc())));
  for (Operation *op : forward) {
    if (auto c = dyn_cast<ConstantOp>(op)) {
      if (isF32OrLow(c, low)) {
        b.setInsertionPointAfter(c);
        map.map(c.getResult(), castTo(c, low, unnamed(c.getLoc())));
      }
      continue;
    }
    b.setInsertionPoint(op);
    Type compute = op->hasTrait<OpTrait::FullPrecision>() ? f32 : low;
    SmallVector<Value> operands;
    for (Value v : op->getOperands()) {
      Value n = map.lookupOrDefault(v);
      operands.push_back(isF32OrLow(n, low) ? castTo(n, compute, unnamed(op->getLoc())) : n);
    }
    Operation *rebuilt =
        createInferred(b, op->getLoc(), op->getName().getStringRef(), operands, op->getAttrs());
    if (!rebuilt)
      return failure();
    for (auto [old, now] : llvm::zip(op->getResults(), rebuilt->getResults())) {
      Value v = now;
      if (compute == f32 && isF32OrLow(v, low))
        v = castTo(v, low, unnamed(op->getLoc()));
      map.map(old, v);
    }
  }
  // The outputs in their own types; then the f32 forward is dead.
  b.setInsertionPoint(ret);
  for (OpOperand &o : ret->getOpOperands()) {
    Value now = map.lookupOrDefault(o.get());
    if (now == o.get())
      continue;
    Type et = cast<RankedTensorType>(o.get().getType()).getElementType();
    o.set(castTo(now, et, unnamed(o.get().getLoc())));
  }
  for (Operation *op : llvm::reverse(forward))
    if (!isa<ConstantOp>(op) && op->use_empty())
      op->erase();
  return success();
}

} // namespace partita::graph
