//===- Recompute.cpp - activation recomputation per layer -----------------===//
//
// After a microbatch's backward is built, the backward's reads of chosen
// forward activations are redirected to copies recomputed right before the
// first of them, from what the layer's forward read (its inputs, the
// parameters). The originals then die during the forward, and each layer's
// recomputed values live only through that layer's backward.
//
//  * full: every activation of a layer except its outputs (the values a
//    later layer or the loss reads, which are kept);
//  * selective (Korthikanti et al.'s attention core): per softmax, the
//    softmax and the chain of ops producing its input at the same shape back
//    to the matmul of queries and keys -- the sequence x sequence tensors.
//
// Layers are named (partita/Support/Naming.h: layers.0.attn.q ->
// layers.0); ops outside every layer (embeddings, the head, the loss) are
// not recomputed.
//
//===----------------------------------------------------------------------===//

#include "passes/Autodiff/TrainingStep.h"

#include "dialects/Graph/IR/GraphOps.h"
#include "partita/Support/Naming.h"
#include "passes/Propagation/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

#include <map>

using namespace mlir;

namespace partita::graph {
namespace {

/// The attention core of a layer: per softmax, the softmax and the
/// same-shaped chain producing its input, back to (and with) a matmul.
void attentionCore(ArrayRef<Operation *> ops, const llvm::DenseSet<Operation *> &members,
                   llvm::SetVector<Value> &out) {
  for (Operation *op : ops) {
    if (!isa<SoftmaxOp>(op))
      continue;
    Type scores = op->getResult(0).getType();
    SmallVector<Value> chain;
    Operation *cur = op;
    bool reachedMatmul = false;
    while (cur && members.count(cur) && cur->getNumResults() == 1 &&
           cur->getResult(0).getType() == scores) {
      chain.push_back(cur->getResult(0));
      if (isa<MatMulOp>(cur)) {
        reachedMatmul = true;
        break;
      }
      // The operand of the scores' shape (the mask and scale are others).
      Operation *next = nullptr;
      for (Value v : cur->getOperands())
        if (v.getType() == scores && v.getDefiningOp()) {
          next = v.getDefiningOp();
          break;
        }
      cur = next;
    }
    // Without the matmul the chain is only the softmax's own output.
    if (!reachedMatmul)
      chain.resize(1);
    out.insert(chain.begin(), chain.end());
  }
}

} // namespace

LogicalResult recomputeActivations(OpBuilder &b, StringRef mode, ArrayRef<Operation *> forward,
                                   Operation *firstBackward, Operation *end) {
  if (mode == "none" || !firstBackward)
    return success();
  if (mode != "full" && mode != "selective")
    return emitError(firstBackward->getLoc())
           << "unknown recompute mode '" << mode << "' (none, selective, full)";
  OpBuilder::InsertionGuard guard(b);
  llvm::DenseSet<Operation *> backward;
  for (Operation *op = firstBackward; op && op != end; op = op->getNextNode())
    backward.insert(op);
  std::map<std::string, SmallVector<Operation *>> layers;
  for (Operation *op : forward)
    if (op->getNumResults() == 1 && !isa<ConstantOp>(op))
      if (std::string l = layerOf(sharding::valueName(op->getResult(0))); l != "other")
        layers[l].push_back(op);
  if (layers.empty())
    return emitError(forward.empty() ? firstBackward->getLoc() : forward.front()->getLoc())
           << "recompute=" << mode
           << ": no op of the model is named in a layer (a name with a '.<digits>' "
              "component, e.g. layers.0.attn.q), so there is no layer to recompute";
  for (auto &[layer, ops] : layers) {
    llvm::DenseSet<Operation *> members(ops.begin(), ops.end());
    llvm::SetVector<Value> redo;
    if (mode == "full") {
      for (Operation *op : ops) {
        Value r = op->getResult(0);
        bool output = llvm::any_of(r.getUsers(), [&](Operation *u) {
          return !members.count(u) && !backward.count(u);
        });
        if (!output)
          redo.insert(r);
      }
    } else {
      attentionCore(ops, members, redo);
    }
    // Before the first backward op that reads one of them.
    Operation *at = nullptr;
    for (Value v : redo)
      for (Operation *u : v.getUsers())
        if (backward.count(u) && (!at || u->isBeforeInBlock(at)))
          at = u;
    if (!at)
      continue;
    // The layer's ops the recomputed values need, in forward order.
    llvm::DenseSet<Operation *> needed;
    for (Operation *op : llvm::reverse(ops))
      if (redo.contains(op->getResult(0)) ||
          llvm::any_of(op->getResult(0).getUsers(), [&](Operation *u) { return needed.count(u); }))
        needed.insert(op);
    b.setInsertionPoint(at);
    IRMapping map;
    for (Operation *op : ops)
      if (needed.count(op))
        b.clone(*op, map);
    for (Value v : redo)
      v.replaceUsesWithIf(map.lookup(v),
                          [&](OpOperand &use) { return backward.count(use.getOwner()); });
  }
  return success();
}

} // namespace partita::graph
