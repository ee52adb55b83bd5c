//===- ElementwiseGradients.cpp - vector-Jacobian products, elementwise ---===//
//
// x is the operand, y the result, dy its cotangent; binary ops take their
// operands' cotangents back to the operands' shapes (sumToShape) since
// their operands broadcast.
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/Gradients/GradientBuilder.h"

#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/DialectRegistry.h"

#include <cmath>

using namespace mlir;

namespace partita::graph {
namespace {

using Grads = SmallVectorImpl<Value>;

double f32Attr(Operation *op, StringRef name) {
  return cast<FloatAttr>(op->getAttr(name)).getValueAsDouble();
}

/// Unary ops: dx = dy * f'(x, y), with `derivative` building f'.
template <typename Derivative>
LogicalResult unary(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx,
                    Derivative derivative) {
  Value x = op->getOperand(0), y = op->getResult(0);
  dx[0] = g.mul(dy[0], derivative(x, y));
  return success();
}

// The body may hold commas: it is the macro's variadic part.
#define UNARY_RULE(NAME, ...)                                                                 \
  LogicalResult NAME(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {      \
    return unary(g, op, dy, dx, [&](Value x, Value y) -> Value { __VA_ARGS__; });             \
  }

UNARY_RULE(absGrad, return g.op<SignOp>({x}))
UNARY_RULE(reluGrad, return g.indicator(g.op<GreaterOp>({x, g.scalar(x, 0)}), x))
UNARY_RULE(reciprocalGrad, return g.neg(g.mul(y, y)))
UNARY_RULE(sqrtGrad, return g.div(g.scalar(y, 0.5), y))
UNARY_RULE(expGrad, return y)
UNARY_RULE(logGrad, return g.op<ReciprocalOp>({x}))
UNARY_RULE(sinGrad, return g.op<CosOp>({x}))
UNARY_RULE(cosGrad, return g.neg(g.op<SinOp>({x})))
UNARY_RULE(tanhGrad, return g.sub(g.scalar(y, 1), g.mul(y, y)))
UNARY_RULE(erfGrad,
           return g.mul(g.op<ExpOp>({g.neg(g.mul(x, x))}), g.scalar(x, 2 / std::sqrt(M_PI))))
UNARY_RULE(sigmoidGrad, return g.mul(y, g.sub(g.scalar(y, 1), y)))
UNARY_RULE(softplusGrad, return g.op<SigmoidOp>({x}))
UNARY_RULE(softsignGrad, {
  Value d = g.add(g.scalar(x, 1), g.op<AbsOp>({x}));
  return g.op<ReciprocalOp>({g.mul(d, d)});
})
// x * clamp(x + 3, 0, 6) / 6: 0 below -3, 1 above 3, (2x + 3) / 6 between.
UNARY_RULE(hardSwishGrad, {
  Value mid = g.div(g.add(g.mul(x, 2.0), g.scalar(x, 3)), g.scalar(x, 6));
  Value below = g.op<LessOp>({x, g.scalar(x, -3)});
  Value above = g.op<GreaterOp>({x, g.scalar(x, 3)});
  return g.select(below, g.scalar(x, 0), g.select(above, g.scalar(x, 1), mid));
})
// alpha * (e^x - 1) below 0: its derivative is y + alpha.
UNARY_RULE(eluGrad, {
  Value alpha = g.scalar(x, f32Attr(op, "alpha"));
  return g.select(g.op<GreaterOrEqualOp>({x, g.scalar(x, 0)}), g.splat(x, 1), g.add(y, alpha));
})
UNARY_RULE(celuGrad, {
  Value alpha = g.scalar(x, f32Attr(op, "alpha"));
  return g.select(g.op<GreaterOp>({x, g.scalar(x, 0)}), g.splat(x, 1),
                  g.op<ExpOp>({g.div(x, alpha)}));
})
UNARY_RULE(seluGrad, {
  double alpha = f32Attr(op, "alpha"), gamma = f32Attr(op, "gamma");
  Value below = g.mul(g.op<ExpOp>({x}), alpha * gamma);
  return g.select(g.op<GreaterOp>({x, g.scalar(x, 0)}), g.splat(x, gamma), below);
})
UNARY_RULE(leakyReluGrad, {
  return g.select(g.op<GreaterOrEqualOp>({x, g.scalar(x, 0)}), g.splat(x, 1),
                  g.splat(x, f32Attr(op, "alpha")));
})
UNARY_RULE(hardSigmoidGrad, {
  double alpha = f32Attr(op, "alpha"), beta = f32Attr(op, "beta");
  Value z = g.add(g.mul(x, alpha), g.scalar(x, beta));
  Value inside = g.op<AndOp>(
      {g.op<GreaterOp>({z, g.scalar(x, 0)}), g.op<LessOp>({z, g.scalar(x, 1)})});
  return g.mul(g.indicator(inside, x), g.scalar(x, alpha));
})
UNARY_RULE(thresholdedReluGrad,
           return g.indicator(g.op<GreaterOp>({x, g.scalar(x, f32Attr(op, "alpha"))}), x))
// 1 inside [min, max] (bounds included, as torch.clamp), 0 outside.
UNARY_RULE(clipGrad, {
  Value inside = g.splat(x, 1);
  if (auto lo = op->getAttrOfType<FloatAttr>("min"))
    inside = g.mul(inside, g.indicator(g.op<GreaterOrEqualOp>(
                                           {x, g.scalar(x, lo.getValueAsDouble())}),
                                       x));
  if (auto hi = op->getAttrOfType<FloatAttr>("max"))
    inside = g.mul(inside, g.indicator(g.op<LessOrEqualOp>(
                                           {x, g.scalar(x, hi.getValueAsDouble())}),
                                       x));
  return inside;
})
#undef UNARY_RULE

LogicalResult negGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  dx[0] = g.neg(dy[0]);
  return success();
}

/// float -> float: the cotangent goes back to the operand's precision. To
/// or from an integer type no cotangent flows.
LogicalResult castGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Type from = tensorType(op->getOperand(0)).getElementType();
  Type to = tensorType(op->getResult(0)).getElementType();
  if (isa<FloatType>(from) && isa<FloatType>(to))
    dx[0] = g.cast(dy[0], from);
  return success();
}

LogicalResult addGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  dx[0] = g.sumToShape(dy[0], tensorType(op->getOperand(0)));
  dx[1] = g.sumToShape(dy[0], tensorType(op->getOperand(1)));
  return success();
}

