//===- ExpandComposites.cpp - composite graph ops to primitive ones -------===//
//
// Attention becomes the textbook matmul-softmax-matmul chain. The MoE ops
// become index arithmetic: each assignment's slot from an exclusive cumsum
// over a [T*k, E] one-hot, then a scatter of the tokens into the slot
// buffer (dispatch) or a gather of the expert outputs (combine).
//
//===----------------------------------------------------------------------===//

#include "passes/Graph/Passes.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <numeric>

using namespace mlir;

namespace partita::graph {
#define GEN_PASS_DEF_GRAPHEXPANDCOMPOSITES
#include "passes/Graph/Passes.h.inc"

namespace {

NamedAttribute i64Attr(OpBuilder &b, StringRef name, int64_t v) {
  return b.getNamedAttr(name, b.getI64IntegerAttr(v));
}
NamedAttribute i64sAttr(OpBuilder &b, StringRef name, ArrayRef<int64_t> v) {
  return b.getNamedAttr(name, b.getDenseI64ArrayAttr(v));
}
NamedAttribute boolAttr(OpBuilder &b, StringRef name, bool v) {
  return b.getNamedAttr(name, b.getBoolAttr(v));
}

/// Shorthand for creating a single-result graph op with inferred types.
template <typename OpTy>
Value make(OpBuilder &b, Location loc, ValueRange operands,
           ArrayRef<NamedAttribute> attrs = {}) {
  Operation *op = createInferred<OpTy>(b, loc, operands, attrs);
  assert(op && "composite expansion built an ill-typed op");
  return op->getResult(0);
}

/// [0, 1] of `elt`: the off/on values for one_hot.
Value offOn(OpBuilder &b, Location loc, Type elt) {
  auto type = RankedTensorType::get({2}, elt);
  SmallVector<Attribute> vals{b.getFloatAttr(elt, 0.0), b.getFloatAttr(elt, 1.0)};
  return ConstantOp::create(b, loc, type,
                            DenseElementsAttr::get(type, ArrayRef<Attribute>(vals)));
}

/// Additive causal mask [sq, sk]: 0 where key j <= i + (sk - sq), -inf above.
Value causalMask(OpBuilder &b, Location loc, int64_t sq, int64_t sk,
                 FloatType elt) {
  const llvm::fltSemantics &sem = elt.getFloatSemantics();
  SmallVector<APFloat> vals;
  vals.reserve(sq * sk);
  for (int64_t i = 0; i < sq; ++i)
    for (int64_t j = 0; j < sk; ++j)
      vals.push_back(j <= i + (sk - sq) ? APFloat::getZero(sem)
                                        : APFloat::getInf(sem, /*Negative=*/true));
  auto type = RankedTensorType::get({sq, sk}, elt);
  return ConstantOp::create(b, loc, type, DenseElementsAttr::get(type, vals));
}

struct ExpandAttention : OpRewritePattern<AttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto qType = op.getQ().getType();
    auto elt = cast<FloatType>(qType.getElementType());
    int64_t rank = qType.getRank();
    SmallVector<int64_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[rank - 2], perm[rank - 1]);
    Value kt = make<TransposeOp>(rw, loc, op.getK(), {i64sAttr(rw, "perm", perm)});
    Value scores = make<MatMulOp>(rw, loc, {op.getQ(), kt});
    Value scale = createSplatConstant(rw, loc, RankedTensorType::get({}, elt),
                                      op.getScale().convertToDouble());
    scores = make<MulOp>(rw, loc, {scores, scale});
    if (Value mask = op.getMask())
      scores = make<AddOp>(rw, loc, {scores, mask});
    if (op.getCausal()) {
      int64_t sq = qType.getDimSize(rank - 2);
      int64_t sk = op.getK().getType().getDimSize(rank - 2);
      scores = make<AddOp>(rw, loc, {scores, causalMask(rw, loc, sq, sk, elt)});
    }
    Value probs = make<SoftmaxOp>(rw, loc, scores, {i64Attr(rw, "axis", -1)});
    rw.replaceOp(op, make<MatMulOp>(rw, loc, {probs, op.getV()}));
    return success();
  }
};

struct ExpandMoeGate : OpRewritePattern<MoeGateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MoeGateOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    Value probs = make<SoftmaxOp>(rw, loc, op.getLogits(), {i64Attr(rw, "axis", -1)});
    Operation *topk = createInferred<TopKOp>(
        rw, loc, probs,
        {i64Attr(rw, "k", op.getK()), i64Attr(rw, "axis", -1),
         boolAttr(rw, "largest", true), boolAttr(rw, "sorted", true)});
    Value weights = topk->getResult(0);
    if (op.getNormalize()) {
      Value sum = make<ReduceSumOp>(rw, loc, weights,
                                    {i64sAttr(rw, "axes", {1}),
                                     boolAttr(rw, "keepdims", true)});
      weights = make<DivOp>(rw, loc, {weights, sum});
    }
    rw.replaceOp(op, {weights, topk->getResult(1)});
    return success();
  }
};

