//===- SplitFusedProjections.cpp - head-aligned blocks of a fused QKV -----===//
//
// matmul(x, W[K, N]) (+ bias[N]) -> split(last axis, [n0, n1, ...]) with W
// (and bias) constants whose last dimension carries a sharding constraint
// becomes one matmul (+ add) per split output, on the matching column block
// of W (and bias), each block under W's (bias's) constraint. See the pass
// description in Passes.td for why.
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Passes.h"

#include "dialects/Graph/IR/ConstantStorage.h"
#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

using namespace mlir;

namespace partita::sharding {
#define GEN_PASS_DEF_SHARDINGSPLITFUSEDPROJECTIONS
#include "passes/Partition/Passes.h.inc"

namespace {

/// A constant, possibly behind one sharding.constraint.
struct Annotated {
  graph::ConstantOp constant;
  ElementsAttr value; ///< dense, or a resource (mapped weights)
  TensorShardingAttr sharding; ///< null: no constraint
};

std::optional<Annotated> annotatedConstant(Value v) {
  Annotated a;
  if (auto c = v.getDefiningOp<ConstraintOp>()) {
    a.sharding = c.getSharding();
    v = c.getInput();
  }
  a.constant = v.getDefiningOp<graph::ConstantOp>();
  if (!a.constant)
    return std::nullopt;
  a.value = a.constant.getValue();
  if (!isa<DenseElementsAttr>(a.value) && !graph::rawData(a.value))
    return std::nullopt; // data this pass cannot read
  return a;
}

/// The number of devices `sharding` splits dimension `dim` over (1 if none).
int64_t splitFactor(TensorShardingAttr sharding, int64_t dim, Operation *anchor) {
  if (!sharding || dim >= (int64_t)sharding.getDims().size())
    return 1;
  MeshAttr mesh = lookupMesh(sharding, anchor);
  if (!mesh)
    return 0;
  int64_t n = 1;
  for (StringAttr axis : sharding.getDims()[dim].getAxes()) {
    std::optional<int64_t> size = mesh.getAxisSize(axis.getValue());
    if (!size)
      return 0;
    n *= *size;
  }
  return n;
}

/// The block [start, start + size) of the constant's last dimension, under
/// the same constraint.
Value columnBlock(OpBuilder &b, Annotated a, int64_t start, int64_t size) {
  auto type = cast<RankedTensorType>(a.value.getType());
  SmallVector<int64_t> shape(type.getShape());
  int64_t dim = shape.size() - 1;
  shape[dim] = size;
  auto blockType = RankedTensorType::get(shape, type.getElementType());
  Location loc = a.constant.getLoc();
  SmallVector<int64_t> offsets(shape.size(), 0);
  offsets[dim] = start;
  // A mapped weight's blocks are heap resources: the rank keeps only its
  // slices of them and releases the rest (ConstantStorage.h).
  ElementsAttr data = graph::readBlock(a.value, blockType, offsets,
                                       isa<DenseResourceElementsAttr>(a.value));
  assert(data && "annotatedConstant checked the data is readable");
  Value block = graph::ConstantOp::create(b, loc, blockType, data);
  if (a.sharding)
    block = ConstraintOp::create(b, loc, block, a.sharding);
  return block;
}

LogicalResult rewrite(graph::SplitOp split) {
  auto inType = cast<RankedTensorType>(split.getInput().getType());
  if (split.getAxis() != inType.getRank() - 1 || !split.getInput().hasOneUse())
    return failure();
  Operation *def = split.getInput().getDefiningOp();
  auto add = dyn_cast_or_null<graph::AddOp>(def);
  graph::MatMulOp mm;
  Value biasValue;
  bool biasFirst = false;
  if (add) {
    for (unsigned i = 0; i < 2 && !mm; ++i)
      if (auto m = add->getOperand(i).getDefiningOp<graph::MatMulOp>();
          m && m->hasOneUse()) {
        mm = m;
        biasValue = add->getOperand(1 - i);
        biasFirst = i == 1;
      }
  } else {
    mm = dyn_cast_or_null<graph::MatMulOp>(def);
  }
  if (!mm)
    return failure();
  std::optional<Annotated> w = annotatedConstant(mm.getRhs());
  if (!w || cast<RankedTensorType>(w->value.getType()).getRank() != 2)
    return failure();
  int64_t n = splitFactor(w->sharding, 1, split);
  if (n <= 1)
    return failure(); // the columns are not split: nothing straddles
  std::optional<Annotated> bias;
  if (add) {
    bias = annotatedConstant(biasValue);
    auto biasType = bias ? cast<RankedTensorType>(bias->value.getType()) : nullptr;
    if (!biasType || biasType.getRank() != 1 ||
        biasType.getDimSize(0) != inType.getShape().back())
      return failure();
  }
  // Each block must split evenly over the same devices.
  for (int64_t size : split.getSplit())
    if (size % n || (bias && size % std::max<int64_t>(1, splitFactor(bias->sharding, 0, split))))
      return failure();

  OpBuilder b(split);
  int64_t start = 0;
  SmallVector<Value> results;
  for (int64_t size : split.getSplit()) {
    Value weight = columnBlock(b, *w, start, size);
    Value out = graph::createInferred<graph::MatMulOp>(b, mm.getLoc(), {mm.getLhs(), weight});
    if (add) {
      Value blockBias = columnBlock(b, *bias, start, size);
      out = graph::createInferred<graph::AddOp>(
          b, add.getLoc(),
          biasFirst ? ValueRange{blockBias, out} : ValueRange{out, blockBias});
    }
    if (!out)
      return failure();
    results.push_back(out);
    start += size;
  }
  split->replaceAllUsesWith(results);
  split.erase();
  if (add)
    add.erase();
  mm.erase();
  // The fused constants and their constraints, unless something else reads
  // them.
  for (std::optional<Annotated> a : {w, bias}) {
    if (!a)
      continue;
    Operation *constant = a->constant;
    if (constant->hasOneUse())
      if (auto c = dyn_cast<ConstraintOp>(*constant->getUsers().begin()); c && c->use_empty())
        c.erase();
    if (constant->use_empty())
      constant->erase();
  }
  return success();
}

struct SplitFusedProjectionsPass
    : impl::ShardingSplitFusedProjectionsBase<SplitFusedProjectionsPass> {
  void runOnOperation() override {
    SmallVector<graph::SplitOp> splits;
    getOperation().walk([&](graph::SplitOp s) { splits.push_back(s); });
    for (graph::SplitOp s : splits)
      (void)rewrite(s);
  }
};

} // namespace
} // namespace partita::sharding
