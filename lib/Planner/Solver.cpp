//===- Solver.cpp - ILP choice of shardings (--strategy auto) -------------===//
//
// Formulation (docs/planner.md, "Solver"):
//
//  * Groups. Every op of the main function belongs to one decision group:
//    - an anchor (an op with a reduction factor, e.g. matmul) is a group
//      whose candidates are assignments of mesh axes to its factors (each
//      axis to at most one non-need-replication factor, each factor's axes
//      in mesh order, divisible splits only);
//    - a follower (an op whose factors are all pass-through or
//      need-replication: elementwise, transpose, reshape, softmax, layer
//      norm) joins the group of its largest operand and takes that
//      operand's layout (need-replication axes dropped);
//    - a source (function argument, constant) used once by an op that does
//      not follow it takes the layout its consumer needs (no reshard); other
//      sources are groups whose candidates are all divisible layouts;
//    - user annotations (argument shardings, sharding.constraint ops) and
//      ops without a sharding rule are fixed groups of one candidate.
//  * Layers. Ops are grouped into layers by name (layerOf); layers whose op
//    sequences are identical share the variables of the first of them and
//    their costs are added to it.
//  * Costs (seconds). Per candidate: roofline compute time of every member
//    op on local shapes, reshards inside the group; per def-use edge between
//    groups: the alpha-beta time of the reshard from the producer's layout
//    to the consumer's (all_reduce of partial sums, all_gather / slice per
//    dimension, as sharding-partition emits them).
//  * ILP. x[g][c] binary, sum_c x[g][c] = 1. An edge between two groups
//    costs sum y[p][r] * reshard(p -> r) over the distinct producer layouts
//    p and consumer layouts r, with the transportation constraints
//    sum_r y[p][r] = sum_{c: layout(c) = p} x[u][c] and its mirror; with
//    one-hot x the continuous y is exactly the product. Memory: parameters
//    and inputs at local size plus A <= budget, A >= the activations of
//    every layer (one layer live at a time).
//
//===----------------------------------------------------------------------===//

#include "partita/Planner/Solver.h"

#include "partita/Planner/CostModel.h"
#include "dialects/Graph/IR/GraphOps.h"
#include "dialects/Sharding/IR/ReshardPlan.h"
#include "dialects/Sharding/IR/ShardingOps.h"
#include "dialects/Sharding/Rules/GraphShardingRules.h"
#include "passes/Propagation/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"

#include <glpk.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>
#include <cmath>
#include <map>
#include <unordered_map>

using namespace mlir;
using namespace partita::sharding;

namespace partita::planner {
namespace {

using Clock = std::chrono::steady_clock;

struct Layout {
  SmallVector<AxisList> dims;
  AxisList unreduced;
  bool operator==(const Layout &o) const { return dims == o.dims && unreduced == o.unreduced; }
  bool operator!=(const Layout &o) const { return !(*this == o); }
};

std::string layoutKey(const Layout &l) {
  std::string k;
  for (const AxisList &d : l.dims) {
    for (StringAttr a : d)
      k += a.getValue().str() + ",";
    k += "|";
  }
  k += "u";
  for (StringAttr a : l.unreduced)
    k += a.getValue().str() + ",";
  return k;
}


enum class Kind { Fixed, Source, Anchor, Follower };

struct Group {
  unsigned numCands = 1;
  /// Anchor groups: factor axes per candidate; source roots: layouts.
  std::vector<SmallVector<AxisList>> factorAxes;
  std::vector<Layout> layouts;
  std::vector<double> node, mem;
  std::string name; ///< for messages
  int firstColumn = -1; ///< GLPK column of candidate 0 (when numCands > 1)
};

struct EdgeKey {
  Value value;
  Operation *user;
  unsigned operand;
  bool operator<(const EdgeKey &o) const {
    if (value != o.value)
      return value.getAsOpaquePointer() < o.value.getAsOpaquePointer();
    if (user != o.user)
      return user < o.user;
    return operand < o.operand;
  }
};

class Solver {
public:
  Solver(ModuleOp module, func::FuncOp func, MeshOp meshOp, const Cluster &cluster,
         const SolverOptions &options)
      : module(module), func(func), meshOp(meshOp), cluster(cluster), options(options) {}

  /// Solves; `attach`: sources used once take their consumer's layout.
  FailureOr<SolverResult> run(bool attach, std::string &error);
  void materialize() { materialize(choice); }
  /// The chosen layouts of the named arguments and initializers.
  std::vector<SourceLayout> sourceLayouts() const;

private:
  std::vector<unsigned> choice;
  // Mesh and costs.
  int64_t axisSize(StringAttr a) const { return *meshOp.getMesh().getAxisSize(a.getValue()); }
  int64_t product(ArrayRef<StringAttr> axes) const {
    int64_t p = 1;
    for (StringAttr a : axes)
      p *= axisSize(a);
    return p;
  }
  double shards(const Layout &l) const {
    double s = 1;
    for (const AxisList &d : l.dims)
      s *= product(d);
    return s;
  }
  double localBytes(Type t, const Layout &l) const { return tensorBytes(t) / shards(l); }
  double collective(StringRef kind, double bytes, ArrayRef<StringAttr> axes) const;
  double reshard(Type t, Layout from, const Layout &to);

  // Structure.
  void classify();
  void findLayers();
  /// Builds groups and candidate layouts for the live ops; returns the
  /// layer class to untie when tying turned out inconsistent, else "".
  std::string build();
  Layout layoutFromFactors(const TensorMapping &m, ArrayRef<AxisList> fa,
                           const ShardingRule &rule) const;
  void planOp(Operation *op, unsigned g, unsigned c, const SmallVector<AxisList> &fa);
  double combiningCollectives(Operation *op, const ShardingRule &rule,
                              ArrayRef<AxisList> fa) const;
  double haloPermutes(Operation *op, const ShardingRule &rule, ArrayRef<AxisList> fa) const;
  SmallVector<AxisList> realized(Operation *op, const SmallVector<AxisList> &wanted) const;
  LogicalResult accumulate(std::string &error);
  /// Training: what a parameter holds at layout `l` (its gradient and
  /// optimizer state with the ZeRO stage's division) and the time of its
  /// gradient's synchronization.
  TrainingStateBytes trainingState(Value param, const Layout &l) const;
  double gradientSync(Value param, const Layout &l) const;
  /// Training: the memory of the chosen plan by kind, into `result`.
  void memoryBreakdown(SolverResult &result) const;
  FailureOr<std::vector<unsigned>> solveIlp(SolverResult &result, std::string &error);
  void materialize(const std::vector<unsigned> &choice);

  Value repValue(Value v) const {
    auto it = repVal.find(v);
    return it == repVal.end() ? v : it->second;
  }
  Operation *repOp(Operation *op) const {
    auto it = repOps.find(op);
    return it == repOps.end() ? op : it->second;
  }

  ModuleOp module;
  mutable func::FuncOp func;
  mutable MeshOp meshOp;
  bool attachOnce = true;
  const Cluster &cluster;
  const SolverOptions &options;
  std::map<std::string, const LinkSpec *> links;
  SmallVector<StringAttr> meshAxes;

  SmallVector<Operation *> ops; ///< body ops except the terminator
  llvm::DenseMap<Operation *, Kind> kind;
  llvm::DenseMap<Operation *, ShardingRule> rules;
  llvm::DenseMap<Operation *, unsigned> primary; ///< followers
  /// Sources used once by an op that does not follow them: the use.
  llvm::DenseMap<Value, std::pair<Operation *, unsigned>> attachedTo;
  llvm::DenseMap<Value, Layout> fixedLayout; ///< annotated arguments

