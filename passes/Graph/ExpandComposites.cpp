//===- ExpandComposites.cpp - composite graph ops to primitive ones -------===//
//
// Attention becomes the textbook matmul-softmax-matmul chain. The MoE ops
// follow GShard's dense formulation: a [T*k, E, C] dispatch mask built from
// one_hot and an exclusive cumsum over assignments, contracted with the
// tokens (dispatch) or the expert outputs (combine). It materializes the
// mask, so it is a reference lowering, not a fast one.
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

/// The [T*k, E, G*C] 0/1 mask: entry (a, e, g*C + c) is 1 when assignment a
/// (token a / k, choice a % k, of group g) went to expert e and landed in
/// slot c < capacity of its group.
Value dispatchMask(OpBuilder &b, Location loc, Value indices, int64_t experts,
                   int64_t capacity, int64_t groups, Type elt) {
  auto idxType = cast<RankedTensorType>(indices.getType());
  int64_t a = idxType.getNumElements();
  Value onehot = make<OneHotOp>(b, loc, {indices, offOn(b, loc, elt)},
                                {i64Attr(b, "depth", experts), i64Attr(b, "axis", -1)});
  Value flat = make<ReshapeOp>(b, loc, onehot, {i64sAttr(b, "shape", {a, experts})});
  // Slot of an assignment = how many earlier assignments of its group chose
  // the same expert.
  Value earlier;
  if (groups == 1) {
    earlier = make<CumSumOp>(b, loc, flat, {i64Attr(b, "axis", 0), boolAttr(b, "exclusive", true)});
  } else {
    Value grouped =
        make<ReshapeOp>(b, loc, flat, {i64sAttr(b, "shape", {groups, a / groups, experts})});
    earlier = make<CumSumOp>(b, loc, grouped,
                             {i64Attr(b, "axis", 1), boolAttr(b, "exclusive", true)});
    earlier = make<ReshapeOp>(b, loc, earlier, {i64sAttr(b, "shape", {a, experts})});
  }
  Value slot = make<ReduceSumOp>(b, loc, make<MulOp>(b, loc, {earlier, flat}),
                                 {i64sAttr(b, "axes", {1}), boolAttr(b, "keepdims", false)});
  Value slotIdx = make<CastOp>(b, loc, slot,
                               {b.getNamedAttr("to", TypeAttr::get(b.getI64Type()))});
  // one_hot of an index >= capacity is all zeros: the assignment is dropped.
  Value slotOneHot = make<OneHotOp>(b, loc, {slotIdx, offOn(b, loc, elt)},
                                    {i64Attr(b, "depth", capacity), i64Attr(b, "axis", -1)});
  if (groups > 1) {
    // Group g's slots are [g*C, (g+1)*C): place each assignment's one-hot
    // in its group's block.
    SmallVector<int64_t> groupOf(a);
    for (int64_t i = 0; i < a; ++i)
      groupOf[i] = i / (a / groups);
    auto type = RankedTensorType::get({a}, b.getI64Type());
    Value ids = ConstantOp::create(b, loc, type,
                                   DenseElementsAttr::get(type, ArrayRef<int64_t>(groupOf)));
    Value groupOneHot = make<OneHotOp>(b, loc, {ids, offOn(b, loc, elt)},
                                       {i64Attr(b, "depth", groups), i64Attr(b, "axis", -1)});
    slotOneHot = make<EinsumOp>(b, loc, {groupOneHot, slotOneHot},
                                {b.getNamedAttr("equation", b.getStringAttr("ag,ac->agc"))});
    slotOneHot = make<ReshapeOp>(b, loc, slotOneHot,
                                 {i64sAttr(b, "shape", {a, groups * capacity})});
  }
  return make<EinsumOp>(b, loc, {flat, slotOneHot},
                        {b.getNamedAttr("equation", b.getStringAttr("ae,ac->aec"))});
}

struct ExpandMoeDispatch : OpRewritePattern<MoeDispatchOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MoeDispatchOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto xType = op.getTokens().getType();
    int64_t t = xType.getDimSize(0), h = xType.getDimSize(1);
    int64_t k = op.getIndices().getType().getDimSize(1);
    Value mask = dispatchMask(rw, loc, op.getIndices(), op.getNumExperts(),
                              op.getCapacity(), op.getGroups(), xType.getElementType());
    Value x = make<ReshapeOp>(rw, loc, op.getTokens(), {i64sAttr(rw, "shape", {t, 1, h})});
    x = make<ExpandOp>(rw, loc, x, {i64sAttr(rw, "shape", {t, k, h})});
    x = make<ReshapeOp>(rw, loc, x, {i64sAttr(rw, "shape", {t * k, h})});
    rw.replaceOp(op, make<EinsumOp>(rw, loc, {mask, x},
                                    {rw.getNamedAttr("equation",
                                                     rw.getStringAttr("aec,ah->ech"))}));
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

struct ExpandMoeCombine : OpRewritePattern<MoeCombineOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MoeCombineOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto yType = op.getExpertOut().getType();
    auto wType = op.getWeights().getType();
    int64_t t = wType.getDimSize(0), k = wType.getDimSize(1);
    int64_t h = yType.getDimSize(2);
    Value mask = dispatchMask(rw, loc, op.getIndices(), yType.getDimSize(0),
                              yType.getDimSize(1) / op.getGroups(), op.getGroups(),
                              yType.getElementType());
    Value w = make<ReshapeOp>(rw, loc, op.getWeights(), {i64sAttr(rw, "shape", {t * k, 1, 1})});
    Value weighted = make<MulOp>(rw, loc, {mask, w});
    Value perAssignment = make<EinsumOp>(
        rw, loc, {weighted, op.getExpertOut()},
        {rw.getNamedAttr("equation", rw.getStringAttr("aec,ech->ah"))});
    Value perChoice = make<ReshapeOp>(rw, loc, perAssignment,
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
