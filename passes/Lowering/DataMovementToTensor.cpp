//===- DataMovementToTensor.cpp - shape and indexing ops to tensor/linalg -===//
//
// Constants become arith.constant; reshapes become collapse/expand_shape;
// transposes linalg.transpose; slices and concatenations tensor slices.
// Ops that compute addresses from data (gather, scatter, one_hot) use
// linalg.generic bodies with linalg.index and tensor.extract, or scf loops
// carrying the tensor when writes must happen in order (scatter).
//
//===----------------------------------------------------------------------===//

#include "passes/Lowering/LoweringUtils.h"

using namespace mlir;

namespace partita::lowering {
namespace {

struct ConstantLowering : OpConversionPattern<graph::ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    auto type = convertedType(op.getResult());
    TypedAttr value = cast<TypedAttr>(op.getValue());
    if (value.getType() != type) {
      auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
      if (!dense)
        return rw.notifyMatchFailure(op, "unsigned non-dense constant");
      value = dense.bitcast(type.getElementType());
    }
    rw.replaceOpWithNewOp<arith::ConstantOp>(op, type, value);
    return success();
  }
};

struct ReshapeLowering : OpConversionPattern<graph::ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, reshapeTo(rw, op.getLoc(), adaptor.getInput(),
                               convertedType(op.getResult()).getShape()));
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<graph::TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    auto type = convertedType(op.getResult());
    Value init = emptyTensor(rw, op.getLoc(), type);
    auto t = linalg::TransposeOp::create(rw, op.getLoc(), adaptor.getInput(), init,
                                         op.getPerm());
    rw.replaceOp(op, t.getResult());
    return success();
  }
};

struct ExpandLowering : OpConversionPattern<graph::ExpandOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ExpandOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    rw.replaceOp(op, buildElementwise(rw, op.getLoc(), convertedType(op.getResult()),
                                      adaptor.getInput(),
                                      [](OpBuilder &, Location, ValueRange a) {
                                        return a[0];
                                      }));
    return success();
  }
};

struct TileLowering : OpConversionPattern<graph::TileOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::TileOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    MLIRContext *ctx = rw.getContext();
    auto ot = convertedType(op.getResult());
    auto in = cast<RankedTensorType>(adaptor.getInput().getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < ot.getRank(); ++d) {
      AffineExpr e = getAffineDimExpr(d, ctx);
      exprs.push_back(in.getDimSize(d) == ot.getDimSize(d) ? e : e % in.getDimSize(d));
    }
    rw.replaceOp(op, buildParallel(rw, op.getLoc(), ot, adaptor.getInput(),
                                   AffineMap::get(ot.getRank(), 0, exprs, ctx),
                                   [](OpBuilder &, Location, ValueRange a) {
                                     return a[0];
                                   }));
    return success();
  }
};

struct ConcatLowering : OpConversionPattern<graph::ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto ot = convertedType(op.getResult());
    int64_t axis = normAxis(op.getAxis(), ot.getRank());
    Value acc = emptyTensor(rw, loc, ot);
    int64_t offset = 0;
    for (Value in : adaptor.getInputs()) {
      auto t = cast<RankedTensorType>(in.getType());
      SmallVector<OpFoldResult> offs(ot.getRank(), rw.getIndexAttr(0));
      offs[axis] = rw.getIndexAttr(offset);
      SmallVector<OpFoldResult> sizes, strides(ot.getRank(), rw.getIndexAttr(1));
      for (int64_t d : t.getShape())
        sizes.push_back(rw.getIndexAttr(d));
      acc = tensor::InsertSliceOp::create(rw, loc, in, acc, offs, sizes, strides);
      offset += t.getDimSize(axis);
    }
    rw.replaceOp(op, acc);
    return success();
  }
};

struct SplitLowering : OpConversionPattern<graph::SplitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::SplitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto in = cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t axis = normAxis(op.getAxis(), in.getRank());
    SmallVector<Value> results;
    int64_t offset = 0;
    for (Value r : op.getResults()) {
      auto t = convertedType(r);
      SmallVector<OpFoldResult> offs(in.getRank(), rw.getIndexAttr(0));
      offs[axis] = rw.getIndexAttr(offset);
      SmallVector<OpFoldResult> sizes, strides(in.getRank(), rw.getIndexAttr(1));
      for (int64_t d : t.getShape())
        sizes.push_back(rw.getIndexAttr(d));
      results.push_back(tensor::ExtractSliceOp::create(rw, loc, t, adaptor.getInput(),
                                                       offs, sizes, strides));
      offset += t.getDimSize(axis);
    }
    rw.replaceOp(op, results);
    return success();
  }
};

