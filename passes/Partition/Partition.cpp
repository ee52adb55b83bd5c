//===- Partition.cpp - propagated module to SPMD program ------------------===//
//
// Rewrites each function in place. For every op (program order):
//   1. factor axes: pass-through factors take the axes of the op's result
//      shardings, reduction factors those of its operands; need-replication
//      factors none; an axis shards at most one factor;
//   2. every operand is resharded to the layout those factors imply (fully
//      summed, dims split as the factors say);
//   3. the op is recreated on the local operands (result types inferred, and
//      checked against the local types its shardings imply);
//   4. the local result is partial over the sharded reduction factors: sum
//      partials stay unreduced if the propagated sharding says so, every
//      other partial (max, min, prod) is combined at once; then it is
//      resharded to its propagated sharding if it differs.
// Resharding emits: all_reduce (partial -> summed), all_gather (axes the
// target does not split), axis_slice (axes it splits further), both for
// axes that move between dimensions.
// Ops that combine blocks themselves (distributed softmax, layer_norm,
// top-k, cumsum here; conv/pool over split spatial dimensions in Halo.cpp;
// attention over a split sequence in passes/Sequence) replace step 3.
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Passes.h"
#include "passes/Partition/Halo.h"
#include "passes/Sequence/AttentionForms.h"
#include "partita/Planner/Cluster.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Sharding/IR/ReshardPlan.h"
#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringSet.h"

#include <functional>
#include <map>
#include <optional>

using namespace mlir;
using namespace partita::collectives;

namespace partita::sharding {
#define GEN_PASS_DEF_SHARDINGPARTITION
#include "passes/Partition/Passes.h.inc"

namespace {

/// Where a local value's elements live: per dimension the axes splitting it,
/// plus partial (not yet combined) axes and how they combine.
struct Layout {
  SmallVector<AxisList> dims;
  AxisList unreduced;
  collectives::ReductionKind kind = collectives::ReductionKind::sum;
};

/// A graph op named `name` with inferred result types; its first result, or
/// null when the op would be ill-formed.
Value buildGraphOp(OpBuilder &b, Location loc, StringRef name, ValueRange operands,
                   ArrayRef<NamedAttribute> attrs = {}) {
  Operation *made = graph::createInferred(b, loc, name, operands, attrs);
  return made ? made->getResult(0) : Value();
}

/// The non-negative `axis` of a rank-`rank` tensor when `layout` splits it,
/// else -1.
int64_t splitAxis(int64_t axis, int64_t rank, const Layout &layout) {
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= (int64_t)layout.dims.size() || layout.dims[axis].empty())
    return -1;
  return axis;
}

class Partitioner {
public:
  /// `clusterName` (sharding-partition's option) prices the attention
  /// forms `auto` chooses among: "none" (the rule of docs/sequence.md),
  /// "local" (this machine) or a preset/file, loaded at the first such
  /// attention.
  Partitioner(MeshOp meshOp, std::string clusterName)
      : mesh(meshOp.getMesh()), meshRef(FlatSymbolRefAttr::get(meshOp.getSymNameAttr())),
        clusterName(std::move(clusterName)) {}

  LogicalResult partition(func::FuncOp func);

private:
  int64_t axisSize(StringAttr a) const { return *mesh.getAxisSize(a.getValue()); }
  int64_t product(ArrayRef<StringAttr> axes) const {
    int64_t p = 1;
    for (StringAttr a : axes)
      p *= axisSize(a);
    return p;
  }
  Layout layoutOf(TensorShardingAttr s, int64_t rank) const {
    Layout l;
    l.dims.resize(rank);
    if (!s)
      return l;
    for (auto [d, dim] : llvm::enumerate(s.getDims()))
      l.dims[d].assign(dim.getAxes().begin(), dim.getAxes().end());
    l.unreduced.assign(s.getUnreduced().begin(), s.getUnreduced().end());
    return l;
  }
  RankedTensorType localType(RankedTensorType global, const Layout &l) const {
    SmallVector<int64_t> shape(global.getShape());
    for (auto [d, axes] : llvm::enumerate(l.dims))
      shape[d] /= product(axes);
    return global.clone(shape);
  }
  TensorShardingAttr toAttr(const Layout &l) const {
    MLIRContext *ctx = meshRef.getContext();
    SmallVector<DimShardingAttr> dims;
    for (const AxisList &axes : l.dims)
      dims.push_back(DimShardingAttr::get(ctx, axes, true));
    return TensorShardingAttr::get(ctx, meshRef, dims, {}, {}, -1);
  }
  ArrayAttr axesAttr(OpBuilder &b, ArrayRef<StringAttr> axes) const {
    SmallVector<Attribute> v(axes.begin(), axes.end());
    return b.getArrayAttr(v);
  }
  /// The propagated sharding of result `r` of `op`.
  TensorShardingAttr resultSharding(Operation *op, unsigned r) const {
    auto attrs = op->getAttrOfType<ArrayAttr>(kShardingsAttr);
    return attrs && r < attrs.size() ? dyn_cast<TensorShardingAttr>(attrs[r]) : nullptr;
  }
  Value reshard(OpBuilder &b, Location loc, Value local, RankedTensorType global,
                Layout from, const Layout &to);
  Value reshardUncached(OpBuilder &b, Location loc, Value local, RankedTensorType global,
                        Layout from, const Layout &to);
  /// (local value, target layout) -> the resharded value already emitted.
  std::map<std::pair<Value, std::string>, Value,
           std::function<bool(const std::pair<Value, std::string> &,
                              const std::pair<Value, std::string> &)>>
      reshardCache{[](const auto &a, const auto &b) {
        if (a.first != b.first)
          return a.first.getAsOpaquePointer() < b.first.getAsOpaquePointer();
        return a.second < b.second;
      }};
  LogicalResult partitionOp(OpBuilder &b, Operation *op);
  Value maskedLocalGather(OpBuilder &b, graph::GatherOp gather, Value table,
                          Value indices, ArrayRef<StringAttr> axes);
  LogicalResult partitionConstant(OpBuilder &b, graph::ConstantOp op);
  Operation *distributedSoftmax(OpBuilder &b, Operation *op, Value x, const Layout &layout);
  std::pair<Value, Value> gatherCandidates(OpBuilder &b, Location loc, Value values,
                                           Value localIdx, int64_t axis, const AxisList &axes,
                                           int64_t block);
  Value distributedArgReduce(OpBuilder &b, Operation *op, Value x, const Layout &layout);
  SmallVector<Value> distributedTopK(OpBuilder &b, graph::TopKOp op, Value x,
                                     const Layout &layout);
  Operation *distributedCumSum(OpBuilder &b, graph::CumSumOp op, Value x, const Layout &layout);
  Operation *distributedLayerNorm(OpBuilder &b, graph::LayerNormOp op, ValueRange operands,
                                  const Layout &layout);

