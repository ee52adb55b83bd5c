//===- LoweringUtils.cpp - shared helpers for graph lowering --------------===//

#include "passes/Lowering/LoweringUtils.h"

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

#include <cmath>

using namespace mlir;

namespace partita::lowering {

ElemKind ElemKind::of(Type t) {
  ElemKind k;
  k.type = toSignless(t);
  k.isFloat = isa<FloatType>(t);
  k.isUnsigned = t.isUnsignedInteger();
  k.isBool = t.isInteger(1);
  k.width = t.getIntOrFloatBitWidth();
  return k;
}

ElemKind ElemKind::ofValue(Value v) {
  return of(cast<ShapedType>(v.getType()).getElementType());
}

Type toSignless(Type t) {
  if (auto rt = dyn_cast<RankedTensorType>(t))
    return toSignless(rt);
  if (auto mt = dyn_cast<MemRefType>(t))
    return mt.clone(toSignless(mt.getElementType()));
  if (auto it = dyn_cast<IntegerType>(t); it && !it.isSignless())
    return IntegerType::get(t.getContext(), it.getWidth());
  return t;
}

RankedTensorType toSignless(RankedTensorType t) {
  return t.clone(toSignless(t.getElementType()));
}

Value scalarConst(OpBuilder &b, Location loc, const ElemKind &k, double v) {
  if (k.isFloat)
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(k.type, v));
  if (k.isBool)
    return arith::ConstantOp::create(b, loc, b.getIntegerAttr(k.type, v != 0));
  double t = std::trunc(v);
  APInt val;
  if (k.isUnsigned) {
    APInt hi = APInt::getMaxValue(k.width);
    if (!(t > 0))
      val = APInt(k.width, 0);
    else if (t >= hi.roundToDouble(false))
      val = hi;
    else
      val = APInt(k.width, (uint64_t)t);
  } else {
    APInt lo = APInt::getSignedMinValue(k.width), hi = APInt::getSignedMaxValue(k.width);
    if (t <= lo.roundToDouble(true))
      val = lo;
    else if (t >= hi.roundToDouble(true))
      val = hi;
    else
      val = APInt(k.width, (int64_t)t, /*isSigned=*/true);
  }
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(k.type, val));
}

Value lowestConst(OpBuilder &b, Location loc, const ElemKind &k) {
  if (k.isFloat)
    return arith::ConstantOp::create(
        b, loc, b.getFloatAttr(k.type, APFloat::getInf(
                                           cast<FloatType>(k.type).getFloatSemantics(),
                                           /*Negative=*/true)));
  APInt v = (k.isUnsigned || k.isBool) ? APInt::getMinValue(k.width)
                                       : APInt::getSignedMinValue(k.width);
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(k.type, v));
}

Value highestConst(OpBuilder &b, Location loc, const ElemKind &k) {
  if (k.isFloat)
    return arith::ConstantOp::create(
        b, loc, b.getFloatAttr(k.type, APFloat::getInf(
                                           cast<FloatType>(k.type).getFloatSemantics())));
  APInt v = (k.isUnsigned || k.isBool) ? APInt::getMaxValue(k.width)
                                       : APInt::getSignedMaxValue(k.width);
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(k.type, v));
}

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value castScalar(OpBuilder &b, Location loc, Value v, const ElemKind &from,
                 const ElemKind &to) {
  if (from.type == to.type && from.isUnsigned == to.isUnsigned)
    return v;
  if (from.isFloat) {
    if (to.isFloat) {
      if (to.width > from.width)
        return arith::ExtFOp::create(b, loc, to.type, v);
      if (to.width < from.width)
        return arith::TruncFOp::create(b, loc, to.type, v);
      // f16 <-> bf16: through f32.
      Value wide = arith::ExtFOp::create(b, loc, b.getF32Type(), v);
      return arith::TruncFOp::create(b, loc, to.type, wide);
    }
    if (to.isBool) // NaN is true, as in numpy.
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v,
                                   scalarConst(b, loc, from, 0.0));
    if (to.isUnsigned)
      return arith::FPToUIOp::create(b, loc, to.type, v);
    return arith::FPToSIOp::create(b, loc, to.type, v);
  }
  bool zeroExtend = from.isUnsigned || from.isBool;
  if (to.isFloat)
    return zeroExtend ? arith::UIToFPOp::create(b, loc, to.type, v).getResult()
                      : arith::SIToFPOp::create(b, loc, to.type, v).getResult();
  if (to.isBool)
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v,
                                 scalarConst(b, loc, from, 0.0));
  if (to.width > from.width)
    return zeroExtend ? arith::ExtUIOp::create(b, loc, to.type, v).getResult()
                      : arith::ExtSIOp::create(b, loc, to.type, v).getResult();
  if (to.width < from.width)
    return arith::TruncIOp::create(b, loc, to.type, v);
  return v; // same width, different signedness: same bits
}

