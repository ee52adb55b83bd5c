//===- ReductionToLinalg.cpp - reductions and normalizations --------------===//
//
// Reductions are linalg.generic ops with reduction iterators whose output
// drops the reduced dimensions; keepdims then re-inserts unit dimensions
// with an expand_shape. Softmax and the normalizations are built from those
// reductions plus parallel generics (elementwise fusion merges the parallel
// parts afterwards):
//   softmax(x)     = e / sum(e),       e = exp(x - max(x))
//   log_softmax(x) = (x - max(x)) - log(sum(e))
//   layer_norm     = (x - mean) / sqrt(var + eps) * scale + bias
// Cumsum is a generic over (shape..., j) summing x[j] where j is on the
// right side of i: quadratic in the axis length, but one loop nest with no
// sequential dependence in the IR.
//
//===----------------------------------------------------------------------===//

#include "passes/Lowering/LoweringUtils.h"

using namespace mlir;

namespace partita::lowering {
namespace {

using Combine = function_ref<Value(OpBuilder &, Location, Value, Value)>;

int64_t countOf(RankedTensorType t, ArrayRef<int64_t> axes) {
  int64_t n = 1;
  for (int64_t a : axes)
    n *= t.getDimSize(a);
  return n;
}

/// Broadcasts a reduced tensor back over the full iteration space and
/// combines it with the full one elementwise.
Value withReduced(OpBuilder &b, Location loc, Value full, ValueRange reduced,
                  ArrayRef<int64_t> axes, ScalarFn fn) {
  auto t = cast<RankedTensorType>(full.getType());
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(t.getRank(), ctx)};
  maps.append(reduced.size(), dropAxesMap(ctx, t.getRank(), axes));
  SmallVector<Value> ins{full};
  ins.append(reduced.begin(), reduced.end());
  return buildParallel(b, loc, t, ins, maps, fn);
}

template <typename OpTy>
struct ReduceLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    ElemKind k = ElemKind::ofValue(op.getInput());
    Value x = adaptor.getInput();
    auto xt = cast<RankedTensorType>(x.getType());
    ArrayRef<int64_t> axes = op.getAxes();
    auto add = [&](OpBuilder &b, Location l, Value acc, Value v) {
      return addS(b, l, k, acc, v);
    };
    auto square = [&](OpBuilder &b, Location l, Value v) {
      return mulS(b, l, k, v, v);
    };
    Value r;
    if constexpr (std::is_same_v<OpTy, graph::ReduceSumOp> ||
                  std::is_same_v<OpTy, graph::ReduceMeanOp>) {
      r = buildReduction(rw, loc, x, axes, scalarConst(rw, loc, k, 0), add);
      if (std::is_same_v<OpTy, graph::ReduceMeanOp>) {
        Value n = scalarConst(rw, loc, k, (double)countOf(xt, axes));
        r = buildElementwise(rw, loc, cast<RankedTensorType>(r.getType()), r,
                             [&](OpBuilder &b, Location l, ValueRange a) {
                               return divS(b, l, k, a[0], n);
                             });
      }
    } else if constexpr (std::is_same_v<OpTy, graph::ReduceSumSquareOp> ||
                         std::is_same_v<OpTy, graph::ReduceL2Op>) {
      r = buildReduction(rw, loc, x, axes, scalarConst(rw, loc, k, 0), add, square);
      if (std::is_same_v<OpTy, graph::ReduceL2Op>) {
        if (!k.isFloat)
          return rw.notifyMatchFailure(op, "integer reduce_l2");
        r = buildElementwise(rw, loc, cast<RankedTensorType>(r.getType()), r,
                             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                               return math::SqrtOp::create(b, l, a[0]);
                             });
      }
    } else if constexpr (std::is_same_v<OpTy, graph::ReduceProdOp>) {
      r = buildReduction(rw, loc, x, axes, scalarConst(rw, loc, k, 1),
                         [&](OpBuilder &b, Location l, Value acc, Value v) {
                           return mulS(b, l, k, acc, v);
                         });
    } else if constexpr (std::is_same_v<OpTy, graph::ReduceMaxOp>) {
      r = buildReduction(rw, loc, x, axes, lowestConst(rw, loc, k),
                         [&](OpBuilder &b, Location l, Value acc, Value v) {
                           return maxS(b, l, k, acc, v);
                         });
    } else if constexpr (std::is_same_v<OpTy, graph::ReduceMinOp>) {
      r = buildReduction(rw, loc, x, axes, highestConst(rw, loc, k),
                         [&](OpBuilder &b, Location l, Value acc, Value v) {
                           return minS(b, l, k, acc, v);
                         });
    } else {
      static_assert(std::is_same_v<OpTy, graph::ReduceLogSumExpOp>);
      // log(sum(exp(x - m))) + m with m = max(x); an all -inf slice uses
      // m = 0 so that the result is -inf rather than NaN.
      Value m = buildReduction(rw, loc, x, axes, lowestConst(rw, loc, k),
                               [&](OpBuilder &b, Location l, Value acc, Value v) {
                                 return maxS(b, l, k, acc, v);
                               });
      auto mt = cast<RankedTensorType>(m.getType());
      m = buildElementwise(rw, loc, mt, m, [&](OpBuilder &b, Location l, ValueRange a) {
        Value isInf = cmpS(b, l, k, "eq", a[0], lowestConst(b, l, k));
        return arith::SelectOp::create(b, l, isInf, scalarConst(b, l, k, 0), a[0])
            .getResult();
      });
      Value s = buildReductionN(
          rw, loc, x, m, axes, scalarConst(rw, loc, k, 0),
          [&](OpBuilder &b, Location l, Value acc, ValueRange a) {
            Value e = math::ExpOp::create(b, l, subS(b, l, k, a[0], a[1]));
            return addS(b, l, k, acc, e);
          });
      r = buildElementwise(rw, loc, mt, {s, m},
                           [&](OpBuilder &b, Location l, ValueRange a) {
                             Value lg = math::LogOp::create(b, l, a[0]);
                             return addS(b, l, k, lg, a[1]);
                           });
    }
    rw.replaceOp(op, reshapeTo(rw, loc, r, convertedType(op.getResult()).getShape()));
    return success();
  }
};