  /// The cluster an `auto` attention is priced on (null: the rule), or
  /// failure after a diagnostic at `op`.
  FailureOr<const planner::Cluster *> pricingCluster(Operation *op);

  MeshAttr mesh;
  FlatSymbolRefAttr meshRef;
  std::string clusterName;
  std::optional<planner::Cluster> cluster;
  /// global value -> (local value, its layout)
  llvm::DenseMap<Value, std::pair<Value, Layout>> local;
  /// Global types of function arguments (which take local types early).
  llvm::DenseMap<Value, RankedTensorType> argGlobalTypes;
  RankedTensorType globalType(Value v) const {
    auto it = argGlobalTypes.find(v);
    return it != argGlobalTypes.end() ? it->second : cast<RankedTensorType>(v.getType());
  }
  /// Each op's rule, taken on the global types.
  llvm::DenseMap<Operation *, ShardingRule> rules;
};

/// A printable key for a layout (reshard cache).
static std::string layoutKey(const Layout &l) {
  std::string key;
  for (const AxisList &axes : l.dims) {
    key += "[";
    for (StringAttr a : axes)
      key += a.str() + ",";
    key += "]";
  }
  key += "u";
  for (StringAttr a : l.unreduced)
    key += a.str() + ",";
  return key;
}

Value Partitioner::reshard(OpBuilder &b, Location loc, Value v, RankedTensorType global,
                           Layout from, const Layout &to) {
  // The same value needed in the same layout twice is communicated once:
  // every later consumer comes after the first reshard in the block.
  std::string key = layoutKey(to);
  auto cached = reshardCache.find({v, key});
  if (cached != reshardCache.end())
    return cached->second;
  Value input = v;
  Value out = reshardUncached(b, loc, v, global, std::move(from), to);
  reshardCache[{input, key}] = out;
  return out;
}

Value Partitioner::reshardUncached(OpBuilder &b, Location loc, Value v,
                                   RankedTensorType global, Layout from, const Layout &to) {
  // Partial values are combined first: no consumer computes on summands
  // unless its layout keeps them partial.
  AxisList combine;
  for (StringAttr a : from.unreduced)
    if (!llvm::is_contained(to.unreduced, a) || from.kind != collectives::ReductionKind::sum)
      combine.push_back(a);
  if (!combine.empty()) {
    v = AllReduceOp::create(b, loc, v.getType(), v, meshRef, axesAttr(b, combine),
                            collectives::ReductionKindAttr::get(b.getContext(), from.kind));
    from.unreduced.clear();
  }
  // The collectives for the dimensions (ReshardPlan.h, shared with the
  // planner's cost of a reshard).
  for (const ReshardStep &step : planReshard(from.dims, to.dims)) {
    applyReshardStep(from.dims, step);
    RankedTensorType type = localType(global, from);
    switch (step.kind) {
    case ReshardStep::Kind::AllToAll:
      v = AllToAllOp::create(b, loc, type, v, meshRef, axesAttr(b, step.axes),
                             b.getI64IntegerAttr(step.dim), b.getI64IntegerAttr(step.fromDim));
      break;
    case ReshardStep::Kind::AllGather:
      v = AllGatherOp::create(b, loc, type, v, meshRef, axesAttr(b, step.axes),
                              b.getI64IntegerAttr(step.dim));
      break;
    case ReshardStep::Kind::Slice:
      v = AxisSliceOp::create(b, loc, type, v, meshRef, axesAttr(b, step.axes),
                              b.getI64IntegerAttr(step.dim));
      break;
    }
  }
  // A whole value that the target layout holds as partial sums over more
  // axes: one member of each group keeps it, the others hold zeros, so that
  // the later sum counts it once (max and min need nothing: the whole value
  // is its own partial). Done last, once the dimensions are in the target
  // layout: those axes split no dimension there, so every member holds the
  // same block (before, a block split over them would be zeroed).
  AxisList introduce;
  for (StringAttr a : to.unreduced)
    if (!llvm::is_contained(from.unreduced, a))
      introduce.push_back(a);
  if (!introduce.empty() && (to.kind == collectives::ReductionKind::sum ||
                             to.kind == collectives::ReductionKind::prod)) {
    auto scalar = RankedTensorType::get({}, b.getI64Type());
    Value position = AxisIndexOp::create(b, loc, scalar, meshRef, axesAttr(b, introduce));
    Value first = graph::createInferred<graph::EqualOp>(
                      b, loc, {position, graph::createSplatConstant(b, loc, scalar, 0.0)})
                      ->getResult(0);
    auto eltScalar = RankedTensorType::get({}, global.getElementType());
    Value neutral = graph::createSplatConstant(
        b, loc, eltScalar, to.kind == collectives::ReductionKind::sum ? 0.0 : 1.0);
    v = graph::createInferred<graph::WhereOp>(b, loc, {first, v, neutral})->getResult(0);
  }
  return v;
}

/// softmax / log_softmax over an axis split across devices, on the local
/// block x: m = max over the axis, combined (all_reduce max); e = exp(x - m);
/// s = sum of e over the axis, combined (all_reduce sum); softmax = e / s,
/// log_softmax = (x - m) - log s. Null when the axis is not split.
Operation *Partitioner::distributedSoftmax(OpBuilder &b, Operation *op, Value x,
                                           const Layout &layout) {
  int64_t axis = splitAxis(cast<IntegerAttr>(op->getAttr("axis")).getInt(),
                           cast<RankedTensorType>(x.getType()).getRank(), layout);
  if (axis < 0)
    return nullptr;
  Location loc = op->getLoc();
  ArrayAttr axes = axesAttr(b, layout.dims[axis]);
  auto make = [&](StringRef name, ValueRange operands, ArrayRef<NamedAttribute> attrs = {}) {
    return buildGraphOp(b, loc, name, operands, attrs);
  };
  NamedAttribute overAxis = b.getNamedAttr("axes", b.getDenseI64ArrayAttr({axis}));
  Value m = make(graph::ReduceMaxOp::getOperationName(), {x}, {overAxis});
  if (!m)
    return nullptr;
  m = AllReduceOp::create(b, loc, m.getType(), m, meshRef, axes,
                          collectives::ReductionKindAttr::get(b.getContext(),
                                                              collectives::ReductionKind::max));
  Value shifted = make(graph::SubOp::getOperationName(), {x, m});
  Value e = make(graph::ExpOp::getOperationName(), {shifted});
  Value s = make(graph::ReduceSumOp::getOperationName(), {e}, {overAxis});
  s = AllReduceOp::create(b, loc, s.getType(), s, meshRef, axes,
                          collectives::ReductionKindAttr::get(b.getContext(),
                                                              collectives::ReductionKind::sum));
  Value result = isa<graph::SoftmaxOp>(op)
                     ? make(graph::DivOp::getOperationName(), {e, s})
                     : make(graph::SubOp::getOperationName(),
                            {shifted, make(graph::LogOp::getOperationName(), {s})});
  return result ? result.getDefiningOp() : nullptr;
}

/// cumsum along an axis split across devices, on the local block x: the
/// local cumsum (same exclusive/reverse), plus the sum of the blocks before
/// this device's (after it, for reverse): the block totals are gathered in
/// device order, scanned exclusively, and this device's entry is added.
/// Null when the axis is not split.
Operation *Partitioner::distributedCumSum(OpBuilder &b, graph::CumSumOp op, Value x,
                                          const Layout &layout) {
  int64_t axis = splitAxis(op.getAxis(), cast<RankedTensorType>(x.getType()).getRank(), layout);
  if (axis < 0)
    return nullptr;
  Location loc = op.getLoc();
  const AxisList &axes = layout.dims[axis];
  auto make = [&](StringRef name, ValueRange args, ArrayRef<NamedAttribute> attrs = {}) {
    return buildGraphOp(b, loc, name, args, attrs);
  };
  auto scan = [&](Value v, bool exclusive) {
    return make(graph::CumSumOp::getOperationName(), {v},
                {b.getNamedAttr("axis", b.getI64IntegerAttr(axis)),
                 b.getNamedAttr("exclusive", b.getBoolAttr(exclusive)),
                 b.getNamedAttr("reverse", b.getBoolAttr(op.getReverse()))});
  };
  Value local = scan(x, op.getExclusive());
  Value total = make(graph::ReduceSumOp::getOperationName(), {x},
                     {b.getNamedAttr("axes", b.getDenseI64ArrayAttr({axis}))});
  if (!local || !total)
    return nullptr;
  auto totalType = cast<RankedTensorType>(total.getType());
  SmallVector<int64_t> shape(totalType.getShape());
  shape[axis] = product(axes);
  Value totals = AllGatherOp::create(b, loc, totalType.clone(shape), total, meshRef,
                                     axesAttr(b, axes), b.getI64IntegerAttr(axis));
  Value before = scan(totals, /*exclusive=*/true);
  auto scalar = RankedTensorType::get({}, b.getI64Type());
  Value position = AxisIndexOp::create(b, loc, scalar, meshRef, axesAttr(b, axes));
  Value index = make(graph::ReshapeOp::getOperationName(), {position},
                     {b.getNamedAttr("shape", b.getDenseI64ArrayAttr({1}))});
  Value offset = make(graph::GatherOp::getOperationName(), {before, index},
                      {b.getNamedAttr("axis", b.getI64IntegerAttr(axis))});
  Value sum = make(graph::AddOp::getOperationName(), {local, offset});
  return sum ? sum.getDefiningOp() : nullptr;
}

/// Each device's candidates along a split axis -- `values` and their
/// block-local indices `localIdx` -- made global (+ position * block) and
/// gathered along the axis in device order: (values, global indices).
std::pair<Value, Value> Partitioner::gatherCandidates(OpBuilder &b, Location loc, Value values,
                                                      Value localIdx, int64_t axis,
                                                      const AxisList &axes, int64_t block) {
  auto scalar = RankedTensorType::get({}, b.getI64Type());
  Value position = AxisIndexOp::create(b, loc, scalar, meshRef, axesAttr(b, axes));
  Value offset = graph::createInferred<graph::MulOp>(
                     b, loc, {position, graph::createSplatConstant(b, loc, scalar, (double)block)})
                     ->getResult(0);
  Value globalIdx = graph::createInferred<graph::AddOp>(b, loc, {localIdx, offset})->getResult(0);
  auto gathered = [&](Value v) -> Value {
    auto t = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> shape(t.getShape());
    shape[axis] *= product(axes);
    return AllGatherOp::create(b, loc, t.clone(shape), v, meshRef, axesAttr(b, axes),
                               b.getI64IntegerAttr(axis));
  };
  return {gathered(values), gathered(globalIdx)};
}

/// top-k along an axis split across devices, on the local block x: the
/// local top min(k, block) with indices made global (+ position * block),
/// all_gather of both along the axis (in device order), the top k of those
/// candidates, and their global indices picked by position. Ties keep
/// ONNX's lower-index-first order: candidates of lower devices come first.
/// Empty when the axis is not split.
SmallVector<Value> Partitioner::distributedTopK(OpBuilder &b, graph::TopKOp op, Value x,
                                                const Layout &layout) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t axis = splitAxis(op.getAxis(), type.getRank(), layout);
  if (axis < 0)
    return {};
  Location loc = op.getLoc();
  const AxisList &axes = layout.dims[axis];
  int64_t block = type.getDimSize(axis);
  int64_t localK = std::min<int64_t>(op.getK(), block);
  auto topk = [&](Value in, int64_t k) -> Operation * {
    return graph::createInferred<graph::TopKOp>(
        b, loc, {in},
        {b.getNamedAttr("k", b.getI64IntegerAttr(k)),
         b.getNamedAttr("axis", b.getI64IntegerAttr(axis)),
         b.getNamedAttr("largest", b.getBoolAttr(op.getLargest())),
         b.getNamedAttr("sorted", b.getBoolAttr(true))});
  };
  Operation *local = topk(x, localK);
  if (!local)
    return {};
  auto [candidates, candidateIdx] =
      gatherCandidates(b, loc, local->getResult(0), local->getResult(1), axis, axes, block);
  Operation *best = topk(candidates, op.getK());
  if (!best)
    return {};
  Value idx = graph::createInferred<graph::GatherElementsOp>(
                  b, loc, {candidateIdx, best->getResult(1)},
                  {b.getNamedAttr("axis", b.getI64IntegerAttr(axis))})
                  ->getResult(0);
  return {best->getResult(0), idx};
}

