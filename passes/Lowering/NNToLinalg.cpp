//===- NNToLinalg.cpp - convolution, pooling, top-k -----------------------===//
//
// Windowed ops are linalg.generic ops over (batch, channel, output spatial,
// window) loops reading the padded input at o * stride + w * dilation;
// f32/f64 convolutions instead gather those windows into an im2col matrix
// and multiply it with the weights in one linalg.batch_matmul (BLAS on the
// CPU backend).
// Padding is an explicit tensor.pad (zero for conv and average pooling, the
// lowest value for max pooling), extended at the end when ceil_mode needs
// windows past the explicit pads. Pooling windows enter the loop nest through
// an uninitialized window-shaped operand, as upstream's named pooling ops do.
// Average pooling divides by a per-position count computed at compile time,
// which is where count_include_pad is decided.
//
// Top-k ranks every element along the axis (how many elements beat it; ties
// go to the lower index, as ONNX requires), then gathers the elements of rank
// 0..k-1: two generics, quadratic in the axis length.
//
//===----------------------------------------------------------------------===//

#include "passes/Lowering/LoweringUtils.h"

using namespace mlir;

namespace partita::lowering {
namespace {

/// Pads the spatial dims (from dim 2) of `x` with `pads` (begins then ends),
/// adding `extraEnd[i]` at the end of spatial dim i.
Value padSpatial(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> pads,
                 ArrayRef<int64_t> extraEnd, Value padValue) {
  auto t = cast<RankedTensorType>(x.getType());
  int64_t k = t.getRank() - 2;
  bool any = false;
  SmallVector<int64_t> shape(t.getShape());
  SmallVector<OpFoldResult> lows(2, b.getIndexAttr(0)), highs(2, b.getIndexAttr(0));
  for (int64_t i = 0; i < k; ++i) {
    int64_t lo = pads[i], hi = pads[i + k] + extraEnd[i];
    any |= lo != 0 || hi != 0;
    shape[i + 2] += lo + hi;
    lows.push_back(b.getIndexAttr(lo));
    highs.push_back(b.getIndexAttr(hi));
  }
  if (!any)
    return x;
  return tensor::PadOp::create(b, loc, t.clone(shape), x, lows, highs, padValue);
}

/// End padding that ceil_mode needs beyond the explicit pads.
SmallVector<int64_t> ceilExtra(RankedTensorType in, RankedTensorType out,
                               ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                               ArrayRef<int64_t> pads, ArrayRef<int64_t> dil) {
  int64_t k = kernel.size();
  SmallVector<int64_t> extra;
  for (int64_t i = 0; i < k; ++i) {
    int64_t need = (out.getDimSize(i + 2) - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1;
    int64_t have = in.getDimSize(i + 2) + pads[i] + pads[i + k];
    extra.push_back(std::max<int64_t>(0, need - have));
  }
  return extra;
}

/// The im2col buffer of a convolution is at most this large; beyond it the
/// direct loop nest runs (no extra memory).
constexpr int64_t kMaxIm2colBytes = int64_t(256) << 20;

/// Convolution as im2col + one linalg.batch_matmul over the groups, for f32
/// and f64 (the CPU backend calls BLAS for the matmul):
///   col[g, (c, w_1..w_k), (n, o_1..o_k)] = x_padded[n, g*Cg + c, o_i*s_i + w_i*d_i]
///   out[g, m, (n, o)]                   = sum_r W[g, m, r] * col[g, r, (n, o)]
///   y[n, g*Mg + m, o]                   = out[g, m, (n, o)] (+ bias)
/// The gather and the epilogue are generics; the matmul is a named op, so
/// elementwise fusion leaves it to BLAS.
Value convViaIm2col(OpBuilder &b, Location loc, Value x, Value weight, Value bias,
                    RankedTensorType ot, ArrayRef<int64_t> strides, ArrayRef<int64_t> dil,
                    int64_t group, const ElemKind &ek) {
  MLIRContext *ctx = b.getContext();
  auto wt = cast<RankedTensorType>(weight.getType());
  Type elt = ot.getElementType();
  int64_t k = ot.getRank() - 2, n = ot.getDimSize(0);
  int64_t mg = ot.getDimSize(1) / group, cg = wt.getDimSize(1);
  int64_t window = 1, positions = 1;
  for (int64_t i = 0; i < k; ++i) {
    window *= wt.getDimSize(2 + i);
    positions *= ot.getDimSize(2 + i);
  }
  int64_t r = cg * window, p = n * positions;
  // col as [g, c, w_1..w_k, n, o_1..o_k]: loops in that order.
  int64_t nLoops = 3 + 2 * k;
  auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  int64_t dc = 1, dw = 2, dn = 2 + k, doo = 3 + k;
  SmallVector<AffineExpr> xe{d(dn), d(0) * cg + d(dc)};
  SmallVector<int64_t> colShape{group, cg};
  for (int64_t i = 0; i < k; ++i) {
    xe.push_back(d(doo + i) * strides[i] + d(dw + i) * dil[i]);
    colShape.push_back(wt.getDimSize(2 + i));
  }
  colShape.push_back(n);
  for (int64_t i = 0; i < k; ++i)
    colShape.push_back(ot.getDimSize(2 + i));
  auto colType = RankedTensorType::get(colShape, elt);
  Value col = buildParallel(b, loc, colType, {x}, {AffineMap::get(nLoops, 0, xe, ctx)},
                            [](OpBuilder &, Location, ValueRange a) { return a[0]; });
  col = reshapeTo(b, loc, col, {group, r, p});
  Value w = reshapeTo(b, loc, weight, {group, mg, r});
  auto outType = RankedTensorType::get({group, mg, p}, elt);
  Value out = linalg::BatchMatmulOp::create(
                  b, loc, TypeRange{outType}, ValueRange{w, col},
                  ValueRange{filledTensor(b, loc, outType, scalarConst(b, loc, ek, 0))})
                  .getResult(0);
  // Epilogue: [g, m, n, o] -> [n, g, m, o] (+ bias[g*Mg + m]).
  out = reshapeTo(b, loc, out, {group, mg, n, positions});
  auto yType = RankedTensorType::get({n, group, mg, positions}, elt);
  SmallVector<Value> inputs{out};
  SmallVector<AffineMap> maps{pickDimsMap(ctx, 4, {1, 2, 0, 3})};
  if (bias) {
    inputs.push_back(reshapeTo(b, loc, bias, {group, mg}));
    maps.push_back(pickDimsMap(ctx, 4, {1, 2}));
  }
  Value y = buildParallel(b, loc, yType, inputs, maps,
                          [&](OpBuilder &bb, Location l, ValueRange a) {
                            return a.size() > 1 ? addS(bb, l, ek, a[0], a[1]) : a[0];
                          });
  return reshapeTo(b, loc, y, ot.getShape());
}

struct ConvLowering : OpConversionPattern<graph::ConvOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    ElemKind ek = ElemKind::ofValue(op.getInput());
    auto ot = convertedType(op.getResult());
    auto wt = cast<RankedTensorType>(adaptor.getWeight().getType());
    int64_t k = ot.getRank() - 2;
    int64_t group = op.getGroup();
    int64_t mg = ot.getDimSize(1) / group, cg = wt.getDimSize(1);
    ArrayRef<int64_t> strides = op.getStrides(), dil = op.getDilations();
    SmallVector<int64_t> zeros(k, 0);
    Value x = padSpatial(rw, loc, adaptor.getInput(), op.getPads(), zeros,
                         scalarConst(rw, loc, ek, 0));
    int64_t colBytes = wt.getNumElements() / ot.getDimSize(1) * group *
                       (ot.getNumElements() / ot.getDimSize(1)) * (ek.width / 8);
    if ((ek.type.isF32() || ek.type.isF64()) && colBytes <= kMaxIm2colBytes) {
      rw.replaceOp(op, convViaIm2col(rw, loc, x, adaptor.getWeight(), adaptor.getBias(), ot,
                                     strides, dil, group, ek));
      return success();
    }
    // Loops: n, m, o_1..o_k | c, w_1..w_k.
    int64_t nLoops = 2 + 2 * k + 1, c = 2 + k;
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    AffineExpr chan = group == 1 ? d(c) : d(1).floorDiv(mg) * cg + d(c);
    SmallVector<AffineExpr> xe{d(0), chan}, we{d(1), d(c)}, oe{d(0), d(1)};
    for (int64_t i = 0; i < k; ++i) {
      xe.push_back(d(2 + i) * strides[i] + d(c + 1 + i) * dil[i]);
      we.push_back(d(c + 1 + i));
      oe.push_back(d(2 + i));
    }
    SmallVector<AffineMap> maps{AffineMap::get(nLoops, 0, xe, ctx),
                                AffineMap::get(nLoops, 0, we, ctx),
                                AffineMap::get(nLoops, 0, oe, ctx)};
    SmallVector<utils::IteratorType> iters(2 + k, utils::IteratorType::parallel);
    iters.append(k + 1, utils::IteratorType::reduction);
    Value init;
    if (Value bias = adaptor.getBias())
      init = buildParallel(rw, loc, ot, bias, pickDimsMap(ctx, ot.getRank(), {1}),
                           [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    else
      init = filledTensor(rw, loc, ot, scalarConst(rw, loc, ek, 0));
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{ot}, ValueRange{x, adaptor.getWeight()}, ValueRange{init},
        maps, iters, [&](OpBuilder &b, Location l, ValueRange a) {
          linalg::YieldOp::create(b, l, addS(b, l, ek, a[2], mulS(b, l, ek, a[0], a[1])));
        });
    rw.replaceOp(op, g.getResult(0));
    return success();
  }
};

template <typename OpTy>
struct PoolLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    constexpr bool isMax = std::is_same_v<OpTy, graph::MaxPoolOp>;
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    ElemKind ek = ElemKind::ofValue(op.getInput());
    auto ot = convertedType(op.getResult());
    auto it = cast<RankedTensorType>(adaptor.getInput().getType());
    ArrayRef<int64_t> kernel = op.getKernelShape(), strides = op.getStrides(),
                      dil = op.getDilations(), pads = op.getPads();
    int64_t k = kernel.size();
    SmallVector<int64_t> extra = ceilExtra(it, ot, kernel, strides, pads, dil);
    Value padV = isMax ? lowestConst(rw, loc, ek) : scalarConst(rw, loc, ek, 0);
    Value x = padSpatial(rw, loc, adaptor.getInput(), pads, extra, padV);
    // Loops: n, c, o_1..o_k | w_1..w_k; the window operand carries w's bounds.
    int64_t nLoops = 2 + 2 * k;
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    SmallVector<AffineExpr> xe{d(0), d(1)}, we, oe{d(0), d(1)};
    for (int64_t i = 0; i < k; ++i) {
      xe.push_back(d(2 + i) * strides[i] + d(2 + k + i) * dil[i]);
      we.push_back(d(2 + k + i));
      oe.push_back(d(2 + i));
    }
    Value window = tensor::EmptyOp::create(rw, loc, kernel, ek.type);
    SmallVector<AffineMap> maps{AffineMap::get(nLoops, 0, xe, ctx),
                                AffineMap::get(nLoops, 0, we, ctx),
                                AffineMap::get(nLoops, 0, oe, ctx)};
    SmallVector<utils::IteratorType> iters(2 + k, utils::IteratorType::parallel);
    iters.append(k, utils::IteratorType::reduction);
    Value init = filledTensor(rw, loc, ot, padV);
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{ot}, ValueRange{x, window}, ValueRange{init}, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          linalg::YieldOp::create(b, l, isMax ? maxS(b, l, ek, a[2], a[0])
                                              : addS(b, l, ek, a[2], a[0]));
        });
    Value r = g.getResult(0);
    if constexpr (!isMax) {
      // Per-dimension counts of window positions that are counted, multiplied
      // out over the output spatial shape.
      bool includePad = op.getCountIncludePad();
      SmallVector<SmallVector<int64_t>> perDim;
      for (int64_t i = 0; i < k; ++i) {
        int64_t n = it.getDimSize(i + 2), pb = pads[i], pe = pads[i + k];
        SmallVector<int64_t> counts;
        for (int64_t o = 0; o < ot.getDimSize(i + 2); ++o) {
          int64_t cnt = 0;
          for (int64_t w = 0; w < kernel[i]; ++w) {
            int64_t p = o * strides[i] + w * dil[i] - pb;
            cnt += includePad ? (p >= -pb && p < n + pe) : (p >= 0 && p < n);
          }
          counts.push_back(cnt);
        }
        perDim.push_back(counts);
      }
      SmallVector<int64_t> spatial(ot.getShape().drop_front(2));
      auto ct = RankedTensorType::get(spatial, ek.type);
      SmallVector<APFloat> vals;
      const auto &sem = cast<FloatType>(ek.type).getFloatSemantics();
      SmallVector<int64_t> idx(k, 0);
      for (int64_t flat = 0; flat < ct.getNumElements(); ++flat) {
        int64_t rem = flat, cnt = 1;
        for (int64_t i = k - 1; i >= 0; --i) {
          cnt *= perDim[i][rem % spatial[i]];
          rem /= spatial[i];
        }
        APFloat f((double)std::max<int64_t>(cnt, 1));
        bool lost;
        f.convert(sem, APFloat::rmNearestTiesToEven, &lost);
        vals.push_back(f);
      }
      Value counts = arith::ConstantOp::create(rw, loc, ct, DenseElementsAttr::get(ct, vals));
      SmallVector<int64_t> spatialDims = llvm::to_vector(llvm::seq<int64_t>(2, 2 + k));
      r = buildParallel(rw, loc, ot, {r, counts},
                        {AffineMap::getMultiDimIdentityMap(ot.getRank(), ctx),
                         pickDimsMap(ctx, ot.getRank(), spatialDims)},
                        [&](OpBuilder &b, Location l, ValueRange a) {
                          return divS(b, l, ek, a[0], a[1]);
                        });
    }
    rw.replaceOp(op, r);
    return success();
  }
};