struct SliceLowering : OpConversionPattern<graph::SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    auto ot = convertedType(op.getResult());
    ArrayRef<int64_t> starts = op.getStarts(), steps = op.getSteps();
    if (llvm::all_of(steps, [](int64_t s) { return s > 0; })) {
      SmallVector<OpFoldResult> offs, sizes, strides;
      for (int64_t d = 0; d < ot.getRank(); ++d) {
        offs.push_back(rw.getIndexAttr(ot.getDimSize(d) ? starts[d] : 0));
        sizes.push_back(rw.getIndexAttr(ot.getDimSize(d)));
        strides.push_back(rw.getIndexAttr(steps[d]));
      }
      rw.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, ot, adaptor.getInput(), offs,
                                                    sizes, strides);
      return success();
    }
    // A negative step walks down: read start + step * i through the map.
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < ot.getRank(); ++d)
      exprs.push_back(getAffineDimExpr(d, ctx) * steps[d] + starts[d]);
    rw.replaceOp(op, buildParallel(rw, loc, ot, adaptor.getInput(),
                                   AffineMap::get(ot.getRank(), 0, exprs, ctx),
                                   [](OpBuilder &, Location, ValueRange a) {
                                     return a[0];
                                   }));
    return success();
  }
};

/// Wraps a negative index (i < 0 -> i + n) and returns it as `index`.
Value wrapIndex(OpBuilder &b, Location loc, Value i, int64_t n) {
  Value idx = arith::IndexCastOp::create(b, loc, b.getIndexType(), i);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, idx,
                                    indexConst(b, loc, 0));
  Value wrapped = arith::AddIOp::create(b, loc, idx, indexConst(b, loc, n));
  return arith::SelectOp::create(b, loc, neg, wrapped, idx);
}

struct PadLowering : OpConversionPattern<graph::PadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::PadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto ot = convertedType(op.getResult());
    auto it = cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t rank = it.getRank();
    ArrayRef<int64_t> pads = op.getPads();
    Value in = adaptor.getInput();
    if (op.getMode() == graph::PadMode::constant) {
      // Crop the negative pads, then pad the positive ones.
      SmallVector<OpFoldResult> offs, sizes, strides(rank, rw.getIndexAttr(1));
      SmallVector<int64_t> cropped;
      for (int64_t d = 0; d < rank; ++d) {
        int64_t lo = std::max<int64_t>(0, -pads[d]), hi = std::max<int64_t>(0, -pads[d + rank]);
        cropped.push_back(it.getDimSize(d) - lo - hi);
        offs.push_back(rw.getIndexAttr(lo));
        sizes.push_back(rw.getIndexAttr(cropped.back()));
      }
      if (cropped != SmallVector<int64_t>(it.getShape()))
        in = tensor::ExtractSliceOp::create(rw, loc, it.clone(cropped), in, offs, sizes,
                                            strides);
      SmallVector<OpFoldResult> lows, highs;
      for (int64_t d = 0; d < rank; ++d) {
        lows.push_back(rw.getIndexAttr(std::max<int64_t>(0, pads[d])));
        highs.push_back(rw.getIndexAttr(std::max<int64_t>(0, pads[d + rank])));
      }
      Value v = scalarConst(rw, loc, ElemKind::ofValue(op.getInput()),
                            op.getValue().convertToDouble());
      rw.replaceOpWithNewOp<tensor::PadOp>(op, ot, in, lows, highs, v);
      return success();
    }
    // reflect / edge / wrap: every output element reads one input element.
    graph::PadMode mode = op.getMode();
    Value r = buildParallel(
        rw, loc, ot, {}, {}, [&](OpBuilder &b, Location l, ValueRange) -> Value {
          SmallVector<Value> idx;
          for (int64_t d = 0; d < rank; ++d) {
            int64_t n = it.getDimSize(d);
            Value i = arith::SubIOp::create(b, l, linalg::IndexOp::create(b, l, d),
                                            indexConst(b, l, pads[d]));
            Value zero = indexConst(b, l, 0), last = indexConst(b, l, n - 1);
            Value lt0 = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, zero);
            Value gtN = arith::CmpIOp::create(b, l, arith::CmpIPredicate::sgt, i, last);
            if (mode == graph::PadMode::edge) {
              i = arith::SelectOp::create(b, l, lt0, zero, i);
              i = arith::SelectOp::create(b, l, gtN, last, i);
            } else if (mode == graph::PadMode::reflect) {
              // -i below, 2(n-1) - i above (pads are smaller than n).
              Value negI = arith::SubIOp::create(b, l, zero, i);
              Value hiI = arith::SubIOp::create(b, l, indexConst(b, l, 2 * (n - 1)), i);
              i = arith::SelectOp::create(b, l, lt0, negI, i);
              i = arith::SelectOp::create(b, l, gtN, hiI, i);
            } else {
              Value nn = indexConst(b, l, n);
              Value m = arith::RemSIOp::create(b, l, i, nn);
              Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, m, zero);
              i = arith::SelectOp::create(b, l, neg, arith::AddIOp::create(b, l, m, nn), m);
            }
            idx.push_back(i);
          }
          return tensor::ExtractOp::create(b, l, in, idx);
        });
    rw.replaceOp(op, r);
    return success();
  }
};