/// argmax / argmin along a split axis, on the local block x: the local
/// arg (keepdims) made global (+ position * block), the value there, an
/// all_gather of both along the axis (in device order), the arg of the
/// candidate values, and the global index it picks. Ties resolve as on one
/// device: each block's candidate is its first (select_last_index: last)
/// extreme, and the final arg picks the lowest (last) device among equal
/// candidates. Null when the axis is not split.
Value Partitioner::distributedArgReduce(OpBuilder &b, Operation *op, Value x,
                                        const Layout &layout) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t axis = splitAxis(cast<IntegerAttr>(op->getAttr("axis")).getInt(), type.getRank(),
                           layout);
  if (axis < 0)
    return nullptr;
  Location loc = op->getLoc();
  const AxisList &axes = layout.dims[axis];
  int64_t block = type.getDimSize(axis);
  bool keepdims = cast<BoolAttr>(op->getAttr("keepdims")).getValue();
  auto arg = [&](Value in) -> Value {
    OperationState state(loc, op->getName());
    state.addOperands(in);
    state.addAttribute("axis", b.getI64IntegerAttr(axis));
    state.addAttribute("keepdims", b.getBoolAttr(true));
    state.addAttribute("select_last_index", op->getAttr("select_last_index"));
    SmallVector<int64_t> shape(cast<RankedTensorType>(in.getType()).getShape());
    shape[axis] = 1;
    state.addTypes(RankedTensorType::get(shape, b.getI64Type()));
    return b.create(state)->getResult(0);
  };
  auto takeAlongAxis = [&](Value data, Value idx) -> Value {
    return graph::createInferred<graph::GatherElementsOp>(
               b, loc, {data, idx}, {b.getNamedAttr("axis", b.getI64IntegerAttr(axis))})
        ->getResult(0);
  };
  Value localIdx = arg(x);
  Value value = takeAlongAxis(x, localIdx);
  auto [candidates, candidateIdx] =
      gatherCandidates(b, loc, value, localIdx, axis, axes, block);
  Value result = takeAlongAxis(candidateIdx, arg(candidates));
  if (keepdims)
    return result;
  SmallVector<int64_t> shape(cast<RankedTensorType>(result.getType()).getShape());
  shape.erase(shape.begin() + axis);
  return graph::createInferred<graph::ReshapeOp>(
             b, loc, {result}, {b.getNamedAttr("shape", b.getDenseI64ArrayAttr(shape))})
      ->getResult(0);
}