template <typename OpTy>
struct GlobalPoolLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    constexpr bool isMax = std::is_same_v<OpTy, graph::GlobalMaxPoolOp>;
    Location loc = op.getLoc();
    ElemKind ek = ElemKind::ofValue(op.getInput());
    auto it = cast<RankedTensorType>(adaptor.getInput().getType());
    SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(2, it.getRank()));
    int64_t count = 1;
    for (int64_t a : axes)
      count *= it.getDimSize(a);
    Value r = buildReduction(rw, loc, adaptor.getInput(), axes,
                             isMax ? lowestConst(rw, loc, ek) : scalarConst(rw, loc, ek, 0),
                             [&](OpBuilder &b, Location l, Value acc, Value v) {
                               return isMax ? maxS(b, l, ek, acc, v) : addS(b, l, ek, acc, v);
                             });
    if (!isMax) {
      Value n = scalarConst(rw, loc, ek, (double)count);
      r = buildElementwise(rw, loc, cast<RankedTensorType>(r.getType()), r,
                           [&](OpBuilder &b, Location l, ValueRange a) {
                             return divS(b, l, ek, a[0], n);
                           });
    }
    rw.replaceOp(op, reshapeTo(rw, loc, r, convertedType(op.getResult()).getShape()));
    return success();
  }
};

