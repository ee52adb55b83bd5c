//===- Split.cpp - pipeline-split: one function per pipeline stage ---------===//
//
// The cut is in program order: the importers emit ops in topological order
// and a model's layers in sequence, so "everything up to the op computing
// tensor T" is a prefix that respects data flow. Values cross stages only
// forward (an op of stage k uses values of stages <= k), which is what the
// schedule's transfers carry.
//
//===----------------------------------------------------------------------===//

#include "passes/Pipeline/Passes.h"

#include "passes/Propagation/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace partita::pipeline {

#define GEN_PASS_DEF_PIPELINESPLIT
#include "passes/Pipeline/Passes.h.inc"

namespace {

using namespace mlir;

/// Weights and other constants, and side-effect-free ops computed from
/// them alone (a user annotation on a weight, a transposed weight): cloned
/// into each stage that uses them, never sent between stages. `ops` in
/// program order.
llvm::DenseSet<Operation *> freeOps(ArrayRef<Operation *> ops) {
  llvm::DenseSet<Operation *> free;
  for (Operation *op : ops) {
    if (op->getNumRegions() != 0 || op->getNumResults() != 1 || !isMemoryEffectFree(op))
      continue;
    if (llvm::all_of(op->getOperands(), [&](Value v) {
          Operation *def = v.getDefiningOp();
          return def && free.contains(def);
        }))
      free.insert(op);
  }
  return free;
}

struct PipelineSplitPass : impl::PipelineSplitBase<PipelineSplitPass> {
  using PipelineSplitBase::PipelineSplitBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(function);
    if (!func || func.isExternal()) {
      module.emitError() << "pipeline-split: no function @" << function << " with a body";
      return signalPassFailure();
    }
    if (stages.empty())
      return; // one stage: nothing to split
    Block &body = func.getBody().front();
    if (!llvm::hasSingleElement(func.getBody())) {
      func.emitError() << "pipeline-split: @" << function << " has more than one block";
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    DenseMap<Operation *, size_t> position;
    for (Operation &op : body.without_terminator()) {
      position[&op] = ops.size();
      ops.push_back(&op);
    }
    llvm::DenseSet<Operation *> free = freeOps(ops);
    auto isFree = [&](Operation *op) { return free.contains(op); };
    // Each boundary's op, in model order.
    SmallVector<size_t> cuts;
    for (const std::string &name : stages) {
      Operation *found = nullptr;
      for (BlockArgument arg : body.getArguments())
        if (sharding::valueName(arg) == name) {
          func.emitError() << "pipeline-split: '" << name << "' is an input of @" << function
                           << "; a stage boundary is a tensor an op computes";
          return signalPassFailure();
        }
      for (Operation *op : ops)
        for (Value r : op->getResults())
          if (sharding::valueName(r) == name)
            found = op;
      if (!found) {
        func.emitError() << "pipeline-split: no tensor named '" << name << "' in @" << function;
        return signalPassFailure();
      }
      if (!cuts.empty() && position[found] <= cuts.back()) {
        found->emitError() << "pipeline-split: stage boundaries must follow the model order: '"
                           << name << "' does not come after '" << stages[cuts.size() - 1]
                           << "'";
        return signalPassFailure();
      }
      cuts.push_back(position[found]);
    }
    int numStages = (int)cuts.size() + 1;
    auto stageOfIndex = [&](size_t i) {
      int s = 0;
      while (s < (int)cuts.size() && i > cuts[s])
        ++s;
      return s;
    };
    // Ops per stage (free ops go with their users).
    std::vector<SmallVector<Operation *>> members(numStages);
    DenseMap<Operation *, int> stageOf;
    for (Operation *op : ops)
      if (!isFree(op)) {
        int s = stageOfIndex(position[op]);
        members[s].push_back(op);
        stageOf[op] = s;
      }
    for (int s = 0; s < numStages; ++s)
      if (members[s].empty()) {
        func.emitError() << "pipeline-split: stage " << s << " has no op (boundaries '"
                         << (s ? stages[s - 1] : std::string("<inputs>")) << "' and '"
                         << (s < (int)stages.size() ? stages[s] : std::string("<outputs>"))
                         << "' are adjacent)";
        return signalPassFailure();
      }
    // Which stages use each free op, directly or through other free ops
    // (users come later in program order: walked backwards).
    DenseMap<Operation *, llvm::SmallSetVector<int, 2>> freeUsers;
    for (Operation *op : llvm::reverse(ops))
      if (isFree(op))
        for (Operation *user : op->getResult(0).getUsers()) {
          if (stageOf.count(user))
            freeUsers[op].insert(stageOf[user]);
          else if (isFree(user))
            freeUsers[op].insert(freeUsers[user].begin(), freeUsers[user].end());
        }

    // The stages form a chain: stage s takes what stage s - 1 gives (stage
    // 0: the inputs) and gives every value defined so far that a later
    // stage or the result uses -- a value skipping a stage is relayed
    // through it, so each transfer is between neighbouring stages, the
    // point-to-point pattern the schedules are made of.
    Operation *terminator = body.getTerminator();
    auto definingStage = [&](Value v) -> int {
      Operation *def = v.getDefiningOp();
      if (!def)
        return -1; // an input
      auto it = stageOf.find(def);
      return it == stageOf.end() ? -2 : it->second; // -2: a free op
    };
    // The last stage using each value (numStages: the result).
    llvm::MapVector<Value, int> lastUse;
    for (BlockArgument arg : body.getArguments())
      lastUse[arg] = -1;
    for (Operation *op : ops)
      if (!isFree(op))
        for (Value r : op->getResults())
          lastUse[r] = -1;
    for (int s = 0; s < numStages; ++s)
      for (Operation *op : members[s])
        op->walk([&](Operation *nested) {
          for (Value v : nested->getOperands())
            if (v.getParentBlock() == &body && lastUse.count(v))
              lastUse[v] = std::max(lastUse[v], s);
        });
    for (Value v : terminator->getOperands())
      if (lastUse.count(v))
        lastUse[v] = numStages;
    std::vector<SmallVector<Value>> takes(numStages), gives(numStages);
    for (auto [v, use] : lastUse)
      if (isa<BlockArgument>(v) && use >= 0)
        takes[0].push_back(v);
    for (int s = 0; s < numStages; ++s) {
      if (s > 0)
        takes[s] = gives[s - 1];
      if (s + 1 == numStages) {
        for (Value v : terminator->getOperands())
          if (lastUse.count(v))
            gives[s].push_back(v);
        continue;
      }
      for (auto [v, use] : lastUse)
        if (definingStage(v) <= s && use > s)
          gives[s].push_back(v);
    }

    // The stage functions.
    OpBuilder b(module.getContext());
    b.setInsertionPoint(func);
    std::vector<func::FuncOp> stageFuncs;
    MLIRContext *ctx = module.getContext();
    auto nameAttr = [&](Value v) -> Attribute {
      std::string n = sharding::valueName(v);
      return n.empty() ? Attribute() : StringAttr::get(ctx, n);
    };
    for (int s = 0; s < numStages; ++s) {
      SmallVector<Type> in, out;
      for (Value v : takes[s])
        in.push_back(v.getType());
      for (Value v : gives[s])
        out.push_back(v.getType());
      auto f = func::FuncOp::create(b, func.getLoc(), function + "_stage" + std::to_string(s),
                                      b.getFunctionType(in, out));
      f->setAttr(kStageAttr, b.getI64IntegerAttr(s));
      Block *entry = f.addEntryBlock();
      IRMapping map;
      for (auto [i, v] : llvm::enumerate(takes[s])) {
        map.map(v, entry->getArgument(i));
        if (Attribute n = nameAttr(v))
          f.setArgAttr(i, "graph.name", n);
      }
      OpBuilder fb = OpBuilder::atBlockEnd(entry);
      // Free ops this stage uses, first, in their original order.
      for (Operation *op : ops)
        if (isFree(op) && freeUsers.lookup(op).count(s)) {
          Operation *c = fb.clone(*op, map);
          if (freeUsers.lookup(op).size() > 1 && op->getNumOperands() == 0)
            c->setAttr(kTiedAttr, UnitAttr::get(ctx));
        }
      for (Operation *op : members[s])
        fb.clone(*op, map);
      SmallVector<Value> results;
      for (auto [i, v] : llvm::enumerate(gives[s])) {
        results.push_back(map.lookup(v));
        if (Attribute n = nameAttr(v))
          f.setResultAttr(i, "graph.name", n);
      }
      func::ReturnOp::create(fb, func.getLoc(), results);
      stageFuncs.push_back(f);
    }

    // @function becomes the chain of calls.
    OpBuilder cb(terminator);
    IRMapping map;
    for (int s = 0; s < numStages; ++s) {
      SmallVector<Value> args;
      for (Value v : takes[s])
        args.push_back(map.lookupOrDefault(v));
      map.clear(); // a stage's results replace what it took
      auto call = func::CallOp::create(cb, func.getLoc(), stageFuncs[s], args);
      for (auto [v, r] : llvm::zip(gives[s], call.getResults()))
        map.map(v, r);
    }
    // Free ops returned directly stay; everything else moved into stages.
    for (OpOperand &operand : terminator->getOpOperands())
      if (lastUse.count(operand.get()))
        operand.set(map.lookup(operand.get()));
    for (Operation *op : llvm::reverse(ops))
      if (op->use_empty())
        op->erase();
  }
};

} // namespace
} // namespace partita::pipeline