struct GatherLowering : OpConversionPattern<graph::GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::GatherOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    auto ot = convertedType(op.getResult());
    auto it = cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t q = cast<RankedTensorType>(adaptor.getIndices().getType()).getRank();
    int64_t axis = normAxis(op.getAxis(), it.getRank());
    SmallVector<int64_t> idxDims = llvm::to_vector(llvm::seq<int64_t>(axis, axis + q));
    Value src = adaptor.getInput();
    Value r = buildParallel(
        rw, op.getLoc(), ot, adaptor.getIndices(),
        pickDimsMap(rw.getContext(), ot.getRank(), idxDims),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          SmallVector<Value> idx;
          for (int64_t d = 0; d < axis; ++d)
            idx.push_back(linalg::IndexOp::create(b, l, d));
          idx.push_back(wrapIndex(b, l, a[0], it.getDimSize(axis)));
          for (int64_t d = axis + q; d < ot.getRank(); ++d)
            idx.push_back(linalg::IndexOp::create(b, l, d));
          return tensor::ExtractOp::create(b, l, src, idx);
        });
    rw.replaceOp(op, r);
    return success();
  }
};

struct GatherElementsLowering : OpConversionPattern<graph::GatherElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::GatherElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    auto ot = convertedType(op.getResult());
    auto it = cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t axis = normAxis(op.getAxis(), it.getRank());
    Value src = adaptor.getInput();
    Value r = buildElementwise(
        rw, op.getLoc(), ot, adaptor.getIndices(),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          SmallVector<Value> idx;
          for (int64_t d = 0; d < ot.getRank(); ++d)
            idx.push_back(d == axis ? wrapIndex(b, l, a[0], it.getDimSize(axis))
                                    : linalg::IndexOp::create(b, l, d).getResult());
          return tensor::ExtractOp::create(b, l, src, idx);
        });
    rw.replaceOp(op, r);
    return success();
  }
};

Value combineScatter(OpBuilder &b, Location loc, graph::ScatterReduction red,
                     const ElemKind &k, Value old, Value upd) {
  switch (red) {
  case graph::ScatterReduction::none:
    return upd;
  case graph::ScatterReduction::add:
    return addS(b, loc, k, old, upd);
  case graph::ScatterReduction::mul:
    return mulS(b, loc, k, old, upd);
  case graph::ScatterReduction::max:
    return maxS(b, loc, k, old, upd);
  case graph::ScatterReduction::min:
    return minS(b, loc, k, old, upd);
  }
  return upd;
}

/// Loops over `shape` in row-major order carrying `init`; `body(ivs, acc)`
/// returns the updated tensor. Later writes win, as ONNX specifies for
/// duplicate indices with reduction = none.
Value buildScatterLoops(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Value init,
                        function_ref<Value(OpBuilder &, Location, ValueRange, Value)> body) {
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t n : shape) {
    lbs.push_back(indexConst(b, loc, 0));
    ubs.push_back(indexConst(b, loc, n));
    steps.push_back(indexConst(b, loc, 1));
  }
  scf::LoopNest nest = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, ValueRange{init},
      [&](OpBuilder &nb, Location l, ValueRange ivs, ValueRange iter) -> scf::ValueVector {
        return {body(nb, l, ivs, iter[0])};
      });
  return nest.results.front();
}

/// Writes `upd` at `pos` of `acc`, combined with the value there unless
/// the reduction is none (shared by scatter_elements and scatter_nd).
static Value scatterOne(OpBuilder &b, Location l, graph::ScatterReduction red,
                        ElemKind k, Value acc, ValueRange pos, Value upd) {
  if (red != graph::ScatterReduction::none)
    upd = combineScatter(b, l, red, k, tensor::ExtractOp::create(b, l, acc, pos), upd);
  return tensor::InsertOp::create(b, l, upd, acc, pos);
}