/// Where each of the T*k assignments (token a / k, choice a % k) lands:
/// the row e*G*C + g*C + s of the [E*G*C, H] slot buffer (expert e, its
/// group g, slot s = the number of earlier assignments of group g to e), or
/// the extra row E*G*C when s >= C (dropped). The slots come from an
/// exclusive cumsum over a [T*k, E] one-hot, in f32 (exact to 2^24). With a
/// `priority`, "earlier" is in descending priority within each group: the
/// one-hot rows are sorted by it (top-k over the group, stable on ties),
/// counted, and the counts scattered back to the assignments' positions.
Value assignmentRows(OpBuilder &b, Location loc, Value indices, Value priority,
                     int64_t experts, int64_t capacity, int64_t groups) {
  auto idxType = cast<RankedTensorType>(indices.getType());
  int64_t a = idxType.getNumElements(), perGroup = a / groups;
  Type f32 = b.getF32Type(), i64 = b.getI64Type();
  Value onehot = make<OneHotOp>(b, loc, {indices, offOn(b, loc, f32)},
                                {i64Attr(b, "depth", experts), i64Attr(b, "axis", -1)});
  Value flat = make<ReshapeOp>(b, loc, onehot, {i64sAttr(b, "shape", {a, experts})});
  auto i64Vector = [&](ArrayRef<int64_t> values, ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, i64);
    return ConstantOp::create(b, loc, type, DenseElementsAttr::get(type, values)).getResult();
  };
  // order[i]: the assignment counted i-th (its group's i % perGroup-th).
  Value order;
  if (priority) {
    Value p = make<ReshapeOp>(b, loc, priority, {i64sAttr(b, "shape", {groups, perGroup})});
    Operation *sorted = createInferred<TopKOp>(
        b, loc, p,
        {i64Attr(b, "k", perGroup), i64Attr(b, "axis", -1), boolAttr(b, "largest", true),
         boolAttr(b, "sorted", true)});
    SmallVector<int64_t> starts(groups);
    for (int64_t g = 0; g < groups; ++g)
      starts[g] = g * perGroup;
    order = make<ReshapeOp>(
        b, loc, make<AddOp>(b, loc, {sorted->getResult(1), i64Vector(starts, {groups, 1})}),
        {i64sAttr(b, "shape", {a})});
    flat = make<GatherOp>(b, loc, {flat, order}, {i64Attr(b, "axis", 0)});
  }
  Value earlier;
  if (groups == 1) {
    earlier = make<CumSumOp>(b, loc, flat, {i64Attr(b, "axis", 0), boolAttr(b, "exclusive", true)});
  } else {
    Value grouped =
        make<ReshapeOp>(b, loc, flat, {i64sAttr(b, "shape", {groups, perGroup, experts})});
    earlier = make<CumSumOp>(b, loc, grouped,
                             {i64Attr(b, "axis", 1), boolAttr(b, "exclusive", true)});
    earlier = make<ReshapeOp>(b, loc, earlier, {i64sAttr(b, "shape", {a, experts})});
  }
  Value slot = make<ReduceSumOp>(b, loc, make<MulOp>(b, loc, {earlier, flat}),
                                 {i64sAttr(b, "axes", {1}), boolAttr(b, "keepdims", false)});
  if (order) {
    // Back from the counting order to the assignments' own.
    Value zeros = createSplatConstant(b, loc, RankedTensorType::get({a}, f32), 0.0);
    slot = make<ScatterNDOp>(b, loc,
                             {zeros, make<ReshapeOp>(b, loc, order, {i64sAttr(b, "shape", {a, 1})}),
                              slot});
  }
  slot = make<CastOp>(b, loc, slot, {b.getNamedAttr("to", TypeAttr::get(i64))});
  auto scalar = [&](int64_t v) {
    return createSplatConstant(b, loc, RankedTensorType::get({}, i64), (double)v);
  };
  Value expert = make<ReshapeOp>(b, loc, indices, {i64sAttr(b, "shape", {a})});
  Value row = make<AddOp>(b, loc, {make<MulOp>(b, loc, {expert, scalar(groups * capacity)}), slot});
  if (groups > 1) {
    SmallVector<int64_t> groupStart(a);
    for (int64_t i = 0; i < a; ++i)
      groupStart[i] = i / perGroup * capacity;
    row = make<AddOp>(b, loc, {row, i64Vector(groupStart, {a})});
  }
  Value kept = make<LessOp>(b, loc, {slot, scalar(capacity)});
  return make<WhereOp>(b, loc, {kept, row, scalar(experts * groups * capacity)});
}