template <typename OpTy>
struct ArgReduceLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    constexpr bool isMax = std::is_same_v<OpTy, graph::ArgMaxOp>;
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    ElemKind k = ElemKind::ofValue(op.getInput());
    Value x = adaptor.getInput();
    auto xt = cast<RankedTensorType>(x.getType());
    int64_t rank = xt.getRank();
    int64_t axis = normAxis(op.getAxis(), rank);
    bool last = op.getSelectLastIndex();
    SmallVector<int64_t> shape = reducedShape(xt.getShape(), {axis}, false);
    auto valType = RankedTensorType::get(shape, k.type);
    auto idxType = RankedTensorType::get(shape, rw.getI64Type());
    Value vals = filledTensor(rw, loc, valType,
                              isMax ? lowestConst(rw, loc, k) : highestConst(rw, loc, k));
    Value idxs = filledTensor(rw, loc, idxType,
                              arith::ConstantOp::create(rw, loc, rw.getI64IntegerAttr(0)));
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters[axis] = utils::IteratorType::reduction;
    AffineMap outMap = dropAxesMap(ctx, rank, {axis});
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx), outMap,
                                outMap};
    // Strict comparison keeps the first extremum, non-strict the last.
    StringRef pred = isMax ? (last ? "ge" : "gt") : (last ? "le" : "lt");
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{valType, idxType}, ValueRange{x}, ValueRange{vals, idxs},
        maps, iters, [&](OpBuilder &b, Location l, ValueRange a) {
          Value better = cmpS(b, l, k, pred, a[0], a[1]);
          Value i = arith::IndexCastOp::create(b, l, b.getI64Type(),
                                               linalg::IndexOp::create(b, l, axis));
          linalg::YieldOp::create(
              b, l, ValueRange{arith::SelectOp::create(b, l, better, a[0], a[1]),
                               arith::SelectOp::create(b, l, better, i, a[2])});
        });
    rw.replaceOp(op, reshapeTo(rw, loc, g.getResult(1),
                               convertedType(op.getResult()).getShape()));
    return success();
  }
};

