//===- Propagate.cpp - factor-based sharding propagation ------------------===//
//
// The algorithm of docs/design/sharding.md. Each value has a state: per
// dimension the mesh axes it is split over and whether the dimension is
// closed, its unreduced axes, and where the information came from (the
// annotation's name and priority). An op moves axes between its tensors in
// three steps: project every tensor's dimension axes onto the rule's
// factors, merge the candidates of each factor, project the merged factors
// back onto every open dimension. Dimensions only ever grow, so the loop
// terminates.
//
//===----------------------------------------------------------------------===//

#include "passes/Propagation/Passes.h"

#include "dialects/Sharding/IR/ReshardPlan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"

#include <deque>
#include <limits>
#include <memory>
#include <numeric>

using namespace mlir;

namespace partita::sharding {
#define GEN_PASS_DEF_SHARDINGPROPAGATE
#include "passes/Propagation/Passes.h.inc"

std::string valueName(Value v) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (auto func = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp()))
      if (auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "graph.name"))
        return name.str();
    if (auto n = dyn_cast<NameLoc>(arg.getLoc()))
      return n.getName().str();
    return "";
  }
  Location loc = v.getDefiningOp()->getLoc();
  unsigned idx = cast<OpResult>(v).getResultNumber();
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    if (idx < fused.getLocations().size())
      loc = fused.getLocations()[idx];
  } else if (idx != 0) {
    return "";
  }
  if (auto n = dyn_cast<NameLoc>(loc))
    return n.getName().str();
  return "";
}