Value addS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y) {
  if (k.isFloat)
    return arith::AddFOp::create(b, loc, x, y);
  return arith::AddIOp::create(b, loc, x, y);
}
Value subS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y) {
  if (k.isFloat)
    return arith::SubFOp::create(b, loc, x, y);
  return arith::SubIOp::create(b, loc, x, y);
}
Value mulS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y) {
  if (k.isFloat)
    return arith::MulFOp::create(b, loc, x, y);
  return arith::MulIOp::create(b, loc, x, y);
}
Value divS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y) {
  if (k.isFloat)
    return arith::DivFOp::create(b, loc, x, y);
  if (k.isUnsigned || k.isBool)
    return arith::DivUIOp::create(b, loc, x, y);
  return arith::DivSIOp::create(b, loc, x, y);
}
Value maxS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y) {
  if (k.isFloat)
    return arith::MaximumFOp::create(b, loc, x, y);
  if (k.isUnsigned || k.isBool)
    return arith::MaxUIOp::create(b, loc, x, y);
  return arith::MaxSIOp::create(b, loc, x, y);
}
Value minS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y) {
  if (k.isFloat)
    return arith::MinimumFOp::create(b, loc, x, y);
  if (k.isUnsigned || k.isBool)
    return arith::MinUIOp::create(b, loc, x, y);
  return arith::MinSIOp::create(b, loc, x, y);
}

Value cmpS(OpBuilder &b, Location loc, const ElemKind &k, StringRef pred,
           Value x, Value y) {
  if (k.isFloat) {
    auto p = llvm::StringSwitch<arith::CmpFPredicate>(pred)
                 .Case("eq", arith::CmpFPredicate::OEQ)
                 .Case("ne", arith::CmpFPredicate::UNE)
                 .Case("gt", arith::CmpFPredicate::OGT)
                 .Case("ge", arith::CmpFPredicate::OGE)
                 .Case("lt", arith::CmpFPredicate::OLT)
                 .Default(arith::CmpFPredicate::OLE);
    return arith::CmpFOp::create(b, loc, p, x, y);
  }
  bool u = k.isUnsigned || k.isBool;
  using P = arith::CmpIPredicate;
  auto p = llvm::StringSwitch<P>(pred)
               .Case("eq", P::eq)
               .Case("ne", P::ne)
               .Case("gt", u ? P::ugt : P::sgt)
               .Case("ge", u ? P::uge : P::sge)
               .Case("lt", u ? P::ult : P::slt)
               .Default(u ? P::ule : P::sle);
  return arith::CmpIOp::create(b, loc, p, x, y);
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType t) {
  return tensor::EmptyOp::create(b, loc, t.getShape(), t.getElementType());
}

Value filledTensor(OpBuilder &b, Location loc, RankedTensorType t, Value scalar) {
  Value e = emptyTensor(b, loc, t);
  return linalg::FillOp::create(b, loc, scalar, e).getResult(0);
}

AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> inShape,
                       ArrayRef<int64_t> outShape) {
  int64_t offset = outShape.size() - inShape.size();
  SmallVector<AffineExpr> exprs;
  for (auto [i, d] : llvm::enumerate(inShape)) {
    if (d == 1 && outShape[offset + i] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(offset + i, ctx));
  }
  return AffineMap::get(outShape.size(), 0, exprs, ctx);
}

Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType outType,
                       ValueRange inputs, ScalarFn fn) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(
        ctx, cast<RankedTensorType>(in.getType()).getShape(), outType.getShape()));
  maps.push_back(AffineMap::getMultiDimIdentityMap(outType.getRank(), ctx));
  SmallVector<utils::IteratorType> iters(outType.getRank(),
                                         utils::IteratorType::parallel);
  Value init = emptyTensor(b, loc, outType);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = fn(nb, nl, args.drop_back());
        linalg::YieldOp::create(nb, nl, r);
      });
  return g.getResult(0);
}

Value buildParallel(OpBuilder &b, Location loc, RankedTensorType outType,
                    ValueRange inputs, ArrayRef<AffineMap> inMaps, ScalarFn fn) {
  SmallVector<AffineMap> maps(inMaps);
  maps.push_back(AffineMap::getMultiDimIdentityMap(outType.getRank(), b.getContext()));
  SmallVector<utils::IteratorType> iters(outType.getRank(),
                                         utils::IteratorType::parallel);
  Value init = emptyTensor(b, loc, outType);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, fn(nb, nl, args.drop_back()));
      });
  return g.getResult(0);
}