struct ScatterElementsLowering : OpConversionPattern<graph::ScatterElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ScatterElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    auto it = cast<RankedTensorType>(adaptor.getInput().getType());
    auto st = cast<RankedTensorType>(adaptor.getIndices().getType());
    int64_t axis = normAxis(op.getAxis(), it.getRank());
    ElemKind k = ElemKind::ofValue(op.getInput());
    Value indices = adaptor.getIndices(), updates = adaptor.getUpdates();
    auto red = op.getReduction();
    Value r = buildScatterLoops(
        rw, op.getLoc(), st.getShape(), adaptor.getInput(),
        [&](OpBuilder &b, Location l, ValueRange ivs, Value acc) -> Value {
          SmallVector<Value> pos(ivs);
          pos[axis] = wrapIndex(b, l, tensor::ExtractOp::create(b, l, indices, ivs),
                                it.getDimSize(axis));
          return scatterOne(b, l, red, k, acc, pos,
                            tensor::ExtractOp::create(b, l, updates, ivs));
        });
    rw.replaceOp(op, r);
    return success();
  }
};

struct ScatterNDLowering : OpConversionPattern<graph::ScatterNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::ScatterNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    auto it = cast<RankedTensorType>(adaptor.getInput().getType());
    auto xt = cast<RankedTensorType>(adaptor.getIndices().getType());
    auto ut = cast<RankedTensorType>(adaptor.getUpdates().getType());
    int64_t q = xt.getShape().back(), batch = xt.getRank() - 1;
    ElemKind k = ElemKind::ofValue(op.getInput());
    Value indices = adaptor.getIndices(), updates = adaptor.getUpdates();
    auto red = op.getReduction();
    Value r = buildScatterLoops(
        rw, op.getLoc(), ut.getShape(), adaptor.getInput(),
        [&](OpBuilder &b, Location l, ValueRange ivs, Value acc) -> Value {
          SmallVector<Value> pos;
          SmallVector<Value> at(ivs.take_front(batch));
          at.push_back(Value());
          for (int64_t j = 0; j < q; ++j) {
            at.back() = indexConst(b, l, j);
            pos.push_back(wrapIndex(b, l, tensor::ExtractOp::create(b, l, indices, at),
                                    it.getDimSize(j)));
          }
          pos.append(ivs.begin() + batch, ivs.end());
          return scatterOne(b, l, red, k, acc, pos,
                            tensor::ExtractOp::create(b, l, updates, ivs));
        });
    rw.replaceOp(op, r);
    return success();
  }
};

struct OneHotLowering : OpConversionPattern<graph::OneHotOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::OneHotOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto ot = convertedType(op.getResult());
    int64_t axis = normAxis(op.getAxis(), ot.getRank());
    int64_t depth = op.getDepth();
    ElemKind ik = ElemKind::ofValue(op.getIndices());
    ElemKind i64 = ElemKind::of(rw.getI64Type());
    Value off = tensor::ExtractOp::create(rw, loc, adaptor.getValues(),
                                          ValueRange{indexConst(rw, loc, 0)});
    Value on = tensor::ExtractOp::create(rw, loc, adaptor.getValues(),
                                         ValueRange{indexConst(rw, loc, 1)});
    Value r = buildParallel(
        rw, loc, ot, adaptor.getIndices(),
        dropAxesMap(rw.getContext(), ot.getRank(), {axis}),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          // Non-integer indices are truncated, as ONNX casts them to int.
          Value i = wrapIndex(b, l, castScalar(b, l, a[0], ik, i64), depth);
          Value hit = arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, i,
                                            linalg::IndexOp::create(b, l, axis));
          return arith::SelectOp::create(b, l, hit, on, off);
        });
    rw.replaceOp(op, r);
    return success();
  }
};

struct TriluLowering : OpConversionPattern<graph::TriluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(graph::TriluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    auto ot = convertedType(op.getResult());
    int64_t rank = ot.getRank();
    int64_t k = static_cast<int64_t>(op.getK());
    bool upper = op.getUpper();
    ElemKind ek = ElemKind::ofValue(op.getInput());
    Value r = buildElementwise(
        rw, op.getLoc(), ot, adaptor.getInput(),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value i = linalg::IndexOp::create(b, l, rank - 2);
          Value j = linalg::IndexOp::create(b, l, rank - 1);
          Value diff = arith::SubIOp::create(b, l, j, i);
          Value keep = arith::CmpIOp::create(
              b, l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle, diff,
              indexConst(b, l, k));
          return arith::SelectOp::create(b, l, keep, a[0], scalarConst(b, l, ek, 0));
        });
    rw.replaceOp(op, r);
    return success();
  }
};

} // namespace

void populateDataMovementPatterns(TypeConverter &tc, RewritePatternSet &p) {
  p.add<ConstantLowering, ReshapeLowering, TransposeLowering, ExpandLowering,
        TileLowering, ConcatLowering, SplitLowering, SliceLowering, PadLowering,
        GatherLowering, GatherElementsLowering, ScatterElementsLowering,
        ScatterNDLowering, OneHotLowering, TriluLowering>(tc, p.getContext());
}

} // namespace partita::lowering