namespace {

using Axes = SmallVector<StringAttr, 2>;
constexpr int64_t kNoPriority = std::numeric_limits<int64_t>::max();

struct ValueState {
  SmallVector<Axes> dims;
  SmallVector<bool> closed;
  Axes unreduced;
  /// Priority of the annotation this information came from (0 strongest).
  int64_t priority = kNoPriority;
  std::string origin;
};

struct Candidate {
  Axes axes;
  int64_t priority;
  int64_t devices;
  unsigned tensor;
  const std::string *origin;
};

bool isPrefix(ArrayRef<StringAttr> a, ArrayRef<StringAttr> b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

class Propagator {
public:
  Propagator(ModuleOp module, MeshAttr mesh, FlatSymbolRefAttr meshRef,
             const PropagationOptions &options)
      : module(module), mesh(mesh), meshRef(meshRef), options(options) {}

  LogicalResult seed();
  void run();
  void writeBack();
  std::vector<ReshardNeed> reshards();

private:
  int64_t axisSize(StringAttr a) const { return *mesh.getAxisSize(a.getValue()); }
  int64_t product(ArrayRef<StringAttr> axes) const {
    int64_t p = 1;
    for (StringAttr a : axes)
      p *= axisSize(a);
    return p;
  }
  ValueState &stateOf(Value v);
  void setFromAttr(Value v, TensorShardingAttr attr, std::string origin);
  TensorShardingAttr toAttr(Value v);
  /// One propagation step over `tensors` (operands, then results) with
  /// `rule`; `numOperands` splits the list. Returns true if a state grew.
  bool step(ArrayRef<Value> tensors, unsigned numOperands, const ShardingRule &rule,
            int64_t maxPriority);
  /// Merged axes per factor for the given states (used by step and explain).
  SmallVector<Candidate> merge(ArrayRef<Value> tensors, const ShardingRule &rule,
                               ArrayRef<const TensorMapping *> maps, int64_t maxPriority);
  SmallVector<Operation *> opsInOrder();
  std::optional<ShardingRule> ruleFor(Operation *op);

  ModuleOp module;
  MeshAttr mesh;
  FlatSymbolRefAttr meshRef;
  PropagationOptions options;
  /// Boxed so that references and `Candidate::origin` pointers into a
  /// state stay valid when later lookups insert (and the map rehashes).
  llvm::DenseMap<Value, std::unique_ptr<ValueState>> states;
  llvm::StringSet<> warnedOps;
  /// Values whose state grew in the last step (drives the worklist).
  SmallVector<Value> touched;
  SmallVector<int64_t> priorities;
};

ValueState &Propagator::stateOf(Value v) {
  auto [it, inserted] = states.try_emplace(v);
  if (inserted) {
    int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
    it->second = std::make_unique<ValueState>();
    it->second->dims.resize(rank);
    it->second->closed.assign(rank, false);
  }
  return *it->second;
}

void Propagator::setFromAttr(Value v, TensorShardingAttr attr, std::string origin) {
  ValueState &s = stateOf(v);
  for (auto [d, dim] : llvm::enumerate(attr.getDims())) {
    s.dims[d].assign(dim.getAxes().begin(), dim.getAxes().end());
    s.closed[d] = dim.getClosed();
  }
  s.unreduced.assign(attr.getUnreduced().begin(), attr.getUnreduced().end());
  s.priority = attr.hasPriority() ? attr.getPriority() : 0;
  s.origin = std::move(origin);
  priorities.push_back(s.priority);
}

TensorShardingAttr Propagator::toAttr(Value v) {
  MLIRContext *ctx = module.getContext();
  auto it = states.find(v);
  int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
  if (it == states.end())
    return getOpenSharding(ctx, meshRef, rank);
  SmallVector<DimShardingAttr> dims;
  for (auto [axes, closed] : llvm::zip(it->second->dims, it->second->closed))
    dims.push_back(DimShardingAttr::get(ctx, axes, closed));
  return TensorShardingAttr::get(ctx, meshRef, dims, {}, it->second->unreduced, -1);
}

LogicalResult Propagator::seed() {
  bool ok = true;
  module.walk([&](func::FuncOp func) {
    if (func.isExternal())
      return; // a declaration: nothing inside to propagate through
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (auto s = func.getArgAttrOfType<TensorShardingAttr>(i, kShardingAttr)) {
        std::string name = valueName(func.getArgument(i));
        setFromAttr(func.getArgument(i), s, name.empty() ? "argument #" + std::to_string(i) : name);
      }
    // A result annotation pins the returned value: make it an explicit
    // constraint so that it is seeded like any other.
    Operation *ret = func.getBody().back().getTerminator();
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      if (auto s = func.getResultAttrOfType<TensorShardingAttr>(i, kShardingAttr)) {
        OpBuilder b(ret);
        Value v = ret->getOperand(i);
        auto c = ConstraintOp::create(b, ret->getLoc(), v, s);
        ret->setOperand(i, c.getResult());
      }
  });
  // A manual computation fixes the layout at its boundary: its operands and
  // results are constrained to in/out_shardings, and inside the body the
  // local values carry the same shardings minus the manual axes, so
  // propagation continues on the other axes on both sides.
  module.walk([&](ManualComputationOp mc) {
    auto localSharding = [&](TensorShardingAttr s) {
      SmallVector<DimShardingAttr> dims;
      for (DimShardingAttr d : s.getDims()) {
        SmallVector<StringAttr> axes;
        for (StringAttr a : d.getAxes())
          if (!llvm::is_contained(mc.getManualAxes().getValue(), a))
            axes.push_back(a);
        dims.push_back(DimShardingAttr::get(mc.getContext(), axes, d.getClosed()));
      }
      return TensorShardingAttr::get(mc.getContext(), s.getMesh(), dims, {}, {},
                                     s.getPriority());
    };
    OpBuilder b(mc);
    for (auto [i, v] : llvm::enumerate(mc.getInputs())) {
      auto s = cast<TensorShardingAttr>(mc.getInShardings()[i]);
      auto c = ConstraintOp::create(b, mc.getLoc(), v, s);
      mc->setOperand(i, c.getResult());
      std::string name = valueName(v);
      setFromAttr(mc.getBody().getArgument(i), localSharding(s),
                  name.empty() ? "manual computation input" : name);
    }
    b.setInsertionPointAfter(mc);
    for (auto [i, r] : llvm::enumerate(mc.getResults())) {
      auto s = cast<TensorShardingAttr>(mc.getOutShardings()[i]);
      setFromAttr(r, s, "manual computation result");
    }
    Operation *ret = mc.getBody().front().getTerminator();
    OpBuilder rb(ret);
    for (unsigned i = 0; i < ret->getNumOperands(); ++i) {
      auto s = cast<TensorShardingAttr>(mc.getOutShardings()[i]);
      auto c = ConstraintOp::create(rb, ret->getLoc(), ret->getOperand(i), localSharding(s));
      ret->setOperand(i, c.getResult());
    }
  });
  module.walk([&](ConstraintOp c) {
    std::string name = valueName(c.getInput());
    setFromAttr(c.getResult(), c.getSharding(), name.empty() ? "a constraint" : name);
  });
  module.walk([&](ConstraintOp c) {
    if (c.getSharding().getMesh() != meshRef) {
      c.emitError() << "all shardings in a module must use one mesh (" << meshRef
                    << "), this one uses " << c.getSharding().getMesh();
      ok = false;
    }
  });
  module.walk([&](func::FuncOp func) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (auto s = func.getArgAttrOfType<TensorShardingAttr>(i, kShardingAttr);
          s && s.getMesh() != meshRef) {
        func.emitError() << "all shardings in a module must use one mesh (" << meshRef
                         << "), argument #" << i << " uses " << s.getMesh();
        ok = false;
      }
  });
  if (!ok)
    return failure();
  llvm::sort(priorities);
  priorities.erase(std::unique(priorities.begin(), priorities.end()), priorities.end());
  priorities.push_back(kNoPriority);
  return success();
}

std::optional<ShardingRule> Propagator::ruleFor(Operation *op) {
  if (auto iface = dyn_cast<ShardingRuleOpInterface>(op))
    return iface.getShardingRule();
  return std::nullopt;
}

SmallVector<Operation *> Propagator::opsInOrder() {
  SmallVector<Operation *> ops;
  module.walk([&](Operation *op) {
    if (isa<ModuleOp, func::FuncOp, func::ReturnOp, MeshOp, ManualComputationOp,
            sharding::ReturnOp>(op))
      return;
    bool tensors = llvm::any_of(op->getResultTypes(), llvm::IsaPred<RankedTensorType>) ||
                   llvm::any_of(op->getOperandTypes(), llvm::IsaPred<RankedTensorType>);
    if (!tensors)
      return;
    if (!isa<ShardingRuleOpInterface, func::CallOp>(op)) {
      StringRef name = op->getName().getStringRef();
      if (warnedOps.insert(name).second)
        op->emitWarning() << "op '" << name << "' has no sharding rule; its "
                             "operands and results are treated as replicated";
      return;
    }
    ops.push_back(op);
  });
  return ops;
}

SmallVector<Candidate> Propagator::merge(ArrayRef<Value> tensors,
                                         const ShardingRule &rule,
                                         ArrayRef<const TensorMapping *> maps,
                                         int64_t maxPriority) {
  SmallVector<SmallVector<Candidate>> perFactor(rule.factors.size());
  for (auto [t, v] : llvm::enumerate(tensors)) {
    auto it = states.find(v);
    if (it == states.end() || it->second->priority > maxPriority)
      continue;
    const ValueState &s = *it->second;
    for (auto [d, factors] : llvm::enumerate(*maps[t])) {
      if (d >= s.dims.size())
        break;
      auto split = splitAxesAmongFactors(s.dims[d], factors, rule,
                                         [&](StringAttr a) { return axisSize(a); });
      for (auto [f, take] : llvm::zip(factors, split))
        if (!take.empty())
          perFactor[f].push_back({take, s.priority, product(take), (unsigned)t, &s.origin});
    }
  }
  SmallVector<Candidate> merged(rule.factors.size());
  for (auto [f, cands] : llvm::enumerate(perFactor)) {
    merged[f] = {{}, kNoPriority, 1, 0, nullptr};
    if (cands.empty() || rule.factors[f].kind == FactorKind::NeedReplication)
      continue;
    llvm::stable_sort(cands, [](const Candidate &a, const Candidate &b) {
      if (a.priority != b.priority)
        return a.priority < b.priority;
      if (a.devices != b.devices)
        return a.devices > b.devices;
      return a.tensor < b.tensor;
    });
    Candidate best = cands.front();
    bool conflict = false;
    for (const Candidate &c : cands) {
      if (isPrefix(best.axes, c.axes) && c.priority == best.priority)
        best.axes = c.axes; // a compatible, longer candidate of equal strength
      else if (!isPrefix(c.axes, best.axes))
        conflict = true;
    }
    if (conflict && options.conservative) {
      Axes common = best.axes;
      for (const Candidate &c : cands) {
        size_t n = 0;
        while (n < common.size() && n < c.axes.size() && common[n] == c.axes[n])
          ++n;
        common.resize(n);
      }
      best.axes = common;
    }
    merged[f] = best;
  }
  // An axis may shard only one factor of an op: stronger factors keep it.
  SmallVector<size_t> order(merged.size());
  std::iota(order.begin(), order.end(), 0);
  llvm::stable_sort(order, [&](size_t a, size_t b) {
    return merged[a].priority < merged[b].priority;
  });
  llvm::StringSet<> used;
  for (size_t f : order) {
    Axes &axes = merged[f].axes;
    for (size_t i = 0; i < axes.size(); ++i)
      if (!used.insert(axes[i].getValue()).second) {
        axes.resize(i);
        break;
      }
  }
  return merged;
}

bool Propagator::step(ArrayRef<Value> tensors, unsigned numOperands,
                      const ShardingRule &rule, int64_t maxPriority) {
  SmallVector<const TensorMapping *> maps;
  for (unsigned i = 0; i < tensors.size(); ++i)
    maps.push_back(i < numOperands ? &rule.operands[i] : &rule.results[i - numOperands]);
  SmallVector<Candidate> merged = merge(tensors, rule, maps, maxPriority);
  bool changed = false;
  for (auto [t, v] : llvm::enumerate(tensors)) {
    if (!isa<RankedTensorType>(v.getType()))
      continue;
    ValueState &s = stateOf(v);
    llvm::StringSet<> taken;
    for (const Axes &axes : s.dims)
      for (StringAttr a : axes)
        taken.insert(a.getValue());
    for (StringAttr a : s.unreduced)
      taken.insert(a.getValue());
    for (auto [d, factors] : llvm::enumerate(*maps[t])) {
      if (s.closed[d])
        continue;
      SmallVector<AxisList> factorAxes;
      const Candidate *source = nullptr;
      for (int64_t f : factors) {
        factorAxes.push_back(merged[f].axes);
        if (!merged[f].axes.empty() && !source)
          source = &merged[f];
      }
      Axes proposed = joinFactorAxes(factors, factorAxes, rule,
                                     [&](StringAttr a) { return axisSize(a); });
      if (proposed.size() <= s.dims[d].size() || !isPrefix(s.dims[d], proposed))
        continue;
      bool fresh = llvm::all_of(ArrayRef<StringAttr>(proposed).drop_front(s.dims[d].size()),
                                [&](StringAttr a) { return !taken.contains(a.getValue()); });
      if (!fresh)
        continue;
      for (StringAttr a : ArrayRef<StringAttr>(proposed).drop_front(s.dims[d].size()))
        taken.insert(a.getValue());
      s.dims[d] = proposed;
      touched.push_back(v);
      if (source && source->priority < s.priority) {
        s.priority = source->priority;
        s.origin = source->origin ? *source->origin : "";
      }
      changed = true;
    }
    // Sharded sum-like reduction factors leave results partial.
    if (t < numOperands)
      continue;
    for (auto [f, factor] : llvm::enumerate(rule.factors)) {
      if (factor.kind != FactorKind::Reduction || factor.reduction != ReductionKind::Sum)
        continue;
      for (StringAttr a : merged[f].axes)
        if (!taken.contains(a.getValue())) {
          s.unreduced.push_back(a);
          taken.insert(a.getValue());
          touched.push_back(v);
          if (merged[f].priority < s.priority) {
            s.priority = merged[f].priority;
            s.origin = merged[f].origin ? *merged[f].origin : "";
          }
          changed = true;
        }
    }
  }
  return changed;
}

/// Identity rule linking two values of the same type (call edges).
ShardingRule identityRule(Type type) {
  ShardingRule rule;
  auto t = cast<RankedTensorType>(type);
  TensorMapping m(t.getRank());
  for (int64_t d = 0; d < t.getRank(); ++d) {
    rule.factors.push_back({t.getDimSize(d), FactorKind::PassThrough});
    m[d].push_back(d);
  }
  rule.operands.push_back(m);
  rule.results.push_back(m);
  return rule;
}

void Propagator::run() {
  SmallVector<Operation *> ops = opsInOrder();
  // Rules are built once; an op whose rule does not match its types (a bug
  // in a rule) is skipped rather than trusted.
  llvm::DenseMap<Operation *, ShardingRule> rules;
  llvm::DenseMap<Operation *, bool> passThrough;
  llvm::DenseMap<Operation *, SmallVector<Operation *>> callsOf; // func -> calls
  for (Operation *op : ops) {
    if (auto call = dyn_cast<func::CallOp>(op)) {
      if (auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(op, call.getCalleeAttr()))
        callsOf[callee].push_back(op);
      passThrough[op] = true;
      continue;
    }
    auto rule = ruleFor(op);
    if (!rule || !rule->verify(op).empty())
      continue;
    // Pass-through ops (no reduction or replication factor) go first: they
    // never cause communication, so their information is the safest.
    passThrough[op] = llvm::all_of(rule->factors, [](const Factor &f) {
      return f.kind == FactorKind::PassThrough;
    });
    rules.try_emplace(op, std::move(*rule));
  }
  auto visit = [&](Operation *op, int64_t p) {
    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(op, call.getCalleeAttr());
      if (!callee || callee.isExternal())
        return;
      for (auto [v, arg] : llvm::zip(call.getOperands(), callee.getArguments()))
        if (isa<RankedTensorType>(v.getType()))
          step({v, arg}, 1, identityRule(v.getType()), p);
      Operation *ret = callee.getBody().back().getTerminator();
      for (auto [r, v] : llvm::zip(call.getResults(), ret->getOperands()))
        if (isa<RankedTensorType>(r.getType()))
          step({v, r}, 1, identityRule(r.getType()), p);
      return;
    }
    auto it = rules.find(op);
    if (it == rules.end())
      return;
    SmallVector<Value> tensors(op->getOperands());
    tensors.append(op->result_begin(), op->result_end());
    step(tensors, op->getNumOperands(), it->second, p);
  };
  // A worklist per priority level: every op once, then only the ops next to
  // a value that changed. Pass-through ops are drained before the others.
  for (int64_t p : priorities) {
    std::deque<Operation *> queues[2];
    llvm::DenseSet<Operation *> queued;
    auto enqueue = [&](Operation *op) {
      if (!passThrough.count(op) || !queued.insert(op).second)
        return;
      queues[passThrough[op] ? 0 : 1].push_back(op);
    };
    for (Operation *op : ops)
      enqueue(op);
    while (!queues[0].empty() || !queues[1].empty()) {
      std::deque<Operation *> &q = queues[0].empty() ? queues[1] : queues[0];
      Operation *op = q.front();
      q.pop_front();
      queued.erase(op);
      touched.clear();
      visit(op, p);
      for (Value v : SmallVector<Value>(touched)) {
        if (Operation *def = v.getDefiningOp())
          enqueue(def);
        for (Operation *user : v.getUsers()) {
          enqueue(user);
          if (isa<func::ReturnOp>(user))
            for (Operation *call : callsOf.lookup(user->getParentOp()))
              enqueue(call);
        }
        if (auto arg = dyn_cast<BlockArgument>(v))
          for (Operation *call : callsOf.lookup(arg.getOwner()->getParentOp()))
            enqueue(call);
      }
    }
  }
}