  // Layers.
  std::map<std::string, std::vector<std::string>> classes; ///< rep -> members
  llvm::StringMap<std::vector<Operation *>> layerOps;
  llvm::StringMap<std::vector<Value>> layerArgs;
  llvm::DenseMap<Operation *, Operation *> repOps;
  llvm::DenseMap<Value, Value> repVal;
  unsigned tied = 0;

  // Groups and per-candidate layouts (live items only).
  std::vector<Group> groups;
  llvm::DenseMap<Value, unsigned> groupOfValue;
  llvm::DenseMap<Operation *, unsigned> groupOfOp;
  llvm::DenseMap<Value, std::vector<Layout>> produced;
  std::map<std::pair<Operation *, unsigned>, std::vector<Layout>> required;
  llvm::DenseMap<Operation *, std::vector<double>> opTime;
  std::map<EdgeKey, double> edges; ///< multiplicities
  /// layer -> group -> activation bytes per candidate
  std::map<std::string, std::map<unsigned, std::vector<double>>> activations;

  std::unordered_map<std::string, double> reshardMemo;
};

double Solver::collective(StringRef kind, double bytes, ArrayRef<StringAttr> axes) const {
  if (axes.empty())
    return 0;
  const LinkSpec *slowest = nullptr;
  for (StringAttr a : axes) {
    auto it = links.find(a.str());
    if (it != links.end() &&
        (!slowest || it->second->effectiveBandwidth() < slowest->effectiveBandwidth()))
      slowest = it->second;
  }
  if (!slowest)
    return 0;
  return collectiveTime(cluster, kind, bytes, product(axes), *slowest);
}

/// The collectives sharding-partition emits (Partitioner::reshard): an
/// all_reduce of the partial axes, then the steps of planReshard
/// (ReshardPlan.h): all_to_all for axes moving between dimensions,
/// all_gathers, and (free) slices.
double Solver::reshard(Type t, Layout from, const Layout &to) {
  if (from == to)
    return 0;
  std::string key = std::to_string(reinterpret_cast<uintptr_t>(t.getAsOpaquePointer())) + "/" +
                    layoutKey(from) + "/" + layoutKey(to);
  if (auto it = reshardMemo.find(key); it != reshardMemo.end())
    return it->second;
  double time = 0;
  AxisList combine;
  for (StringAttr a : from.unreduced)
    if (!llvm::is_contained(to.unreduced, a))
      combine.push_back(a);
  // Ties (an all_reduce = reduce_scatter + all_gather in the alpha-beta
  // model) go to the plan with fewer collectives: 1 ns per collective.
  const double tieBreak = 1e-9;
  if (!combine.empty())
    time += collective("all_reduce", localBytes(t, from), combine) + tieBreak;
  for (const ReshardStep &step : planReshard(from.dims, to.dims)) {
    // all_to_all exchanges the block it has; all_gather is costed on the
    // block it assembles (the cost model's convention).
    double before = localBytes(t, from);
    applyReshardStep(from.dims, step);
    if (step.kind == ReshardStep::Kind::AllToAll)
      time += collective("all_to_all", before, step.axes) + tieBreak;
    else if (step.kind == ReshardStep::Kind::AllGather)
      time += collective("all_gather", localBytes(t, from), step.axes) + tieBreak;
  }
  reshardMemo[key] = time;
  return time;
}

void Solver::classify() {
  for (Operation &op : func.getBody().front()) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      continue;
    ops.push_back(&op);
    if (isa<ConstraintOp>(op)) {
      kind[&op] = Kind::Fixed;
      continue;
    }
    if (op.getName().getStringRef() == "graph.constant") {
      kind[&op] = Kind::Source;
      continue;
    }
    auto iface = dyn_cast<ShardingRuleOpInterface>(&op);
    bool ranked = llvm::all_of(op.getResultTypes(), llvm::IsaPred<RankedTensorType>) &&
                  llvm::all_of(op.getOperandTypes(), llvm::IsaPred<RankedTensorType>);
    if (!iface || !ranked || op.getNumRegions() != 0) {
      kind[&op] = Kind::Fixed;
      continue;
    }
    ShardingRule rule = iface.getShardingRule();
    if (!rule.verify(&op).empty()) {
      kind[&op] = Kind::Fixed;
      continue;
    }
    bool reduction = llvm::any_of(rule.factors, [](const Factor &f) {
      return f.kind == FactorKind::Reduction;
    });
    kind[&op] = Kind::Anchor;
    if (!reduction && op.getNumResults() == 1 && op.getNumOperands() >= 1) {
      unsigned best = 0;
      double size = -1;
      for (unsigned i = 0; i < op.getNumOperands(); ++i) {
        double n = tensorBytes(op.getOperand(i).getType());
        if (n > size)
          best = i, size = n;
      }
      kind[&op] = Kind::Follower;
      primary[&op] = best;
    }
    rules.try_emplace(&op, std::move(rule));
  }
  // Sources used once by an op that does not follow them take its layout.
  // (Without attaching, a source is a group of its own and may be stored
  // sharded and gathered on use, ZeRO/FSDP style; run() retries that way
  // when the attached model does not fit the budget.)
  auto consider = [&](Value v) {
    if (fixedLayout.count(v) || !v.hasOneUse() || !attachOnce)
      return;
    OpOperand &use = *v.use_begin();
    Operation *user = use.getOwner();
    auto k = kind.find(user);
    if (k == kind.end())
      return; // the terminator
    // In a training step a parameter is stored as it is used (a user's
    // constraint included): storing it split and gathering it on use is
    // ZeRO-3, which the TrainingModel accounts for separately.
    if (k->second == Kind::Anchor ||
        (k->second == Kind::Follower && primary[user] != use.getOperandNumber()) ||
        (options.training && k->second == Kind::Fixed))
      attachedTo[v] = {user, use.getOperandNumber()};
  };
  for (BlockArgument arg : func.getArguments()) {
    if (!isa<RankedTensorType>(arg.getType()))
      continue;
    if (auto s = func.getArgAttrOfType<TensorShardingAttr>(arg.getArgNumber(), kShardingAttr)) {
      Layout l;
      for (DimShardingAttr d : s.getDims())
        l.dims.push_back(AxisList(d.getAxes().begin(), d.getAxes().end()));
      fixedLayout[arg] = l;
      continue;
    }
    consider(arg);
  }
  for (Operation *op : ops)
    if (kind[op] == Kind::Source)
      consider(op->getResult(0));
}

/// Layers by name; layers with the same op sequence form a class whose
/// first member carries the variables.
void Solver::findLayers() {
  std::vector<std::string> order;
  auto note = [&](const std::string &l) {
    if (l != "other" && !layerOps.count(l) && !layerArgs.count(l))
      order.push_back(l);
  };
  auto opLayer = [](Operation *op) {
    return op->getNumResults() ? layerOf(valueName(op->getResult(0))) : std::string("other");
  };
  // A constant (an ONNX initializer) named outside every layer
  // (torch.onnx.export's "onnx::Conv_501") and used once belongs to its
  // user's layer: tied
  // layers then map such weights onto each other like their ops, as they
  // must, since a source used once takes its user's layout (classify).
  // (Arguments keep their own names: the model's input, used once by the
  // first layer, would make that layer's signature differ from the rest.)
  auto layerOfSource = [&](Value v, std::string own) {
    if (own != "other" || !v.hasOneUse())
      return own;
    Operation *user = *v.getUsers().begin();
    return user->hasTrait<OpTrait::IsTerminator>() ? own : opLayer(user);
  };
  for (BlockArgument arg : func.getArguments()) {
    std::string l = layerOf(valueName(arg));
    note(l);
    if (l != "other")
      layerArgs[l].push_back(arg);
  }
  for (Operation *op : ops) {
    std::string l = opLayer(op);
    if (kind[op] == Kind::Source)
      l = layerOfSource(op->getResult(0), l);
    note(l);
    if (l != "other")
      layerOps[l].push_back(op);
  }
  std::map<std::string, std::string> bySignature; // signature -> first layer
  for (const std::string &l : order) {
    llvm::DenseMap<Value, unsigned> index;
    std::string sig;
    llvm::raw_string_ostream os(sig);
    unsigned k = 0;
    for (Value a : layerArgs.lookup(l)) {
      index[a] = k++;
      os << "arg " << a.getType() << (fixedLayout.count(a) ? " fixed" : "") << ";";
    }
    for (Operation *op : layerOps.lookup(l)) {
      // Constants differ in their values only: weights of identical layers.
      if (kind[op] == Kind::Source)
        os << op->getName() << " (";
      else
        os << op->getName() << " " << op->getAttrDictionary() << " (";
      for (Value v : op->getOperands()) {
        os << v.getType() << " ";
        if (auto it = index.find(v); it != index.end())
          os << "#" << it->second;
        else
          os << "out";
        os << ",";
      }
      os << ") ->";
      for (Value r : op->getResults()) {
        os << " " << r.getType();
        index[r] = k;
      }
      ++k;
      os << ";";
    }
    auto [it, fresh] = bySignature.try_emplace(sig, l);
    classes[it->second].push_back(l);
  }
}

Layout Solver::layoutFromFactors(const TensorMapping &m, ArrayRef<AxisList> fa,
                                 const ShardingRule &rule) const {
  Layout l;
  l.dims = dimsFromFactors(m, fa, rule, [&](StringAttr a) { return axisSize(a); });
  return l;
}

SmallVector<AxisList> Solver::realized(Operation *op, const SmallVector<AxisList> &wanted) const {
  // What sharding-partition will compute with (realizeFactorAxes) when
  // every tensor of the op is laid out as `wanted` implies.
  const ShardingRule &rule = rules.find(op)->second;
  SmallVector<SmallVector<AxisList>> resultDims, operandDims;
  for (const TensorMapping &m : rule.results)
    resultDims.push_back(layoutFromFactors(m, wanted, rule).dims);
  for (const TensorMapping &m : rule.operands)
    operandDims.push_back(layoutFromFactors(m, wanted, rule).dims);
  return realizeFactorAxes(rule, resultDims, operandDims,
                           [&](StringAttr a) { return axisSize(a); });
}

void Solver::planOp(Operation *op, unsigned g, unsigned c, const SmallVector<AxisList> &wanted) {
  const ShardingRule &rule = rules.find(op)->second;
  SmallVector<AxisList> fa = realized(op, wanted);
  unsigned n = groups[g].numCands;
  double flops = opFlops(op), bytes = 0, extra = 0;
  bool countBytes = opBytes(op) > 0;
  for (unsigned i = 0; i < op->getNumOperands(); ++i) {
    Layout l = layoutFromFactors(rule.operands[i], fa, rule);
    if (countBytes)
      bytes += localBytes(op->getOperand(i).getType(), l);
    auto &slot = required[{op, i}];
    slot.resize(n);
    slot[c] = l;
  }
  AxisList partialSum, partialOther;
  for (auto [f, factor] : llvm::enumerate(rule.factors)) {
    flops /= product(fa[f]);
    if (factor.kind == FactorKind::Reduction)
      (factor.reduction == ReductionKind::Sum ? partialSum : partialOther)
          .append(fa[f].begin(), fa[f].end());
  }
  for (unsigned r = 0; r < op->getNumResults(); ++r) {
    Layout l = layoutFromFactors(rule.results[r], fa, rule);
    if (countBytes)
      bytes += localBytes(op->getResult(r).getType(), l);
    if (!partialOther.empty())
      extra += collective("all_reduce", localBytes(op->getResult(r).getType(), l), partialOther);
    l.unreduced = partialSum;
    auto &slot = produced[op->getResult(r)];
    slot.resize(n);
    slot[c] = l;
  }
  extra += combiningCollectives(op, rule, fa);
  double peak = cluster.device.flopsFor(
      dtypeName(op->getNumOperands() ? op->getOperand(0).getType() : op->getResult(0).getType()));
  double time = std::max(peak > 0 ? flops / peak : 0.0, bytes / cluster.device.memoryBandwidth);
  auto &t = opTime[op];
  t.resize(n);
  t[c] = time + extra;
}

/// The collectives sharding-partition's distributed forms add when the
/// axis an op combines along is split (Partition.cpp: softmax and
/// log_softmax, layer_norm, cumsum, top-k, arg max/min): statistics or
/// candidates per row of the input, never the whole axis. Zero otherwise.
double Solver::combiningCollectives(Operation *op, const ShardingRule &rule,
                                    ArrayRef<AxisList> fa) const {
  if (op->getNumOperands() == 0 || rule.operands.empty())
    return 0;
  auto type = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
  if (!type || !type.getElementType().isIntOrFloat())
    return 0;
  int64_t rank = type.getRank();
  if (windowDim(op, 2))
    return haloPermutes(op, rule, fa);
  auto axisAttr = op->getAttrOfType<IntegerAttr>("axis");
  if (!axisAttr || !isa<graph::SoftmaxOp, graph::LogSoftmaxOp, graph::LayerNormOp,
                        graph::CumSumOp, graph::TopKOp, graph::ArgMaxOp, graph::ArgMinOp>(op))
    return 0;
  int64_t from = axisAttr.getInt() < 0 ? axisAttr.getInt() + rank : axisAttr.getInt();
  int64_t to = isa<graph::LayerNormOp>(op) ? rank : from + 1;
  if (from < 0 || from >= rank)
    return 0;
  AxisList axes;
  double rows = 1, localAxis = 1;
  for (int64_t d = 0; d < rank; ++d) {
    AxisList here;
    for (int64_t f : rule.operands[0][d])
      here.append(fa[f].begin(), fa[f].end());
    double local = double(type.getDimSize(d)) / product(here);
    if (d >= from && d < to) {
      axes.append(here.begin(), here.end());
      localAxis *= local;
    } else {
      rows *= local;
    }
  }
  if (axes.empty())
    return 0;
  double elt = std::max<unsigned>(type.getElementTypeBitWidth(), 8) / 8.0;
  double group = product(axes);
  if (isa<graph::SoftmaxOp, graph::LogSoftmaxOp, graph::LayerNormOp>(op))
    return 2 * collective("all_reduce", rows * elt, axes); // max and sum; mean and variance
  if (isa<graph::CumSumOp>(op))
    return collective("all_gather", rows * group * elt, axes); // the block totals
  // Candidates, values and int64 indices: k per block (top-k), or one.
  double k = 1;
  if (auto topk = dyn_cast<graph::TopKOp>(op))
    k = std::min<double>(topk.getK(), localAxis);
  return collective("all_gather", rows * k * group * elt, axes) +
         collective("all_gather", rows * k * group * 8, axes);
}

/// The halo exchange of a conv / pool whose spatial dimensions are split
/// (passes/Partition/Halo.cpp): per split dimension, the `padBegin` rows
/// before the block and the `extent - stride - padBegin` after it, each
/// side one collective_permute per block it spans (the nearest blocks
/// first).
double Solver::haloPermutes(Operation *op, const ShardingRule &rule,
                            ArrayRef<AxisList> fa) const {
  auto type = cast<RankedTensorType>(op->getOperand(0).getType());
  Layout in = layoutFromFactors(rule.operands[0], fa, rule);
  double bytes = localBytes(type, in), time = 0;
  for (int64_t d = 2; d < type.getRank(); ++d) {
    std::optional<WindowDim> w = windowDim(op, d);
    AxisList axes;
    for (int64_t f : rule.operands[0][d])
      axes.append(fa[f].begin(), fa[f].end());
    if (!w || axes.empty())
      continue;
    int64_t block = type.getDimSize(d) / product(axes);
    if (block <= 0)
      continue;
    double rowBytes = bytes / block;
    for (int64_t halo : {w->padBegin, w->extent() - w->stride - w->padBegin})
      for (int64_t left = halo; left > 0; left -= block)
        time += collective("collective_permute", rowBytes * std::min(left, block), axes);
  }
  return time;
}

/// Every divisible assignment of mesh axes to `slots` (factors or
/// dimensions with the given sizes; eligible[i] false: never split).
std::vector<SmallVector<AxisList>> enumerateAssignments(ArrayRef<StringAttr> axes,
                                             ArrayRef<int64_t> axisSizes,
                                             ArrayRef<int64_t> sizes,
                                             ArrayRef<bool> eligible) {
  std::vector<SmallVector<AxisList>> out;
  SmallVector<AxisList> cur(sizes.size());
  SmallVector<int64_t> split(sizes.size(), 1);
  std::function<void(size_t)> rec = [&](size_t k) {
    if (k == axes.size()) {
      out.push_back(cur);
      return;
    }
    rec(k + 1); // axis k unused
    for (size_t s = 0; s < sizes.size(); ++s) {
      if (!eligible[s] || sizes[s] % (split[s] * axisSizes[k]) != 0)
        continue;
      cur[s].push_back(axes[k]);
      split[s] *= axisSizes[k];
      rec(k + 1);
      split[s] /= axisSizes[k];
      cur[s].pop_back();
    }
  };
  rec(0);
  return out;
}

std::string Solver::build() {
  groups.clear();
  groupOfValue.clear();
  groupOfOp.clear();
  produced.clear();
  required.clear();
  opTime.clear();
  SmallVector<StringAttr> splitAxes; // axes of size 1 split nothing
  SmallVector<int64_t> axisSizes;
  for (StringAttr a : meshAxes)
    if (axisSize(a) > 1)
      splitAxes.push_back(a), axisSizes.push_back(axisSize(a));
  auto sourceGroup = [&](Value v, StringRef name) {
    unsigned g = groups.size();
    groups.emplace_back();
    Group &grp = groups.back();
    grp.name = name.str();
    auto t = cast<RankedTensorType>(v.getType());
    if (auto it = fixedLayout.find(v); it != fixedLayout.end()) {
      grp.layouts = {it->second};
    } else {
      SmallVector<bool> eligible(t.getRank(), true);
      for (auto &dims : enumerateAssignments(splitAxes, axisSizes, t.getShape(), eligible)) {
        Layout l;
        l.dims.assign(dims.begin(), dims.end());
        grp.layouts.push_back(l);
      }
    }
    grp.numCands = grp.layouts.size();
    produced[v] = grp.layouts;
    groupOfValue[v] = g;
  };
  auto attachSources = [&](Operation *op, unsigned g) {
    for (unsigned i = 0; i < op->getNumOperands(); ++i) {
      Value v = op->getOperand(i);
      auto it = attachedTo.find(v);
      if (it == attachedTo.end() || it->second.first != op || it->second.second != i)
        continue;
      produced[v] = required[{op, i}];
      groupOfValue[v] = g;
    }
  };
  for (BlockArgument arg : func.getArguments())
    if (isa<RankedTensorType>(arg.getType()) && !attachedTo.count(arg) && repValue(arg) == arg)
      sourceGroup(arg, valueName(arg));
  for (Operation *op : ops) {
    Kind k = kind[op];
    Operation *rop = repOp(op);
    if (rop != op) {
      // A tied op: its rep carries the variables; check the tie holds.
      std::string layer = op->getNumResults() ? layerOf(valueName(op->getResult(0))) : "";
      if (k == Kind::Follower) {
        Value mine = repValue(op->getOperand(primary[op]));
        Value theirs = repValue(rop->getOperand(primary[rop]));
        if (!groupOfValue.count(mine) || groupOfValue[mine] != groupOfOp[rop] ||
            produced[mine] != produced[theirs])
          return layer;
      }
      // Every operand must already have a layout: a source attached to
      // this op (rather than tied to one attached to the rep) would never
      // get one, since only the rep attaches its sources.
      for (Value v : op->getOperands()) {
        Value mine = repValue(v);
        if (!isa<RankedTensorType>(mine.getType()))
          continue;
        auto at = attachedTo.find(mine);
        if ((at != attachedTo.end() && at->second.first != rop) || !groupOfValue.count(mine))
          return layer.empty() ? std::string("other") : layer;
      }
      continue;
    }
    std::string name = op->getNumResults() ? valueName(op->getResult(0)) : "";
    if (k == Kind::Source) {
      if (!attachedTo.count(op->getResult(0)))
        sourceGroup(op->getResult(0), name);
      continue;
    }
    if (k == Kind::Fixed) {
      unsigned g = groups.size();
      groups.emplace_back();
      groups.back().name = name;
      groupOfOp[op] = g;
      auto c = dyn_cast<ConstraintOp>(op);
      auto fixed = [&](Type t) {
        Layout l;
        l.dims.resize(cast<RankedTensorType>(t).getRank());
        if (c) {
          for (auto [d, dim] : llvm::enumerate(c.getSharding().getDims()))
            l.dims[d].assign(dim.getAxes().begin(), dim.getAxes().end());
          l.unreduced.assign(c.getSharding().getUnreduced().begin(),
                             c.getSharding().getUnreduced().end());
        }
        return l;
      };
      for (unsigned i = 0; i < op->getNumOperands(); ++i)
        if (isa<RankedTensorType>(op->getOperand(i).getType()))
          required[{op, i}] = {fixed(op->getOperand(i).getType())};
      for (Value r : op->getResults())
        if (isa<RankedTensorType>(r.getType())) {
          produced[r] = {fixed(r.getType())};
          groupOfValue[r] = g;
        }
      opTime[op] = {0.0};
      attachSources(op, g);
      continue;
    }
    const ShardingRule &rule = rules.find(op)->second;
    if (k == Kind::Anchor) {
      unsigned g = groups.size();
      groups.emplace_back();
      groups.back().name = name;
      SmallVector<int64_t> sizes;
      SmallVector<bool> eligible;
      for (const Factor &f : rule.factors) {
        sizes.push_back(f.size);
        eligible.push_back(f.kind != FactorKind::NeedReplication);
      }
      for (auto &fa : enumerateAssignments(splitAxes, axisSizes, sizes, eligible))
        if (realized(op, fa) == fa) // not expressible on its tensors: a duplicate
          groups[g].factorAxes.push_back(fa);
      groups[g].numCands = groups[g].factorAxes.size();
      groupOfOp[op] = g;
      for (unsigned c = 0; c < groups[g].numCands; ++c)
        planOp(op, g, c, groups[g].factorAxes[c]);
      for (Value r : op->getResults())
        groupOfValue[r] = g;
      attachSources(op, g);
      continue;
    }
    // Follower: the layout of its primary operand, projected on its factors.
    unsigned p = primary[op];
    Value pv = repValue(op->getOperand(p));
    unsigned g = groupOfValue.lookup(pv);
    groupOfOp[op] = g;
    auto size = [&](StringAttr a) { return axisSize(a); };
    for (unsigned c = 0; c < groups[g].numCands; ++c) {
      const Layout &in = produced[pv][c];
      SmallVector<AxisList> fa(rule.factors.size());
      llvm::StringSet<> used;
      for (auto [d, factors] : llvm::enumerate(rule.operands[p])) {
        auto split = splitAxesAmongFactors(in.dims[d], factors, rule, size);
        for (auto [f, axes] : llvm::zip(factors, split)) {
          if (rule.factors[f].kind == FactorKind::NeedReplication || !fa[f].empty())
            continue;
          for (StringAttr a : axes) {
            if (!used.insert(a.getValue()).second)
              break;
            fa[f].push_back(a);
          }
        }
      }
      planOp(op, g, c, fa);
    }
    for (Value r : op->getResults())
      groupOfValue[r] = g;
    attachSources(op, g);
  }
  // Attached sources of tied ops are tied to their rep's sources.
  return "";
}

LogicalResult Solver::accumulate(std::string &error) {
  // Every value the costs read must have a group and one layout per
  // candidate of it; build() guarantees that, this says so if it did not.
  auto groupOf = [&](Value v) -> std::optional<unsigned> {
    auto it = groupOfValue.find(v);
    if (it == groupOfValue.end() || produced.lookup(v).size() != groups[it->second].numCands) {
      if (error.empty())
        error = "--strategy auto: internal error: no layout for '" + valueName(v) + "'";
      return std::nullopt;
    }
    return it->second;
  };
  for (Group &g : groups) {
    g.node.assign(g.numCands, 0);
    g.mem.assign(g.numCands, 0);
  }
  edges.clear();
  activations.clear();
  // Training (TrainingModel): the backward costs two forward passes of
  // compute and repeats every reshard once (its conjugate); all
  // activations are live when the backward starts.
  const bool training = options.training.has_value();
  const bool fullRecompute = training && options.training->recompute == "full";
  const double computeScale = training ? (fullRecompute ? 4 : 3) : 1;
  const double commScale = training ? 2 : 1;
  auto addLocal = [&](unsigned g, Value pv, std::pair<Operation *, unsigned> use, double mult) {
    const auto &from = produced[pv];
    const auto &to = required[use];
    for (unsigned c = 0; c < groups[g].numCands; ++c)
      groups[g].node[c] += mult * reshard(pv.getType(), from[c], to[c]);
  };
  for (Operation *op : ops) {
    Operation *rop = repOp(op);
    unsigned g = groupOfOp.lookup(rop);
    if (kind[op] == Kind::Source) {
      Value rv = repValue(op->getResult(0));
      auto sg = groupOf(rv);
      if (!sg)
        continue;
      bool param = training && cast<graph::ConstantOp>(op).isTrainableInitializer();
      for (unsigned c = 0; c < groups[*sg].numCands; ++c) {
        const Layout &l = produced[rv][c];
        if (!param) {
          groups[*sg].mem[c] += localBytes(rv.getType(), l);
          continue;
        }
        groups[*sg].mem[c] += trainingState(rv, l).total();
        groups[*sg].node[c] += gradientSync(rv, l);
      }
      continue;
    }
    for (unsigned c = 0; c < groups[g].numCands; ++c)
      groups[g].node[c] += computeScale * opTime[rop][c];
    if (rop == op && !isa<ConstraintOp>(op) && op->getName().getStringRef() != "graph.reshape") {
      // (With full recomputation one layer's activations are live at a
      // time, as in a forward pass.)
      std::string layer = training && !fullRecompute
                              ? ""
                              : layerOf(op->getNumResults() ? valueName(op->getResult(0)) : "");
      auto &act = activations[layer][g];
      act.resize(groups[g].numCands, 0);
      for (Value r : op->getResults())
        for (unsigned c = 0; c < groups[g].numCands; ++c)
          act[c] += localBytes(r.getType(), produced[r][c]);
    }
    for (unsigned i = 0; i < op->getNumOperands(); ++i) {
      Value rv = repValue(op->getOperand(i));
      if (!isa<RankedTensorType>(rv.getType()))
        continue;
      std::optional<unsigned> gu = groupOf(rv);
      if (!gu)
        continue;
      if (*gu == g)
        addLocal(g, rv, {rop, i}, commScale);
      else
        edges[{rv, rop, i}] += commScale;
    }
  }
  for (BlockArgument arg : func.getArguments()) {
    if (!isa<RankedTensorType>(arg.getType()))
      continue;
    Value rv = repValue(arg);
    if (auto sg = groupOf(rv))
      for (unsigned c = 0; c < groups[*sg].numCands; ++c)
        groups[*sg].mem[c] += localBytes(rv.getType(), produced[rv][c]);
  }
  // Results leave summed.
  Operation *ret = func.getBody().front().getTerminator();
  for (Value v : ret->getOperands()) {
    Value rv = repValue(v);
    if (!isa<RankedTensorType>(rv.getType()))
      continue;
    std::optional<unsigned> g = groupOf(rv);
    if (!g)
      continue;
    for (unsigned c = 0; c < groups[*g].numCands; ++c) {
      Layout want = produced[rv][c];
      want.unreduced.clear();
      groups[*g].node[c] += reshard(rv.getType(), produced[rv][c], want);
    }
  }
  return success(error.empty());
}

TrainingStateBytes Solver::trainingState(Value param, const Layout &l) const {
  const TrainingModel &t = *options.training;
  auto type = cast<RankedTensorType>(param.getType());
  // ZeRO divides what the layout leaves whole over its axis, where a
  // dimension can take the split (lib/Distributed/Zero.cpp does the same).
  int64_t parts = 1;
  auto zeroAxis = llvm::find_if(meshAxes, [&](StringAttr a) { return a.getValue() == t.zeroAxis; });
  bool usesAxis = false;
  for (const AxisList &d : l.dims)
    usesAxis |= zeroAxis != meshAxes.end() && llvm::is_contained(d, *zeroAxis);
  if (zeroAxis != meshAxes.end() && !usesAxis && t.zeroStage > 0)
    for (auto [d, size] : llvm::enumerate(type.getShape()))
      if (size % (product(l.dims[d]) * axisSize(*zeroAxis)) == 0) {
        parts = axisSize(*zeroAxis);
        break;
      }
  return trainingStateBytes(localBytes(type, l), t.optimizerStates, std::max(t.zeroStage, 0),
                            parts);
}

double Solver::gradientSync(Value param, const Layout &l) const {
  // Over every axis the parameter is replicated on. (This over-counts
  // parameters whose consumers compute redundantly over an axis, e.g.
  // layer norm weights under tensor parallelism; they are small.) ZeRO-3
  // gathers the parameters again for the backward: 1.5x the volume.
  AxisList replicated;
  for (StringAttr a : meshAxes) {
    bool used = false;
    for (const AxisList &d : l.dims)
      used |= llvm::is_contained(d, a);
    if (!used && axisSize(a) > 1)
      replicated.push_back(a);
  }
  double t = collective("all_reduce", localBytes(param.getType(), l), replicated);
  return options.training->zeroStage >= 3 ? 1.5 * t : t;
}

void Solver::memoryBreakdown(SolverResult &result) const {
  auto layoutOf = [&](Value v) -> const Layout * {
    Value rv = repValue(v);
    auto g = groupOfValue.find(rv);
    auto p = produced.find(rv);
    if (g == groupOfValue.end() || p == produced.end())
      return nullptr;
    return &p->second[choice[g->second]];
  };
  for (Operation *op : ops)
    if (auto c = dyn_cast<graph::ConstantOp>(op); c && c.isTrainableInitializer())
      if (const Layout *l = layoutOf(c.getResult())) {
        TrainingStateBytes b = trainingState(repValue(c.getResult()), *l);
        result.parameterMemory += b.parameters;
        result.gradientMemory += b.gradients;
        result.optimizerMemory += b.optimizer;
      }
  for (BlockArgument arg : func.getArguments())
    if (const Layout *l = layoutOf(arg))
      result.inputMemory += localBytes(arg.getType(), *l);
  result.activationMemory = std::max(0.0, result.predictedMemory - result.parameterMemory -
                                              result.gradientMemory - result.optimizerMemory -
                                              result.inputMemory);
}

std::vector<SourceLayout> Solver::sourceLayouts() const {
  std::vector<SourceLayout> out;
  auto add = [&](Value v) {
    std::string name = valueName(v);
    Value rv = repValue(v);
    auto g = groupOfValue.find(rv);
    auto p = produced.find(rv);
    if (name.empty() || g == groupOfValue.end() || p == produced.end())
      return;
    SourceLayout s{name, {}};
    for (const AxisList &d : p->second[choice[g->second]].dims) {
      s.dims.emplace_back();
      for (StringAttr a : d)
        s.dims.back().push_back(a.str());
    }
    out.push_back(std::move(s));
  };
  for (BlockArgument arg : func.getArguments())
    add(arg);
  for (Operation *op : ops)
    if (auto c = dyn_cast<graph::ConstantOp>(op); c && c.isTrainableInitializer())
      add(c.getResult());
  return out;
}

struct Progress {
  Clock::time_point start, last;
  llvm::raw_ostream *log;
  double scale;
  double offset;
  bool printed = false;
};

void progressCallback(glp_tree *tree, void *info) {
  auto *p = static_cast<Progress *>(info);
  if (!p->log)
    return;
  auto now = Clock::now();
  double t = std::chrono::duration<double>(now - p->start).count();
  if (t < 1.0 || std::chrono::duration<double>(now - p->last).count() < 1.0)
    return;
  p->last = now;
  glp_prob *prob = glp_ios_get_prob(tree);
  int best = glp_ios_best_node(tree);
  int a = 0, n = 0, total = 0;
  glp_ios_tree_size(tree, &a, &n, &total);
  *p->log << llvm::format("solver: %.1f s, %d nodes open", t, a);
  if (glp_mip_status(prob) == GLP_FEAS || glp_mip_status(prob) == GLP_OPT)
    *p->log << ", best plan " << formatSeconds(glp_mip_obj_val(prob) / p->scale + p->offset);
  if (best)
    *p->log << ", bound " << formatSeconds(glp_ios_node_bound(tree, best) / p->scale + p->offset);
  *p->log << "\n";
  p->printed = true;
}

struct HeuristicInfo {
  Progress progress;
  std::vector<double> start; ///< 1-based column values of the greedy plan
  bool given = false;
};

void intoptCallback(glp_tree *tree, void *info) {
  auto *h = static_cast<HeuristicInfo *>(info);
  if (glp_ios_reason(tree) == GLP_IHEUR && !h->given && !h->start.empty()) {
    h->given = true;
    glp_ios_heur_sol(tree, h->start.data());
  }
  progressCallback(tree, &h->progress);
}

FailureOr<std::vector<unsigned>> Solver::solveIlp(SolverResult &result, std::string &error) {
  const double scale = 1e6; // objective in microseconds
  double budget = options.memoryBudget > 0 ? options.memoryBudget : cluster.device.memoryBytes;
  glp_prob *lp = glp_create_prob();
  glp_set_obj_dir(lp, GLP_MIN);
  double offset = 0; // seconds of single-candidate groups
  double fixedMem = 0;
  // Columns x.
  int cols = 0;
  std::vector<unsigned> live; // groups with a choice
  for (auto [g, grp] : llvm::enumerate(groups)) {
    if (grp.numCands == 1) {
      offset += grp.node[0];
      fixedMem += grp.mem[0];
      continue;
    }
    live.push_back(g);
    grp.firstColumn = cols + 1;
    glp_add_cols(lp, grp.numCands);
    for (unsigned c = 0; c < grp.numCands; ++c) {
      int j = grp.firstColumn + c;
      glp_set_col_kind(lp, j, GLP_BV);
      glp_set_obj_coef(lp, j, grp.node[c] * scale);
    }
    cols += grp.numCands;
    int row = glp_add_rows(lp, 1);
    std::vector<int> idx(1);
    std::vector<double> val(1);
    for (unsigned c = 0; c < grp.numCands; ++c)
      idx.push_back(grp.firstColumn + c), val.push_back(1);
    glp_set_mat_row(lp, row, grp.numCands, idx.data(), val.data());
    glp_set_row_bnds(lp, row, GLP_FX, 1, 1);
  }
  // Edges.
  struct YVar {
    int column;
    unsigned gu, gv;
    std::vector<unsigned> pOf, rOf; // candidate -> layout index
    unsigned np, nr;
  };
  std::vector<YVar> yvars;
  for (auto &[key, mult] : edges) {
    unsigned gu = groupOfValue[key.value], gv = groupOfOp[key.user];
    const auto &P = produced[key.value];
    const auto &R = required[{key.user, key.operand}];
    Group &U = groups[gu], &V = groups[gv];
    std::vector<unsigned> pOf(U.numCands), rOf(V.numCands);
    std::vector<Layout> ps, rs;
    auto indexOf = [](std::vector<Layout> &list, const Layout &l) {
      for (unsigned i = 0; i < list.size(); ++i)
        if (list[i] == l)
          return i;
      list.push_back(l);
      return (unsigned)list.size() - 1;
    };
    for (unsigned c = 0; c < U.numCands; ++c)
      pOf[c] = indexOf(ps, P[c]);
    for (unsigned c = 0; c < V.numCands; ++c)
      rOf[c] = indexOf(rs, R[c]);
    std::vector<double> cost(ps.size() * rs.size());
    bool any = false;
    for (unsigned p = 0; p < ps.size(); ++p)
      for (unsigned r = 0; r < rs.size(); ++r) {
        cost[p * rs.size() + r] = mult * reshard(key.value.getType(), ps[p], rs[r]);
        any |= cost[p * rs.size() + r] > 0;
      }
    if (!any)
      continue;
    if (U.numCands == 1 || V.numCands == 1) {
      // Linear in the other side.
      if (U.numCands == 1 && V.numCands == 1) {
        offset += cost[pOf[0] * rs.size() + rOf[0]];
      } else if (U.numCands == 1) {
        for (unsigned c = 0; c < V.numCands; ++c) {
          int j = V.firstColumn + c;
          glp_set_obj_coef(lp, j, glp_get_obj_coef(lp, j) + cost[pOf[0] * rs.size() + rOf[c]] * scale);
        }
      } else {
        for (unsigned c = 0; c < U.numCands; ++c) {
          int j = U.firstColumn + c;
          glp_set_obj_coef(lp, j, glp_get_obj_coef(lp, j) + cost[pOf[c] * rs.size() + rOf[0]] * scale);
        }
      }
      continue;
    }
    YVar y{cols + 1, gu, gv, pOf, rOf, (unsigned)ps.size(), (unsigned)rs.size()};
    glp_add_cols(lp, ps.size() * rs.size());
    for (unsigned k = 0; k < cost.size(); ++k) {
      glp_set_col_bnds(lp, y.column + k, GLP_LO, 0, 0);
      glp_set_obj_coef(lp, y.column + k, cost[k] * scale);
    }
    cols += cost.size();
    // sum_r y[p][r] - sum_{c: pOf(c) = p} x[u][c] = 0, and the mirror.
    for (unsigned p = 0; p < ps.size(); ++p) {
      std::vector<int> idx(1);
      std::vector<double> val(1);
      for (unsigned r = 0; r < rs.size(); ++r)
        idx.push_back(y.column + p * rs.size() + r), val.push_back(1);
      for (unsigned c = 0; c < U.numCands; ++c)
        if (pOf[c] == p)
          idx.push_back(U.firstColumn + c), val.push_back(-1);
      int row = glp_add_rows(lp, 1);
      glp_set_mat_row(lp, row, idx.size() - 1, idx.data(), val.data());
      glp_set_row_bnds(lp, row, GLP_FX, 0, 0);
    }
    for (unsigned r = 0; r < rs.size(); ++r) {
      std::vector<int> idx(1);
      std::vector<double> val(1);
      for (unsigned p = 0; p < ps.size(); ++p)
        idx.push_back(y.column + p * rs.size() + r), val.push_back(1);
      for (unsigned c = 0; c < V.numCands; ++c)
        if (rOf[c] == r)
          idx.push_back(V.firstColumn + c), val.push_back(-1);
      int row = glp_add_rows(lp, 1);
      glp_set_mat_row(lp, row, idx.size() - 1, idx.data(), val.data());
      glp_set_row_bnds(lp, row, GLP_FX, 0, 0);
    }
    yvars.push_back(std::move(y));
  }
  // Memory: parameters + A <= budget; A >= activations of each layer.
  const double gib = 1024.0 * 1024 * 1024;
  int aCol = ++cols;
  glp_add_cols(lp, 1);
  glp_set_col_bnds(lp, aCol, GLP_LO, 0, 0);
  int memRow = glp_add_rows(lp, 1);
  {
    std::vector<int> idx(1, 0);
    std::vector<double> val(1, 0);
    for (unsigned g : live)
      for (unsigned c = 0; c < groups[g].numCands; ++c)
        if (groups[g].mem[c] > 0)
          idx.push_back(groups[g].firstColumn + c), val.push_back(groups[g].mem[c] / gib);
    idx.push_back(aCol), val.push_back(1);
    glp_set_mat_row(lp, memRow, idx.size() - 1, idx.data(), val.data());
    glp_set_row_bnds(lp, memRow, GLP_UP, 0, (budget - fixedMem) / gib);
  }
  std::vector<double> fixedAct;
  for (auto &[layer, perGroup] : activations) {
    std::vector<int> idx(1, 0);
    std::vector<double> val(1, 0);
    double constant = 0;
    for (auto &[g, act] : perGroup) {
      if (groups[g].numCands == 1) {
        constant += act[0];
        continue;
      }
      for (unsigned c = 0; c < act.size(); ++c)
        if (act[c] > 0)
          idx.push_back(groups[g].firstColumn + c), val.push_back(-act[c] / gib);
    }
    idx.push_back(aCol), val.push_back(1);
    int row = glp_add_rows(lp, 1);
    glp_set_mat_row(lp, row, idx.size() - 1, idx.data(), val.data());
    glp_set_row_bnds(lp, row, GLP_LO, constant / gib, 0);
  }
  result.variables = cols;
  result.constraints = glp_get_num_rows(lp);

  // Greedy plan (a starting point and the fallback): groups in order, each
  // takes its cheapest candidate given the groups already chosen.
  std::vector<unsigned> greedy(groups.size(), 0);
  {
    std::vector<bool> decided(groups.size(), false);
    for (auto [g, grp] : llvm::enumerate(groups))
      if (grp.numCands == 1)
        decided[g] = true;
    std::vector<std::vector<const YVar *>> touching(groups.size());
    for (const YVar &y : yvars)
      touching[y.gu].push_back(&y), touching[y.gv].push_back(&y);
    for (unsigned g : live) {
      unsigned best = 0;
      double bestCost = INFINITY;
      for (unsigned c = 0; c < groups[g].numCands; ++c) {
        double cost = glp_get_obj_coef(lp, groups[g].firstColumn + c);
        for (const YVar *y : touching[g]) {
          unsigned other = y->gu == g ? y->gv : y->gu;
          if (!decided[other])
            continue;
          unsigned p = y->gu == g ? y->pOf[c] : y->pOf[greedy[other]];
          unsigned r = y->gu == g ? y->rOf[greedy[other]] : y->rOf[c];
          cost += glp_get_obj_coef(lp, y->column + p * y->nr + r);
        }
        if (cost < bestCost)
          bestCost = cost, best = c;
      }
      greedy[g] = best;
      decided[g] = true;
    }
  }
  auto columnValues = [&](const std::vector<unsigned> &choice) {
    std::vector<double> x(cols + 1, 0);
    for (unsigned g : live)
      x[groups[g].firstColumn + choice[g]] = 1;
    for (const YVar &y : yvars)
      x[y.column + y.pOf[choice[y.gu]] * y.nr + y.rOf[choice[y.gv]]] = 1;
    double a = 0;
    for (auto &[layer, perGroup] : activations) {
      double s = 0;
      for (auto &[g, act] : perGroup)
        s += act[groups[g].numCands == 1 ? 0 : choice[g]];
      a = std::max(a, s);
    }
    x[aCol] = a / gib;
    return x;
  };
  auto objective = [&](const std::vector<double> &x) {
    double s = 0;
    for (int j = 1; j <= cols; ++j)
      s += glp_get_obj_coef(lp, j) * x[j];
    return s / scale + offset;
  };
  auto memoryOf = [&](const std::vector<double> &x) {
    double m = fixedMem + x[aCol] * gib;
    for (unsigned g : live)
      for (unsigned c = 0; c < groups[g].numCands; ++c)
        m += groups[g].mem[c] * x[groups[g].firstColumn + c];
    return m;
  };

  auto start = Clock::now();
  HeuristicInfo info;
  info.progress = {start, start, options.log, scale, offset};
  std::vector<double> greedyX = columnValues(greedy);
  if (memoryOf(greedyX) <= budget)
    info.start = greedyX;
  glp_iocp parm;
  glp_init_iocp(&parm);
  parm.presolve = GLP_ON;
  parm.msg_lev = GLP_MSG_OFF;
  parm.tm_lim = std::max(1, (int)(options.timeLimit * 1000));
  parm.cb_func = intoptCallback;
  parm.cb_info = &info;
  parm.mip_gap = 1e-6;
  int ret = glp_intopt(lp, &parm);
  int status = glp_mip_status(lp);
  result.timedOut = ret == GLP_ETMLIM;
  std::vector<unsigned> choice = greedy;
  if (status == GLP_OPT || status == GLP_FEAS) {
    for (unsigned g : live)
      for (unsigned c = 0; c < groups[g].numCands; ++c)
        if (glp_mip_col_val(lp, groups[g].firstColumn + c) > 0.5)
          choice[g] = c;
    result.optimal = status == GLP_OPT && ret == 0;
    result.status = result.optimal ? "optimal"
                                   : "time limit reached: using the best plan found so far";
  } else if (result.timedOut) {
    result.status = "time limit reached before any plan was found: using the greedy plan";
  } else {
    result.fitsBudget = false;
    result.status = "no plan fits the memory budget of " + formatBytes(budget) +
                    ": using the fastest plan regardless of memory";
    // Drop the memory bound and solve again.
    glp_set_row_bnds(lp, memRow, GLP_FR, 0, 0);
    parm.tm_lim = std::max(1, (int)(options.timeLimit * 1000));
    ret = glp_intopt(lp, &parm);
    status = glp_mip_status(lp);
    if (status == GLP_OPT || status == GLP_FEAS)
      for (unsigned g : live)
        for (unsigned c = 0; c < groups[g].numCands; ++c)
          if (glp_mip_col_val(lp, groups[g].firstColumn + c) > 0.5)
            choice[g] = c;
  }
  std::vector<double> x = columnValues(choice);
  result.predictedTime = objective(x);
  result.predictedMemory = memoryOf(x);
  glp_delete_prob(lp);
  return choice;
}

void Solver::materialize(const std::vector<unsigned> &choice) {
  MLIRContext *ctx = module.getContext();
  auto meshRef = FlatSymbolRefAttr::get(meshOp.getSymNameAttr());
  auto attrOf = [&](const Layout &l) {
    SmallVector<DimShardingAttr> dims;
    for (const AxisList &d : l.dims)
      dims.push_back(DimShardingAttr::get(ctx, d, true));
    return TensorShardingAttr::get(ctx, meshRef, dims, {}, l.unreduced, -1);
  };
  auto producedOf = [&](Value v) {
    Value rv = repValue(v);
    return produced[rv][choice[groupOfValue[rv]]];
  };
  auto requiredOf = [&](OpOperand &use) -> std::optional<Layout> {
    Operation *user = use.getOwner();
    if (user->hasTrait<OpTrait::IsTerminator>()) {
      Layout l = producedOf(use.get());
      l.unreduced.clear();
      return l;
    }
    Operation *rop = repOp(user);
    auto it = required.find({rop, use.getOperandNumber()});
    if (it == required.end())
      return std::nullopt;
    return it->second[choice[groupOfOp[rop]]];
  };
  OpBuilder b(ctx);
  auto pin = [&](Value v, Value current, Location loc, const Layout &have) {
    std::map<std::string, Value> byLayout;
    SmallVector<OpOperand *> uses;
    for (OpOperand &use : v.getUses())
      if (use.getOwner() != current.getDefiningOp())
        uses.push_back(&use);
    for (OpOperand *use : uses) {
      auto want = requiredOf(*use);
      if (!want || *want == have) {
        use->set(current);
        continue;
      }
      std::string key = layoutKey(*want);
      auto it = byLayout.find(key);
      if (it == byLayout.end()) {
        if (current.getDefiningOp())
          b.setInsertionPointAfter(current.getDefiningOp());
        else
          b.setInsertionPointToStart(&func.getBody().front());
        it = byLayout.emplace(key, ConstraintOp::create(b, loc, current, attrOf(*want)).getResult())
                 .first;
      }
      use->set(it->second);
    }
  };
  for (BlockArgument arg : func.getArguments()) {
    if (!isa<RankedTensorType>(arg.getType()))
      continue;
    Layout have = producedOf(arg);
    if (!fixedLayout.count(arg))
      func.setArgAttr(arg.getArgNumber(), kShardingAttr, attrOf(have));
    pin(arg, arg, arg.getLoc(), have);
  }
  for (Operation *op : ops) {
    if (isa<ConstraintOp>(op)) {
      // A user constraint pins its result already; only its uses may need
      // another layout.
      Value r = op->getResult(0);
      pin(r, r, op->getLoc(), producedOf(r));
      continue;
    }
    for (Value r : op->getResults()) {
      if (!isa<RankedTensorType>(r.getType()))
        continue;
      Layout have = producedOf(r);
      std::string name = valueName(r);
      Location loc = name.empty() ? op->getLoc()
                                  : Location(NameLoc::get(StringAttr::get(ctx, name)));
      b.setInsertionPointAfter(op);
      Value c0 = ConstraintOp::create(b, loc, r, attrOf(have)).getResult();
      pin(r, c0, loc, have);
    }
  }
}

FailureOr<SolverResult> Solver::run(bool attach, std::string &error) {
  attachOnce = attach;
  auto start = Clock::now();
  SolverResult result;
  std::vector<std::pair<std::string, int64_t>> axes;
  for (auto [n, s] : llvm::zip(meshOp.getMesh().getNames(), meshOp.getMesh().getSizes())) {
    axes.push_back({n.str(), s});
    meshAxes.push_back(n);
  }
  if (meshAxes.size() > 4) {
    error = "--strategy auto: meshes of more than 4 axes are not supported";
    return failure();
  }
  auto l = cluster.mapAxes(axes, error);
  if (failed(l))
    return failure();
  links = *l;
  for (Operation &op : func.getBody().front())
    if (isa<func::CallOp>(op) || op.getNumRegions() != 0) {
      error = "--strategy auto: '" + op.getName().getStringRef().str() +
              "' (calls and regions) is not supported yet";
      return failure();
    }
  classify();
  findLayers();
  // Tie each class's layers to its first member.
  std::set<std::string> untied;
  while (true) {
    repOps.clear();
    repVal.clear();
    tied = 0;
    for (auto &[rep, members] : classes) {
      if (untied.count(rep))
        continue;
      for (const std::string &m : members) {
        if (m == rep)
          continue;
        ++tied;
        auto &mo = layerOps[m], &ro = layerOps[rep];
        for (auto [a, b] : llvm::zip(mo, ro)) {
          repOps[a] = b;
          for (auto [x, y] : llvm::zip(a->getResults(), b->getResults()))
            repVal[x] = y;
        }
        for (auto [a, b] : llvm::zip(layerArgs[m], layerArgs[rep]))
          repVal[a] = b;
      }
    }
    std::string bad = build();
    if (bad.empty())
      break;
    std::string cls;
    for (auto &[rep, members] : classes)
      if (llvm::is_contained(members, bad))
        cls = rep;
    if (cls.empty() || !untied.insert(cls).second) {
      error = "--strategy auto: internal error: inconsistent layer tying at '" + bad + "'";
      return failure();
    }
  }
  if (failed(accumulate(error)))
    return failure();
  result.ops = ops.size();
  result.groups = groups.size();
  result.tiedLayers = tied;
  auto chosen = solveIlp(result, error);
  if (failed(chosen))
    return failure();
  choice = *chosen;
  if (options.training)
    memoryBreakdown(result);
  result.sources = sourceLayouts();
  result.solveSeconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

/// A training step: with the ZeRO stage left open, the lowest stage whose
/// plan fits the budget (each stage only adds communication or, for
/// stage 3, a gather of every parameter before its use). ZeRO takes the
/// place of the forward's "weights stored sharded" retry.
FailureOr<SolverResult> solveTraining(ModuleOp module, func::FuncOp func, MeshOp meshOp,
                                      const Cluster &cluster, const SolverOptions &options,
                                      std::string &error) {
  const TrainingModel &t = *options.training;
  std::optional<int64_t> zeroSize = meshOp.getMesh().getAxisSize(t.zeroAxis);
  std::vector<int> stages;
  if (t.zeroStage >= 0)
    stages = {t.zeroStage};
  else if (zeroSize && *zeroSize > 1)
    stages = {0, 1, 2, 3};
  else
    stages = {0};
  if (t.zeroStage > 0 && !zeroSize) {
    error = "--zero shards over the mesh axis '" + t.zeroAxis + "', which the mesh does not have";
    return failure();
  }
  double seconds = 0;
  for (int stage : stages) {
    SolverOptions o = options;
    o.training->zeroStage = stage;
    Solver solver(module, func, meshOp, cluster, o);
    auto result = solver.run(/*attach=*/true, error);
    if (failed(result))
      return failure();
    seconds += result->solveSeconds;
    if (!result->fitsBudget && stage != stages.back())
      continue;
    solver.materialize();
    result->zeroStage = stage;
    result->solveSeconds = seconds;
    return result;
  }
  llvm_unreachable("the last stage returns");
}

} // namespace

FailureOr<SolverResult> solveShardings(ModuleOp module, const Cluster &cluster,
                                       const SolverOptions &options, std::string &error) {
  MeshOp meshOp;
  for (auto m : module.getOps<MeshOp>()) {
    meshOp = m;
    break;
  }
  if (!meshOp) {
    error = "--strategy auto needs a mesh (--mesh NAME=SIZE,... or one in the model)";
    return failure();
  }
  func::FuncOp func = costedFunction(module);
  if (!func) {
    error = "--strategy auto: no function with a body";
    return failure();
  }
  if (options.training)
    return solveTraining(module, func, meshOp, cluster, options, error);
  Solver solver(module, func, meshOp, cluster, options);
  auto result = solver.run(/*attach=*/true, error);
  if (failed(result))
    return failure();
  if (result->fitsBudget) {
    solver.materialize();
    return result;
  }
  // Weights may fit when stored sharded and gathered on use: every source
  // becomes a decision of its own (a larger ILP).
  Solver fsdp(module, func, meshOp, cluster, options);
  auto second = fsdp.run(/*attach=*/false, error);
  if (failed(second))
    return failure();
  second->solveSeconds += result->solveSeconds;
  if (!second->fitsBudget && second->predictedMemory >= result->predictedMemory) {
    solver.materialize();
    return result;
  }
  fsdp.materialize();
  return second;
}

} // namespace partita::planner