/// layer_norm whose normalized dimensions are split across devices, on the
/// local blocks: mean = (sum of x, combined) / N; d = x - mean;
/// var = (sum of d^2, combined) / N; y = d / sqrt(var + eps) * scale (+ bias),
/// with N the global number of normalized elements. Null when no normalized
/// dimension is split.
Operation *Partitioner::distributedLayerNorm(OpBuilder &b, graph::LayerNormOp op,
                                             ValueRange operands, const Layout &layout) {
  auto type = cast<RankedTensorType>(operands[0].getType());
  auto global = cast<RankedTensorType>(op.getType());
  int64_t rank = type.getRank(), axis = op.getAxis();
  if (axis < 0)
    axis += rank;
  SmallVector<int64_t> normalized;
  AxisList split;
  int64_t count = 1;
  for (int64_t d = axis; d < rank; ++d) {
    normalized.push_back(d);
    count *= global.getDimSize(d);
    if (d < (int64_t)layout.dims.size())
      split.append(layout.dims[d].begin(), layout.dims[d].end());
  }
  if (split.empty())
    return nullptr;
  Location loc = op.getLoc();
  auto make = [&](StringRef name, ValueRange args, ArrayRef<NamedAttribute> attrs = {}) {
    return buildGraphOp(b, loc, name, args, attrs);
  };
  auto scalar = RankedTensorType::get({}, type.getElementType());
  NamedAttribute over = b.getNamedAttr("axes", b.getDenseI64ArrayAttr(normalized));
  auto globalMean = [&](Value v) -> Value {
    Value sum = make(graph::ReduceSumOp::getOperationName(), {v}, {over});
    if (!sum)
      return nullptr;
    sum = AllReduceOp::create(b, loc, sum.getType(), sum, meshRef, axesAttr(b, split),
                              collectives::ReductionKindAttr::get(
                                  b.getContext(), collectives::ReductionKind::sum));
    return make(graph::MulOp::getOperationName(),
                {sum, graph::createSplatConstant(b, loc, scalar, 1.0 / count)});
  };
  Value mean = globalMean(operands[0]);
  if (!mean)
    return nullptr;
  Value centered = make(graph::SubOp::getOperationName(), {operands[0], mean});
  Value var = globalMean(make(graph::MulOp::getOperationName(), {centered, centered}));
  Value eps = graph::createSplatConstant(b, loc, scalar, op.getEpsilon().convertToDouble());
  Value stddev = make(graph::SqrtOp::getOperationName(),
                      {make(graph::AddOp::getOperationName(), {var, eps})});
  Value y = make(graph::MulOp::getOperationName(),
                 {make(graph::DivOp::getOperationName(), {centered, stddev}), operands[1]});
  if (operands.size() > 2)
    y = make(graph::AddOp::getOperationName(), {y, operands[2]});
  return y ? y.getDefiningOp() : nullptr;
}

