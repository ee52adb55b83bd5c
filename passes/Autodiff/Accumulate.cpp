//===- Accumulate.cpp - gradient accumulation over microbatches -----------===//
//
// The model defines one microbatch: the step's inputs and labels hold K of
// them (K times the model's batch along dimension 0), and the model's ops
// run once per microbatch with the model's own shapes -- so no shape in an
// attribute (a reshape's target, an expanded mask) needs rewriting.
// Microbatch m takes rows m, m+K, m+2K, ... of every batch value: a reshape
// [K*b, ...] -> [b, K, ...], a slice of column m and a reshape back. A split
// of dimension 0 over a data axis stays on the major factor b, so each
// rank's microbatch is a part of its own rows and no data moves.
//
//===----------------------------------------------------------------------===//

#include "passes/Autodiff/TrainingStep.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace partita::graph {
namespace {

/// Rows m, m+k, ... of `v` along dimension 0 (of k times the model's
/// batch).
Value microbatch(OpBuilder &b, Location loc, Value v, unsigned k, unsigned m) {
  auto type = cast<RankedTensorType>(v.getType());
  ArrayRef<int64_t> shape = type.getShape();
  SmallVector<int64_t> grouped = {shape[0] / k, (int64_t)k};
  llvm::append_range(grouped, shape.drop_front());
  SmallVector<int64_t> starts(grouped.size(), 0), ends(grouped), steps(grouped.size(), 1);
  starts[1] = m;
  ends[1] = m + 1;
  SmallVector<int64_t> out(shape);
  out[0] /= k;
  auto ints = [&](StringRef n, ArrayRef<int64_t> xs) {
    return b.getNamedAttr(n, b.getDenseI64ArrayAttr(xs));
  };
  Operation *r1 = createInferred<ReshapeOp>(b, loc, {v}, {ints("shape", grouped)});
  Operation *s = r1 ? createInferred<SliceOp>(b, loc, {r1->getResult(0)},
                                              {ints("starts", starts), ints("ends", ends),
                                               ints("steps", steps)})
                    : nullptr;
  Operation *r2 = s ? createInferred<ReshapeOp>(b, loc, {s->getResult(0)}, {ints("shape", out)})
                    : nullptr;
  return r2 ? r2->getResult(0) : Value();
}

} // namespace

namespace {
/// The loss of `output`, its backward, and the recomputation of the
/// `forward` ops' activations in that backward.
FailureOr<SmallVector<Value>> lossAndBackward(OpBuilder &b, Location loc, const LossSpec &spec,
                                              Value output, Value labels, ArrayRef<Value> wrt,
                                              ArrayRef<Operation *> forward, StringRef recompute,
                                              Value lossScale, Value &loss) {
  loss = buildLoss(b, loc, spec, output, labels);
  if (!loss)
    return failure();
  Value differentiated =
      lossScale ? createInferred<MulOp>(b, loc, {loss, lossScale})->getResult(0) : loss;
  Operation *last = differentiated.getDefiningOp();
  Operation *end = &*b.getInsertionPoint();
  FailureOr<SmallVector<Value>> grads = backpropagate(b, differentiated, wrt);
  if (failed(grads) ||
      failed(recomputeActivations(b, recompute, forward, last->getNextNode(), end)))
    return failure();
  return grads;
}
} // namespace

FailureOr<SmallVector<Value>> accumulateGradients(OpBuilder &b, Value output,
                                                  ArrayRef<Value> batch, bool withLabels,
                                                  const LossSpec &spec, ArrayRef<Value> wrt,
                                                  unsigned k, StringRef recompute,
                                                  Value lossScale, Value &loss) {
  Location loc = output.getLoc();
  Block *block = output.getParentBlock();
  Operation *terminator = block->getTerminator();
  if (k <= 1) {
    SmallVector<Operation *> forward;
    for (Operation &op : block->without_terminator())
      forward.push_back(&op);
    b.setInsertionPoint(terminator);
    return lossAndBackward(b, loc, spec, output, withLabels ? batch.back() : Value(), wrt,
                           forward, recompute, lossScale, loss);
  }
  // The step takes K microbatches of the model's batch: every batch value
  // (but a scalar) becomes K times as long along dimension 0; the model's
  // ops, cloned per microbatch, keep their types.
  llvm::DenseSet<Value> split;
  for (Value v : batch) {
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getRank() == 0)
      continue;
    SmallVector<int64_t> shape(type.getShape());
    shape[0] *= k;
    v.setType(RankedTensorType::get(shape, type.getElementType()));
    split.insert(v);
  }
  if (split.empty())
    return emitError(loc) << "microbatches=" << k << ": the model has no batched input";
  // The ops that depend on the batch, in block order: cloned per microbatch
  // (the originals, which read the lengthened values, die with the old
  // terminator).
  llvm::DenseSet<Value> perBatch(split.begin(), split.end());
  SmallVector<Operation *> cloned;
  for (Operation &op : block->without_terminator())
    if (llvm::any_of(op.getOperands(), [&](Value v) { return perBatch.contains(v); })) {
      cloned.push_back(&op);
      perBatch.insert(op.getResults().begin(), op.getResults().end());
    }
  b.setInsertionPoint(terminator);
  Value labels = withLabels ? batch.back() : Value();
  SmallVector<Value> grads(wrt.size());
  Value total;
  for (unsigned m = 0; m < k; ++m) {
    IRMapping map;
    for (Value v : split) {
      // Named NAME.microbatchM: the batch value keeps its name alone
      // (annotations find it by name).
      Location at = v.getLoc();
      std::string name;
      if (auto n = dyn_cast<NameLoc>(at)) {
        name = n.getName().str();
        at = n.getChildLoc();
      }
      Value mb = microbatch(b, at, v, k, m);
      if (mb && !name.empty())
        mb.getDefiningOp()->setLoc(NameLoc::get(
            b.getStringAttr(name + ".microbatch" + std::to_string(m)), at));
      if (!mb)
        return failure();
      map.map(v, mb);
    }
    SmallVector<Operation *> forward;
    for (Operation *op : cloned)
      forward.push_back(b.clone(*op, map));
    Value lossM;
    FailureOr<SmallVector<Value>> g =
        lossAndBackward(b, loc, spec, map.lookupOrDefault(output),
                        labels ? map.lookupOrDefault(labels) : Value(), wrt, forward, recompute,
                        lossScale, lossM);
    if (failed(g))
      return failure();
    auto add = [&](Value a, Value c) -> Value {
      return a ? createInferred<AddOp>(b, loc, {a, c})->getResult(0) : c;
    };
    for (auto [acc, gm] : llvm::zip(grads, *g))
      if (gm)
        acc = add(acc, gm);
    total = add(total, lossM);
  }
  // The mean over microbatches, except for a sum loss.
  if (spec.kind != "sum") {
    auto scale = [&](Value v) -> Value {
      if (!v)
        return v;
      auto scalar = RankedTensorType::get({}, cast<RankedTensorType>(v.getType()).getElementType());
      Value c = createSplatConstant(b, loc, scalar, 1.0 / k);
      return createInferred<MulOp>(b, loc, {v, c})->getResult(0);
    };
    total = scale(total);
    for (Value &g : grads)
      g = scale(g);
  }
  loss = total;
  return grads;
}

} // namespace partita::graph
