//===- Backprop.cpp - the reverse sweep of graph-autodiff -----------------===//
//
// Walks the block backwards from the loss: each op that a parameter
// reaches and whose results carry a cotangent adds its operands'
// cotangents (GradientOpInterface), summed where a value has several
// users.
//
//===----------------------------------------------------------------------===//

#include "passes/Autodiff/TrainingStep.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"
#include "dialects/Graph/Interfaces/GradientInterface.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace partita::graph {

namespace {
bool isFloatTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType());
}
} // namespace

FailureOr<SmallVector<Value>> backpropagate(OpBuilder &b, Value loss, ArrayRef<Value> wrt) {
  Block *block = loss.getParentBlock();
  // The values the parameters reach: only their ops need a rule.
  llvm::DenseSet<Value> reached(wrt.begin(), wrt.end());
  SmallVector<Operation *> ops;
  for (Operation &op : *block) {
    ops.push_back(&op);
    if (llvm::any_of(op.getOperands(), [&](Value v) { return reached.contains(v); }))
      for (Value r : op.getResults())
        if (isFloatTensor(r))
          reached.insert(r);
  }

  llvm::DenseMap<Value, Value> grads;
  grads[loss] = createSplatConstant(b, loss.getLoc(), cast<RankedTensorType>(loss.getType()), 1.0);
  for (Operation *op : llvm::reverse(ops)) {
    if (llvm::none_of(op->getResults(), [&](Value r) { return grads.count(r); }) ||
        llvm::none_of(op->getOperands(), [&](Value v) { return reached.contains(v); }))
      continue;
    auto rule = dyn_cast<GradientOpInterface>(op);
    if (!rule)
      return op->emitError() << "'" << op->getName()
                             << "' has no gradient rule yet, and it lies between the "
                                "parameters and the loss";
    if (!rule.isDifferentiable())
      continue;
    SmallVector<Value> dy;
    for (Value r : op->getResults())
      dy.push_back(grads.lookup(r));
    SmallVector<Value> dx(op->getNumOperands());
    if (failed(rule.buildGradients(b, dy, dx)))
      return failure();
    for (auto [operand, grad] : llvm::zip(op->getOperands(), dx)) {
      if (!grad || !reached.contains(operand))
        continue;
      if (grad.getType() != operand.getType())
        return op->emitError() << "the gradient rule of '" << op->getName() << "' gave "
                               << grad.getType() << " for an operand of type "
                               << operand.getType();
      Value &sum = grads[operand];
      sum = sum ? createInferred<AddOp>(b, op->getLoc(), {sum, grad})->getResult(0) : grad;
    }
  }
  SmallVector<Value> out;
  for (Value v : wrt)
    out.push_back(grads.lookup(v));
  return out;
}

} // namespace partita::graph