LogicalResult Partitioner::partitionConstant(OpBuilder &b, graph::ConstantOp op) {
  // Every device holds the same program, so a sharded constant is the whole
  // value followed by a local slice. (Loading only the local shard of the
  // weights is the runtime's job.)
  auto type = op.getType();
  Layout want = layoutOf(resultSharding(op, 0), type.getRank());
  b.setInsertionPointAfter(op);
  Layout whole = layoutOf(nullptr, type.getRank());
  Value v = reshard(b, op.getLoc(), op.getResult(), type, whole, want);
  local[op.getResult()] = {v, want};
  return success();
}

/// Megatron's vocabulary-parallel lookup: each device holds a block of the
/// table's rows, looks up the indices that fall in its block (shifted to
/// local row numbers) and writes zeros for the others; summing the partial
/// results over the split axes gives the global lookup.
Value Partitioner::maskedLocalGather(OpBuilder &b, graph::GatherOp gather, Value table,
                                     Value indices, ArrayRef<StringAttr> axes) {
  Location loc = gather.getLoc();
  auto tableType = cast<RankedTensorType>(table.getType());
  auto idxType = cast<RankedTensorType>(indices.getType());
  int64_t axis = gather.getAxis() < 0 ? gather.getAxis() + tableType.getRank() : gather.getAxis();
  int64_t rows = tableType.getDimSize(axis);
  auto i64 = [&](Value v) -> Value {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getElementType().isInteger(64))
      return v;
    return graph::createInferred<graph::CastOp>(
               b, loc, v, {b.getNamedAttr("to", TypeAttr::get(b.getI64Type()))})
        ->getResult(0);
  };
  auto make = [&](StringRef name, ValueRange operands) {
    return graph::createInferred(b, loc, name, operands)->getResult(0);
  };
  auto scalar = RankedTensorType::get({}, b.getI64Type());
  Value position = AxisIndexOp::create(b, loc, scalar, meshRef, axesAttr(b, axes));
  Value blockRows = graph::createSplatConstant(b, loc, scalar, (double)rows);
  Value offset = make(graph::MulOp::getOperationName(), {position, blockRows});
  Value idx = i64(indices);
  // ONNX indices may be negative (counted from the end of the whole table).
  Value zero = graph::createSplatConstant(b, loc, scalar, 0.0);
  Value total = graph::createSplatConstant(b, loc, scalar, (double)(rows * product(axes)));
  Value negative = make(graph::LessOp::getOperationName(), {idx, zero});
  Value wrapped = make(graph::WhereOp::getOperationName(),
                       {negative, make(graph::AddOp::getOperationName(), {idx, total}), idx});
  Value localIdx = make(graph::SubOp::getOperationName(), {wrapped, offset});
  Value inBlock = make(graph::AndOp::getOperationName(),
                       {make(graph::GreaterOrEqualOp::getOperationName(), {localIdx, zero}),
                        make(graph::LessOp::getOperationName(), {localIdx, blockRows})});
  Value safeIdx = make(graph::WhereOp::getOperationName(), {inBlock, localIdx, zero});
  Value rowsFound = graph::createInferred<graph::GatherOp>(
                        b, loc, {table, safeIdx},
                        {b.getNamedAttr("axis", b.getI64IntegerAttr(axis))})
                        ->getResult(0);
  // Broadcast the mask over the looked-up rows: the result's dimensions are
  // the table's before the axis, the indices', the table's after it.
  SmallVector<int64_t> maskShape(axis, 1);
  llvm::append_range(maskShape, idxType.getShape());
  maskShape.append(tableType.getRank() - 1 - axis, 1);
  Value mask = graph::createInferred<graph::ReshapeOp>(
                   b, loc, inBlock, {b.getNamedAttr("shape", b.getDenseI64ArrayAttr(maskShape))})
                   ->getResult(0);
  auto eltScalar = RankedTensorType::get({}, tableType.getElementType());
  Value zeroRow = graph::createSplatConstant(b, loc, eltScalar, 0.0);
  return make(graph::WhereOp::getOperationName(), {mask, rowsFound, zeroRow});
}