struct CumSumLowering : OpConversionPattern<graph::CumSumOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::CumSumOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    ElemKind k = ElemKind::ofValue(op.getInput());
    auto t = convertedType(op.getResult());
    int64_t rank = t.getRank();
    int64_t axis = normAxis(op.getAxis(), rank);
    // Iteration space (d0..d{rank-1}, j): out[d] += x[d with d_axis := j].
    SmallVector<AffineExpr> inExprs;
    for (int64_t d = 0; d < rank; ++d)
      inExprs.push_back(getAffineDimExpr(d == axis ? rank : d, ctx));
    SmallVector<AffineMap> maps{
        AffineMap::get(rank + 1, 0, inExprs, ctx),
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx).getMajorSubMap(rank)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    bool rev = op.getReverse(), excl = op.getExclusive();
    auto pred = rev ? (excl ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::sge)
                    : (excl ? arith::CmpIPredicate::slt : arith::CmpIPredicate::sle);
    Value init = filledTensor(rw, loc, t, scalarConst(rw, loc, k, 0));
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{t}, ValueRange{adaptor.getInput()}, ValueRange{init}, maps,
        iters, [&](OpBuilder &b, Location l, ValueRange a) {
          Value j = linalg::IndexOp::create(b, l, rank);
          Value i = linalg::IndexOp::create(b, l, axis);
          Value in = arith::CmpIOp::create(b, l, pred, j, i);
          Value v = arith::SelectOp::create(b, l, in, a[0], scalarConst(b, l, k, 0));
          linalg::YieldOp::create(b, l, addS(b, l, k, a[1], v));
        });
    rw.replaceOp(op, g.getResult(0));
    return success();
  }
};

template <typename OpTy>
struct SoftmaxLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    constexpr bool isLog = std::is_same_v<OpTy, graph::LogSoftmaxOp>;
    Location loc = op.getLoc();
    ElemKind k = ElemKind::ofValue(op.getInput());
    Value x = adaptor.getInput();
    int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
    int64_t axis = normAxis(op.getAxis(), rank);
    Value m = buildReduction(rw, loc, x, {axis}, lowestConst(rw, loc, k),
                             [&](OpBuilder &b, Location l, Value acc, Value v) {
                               return maxS(b, l, k, acc, v);
                             });
    // x - m is recomputed by both passes that read it rather than stored:
    // three reads of x and one write in all.
    Value s = buildReductionN(rw, loc, x, m, {axis}, scalarConst(rw, loc, k, 0),
                              [&](OpBuilder &b, Location l, Value acc, ValueRange a) {
                                Value e = math::ExpOp::create(b, l, subS(b, l, k, a[0], a[1]));
                                return addS(b, l, k, acc, e);
                              });
    Value r = withReduced(rw, loc, x, {m, s}, {axis},
                          [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                            Value shifted = subS(b, l, k, a[0], a[1]);
                            if (isLog)
                              return subS(b, l, k, shifted, math::LogOp::create(b, l, a[2]));
                            return divS(b, l, k, math::ExpOp::create(b, l, shifted), a[2]);
                          });
    rw.replaceOp(op, r);
    return success();
  }
};

/// mean and 1/sqrt(var + eps) over `axes` (reduced shapes).
std::pair<Value, Value> moments(OpBuilder &b, Location loc, const ElemKind &k,
                                Value x, ArrayRef<int64_t> axes, double eps) {
  auto xt = cast<RankedTensorType>(x.getType());
  Value n = scalarConst(b, loc, k, (double)countOf(xt, axes));
  Value zero = scalarConst(b, loc, k, 0);
  Value sum = buildReduction(b, loc, x, axes, zero,
                             [&](OpBuilder &nb, Location l, Value acc, Value v) {
                               return addS(nb, l, k, acc, v);
                             });
  auto rt = cast<RankedTensorType>(sum.getType());
  Value mean = buildElementwise(b, loc, rt, sum, [&](OpBuilder &nb, Location l, ValueRange a) {
    return divS(nb, l, k, a[0], n);
  });
  Value sq = buildReductionN(b, loc, x, mean, axes, zero,
                             [&](OpBuilder &nb, Location l, Value acc, ValueRange a) {
                               Value d = subS(nb, l, k, a[0], a[1]);
                               return addS(nb, l, k, acc, mulS(nb, l, k, d, d));
                             });
  Value e = scalarConst(b, loc, k, eps);
  Value inv = buildElementwise(b, loc, rt, sq, [&](OpBuilder &nb, Location l, ValueRange a) {
    Value var = divS(nb, l, k, a[0], n);
    return math::RsqrtOp::create(nb, l, addS(nb, l, k, var, e)).getResult();
  });
  return {mean, inv};
}

