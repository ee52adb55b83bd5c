//===- ElementwiseToLinalg.cpp - elementwise graph ops to linalg.generic --===//
//
// Every unary, binary and ternary elementwise op becomes one all-parallel
// linalg.generic whose indexing maps implement numpy broadcasting (a size-1
// operand dimension reads index 0). The scalar body is chosen per op and per
// element kind: the graph types still carry signedness, so unsigned
// division, comparison, min/max and conversions pick the unsigned arith ops.
//
// Transcendental math on f16/bf16 is computed in f32 and rounded back: that
// is what ONNX runtimes do, and libm/LLVM intrinsics exist for f32.
//
//===----------------------------------------------------------------------===//

#include "passes/Lowering/LoweringUtils.h"

using namespace mlir;

namespace partita::lowering {
namespace {

/// Everything a scalar body needs: the builder, the block arguments and the
/// element kinds of the first operand and of the result.
struct S {
  OpBuilder &b;
  Location loc;
  ValueRange a;
  ElemKind k;   // kind of operand 0 (of x for where)
  ElemKind out; // kind of the result

  Value c(double v) const { return scalarConst(b, loc, k, v); }
  Value x() const { return a[0]; }
  Value y() const { return a[1]; }
  Value sel(Value cond, Value t, Value f) const {
    return arith::SelectOp::create(b, loc, cond, t, f);
  }
  Value cmp(StringRef p, Value l, Value r) const { return cmpS(b, loc, k, p, l, r); }
  Value add(Value l, Value r) const { return addS(b, loc, k, l, r); }
  Value sub(Value l, Value r) const { return subS(b, loc, k, l, r); }
  Value mul(Value l, Value r) const { return mulS(b, loc, k, l, r); }
  Value div(Value l, Value r) const { return divS(b, loc, k, l, r); }
  Value max(Value l, Value r) const { return maxS(b, loc, k, l, r); }
  Value min(Value l, Value r) const { return minS(b, loc, k, l, r); }
  /// Applies a float function, widening f16/bf16 to f32 around it.
  template <typename Fn> Value wide(Value v, Fn fn) const {
    if (k.width >= 32)
      return fn(v);
    Type f32 = b.getF32Type();
    Value w = arith::ExtFOp::create(b, loc, f32, v);
    return arith::TruncFOp::create(b, loc, k.type, fn(w));
  }
  template <typename MathOp> Value math1(Value v) const {
    return wide(v, [&](Value w) -> Value { return MathOp::create(b, loc, w); });
  }
  Value exp(Value v) const { return math1<math::ExpOp>(v); }
};

// Which kinds an op accepts beyond what its ODS type constraint says.
template <typename OpTy> bool supports(OpTy, const ElemKind &) { return true; }

//===--- unary ------------------------------------------------------------===//

Value scalar(graph::AbsOp, const S &s) {
  if (s.k.isFloat)
    return math::AbsFOp::create(s.b, s.loc, s.x());
  if (s.k.isUnsigned || s.k.isBool)
    return s.x();
  return math::AbsIOp::create(s.b, s.loc, s.x());
}
Value scalar(graph::NegOp, const S &s) {
  if (s.k.isFloat)
    return arith::NegFOp::create(s.b, s.loc, s.x());
  return s.sub(s.c(0), s.x());
}
Value scalar(graph::SignOp, const S &s) {
  // Zero (and NaN for floats) maps to itself.
  Value x = s.x();
  Value pos = s.sel(s.cmp("gt", x, s.c(0)), s.c(1), s.k.isFloat ? x : s.c(0));
  if (s.k.isUnsigned || s.k.isBool)
    return pos;
  return s.sel(s.cmp("lt", x, s.c(0)), s.c(-1), pos);
}
Value scalar(graph::ReluOp, const S &s) {
  if (s.k.isUnsigned || s.k.isBool)
    return s.x();
  return s.max(s.x(), s.c(0));
}
Value scalar(graph::NotOp, const S &s) {
  return arith::XOrIOp::create(s.b, s.loc, s.x(), s.c(1));
}
Value scalar(graph::CeilOp, const S &s) { return math::CeilOp::create(s.b, s.loc, s.x()); }
Value scalar(graph::FloorOp, const S &s) { return math::FloorOp::create(s.b, s.loc, s.x()); }
Value scalar(graph::ReciprocalOp, const S &s) { return s.div(s.c(1), s.x()); }
Value scalar(graph::SqrtOp, const S &s) { return s.math1<math::SqrtOp>(s.x()); }
Value scalar(graph::ExpOp, const S &s) { return s.exp(s.x()); }
Value scalar(graph::LogOp, const S &s) { return s.math1<math::LogOp>(s.x()); }
Value scalar(graph::SinOp, const S &s) { return s.math1<math::SinOp>(s.x()); }
Value scalar(graph::CosOp, const S &s) { return s.math1<math::CosOp>(s.x()); }
Value scalar(graph::TanhOp, const S &s) { return s.math1<math::TanhOp>(s.x()); }
Value scalar(graph::ErfOp, const S &s) { return s.math1<math::ErfOp>(s.x()); }
Value scalar(graph::SigmoidOp, const S &s) {
  Value e = s.exp(arith::NegFOp::create(s.b, s.loc, s.x()));
  return s.div(s.c(1), s.add(s.c(1), e));
}
Value scalar(graph::SoftplusOp, const S &s) {
  return s.wide(s.x(), [&](Value w) -> Value {
    // w is f32 for narrower types, else the operand's own (f64 too).
    Value e = math::ExpOp::create(s.b, s.loc, w);
    Value one = scalarConst(s.b, s.loc, ElemKind::of(w.getType()), 1.0);
    return math::LogOp::create(s.b, s.loc, arith::AddFOp::create(s.b, s.loc, e, one));
  });
}
Value scalar(graph::SoftsignOp, const S &s) {
  Value ax = math::AbsFOp::create(s.b, s.loc, s.x());
  return s.div(s.x(), s.add(s.c(1), ax));
}
Value scalar(graph::HardSwishOp, const S &s) {
  Value t = s.add(s.mul(s.x(), s.c(1.0 / 6.0)), s.c(0.5));
  return s.mul(s.x(), s.max(s.c(0), s.min(s.c(1), t)));
}
Value scalar(graph::EluOp op, const S &s) {
  Value alpha = s.c(op.getAlpha().convertToDouble());
  Value neg = s.mul(alpha, s.sub(s.exp(s.x()), s.c(1)));
  return s.sel(s.cmp("lt", s.x(), s.c(0)), neg, s.x());
}
Value scalar(graph::CeluOp op, const S &s) {
  Value alpha = s.c(op.getAlpha().convertToDouble());
  Value e = s.mul(alpha, s.sub(s.exp(s.div(s.x(), alpha)), s.c(1)));
  return s.add(s.max(s.c(0), s.x()), s.min(s.c(0), e));
}
Value scalar(graph::SeluOp op, const S &s) {
  Value alpha = s.c(op.getAlpha().convertToDouble());
  Value gamma = s.c(op.getGamma().convertToDouble());
  Value neg = s.sub(s.mul(alpha, s.exp(s.x())), alpha);
  return s.mul(gamma, s.sel(s.cmp("gt", s.x(), s.c(0)), s.x(), neg));
}
Value scalar(graph::LeakyReluOp op, const S &s) {
  Value alpha = s.c(op.getAlpha().convertToDouble());
  return s.sel(s.cmp("lt", s.x(), s.c(0)), s.mul(alpha, s.x()), s.x());
}
Value scalar(graph::HardSigmoidOp op, const S &s) {
  Value t = s.add(s.mul(s.c(op.getAlpha().convertToDouble()), s.x()),
                  s.c(op.getBeta().convertToDouble()));
  return s.max(s.c(0), s.min(s.c(1), t));
}
Value scalar(graph::ThresholdedReluOp op, const S &s) {
  Value alpha = s.c(op.getAlpha().convertToDouble());
  return s.sel(s.cmp("gt", s.x(), alpha), s.x(), s.c(0));
}
Value scalar(graph::ClipOp op, const S &s) {
  // Compare-and-select keeps NaN inputs as NaN, like numpy.clip.
  Value x = s.x();
  if (auto lo = op.getMin()) {
    Value l = s.c(lo->convertToDouble());
    x = s.sel(s.cmp("lt", x, l), l, x);
  }
  if (auto hi = op.getMax()) {
    Value h = s.c(hi->convertToDouble());
    x = s.sel(s.cmp("gt", x, h), h, x);
  }
  return x;
}
Value scalar(graph::CastOp, const S &s) {
  return castScalar(s.b, s.loc, s.x(), s.k, s.out);
}

//===--- binary -----------------------------------------------------------===//

Value scalar(graph::AddOp, const S &s) { return s.add(s.x(), s.y()); }
Value scalar(graph::SubOp, const S &s) { return s.sub(s.x(), s.y()); }
Value scalar(graph::MulOp, const S &s) { return s.mul(s.x(), s.y()); }
Value scalar(graph::DivOp, const S &s) { return s.div(s.x(), s.y()); }
Value scalar(graph::MaxOp, const S &s) { return s.max(s.x(), s.y()); }
Value scalar(graph::MinOp, const S &s) { return s.min(s.x(), s.y()); }
Value scalar(graph::ModOp op, const S &s) {
  Value a = s.x(), d = s.y();
  Value r;
  if (s.k.isFloat)
    r = arith::RemFOp::create(s.b, s.loc, a, d);
  else if (s.k.isUnsigned || s.k.isBool)
    return arith::RemUIOp::create(s.b, s.loc, a, d);
  else
    r = arith::RemSIOp::create(s.b, s.loc, a, d);
  if (op.getFmod())
    return r; // sign of the dividend (C fmod / truncated remainder)
  // Python-style: a nonzero remainder takes the sign of the divisor.
  Value zero = s.c(0);
  Value rNeg = s.cmp("lt", r, zero), dNeg = s.cmp("lt", d, zero);
  Value differ = arith::XOrIOp::create(s.b, s.loc, rNeg, dNeg);
  Value fix = arith::AndIOp::create(s.b, s.loc, differ, s.cmp("ne", r, zero));
  return s.sel(fix, s.add(r, d), r);
}
Value scalar(graph::PowOp op, const S &s) {
  ElemKind ek = ElemKind::ofValue(op.getRhs());
  Value e = castScalar(s.b, s.loc, s.y(), ek, s.k);
  if (s.k.isFloat)
    return s.wide(s.x(), [&](Value w) -> Value {
      Value ew = s.k.width >= 32 ? e : arith::ExtFOp::create(s.b, s.loc, w.getType(), e);
      return math::PowFOp::create(s.b, s.loc, w, ew);
    });
  return math::IPowIOp::create(s.b, s.loc, s.x(), e);
}
template <> bool supports(graph::PowOp, const ElemKind &k) { return !k.isBool; }
Value scalar(graph::PReluOp, const S &s) {
  return s.sel(s.cmp("lt", s.x(), s.c(0)), s.mul(s.y(), s.x()), s.x());
}
Value scalar(graph::AndOp, const S &s) { return arith::AndIOp::create(s.b, s.loc, s.x(), s.y()); }
Value scalar(graph::OrOp, const S &s) { return arith::OrIOp::create(s.b, s.loc, s.x(), s.y()); }
Value scalar(graph::XorOp, const S &s) { return arith::XOrIOp::create(s.b, s.loc, s.x(), s.y()); }
Value scalar(graph::EqualOp, const S &s) { return s.cmp("eq", s.x(), s.y()); }
Value scalar(graph::GreaterOp, const S &s) { return s.cmp("gt", s.x(), s.y()); }
Value scalar(graph::GreaterOrEqualOp, const S &s) { return s.cmp("ge", s.x(), s.y()); }
Value scalar(graph::LessOp, const S &s) { return s.cmp("lt", s.x(), s.y()); }
Value scalar(graph::LessOrEqualOp, const S &s) { return s.cmp("le", s.x(), s.y()); }
Value scalar(graph::WhereOp, const S &s) { return s.sel(s.a[0], s.a[1], s.a[2]); }

template <typename OpTy> Value kindOperand(OpTy op) { return op->getOperand(0); }
template <> Value kindOperand(graph::WhereOp op) { return op.getX(); }

template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rw) const override {
    ElemKind k = ElemKind::ofValue(kindOperand(op));
    ElemKind out = ElemKind::ofValue(op->getResult(0));
    if (!supports(op, k))
      return rw.notifyMatchFailure(op, "unsupported element type");
    Value r = buildElementwise(
        rw, op.getLoc(), convertedType(op->getResult(0)), adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return scalar(op, S{b, loc, args, k, out});
        });
    rw.replaceOp(op, r);
    return success();
  }
};