AffineMap dropAxesMap(MLIRContext *ctx, int64_t rank, ArrayRef<int64_t> axes) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(axes, d))
      exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

AffineMap pickDimsMap(MLIRContext *ctx, int64_t rank, ArrayRef<int64_t> dims) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d : dims)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value reshapeTo(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> shape) {
  auto src = cast<RankedTensorType>(v.getType());
  if (src.getShape() == shape)
    return v;
  auto dst = src.clone(shape);
  auto collapse = [&](Value x, RankedTensorType to,
                      ArrayRef<ReassociationIndices> re) -> Value {
    return tensor::CollapseShapeOp::create(b, loc, to, x, re);
  };
  auto expand = [&](Value x, RankedTensorType to,
                    ArrayRef<ReassociationIndices> re) -> Value {
    return tensor::ExpandShapeOp::create(b, loc, to, x, re);
  };
  if (src.getRank() > dst.getRank())
    if (auto re = getReassociationIndicesForCollapse(src.getShape(), shape))
      return collapse(v, dst, *re);
  if (src.getRank() < dst.getRank())
    if (auto re = getReassociationIndicesForCollapse(shape, src.getShape()))
      return expand(v, dst, *re);
  // Rank-0 tensors hold one element, so every other shape is all ones.
  if (src.getRank() == 0)
    return expand(v, dst, {});
  if (dst.getRank() == 0)
    return collapse(v, dst, {});
  int64_t n = src.getNumElements();
  auto flatType = src.clone({n});
  Value flat = v;
  if (src.getRank() != 1) {
    ReassociationIndices all = llvm::to_vector(llvm::seq<int64_t>(0, src.getRank()));
    flat = collapse(v, flatType, {all});
  }
  if (dst.getRank() == 1)
    return flat;
  ReassociationIndices all = llvm::to_vector(llvm::seq<int64_t>(0, dst.getRank()));
  return expand(flat, dst, {all});
}

SmallVector<int64_t> reducedShape(ArrayRef<int64_t> shape, ArrayRef<int64_t> axes,
                                  bool keep) {
  SmallVector<int64_t> out;
  for (auto [d, n] : llvm::enumerate(shape)) {
    if (!llvm::is_contained(axes, (int64_t)d))
      out.push_back(n);
    else if (keep)
      out.push_back(1);
  }
  return out;
}

Value buildReductionN(OpBuilder &b, Location loc, ValueRange full,
                      ValueRange reduced, ArrayRef<int64_t> axes, Value init,
                      function_ref<Value(OpBuilder &, Location, Value, ValueRange)> fn) {
  MLIRContext *ctx = b.getContext();
  auto inType = cast<RankedTensorType>(full.front().getType());
  int64_t rank = inType.getRank();
  auto outType = RankedTensorType::get(reducedShape(inType.getShape(), axes, false),
                                       init.getType());
  SmallVector<utils::IteratorType> iters;
  for (int64_t d = 0; d < rank; ++d)
    iters.push_back(llvm::is_contained(axes, d) ? utils::IteratorType::reduction
                                                : utils::IteratorType::parallel);
  SmallVector<AffineMap> maps(full.size(), AffineMap::getMultiDimIdentityMap(rank, ctx));
  maps.append(reduced.size() + 1, dropAxesMap(ctx, rank, axes));
  SmallVector<Value> inputs(full);
  inputs.append(reduced.begin(), reduced.end());
  Value acc = filledTensor(b, loc, outType, init);
  auto g = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, inputs, ValueRange{acc}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value combined = fn(nb, nl, args.back(), args.drop_back());
        // A float accumulation may be reassociated: LLVM then vectorizes
        // the recurrence (several partial accumulators in vector lanes)
        // instead of one add or max per cycle's latency.
        if (auto fm = combined.getDefiningOp<arith::ArithFastMathInterface>())
          fm->setAttr(fm.getFastMathAttrName(),
                      arith::FastMathFlagsAttr::get(ctx, fm.getFastMathFlagsAttr().getValue() |
                                                             arith::FastMathFlags::reassoc));
        linalg::YieldOp::create(nb, nl, combined);
      });
  return g.getResult(0);
}

Value buildReduction(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
                     Value init,
                     function_ref<Value(OpBuilder &, Location, Value, Value)> combine,
                     function_ref<Value(OpBuilder &, Location, Value)> pre) {
  return buildReductionN(
      b, loc, input, {}, axes, init,
      [&](OpBuilder &nb, Location nl, Value acc, ValueRange args) {
        Value x = pre ? pre(nb, nl, args[0]) : args[0];
        return combine(nb, nl, acc, x);
      });
}

} // namespace partita::lowering