LogicalResult Partitioner::partitionOp(OpBuilder &b, Operation *op) {
  auto ruleOp = dyn_cast<ShardingRuleOpInterface>(op);
  if (!ruleOp)
    return op->emitError() << "cannot partition '" << op->getName()
                           << "': it has no sharding rule";
  // Rules were computed before any argument took its local type.
  const ShardingRule &rule = rules.find(op)->second;
  auto size = [&](StringAttr a) { return axisSize(a); };
  b.setInsertionPoint(op);

  // 1. Axes per factor, from the layouts the results were propagated to and
  // the operands have.
  SmallVector<SmallVector<AxisList>> resultDims, operandDims;
  for (unsigned r = 0; r < op->getNumResults(); ++r)
    resultDims.push_back(
        layoutOf(resultSharding(op, r),
                 cast<RankedTensorType>(op->getResult(r).getType()).getRank())
            .dims);
  for (unsigned i = 0; i < op->getNumOperands(); ++i)
    operandDims.push_back(local.lookup(op->getOperand(i)).second.dims);
  SmallVector<AxisList> factorAxes = realizeFactorAxes(rule, resultDims, operandDims, size);
  // Attention over a split sequence: the form re-assigns its factors.
  std::optional<sequence::AttentionChoice> attention;
  if (auto att = dyn_cast<graph::AttentionOp>(op)) {
    std::string error;
    StringRef requested = sequence::requestedForm(op);
    FailureOr<const planner::Cluster *> pricing =
        requested == "auto" ? pricingCluster(op) : FailureOr<const planner::Cluster *>(nullptr);
    if (failed(pricing))
      return failure();
    auto choice = sequence::chooseAttentionForm(att, globalType(att.getQ()), globalType(att.getK()),
                                                factorAxes, mesh, requested, *pricing, error);
    if (failed(choice))
      return op->emitError() << error;
    attention = *choice;
    sequence::applyAttentionForm(*attention, attention->query.getRank(), factorAxes);
  }

  // 2. Operands in the layout the factors imply.
  SmallVector<Value> operands;
  SmallVector<Layout> operandLayouts;
  for (unsigned i = 0; i < op->getNumOperands(); ++i) {
    Value global = op->getOperand(i);
    auto [v, have] = local.lookup(global);
    Layout want;
    want.dims = dimsFromFactors(rule.operands[i], factorAxes, rule, size);
    operands.push_back(reshard(b, op->getLoc(), v, globalType(global), have, want));
    operandLayouts.push_back(want);
  }

  // 3. The op on local operands. Ops whose attributes spell out a result
  // shape get the local one.
  SmallVector<Layout> natural;
  for (unsigned r = 0; r < op->getNumResults(); ++r) {
    Layout l;
    l.dims = dimsFromFactors(rule.results[r], factorAxes, rule, size);
    for (auto [f, factor] : llvm::enumerate(rule.factors))
      if (factor.kind == FactorKind::Reduction && !factorAxes[f].empty()) {
        l.unreduced.append(factorAxes[f].begin(), factorAxes[f].end());
        l.kind = factor.reduction == sharding::ReductionKind::Sum ? collectives::ReductionKind::sum
                 : factor.reduction == sharding::ReductionKind::Max ? collectives::ReductionKind::max
                 : factor.reduction == sharding::ReductionKind::Min ? collectives::ReductionKind::min
                                                                    : collectives::ReductionKind::prod;
      }
    natural.push_back(l);
  }
  if (auto topk = dyn_cast<graph::TopKOp>(op)) {
    SmallVector<Value> results = distributedTopK(b, topk, operands[0], operandLayouts[0]);
    if (!results.empty()) {
      for (unsigned r = 0; r < 2; ++r) {
        auto global = cast<RankedTensorType>(op->getResult(r).getType());
        Layout want = layoutOf(resultSharding(op, r), global.getRank());
        local[op->getResult(r)] = {reshard(b, op->getLoc(), results[r], global, natural[r], want),
                                   want};
      }
      return success();
    }
  }
  if (isa<graph::ArgMaxOp, graph::ArgMinOp>(op))
    if (Value v = distributedArgReduce(b, op, operands[0], operandLayouts[0])) {
      auto global = cast<RankedTensorType>(op->getResult(0).getType());
      Layout want = layoutOf(resultSharding(op, 0), global.getRank());
      local[op->getResult(0)] = {reshard(b, op->getLoc(), v, global, natural[0], want), want};
      return success();
    }
  if (auto gather = dyn_cast<graph::GatherOp>(op); gather && !natural[0].unreduced.empty()) {
    Value v = maskedLocalGather(b, gather, operands[0], operands[1], natural[0].unreduced);
    if (!v)
      return failure();
    Layout want = layoutOf(resultSharding(op, 0), gather.getType().getRank());
    local[op->getResult(0)] = {reshard(b, op->getLoc(), v, gather.getType(), natural[0], want),
                               want};
    return success();
  }
  SmallVector<NamedAttribute> attrs;
  for (NamedAttribute a : op->getAttrs()) {
    if (a.getName() == kShardingsAttr || a.getName() == sequence::kAttentionFormAttr)
      continue;
    // A slice may only be split on dimensions it keeps whole: their end is
    // the local size.
    if (isa<graph::SliceOp>(op) && a.getName() == "ends") {
      SmallVector<int64_t> ends(cast<DenseI64ArrayAttr>(a.getValue()).asArrayRef());
      auto in = cast<RankedTensorType>(operands[0].getType());
      for (auto [d, axes] : llvm::enumerate(natural[0].dims))
        if (!axes.empty())
          ends[d] = in.getDimSize(d);
      a = b.getNamedAttr("ends", b.getDenseI64ArrayAttr(ends));
    }
    // MoE groups split with the tokens: a device runs its own groups.
    if (isa<graph::MoeDispatchOp, graph::MoeCombineOp>(op) && a.getName() == "groups") {
      unsigned tokens = isa<graph::MoeDispatchOp>(op) ? 0 : 1;
      int64_t global = globalType(op->getOperand(tokens)).getDimSize(0);
      int64_t here = cast<RankedTensorType>(operands[tokens].getType()).getDimSize(0);
      a = b.getNamedAttr("groups", b.getI64IntegerAttr(
                                       cast<IntegerAttr>(a.getValue()).getInt() * here / global));
    }
    if (isa<graph::ReshapeOp, graph::ExpandOp>(op) && a.getName() == "shape")
      a = b.getNamedAttr("shape", b.getDenseI64ArrayAttr(
                                      localType(cast<RankedTensorType>(op->getResult(0).getType()),
                                                natural[0])
                                          .getShape()));
    attrs.push_back(a);
  }
  // A bias inside a split contraction would be added once per device: the
  // partial sums get 1/P of it each (gemm: beta/P; conv: bias/P added after
  // a bias-free local conv).
  int64_t splitReduction = product(natural[0].unreduced);
  Value convBias;
  if (splitReduction > 1 && isa<graph::GemmOp>(op) && op->getNumOperands() > 2) {
    for (NamedAttribute &a : attrs)
      if (a.getName() == "beta")
        a = b.getNamedAttr("beta", b.getF32FloatAttr(
                                       cast<FloatAttr>(a.getValue()).getValueAsDouble() /
                                       splitReduction));
    if (!op->getAttr("beta"))
      attrs.push_back(b.getNamedAttr("beta", b.getF32FloatAttr(1.0 / splitReduction)));
  }
  if (splitReduction > 1 && isa<graph::ConvOp>(op) && operands.size() > 2)
    convBias = operands.pop_back_val();
  Operation *newOp = nullptr;
  if (attention) {
    FailureOr<Value> form = sequence::buildAttentionForm(b, cast<graph::AttentionOp>(op), operands,
                                                         *attention, meshRef, mesh);
    if (failed(form))
      return failure();
    if (*form)
      newOp = form->getDefiningOp();
  }
  if (isa<graph::SoftmaxOp, graph::LogSoftmaxOp>(op))
    newOp = distributedSoftmax(b, op, operands[0], natural[0]);
  if (auto ln = dyn_cast<graph::LayerNormOp>(op))
    newOp = distributedLayerNorm(b, ln, operands, natural[0]);
  if (auto cumsum = dyn_cast<graph::CumSumOp>(op))
    newOp = distributedCumSum(b, cumsum, operands[0], natural[0]);
  if (isa<graph::ConvOp, graph::MaxPoolOp, graph::AveragePoolOp>(op)) {
    // A split spatial dimension: the block plus halos from its neighbours.
    FailureOr<Operation *> halo = buildHaloWindowOp(b, op, operands, attrs,
                                                    operandLayouts[0].dims, meshRef, mesh);
    if (failed(halo))
      return failure();
    newOp = *halo;
  }
  if (!newOp)
    newOp = graph::createInferred(b, op->getLoc(), op->getName().getStringRef(), operands,
                                  attrs);
  if (newOp && convBias) {
    auto outType = cast<RankedTensorType>(newOp->getResult(0).getType());
    SmallVector<int64_t> shape(outType.getRank(), 1);
    shape[1] = outType.getDimSize(1);
    Value bias = graph::createInferred<graph::ReshapeOp>(
                     b, op->getLoc(), convBias,
                     {b.getNamedAttr("shape", b.getDenseI64ArrayAttr(shape))})
                     ->getResult(0);
    auto scalar = RankedTensorType::get({}, outType.getElementType());
    Value scale = graph::createSplatConstant(b, op->getLoc(), scalar, 1.0 / splitReduction);
    bias = graph::createInferred<graph::MulOp>(b, op->getLoc(), {bias, scale})->getResult(0);
    newOp = graph::createInferred<graph::AddOp>(b, op->getLoc(), {newOp->getResult(0), bias});
  }
  if (!newOp)
    return op->emitError() << "cannot partition '" << op->getName()
                           << "': the local op is ill-formed";
  for (unsigned r = 0; r < op->getNumResults(); ++r) {
    auto global = cast<RankedTensorType>(op->getResult(r).getType());
    if (newOp->getResult(r).getType() != localType(global, natural[r]))
      return op->emitError() << "cannot partition '" << op->getName() << "': local result "
                             << newOp->getResult(r).getType() << " differs from the expected "
                             << localType(global, natural[r]);
  }

  // 4. Partials and the propagated layout. A local mean over a split
  // dimension is the mean of a block: scale it so that summing the partials
  // gives the global mean.
  for (unsigned r = 0; r < op->getNumResults(); ++r) {
    Value v = newOp->getResult(r);
    auto global = cast<RankedTensorType>(op->getResult(r).getType());
    if (isa<graph::ReduceMeanOp, graph::GlobalAveragePoolOp>(op) && !natural[r].unreduced.empty()) {
      auto scalar = RankedTensorType::get({}, global.getElementType());
      Value scale = graph::createSplatConstant(b, op->getLoc(), scalar,
                                               1.0 / product(natural[r].unreduced));
      v = graph::createInferred<graph::MulOp>(b, op->getLoc(), {v, scale})->getResult(0);
    }
    Layout want = layoutOf(resultSharding(op, r), global.getRank());
    v = reshard(b, op->getLoc(), v, global, natural[r], want);
    local[op->getResult(r)] = {v, want};
  }
  return success();
}