LogicalResult subGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  dx[0] = g.sumToShape(dy[0], tensorType(op->getOperand(0)));
  dx[1] = g.sumToShape(g.neg(dy[0]), tensorType(op->getOperand(1)));
  return success();
}

LogicalResult mulGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Value a = op->getOperand(0), b = op->getOperand(1);
  dx[0] = g.sumToShape(g.mul(dy[0], b), tensorType(a));
  dx[1] = g.sumToShape(g.mul(dy[0], a), tensorType(b));
  return success();
}

LogicalResult divGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Value a = op->getOperand(0), b = op->getOperand(1), y = op->getResult(0);
  dx[0] = g.sumToShape(g.div(dy[0], b), tensorType(a));
  dx[1] = g.sumToShape(g.neg(g.div(g.mul(dy[0], y), b)), tensorType(b));
  return success();
}

/// y = a - b q with q = floor(a / b) (trunc with fmod), piecewise constant:
/// dy/da = 1, dy/db = -q, and q = (a - y) / b exactly where defined.
LogicalResult modGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Value a = op->getOperand(0), b = op->getOperand(1), y = op->getResult(0);
  if (!isa<FloatType>(tensorType(y).getElementType()))
    return success(); // integers carry no cotangent
  dx[0] = g.sumToShape(dy[0], tensorType(a));
  dx[1] = g.sumToShape(g.neg(g.mul(dy[0], g.div(g.sub(a, y), b))), tensorType(b));
  return success();
}

/// The larger (smaller) operand takes the cotangent; ties go to the first.
template <bool IsMax>
LogicalResult extremumGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Value a = op->getOperand(0), b = op->getOperand(1);
  Value first = IsMax ? g.op<GreaterOrEqualOp>({a, b}) : g.op<LessOrEqualOp>({a, b});
  Value zero = g.scalar(dy[0], 0);
  dx[0] = g.sumToShape(g.select(first, dy[0], zero), tensorType(a));
  dx[1] = g.sumToShape(g.select(first, zero, dy[0]), tensorType(b));
  return success();
}