struct TopKLowering : OpConversionPattern<graph::TopKOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::TopKOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    ElemKind ek = ElemKind::ofValue(op.getInput());
    Value x = adaptor.getInput();
    auto it = cast<RankedTensorType>(x.getType());
    int64_t rank = it.getRank();
    int64_t axis = normAxis(op.getAxis(), rank);
    bool largest = op.getLargest();
    auto i64 = rw.getI64Type();
    // Loops (d_0..d_{rank-1}, j): map reading x with d_axis replaced by j.
    SmallVector<AffineExpr> atJ;
    for (int64_t d = 0; d < rank; ++d)
      atJ.push_back(getAffineDimExpr(d == axis ? rank : d, ctx));
    AffineMap xj = AffineMap::get(rank + 1, 0, atJ, ctx);
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank + 1, ctx).getMajorSubMap(rank);
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);

    // rank[i] = #{j : x[j] beats x[i]}; ties go to the lower index.
    auto rankType = it.clone(i64);
    Value zero64 = arith::ConstantOp::create(rw, loc, rw.getI64IntegerAttr(0));
    Value ranks = linalg::GenericOp::create(
                      rw, loc, TypeRange{rankType}, ValueRange{x, x},
                      ValueRange{filledTensor(rw, loc, rankType, zero64)},
                      {id, xj, id}, iters,
                      [&](OpBuilder &b, Location l, ValueRange a) {
                        Value i = linalg::IndexOp::create(b, l, axis);
                        Value j = linalg::IndexOp::create(b, l, rank);
                        Value strict = cmpS(b, l, ek, largest ? "gt" : "lt", a[1], a[0]);
                        Value tie = arith::AndIOp::create(
                            b, l, cmpS(b, l, ek, "eq", a[1], a[0]),
                            arith::CmpIOp::create(b, l, arith::CmpIPredicate::ult, j, i));
                        Value beats = arith::OrIOp::create(b, l, strict, tie);
                        Value inc = arith::ExtUIOp::create(b, l, i64, beats);
                        linalg::YieldOp::create(b, l, ValueRange{arith::AddIOp::create(b, l, a[2], inc)});
                      })
                      .getResult(0);

    // out[r] = the element of rank r (r = the output position along axis).
    auto vt = convertedType(op.getValues());
    auto idt = convertedType(op.getIndices());
    auto g = linalg::GenericOp::create(
        rw, loc, TypeRange{vt, idt}, ValueRange{x, ranks},
        ValueRange{filledTensor(rw, loc, vt, scalarConst(rw, loc, ek, 0)),
                   filledTensor(rw, loc, idt, zero64)},
        {xj, xj, id, id}, iters, [&](OpBuilder &b, Location l, ValueRange a) {
          Value r = arith::IndexCastOp::create(b, l, i64, linalg::IndexOp::create(b, l, axis));
          Value j = arith::IndexCastOp::create(b, l, i64, linalg::IndexOp::create(b, l, rank));
          Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, a[1], r);
          linalg::YieldOp::create(b, l,
                                  ValueRange{arith::SelectOp::create(b, l, hit, a[0], a[2]),
                                             arith::SelectOp::create(b, l, hit, j, a[3])});
        });
    rw.replaceOp(op, g.getResults());
    return success();
  }
};

} // namespace

void populateNNPatterns(TypeConverter &tc, RewritePatternSet &p) {
  p.add<ConvLowering, PoolLowering<graph::AveragePoolOp>, PoolLowering<graph::MaxPoolOp>,
        GlobalPoolLowering<graph::GlobalAveragePoolOp>,
        GlobalPoolLowering<graph::GlobalMaxPoolOp>, TopKLowering>(tc, p.getContext());
}

} // namespace partita::lowering