void Propagator::writeBack() {
  MLIRContext *ctx = module.getContext();
  module.walk([&](Operation *op) {
    if (isa<ModuleOp, func::FuncOp, MeshOp, func::ReturnOp, sharding::ReturnOp>(op) ||
        op->getNumResults() == 0 ||
        !llvm::all_of(op->getResultTypes(), llvm::IsaPred<RankedTensorType>))
      return;
    SmallVector<Attribute> attrs;
    for (Value r : op->getResults())
      attrs.push_back(toAttr(r));
    op->setAttr(kShardingsAttr, ArrayAttr::get(ctx, attrs));
  });
  module.walk([&](func::FuncOp func) {
    if (func.isExternal())
      return;
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (isa<RankedTensorType>(func.getArgument(i).getType()))
        func.setArgAttr(i, kShardingAttr, toAttr(func.getArgument(i)));
    Operation *ret = func.getBody().back().getTerminator();
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      if (isa<RankedTensorType>(func.getResultTypes()[i]))
        func.setResultAttr(i, kShardingAttr, toAttr(ret->getOperand(i)));
  });
}

std::vector<ReshardNeed> Propagator::reshards() {
  std::vector<ReshardNeed> needs;
  for (Operation *op : opsInOrder()) {
    auto rule = ruleFor(op);
    if (!rule || !rule->verify(op).empty())
      continue;
    SmallVector<Value> tensors(op->getOperands());
    tensors.append(op->result_begin(), op->result_end());
    SmallVector<const TensorMapping *> maps;
    for (unsigned i = 0; i < tensors.size(); ++i)
      maps.push_back(i < op->getNumOperands() ? &rule->operands[i]
                                              : &rule->results[i - op->getNumOperands()]);
    // What the op computes with: the merged factors as its results see them.
    SmallVector<Candidate> merged = merge(tensors, *rule, maps, kNoPriority);
    for (unsigned i = 0; i < op->getNumOperands(); ++i) {
      Value v = op->getOperand(i);
      if (!isa<RankedTensorType>(v.getType()))
        continue;
      ValueState &s = stateOf(v);
      SmallVector<AxisList> mergedAxes;
      for (const Candidate &c : merged)
        mergedAxes.push_back(c.axes);
      SmallVector<Axes> required = dimsFromFactors(
          rule->operands[i], mergedAxes, *rule, [&](StringAttr a) { return axisSize(a); });
      required.resize(s.dims.size());
      ReshardNeed need;
      need.op = op;
      need.operandIndex = i;
      need.tensor = valueName(v);
      auto emit = [&](StringRef kind, ArrayRef<StringAttr> axes) {
        need.collective = kind.str();
        need.axes.clear();
        for (StringAttr a : axes)
          need.axes.push_back(a.str());
        needs.push_back(need);
      };
      need.from = formatSharding(toAttr(v));
      SmallVector<DimShardingAttr> reqDims;
      for (const Axes &a : required)
        reqDims.push_back(DimShardingAttr::get(module.getContext(), a, true));
      need.to = formatSharding(TensorShardingAttr::get(module.getContext(), meshRef,
                                                      reqDims, {}, {}, -1));
      // The origin of the required layout: the strongest factor it uses.
      int64_t bestPriority = kNoPriority;
      for (auto &m : merged)
        if (m.origin && m.priority < bestPriority && !m.axes.empty()) {
          bestPriority = m.priority;
          need.origin = *m.origin;
        }
      // Partial sums must be summed before use, unless a constraint asks
      // to keep them partial.
      auto constraint = dyn_cast<ConstraintOp>(op);
      bool keepPartial = constraint && constraint.getSharding().getUnreduced().size() ==
                                           s.unreduced.size();
      if (!s.unreduced.empty() && !keepPartial) {
        std::string requiredOrigin = need.origin;
        need.origin = s.origin; // where the partial sums came from
        emit("all_reduce", s.unreduced);
        need.origin = requiredOrigin;
      }
      // The collectives the partitioner will emit for the dimensions
      // (ReshardPlan.h), one need each.
      for (const ReshardStep &step : planReshard(s.dims, required))
        emit(step.kind == ReshardStep::Kind::AllToAll    ? "all_to_all"
             : step.kind == ReshardStep::Kind::AllGather ? "all_gather"
                                                         : "slice",
             step.axes);
    }
  }
  return needs;
}

} // namespace