/// a^b: da = dy * b * a^(b-1); db = dy * y * ln(a) (float exponents only).
LogicalResult powGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Value a = op->getOperand(0), b = op->getOperand(1), y = op->getResult(0);
  Value bMinus1 = g.sub(b, g.scalar(b, 1));
  Value da = g.mul(g.cast(b, tensorType(a).getElementType()), g.op<PowOp>({a, bMinus1}));
  dx[0] = g.sumToShape(g.mul(dy[0], da), tensorType(a));
  if (isa<FloatType>(tensorType(b).getElementType()))
    dx[1] = g.sumToShape(g.cast(g.mul(g.mul(dy[0], y), g.op<LogOp>({a})),
                                tensorType(b).getElementType()),
                         tensorType(b));
  return success();
}

LogicalResult preluGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Value x = op->getOperand(0), slope = op->getOperand(1);
  Value positive = g.op<GreaterOrEqualOp>({x, g.scalar(x, 0)});
  Value zero = g.scalar(x, 0);
  dx[0] = g.select(positive, dy[0], g.mul(dy[0], slope));
  dx[1] = g.sumToShape(g.select(positive, zero, g.mul(dy[0], x)), tensorType(slope));
  return success();
}

LogicalResult whereGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Value cond = op->getOperand(0);
  Value zero = g.scalar(dy[0], 0);
  dx[1] = g.sumToShape(g.select(cond, dy[0], zero), tensorType(op->getOperand(1)));
  dx[2] = g.sumToShape(g.select(cond, zero, dy[0]), tensorType(op->getOperand(2)));
  return success();
}

} // namespace

void registerElementwiseGradients(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, GraphDialect *) {
    attachGradient<absGrad, AbsOp>(ctx);
    attachGradient<addGrad, AddOp>(ctx);
    attachGradient<castGrad, CastOp>(ctx);
    attachGradient<celuGrad, CeluOp>(ctx);
    attachGradient<clipGrad, ClipOp>(ctx);
    attachGradient<cosGrad, CosOp>(ctx);
    attachGradient<divGrad, DivOp>(ctx);
    attachGradient<modGrad, ModOp>(ctx);
    attachGradient<eluGrad, EluOp>(ctx);
    attachGradient<erfGrad, ErfOp>(ctx);
    attachGradient<expGrad, ExpOp>(ctx);
    attachGradient<hardSigmoidGrad, HardSigmoidOp>(ctx);
    attachGradient<hardSwishGrad, HardSwishOp>(ctx);
    attachGradient<leakyReluGrad, LeakyReluOp>(ctx);
    attachGradient<logGrad, LogOp>(ctx);
    attachGradient<extremumGrad<true>, MaxOp>(ctx);
    attachGradient<extremumGrad<false>, MinOp>(ctx);
    attachGradient<mulGrad, MulOp>(ctx);
    attachGradient<negGrad, NegOp>(ctx);
    attachGradient<powGrad, PowOp>(ctx);
    attachGradient<preluGrad, PReluOp>(ctx);
    attachGradient<reciprocalGrad, ReciprocalOp>(ctx);
    attachGradient<reluGrad, ReluOp>(ctx);
    attachGradient<seluGrad, SeluOp>(ctx);
    attachGradient<sigmoidGrad, SigmoidOp>(ctx);
    attachGradient<sinGrad, SinOp>(ctx);
    attachGradient<softplusGrad, SoftplusOp>(ctx);
    attachGradient<softsignGrad, SoftsignOp>(ctx);
    attachGradient<sqrtGrad, SqrtOp>(ctx);
    attachGradient<subGrad, SubOp>(ctx);
    attachGradient<tanhGrad, TanhOp>(ctx);
    attachGradient<thresholdedReluGrad, ThresholdedReluOp>(ctx);
    attachGradient<whereGrad, WhereOp>(ctx);
    // Piecewise constant or not floating point.
    attachNoGradient<AndOp, CeilOp, EqualOp, FloorOp, GreaterOp, GreaterOrEqualOp, LessOp,
                     LessOrEqualOp, NotOp, OrOp, SignOp, XorOp>(ctx);
  });
}

} // namespace partita::graph