/// Scatters each assignment's token to its row (dropped ones to the extra
/// row, which is cut off): O(T*k*(E + H)), where a dense [T*k, E, C] mask
/// would be O(T^2) for dropless capacities.
struct ExpandMoeDispatch : OpRewritePattern<MoeDispatchOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MoeDispatchOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto xType = op.getTokens().getType();
    int64_t t = xType.getDimSize(0), h = xType.getDimSize(1);
    int64_t k = op.getIndices().getType().getDimSize(1);
    int64_t e = op.getNumExperts(), slots = op.getGroups() * op.getCapacity();
    Value rows = assignmentRows(rw, loc, op.getIndices(), op.getPriority(), e, op.getCapacity(),
                                op.getGroups());
    Value x = make<ReshapeOp>(rw, loc, op.getTokens(), {i64sAttr(rw, "shape", {t, 1, h})});
    x = make<ExpandOp>(rw, loc, x, {i64sAttr(rw, "shape", {t, k, h})});
    x = make<ReshapeOp>(rw, loc, x, {i64sAttr(rw, "shape", {t * k, h})});
    Value zeros = createSplatConstant(
        rw, loc, RankedTensorType::get({e * slots + 1, h}, xType.getElementType()), 0.0);
    Value buffer = make<ScatterNDOp>(
        rw, loc,
        {zeros, make<ReshapeOp>(rw, loc, rows, {i64sAttr(rw, "shape", {t * k, 1})}), x},
        {rw.getNamedAttr("reduction",
                         ScatterReductionAttr::get(rw.getContext(), ScatterReduction::add))});
    Value kept = make<SliceOp>(rw, loc, buffer,
                               {i64sAttr(rw, "starts", {0, 0}), i64sAttr(rw, "ends", {e * slots, h}),
                                i64sAttr(rw, "steps", {1, 1})});
    rw.replaceOp(op, make<ReshapeOp>(rw, loc, kept, {i64sAttr(rw, "shape", {e, slots, h})}));
    return success();
  }
};

struct ExpandMoeExpertMatMul : OpRewritePattern<MoeExpertMatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MoeExpertMatMulOp op,
                                PatternRewriter &rw) const override {
    rw.replaceOp(op, make<MatMulOp>(rw, op.getLoc(), {op.getInput(), op.getWeight()}));
    return success();
  }
};

/// Gathers each assignment's row of the expert outputs (dropped ones the
/// zero row appended), weights it and sums a token's k choices.
struct ExpandMoeCombine : OpRewritePattern<MoeCombineOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MoeCombineOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto yType = op.getExpertOut().getType();
    auto wType = op.getWeights().getType();
    int64_t t = wType.getDimSize(0), k = wType.getDimSize(1);
    int64_t e = yType.getDimSize(0), slots = yType.getDimSize(1), h = yType.getDimSize(2);
    int64_t groups = op.getGroups();
    Value rows =
        assignmentRows(rw, loc, op.getIndices(), op.getPriority(), e, slots / groups, groups);
    Value flat = make<ReshapeOp>(rw, loc, op.getExpertOut(), {i64sAttr(rw, "shape", {e * slots, h})});
    Value zero = createSplatConstant(rw, loc, RankedTensorType::get({1, h}, yType.getElementType()),
                                     0.0);
    flat = make<ConcatOp>(rw, loc, {flat, zero}, {i64Attr(rw, "axis", 0)});
    Value picked = make<GatherOp>(rw, loc, {flat, rows}, {i64Attr(rw, "axis", 0)});
    Value w = make<ReshapeOp>(rw, loc, op.getWeights(), {i64sAttr(rw, "shape", {t * k, 1})});
    Value perChoice = make<ReshapeOp>(rw, loc, make<MulOp>(rw, loc, {picked, w}),
                                      {i64sAttr(rw, "shape", {t, k, h})});
    rw.replaceOp(op, make<ReduceSumOp>(rw, loc, perChoice,
                                       {i64sAttr(rw, "axes", {1}),
                                        boolAttr(rw, "keepdims", false)}));
    return success();
  }
};

struct GraphExpandCompositesPass
    : impl::GraphExpandCompositesBase<GraphExpandCompositesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandAttention, ExpandMoeGate, ExpandMoeDispatch,
                 ExpandMoeExpertMatMul, ExpandMoeCombine>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace partita::graph