FailureOr<std::vector<ReshardNeed>> propagateShardings(ModuleOp module,
                                                       const PropagationOptions &options) {
  // One mesh per module: the first declared.
  MeshOp meshOp;
  for (auto m : module.getOps<MeshOp>()) {
    meshOp = m;
    break;
  }
  if (!meshOp)
    return std::vector<ReshardNeed>(); // nothing is sharded
  auto meshRef = FlatSymbolRefAttr::get(meshOp.getSymNameAttr());
  Propagator p(module, meshOp.getMesh(), meshRef, options);
  if (failed(p.seed()))
    return failure();
  p.run();
  p.writeBack();
  std::vector<ReshardNeed> needs = p.reshards();
  if (options.explain)
    for (const ReshardNeed &n : needs) {
      auto diag = n.op->emitRemark() << n.collective;
      if (!n.axes.empty()) {
        diag << " on {";
        llvm::interleaveComma(n.axes, diag);
        diag << "}";
      }
      diag << " of '" << (n.tensor.empty() ? "operand #" + std::to_string(n.operandIndex) : n.tensor)
           << "' for " << n.op->getName() << ": " << n.from << " -> " << n.to;
      if (!n.origin.empty())
        diag << " (required layout from '" << n.origin << "')";
    }
  return needs;
}

namespace {
struct ShardingPropagatePass : impl::ShardingPropagateBase<ShardingPropagatePass> {
  using ShardingPropagateBase::ShardingPropagateBase;
  void runOnOperation() override {
    if (failed(propagateShardings(getOperation(), {conservative, explain})))
      signalPassFailure();
  }
};
} // namespace

} // namespace partita::sharding