template <typename... OpTys>
void addAll(TypeConverter &tc, RewritePatternSet &p) {
  (p.add<ElementwiseLowering<OpTys>>(tc, p.getContext()), ...);
}

} // namespace

void populateElementwisePatterns(TypeConverter &tc, RewritePatternSet &p) {
  addAll<graph::AbsOp, graph::NegOp, graph::SignOp, graph::ReluOp, graph::NotOp,
         graph::CeilOp, graph::FloorOp, graph::ReciprocalOp, graph::SqrtOp,
         graph::ExpOp, graph::LogOp, graph::SinOp, graph::CosOp, graph::TanhOp,
         graph::ErfOp, graph::SigmoidOp, graph::SoftplusOp, graph::SoftsignOp,
         graph::HardSwishOp, graph::EluOp, graph::CeluOp, graph::SeluOp,
         graph::LeakyReluOp, graph::HardSigmoidOp, graph::ThresholdedReluOp,
         graph::ClipOp, graph::CastOp>(tc, p);
  addAll<graph::AddOp, graph::SubOp, graph::MulOp, graph::DivOp, graph::MaxOp,
         graph::MinOp, graph::ModOp, graph::PowOp, graph::PReluOp, graph::AndOp,
         graph::OrOp, graph::XorOp, graph::EqualOp, graph::GreaterOp,
         graph::GreaterOrEqualOp, graph::LessOp, graph::LessOrEqualOp,
         graph::WhereOp>(tc, p);
}

} // namespace partita::lowering