struct LayerNormLowering : OpConversionPattern<graph::LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    ElemKind k = ElemKind::ofValue(op.getInput());
    Value x = adaptor.getInput();
    auto xt = cast<RankedTensorType>(x.getType());
    int64_t rank = xt.getRank();
    int64_t axis = normAxis(op.getAxis(), rank);
    SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(axis, rank));
    auto [mean, inv] = moments(rw, loc, k, x, axes, op.getEpsilon().convertToDouble());
    AffineMap red = dropAxesMap(ctx, rank, axes);
    SmallVector<Value> ins{x, mean, inv, adaptor.getScale()};
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx), red, red,
                                broadcastMap(ctx, cast<RankedTensorType>(
                                                      adaptor.getScale().getType()).getShape(),
                                             xt.getShape())};
    if (Value bias = adaptor.getBias()) {
      ins.push_back(bias);
      maps.push_back(broadcastMap(
          ctx, cast<RankedTensorType>(bias.getType()).getShape(), xt.getShape()));
    }
    Value r = buildParallel(rw, loc, xt, ins, maps,
                            [&](OpBuilder &b, Location l, ValueRange a) {
                              Value y = mulS(b, l, k, subS(b, l, k, a[0], a[1]), a[2]);
                              y = mulS(b, l, k, y, a[3]);
                              return a.size() > 4 ? addS(b, l, k, y, a[4]) : y;
                            });
    rw.replaceOp(op, r);
    return success();
  }
};

template <typename OpTy>
struct ChannelNormLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    ElemKind k = ElemKind::ofValue(op.getInput());
    Value x = adaptor.getInput();
    auto xt = cast<RankedTensorType>(x.getType());
    int64_t rank = xt.getRank();
    double eps = op.getEpsilon().convertToDouble();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap chan = pickDimsMap(ctx, rank, {1});
    Value r;
    if constexpr (std::is_same_v<OpTy, graph::BatchNormOp>) {
      // Inference mode: the statistics are operands.
      Value e = scalarConst(rw, loc, k, eps);
      r = buildParallel(rw, loc, xt,
                        {x, adaptor.getMean(), adaptor.getVar(), adaptor.getScale(),
                         adaptor.getBias()},
                        {id, chan, chan, chan, chan},
                        [&](OpBuilder &b, Location l, ValueRange a) {
                          Value inv = math::RsqrtOp::create(b, l, addS(b, l, k, a[2], e));
                          Value y = mulS(b, l, k, subS(b, l, k, a[0], a[1]), inv);
                          return addS(b, l, k, mulS(b, l, k, y, a[3]), a[4]);
                        });
    } else {
      SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(2, rank));
      auto [mean, inv] = moments(rw, loc, k, x, axes, eps);
      AffineMap red = dropAxesMap(ctx, rank, axes);
      r = buildParallel(rw, loc, xt, {x, mean, inv, adaptor.getScale(), adaptor.getBias()},
                        {id, red, red, chan, chan},
                        [&](OpBuilder &b, Location l, ValueRange a) {
                          Value y = mulS(b, l, k, subS(b, l, k, a[0], a[1]), a[2]);
                          return addS(b, l, k, mulS(b, l, k, y, a[3]), a[4]);
                        });
    }
    rw.replaceOp(op, r);
    return success();
  }
};

} // namespace

void populateReductionPatterns(TypeConverter &tc, RewritePatternSet &p) {
  MLIRContext *ctx = p.getContext();
  p.add<ReduceLowering<graph::ReduceSumOp>, ReduceLowering<graph::ReduceMeanOp>,
        ReduceLowering<graph::ReduceMaxOp>, ReduceLowering<graph::ReduceMinOp>,
        ReduceLowering<graph::ReduceProdOp>, ReduceLowering<graph::ReduceL2Op>,
        ReduceLowering<graph::ReduceLogSumExpOp>,
        ReduceLowering<graph::ReduceSumSquareOp>>(tc, ctx);
  p.add<ArgReduceLowering<graph::ArgMaxOp>, ArgReduceLowering<graph::ArgMinOp>,
        CumSumLowering, SoftmaxLowering<graph::SoftmaxOp>,
        SoftmaxLowering<graph::LogSoftmaxOp>, LayerNormLowering,
        ChannelNormLowering<graph::BatchNormOp>,
        ChannelNormLowering<graph::InstanceNormOp>>(tc, ctx);
}

} // namespace partita::lowering