LogicalResult Partitioner::partition(func::FuncOp func) {
  if (func.isExternal())
    return success();
  OpBuilder b(func.getContext());
  Block &entry = func.getBody().front();
  for (Operation &op : entry)
    if (auto r = dyn_cast<ShardingRuleOpInterface>(&op))
      rules[&op] = r.getShardingRule();
  // Arguments take their local types.
  SmallVector<Type> argTypes;
  for (BlockArgument arg : entry.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type) {
      argTypes.push_back(arg.getType());
      continue;
    }
    Layout l = layoutOf(func.getArgAttrOfType<TensorShardingAttr>(arg.getArgNumber(), kShardingAttr),
                        type.getRank());
    l.unreduced.clear(); // inputs arrive whole-valued
    argGlobalTypes[arg] = type;
    arg.setType(localType(type, l));
    argTypes.push_back(arg.getType());
    local[arg] = {arg, l};
    // Uses still expect the global type until rewritten; the map carries
    // the local value, so nothing reads the argument directly.
  }
  SmallVector<Operation *> ops;
  for (Operation &op : entry)
    ops.push_back(&op);
  for (Operation *op : ops) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      b.setInsertionPoint(ret);
      SmallVector<Type> resultTypes;
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        auto type = globalType(v);
        auto [lv, have] = local.lookup(v);
        Layout want = layoutOf(func.getResultAttrOfType<TensorShardingAttr>(i, kShardingAttr),
                               type.getRank());
        want.unreduced.clear(); // outputs leave summed
        Value out = reshard(b, ret.getLoc(), lv, type, have, want);
        ret->setOperand(i, out);
        resultTypes.push_back(out.getType());
        func.removeResultAttr(i, StringAttr::get(func.getContext(), kShardingAttr));
        func.setResultAttr(i, kPartitionedAttr, toAttr(want));
      }
      func.setType(b.getFunctionType(argTypes, resultTypes));
      continue;
    }
    if (auto c = dyn_cast<graph::ConstantOp>(op)) {
      if (failed(partitionConstant(b, c)))
        return failure();
      continue;
    }
    if (isa<ConstraintOp, ReshardOp>(op)) {
      Value in = op->getOperand(0);
      auto [v, have] = local.lookup(in);
      auto s = cast<TensorShardingAttr>(op->getAttr("sharding"));
      auto type = globalType(in);
      Layout want = layoutOf(s, type.getRank());
      // A constraint's open dimensions hold what propagation gave its result
      // (an open output [{?}, {?}] after a batch-split value stays split, not
      // all-gathered and sliced again); its unreduced axes stay its own.
      if (isa<ConstraintOp>(op))
        if (auto r = op->getAttrOfType<ArrayAttr>(kShardingsAttr); r && r.size() == 1)
          if (auto propagated = dyn_cast<TensorShardingAttr>(r[0])) {
            Layout refined = layoutOf(propagated, type.getRank());
            refined.unreduced = want.unreduced;
            want = refined;
          }
      b.setInsertionPoint(op);
      local[op->getResult(0)] = {reshard(b, op->getLoc(), v, type, have, want), want};
      continue;
    }
    if (op->getNumRegions() != 0 || isa<func::CallOp>(op))
      return op->emitError() << "cannot partition '" << op->getName() << "' yet";
    if (failed(partitionOp(b, op)))
      return failure();
  }
  // The global ops are dead now: drop them (users first).
  for (Operation *op : llvm::reverse(ops)) {
    if (isa<func::ReturnOp>(op))
      continue;
    if (auto c = dyn_cast<graph::ConstantOp>(op)) {
      c.getResult().setType(c.getType()); // stays: the local slices read it
      c->removeAttr(kShardingsAttr);
      continue;
    }
    op->dropAllUses();
    op->erase();
  }
  // Arguments and results now have local types; record how each global
  // tensor is laid out so that the runtime can split inputs and assemble
  // outputs.
  for (BlockArgument arg : entry.getArguments())
    if (isa<RankedTensorType>(arg.getType())) {
      func.removeArgAttr(arg.getArgNumber(), kShardingAttr);
      func.setArgAttr(arg.getArgNumber(), kPartitionedAttr, toAttr(local.lookup(arg).second));
    }
  return success();
}

FailureOr<const planner::Cluster *> Partitioner::pricingCluster(Operation *op) {
  if (clusterName == "none")
    return nullptr;
  if (!cluster) {
    std::string error, origin;
    auto loaded =
        planner::loadClusterOrLocal(clusterName == "local" ? "" : clusterName, error, origin);
    if (failed(loaded))
      return op->emitError() << "sharding-partition: cluster '" << clusterName << "': " << error;
    cluster = std::move(*loaded);
  }
  return &*cluster;
}

struct ShardingPartitionPass : impl::ShardingPartitionBase<ShardingPartitionPass> {
  using ShardingPartitionBase::ShardingPartitionBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MeshOp meshOp;
    for (auto m : module.getOps<MeshOp>()) {
      meshOp = m;
      break;
    }
    if (!meshOp)
      return; // nothing is sharded: the program is already per-device
    Partitioner p(meshOp, clusterName);
    for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (failed(p.partition(func)))
        return signalPassFailure();
  }
};

} // namespace
} // namespace partita::sharding
