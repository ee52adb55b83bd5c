//===- RecognizeComposites.cpp - form graph.attention ---------------------===//
//
// Matches, from the softmax outward:
//
//   s0 = matmul(q, kT)             kT = transpose(k, swap last two) or any
//   s1 = mul(s0, c) | div(s0, c)   optional, c a scalar constant expression
//   s2 = add(s1, mask)             optional, either operand order
//        where(keep, s, fill)      optional (boolean mask), before or after
//                                  the add
//   p  = softmax(s2, axis = last)
//   o  = matmul(p, v)
//
// Every intermediate must have exactly one use, so the rewrite never
// duplicates work. A constant causal mask (additive or boolean) becomes
// `causal = true`; another boolean mask becomes an additive one.
//
//===----------------------------------------------------------------------===//

#include "passes/Graph/Passes.h"
#include "dialects/Graph/IR/ConstantStorage.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphInference.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

using namespace mlir;

namespace partita::graph {
#define GEN_PASS_DEF_GRAPHRECOGNIZECOMPOSITES
#include "passes/Graph/Passes.h.inc"

namespace {

/// The value of a scalar float expression over constants: a splat (or
/// one-element) constant, or pow/add/sub/mul/div/sqrt/neg/cast of such
/// (exporters write the attention scale as sqrt(d) or pow(d, 0.5) + 0).
std::optional<double> scalarConstant(Value v, int depth = 0) {
  DenseElementsAttr attr;
  if (matchPattern(v, m_Constant(&attr)))
    return attr.isSplat() && isa<FloatType>(attr.getElementType())
               ? std::optional<double>(attr.getSplatValue<APFloat>().convertToDouble())
               : std::nullopt;
  Operation *def = v.getDefiningOp();
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!def || depth > 8 || !type || type.getNumElements() != 1 ||
      !isa<FloatType>(type.getElementType()))
    return std::nullopt;
  SmallVector<double, 2> args;
  for (Value operand : def->getOperands()) {
    auto x = scalarConstant(operand, depth + 1);
    if (!x)
      return std::nullopt;
    args.push_back(*x);
  }
  if (args.size() == 2) {
    if (isa<PowOp>(def))
      return std::pow(args[0], args[1]);
    if (isa<AddOp>(def))
      return args[0] + args[1];
    if (isa<SubOp>(def))
      return args[0] - args[1];
    if (isa<MulOp>(def))
      return args[0] * args[1];
    if (isa<DivOp>(def) && args[1] != 0.0)
      return args[0] / args[1];
  }
  if (args.size() == 1) {
    if (isa<SqrtOp>(def))
      return std::sqrt(args[0]);
    if (isa<NegOp>(def))
      return -args[0];
    if (isa<CastOp>(def))
      return args[0];
  }
  return std::nullopt;
}

/// True if `mask` is a constant [1.., sq, sk] mask that lets key j through
/// exactly where j <= i + (sk - sq): additive (0 there, very negative or
/// -inf elsewhere) or boolean (true there; false there when `inverted`).
bool isCausalMask(Value mask, int64_t sq, int64_t sk, bool inverted = false) {
  ElementsAttr value;
  if (!matchPattern(mask, m_Constant(&value)))
    return false;
  auto type = cast<RankedTensorType>(value.getType());
  // A mask the importer mapped from the model file is read (copied) here.
  auto attr = dyn_cast<DenseElementsAttr>(value);
  if (!attr)
    attr = dyn_cast_or_null<DenseElementsAttr>(
        readBlock(value, type, SmallVector<int64_t>(type.getRank(), 0)));
  int64_t r = type.getRank();
  if (!attr || r < 2 || type.getDimSize(r - 2) != sq || type.getDimSize(r - 1) != sk ||
      type.getNumElements() != sq * sk)
    return false;
  if (attr.getElementType().isInteger(1)) {
    auto values = attr.getValues<bool>();
    for (int64_t i = 0; i < sq; ++i)
      for (int64_t j = 0; j < sk; ++j)
        if ((values[i * sk + j] != inverted) != (j <= i + (sk - sq)))
          return false;
    return true;
  }
  if (!isa<FloatType>(attr.getElementType()))
    return false;
  auto values = attr.getValues<APFloat>();
  for (int64_t i = 0; i < sq; ++i)
    for (int64_t j = 0; j < sk; ++j) {
      double x = values[i * sk + j].convertToDouble();
      bool allowed = j <= i + (sk - sq);
      if (allowed ? x != 0.0 : !(x <= -1e4))
        return false;
    }
  return true;
}

bool swapsLastTwo(ArrayRef<int64_t> perm) {
  int64_t r = perm.size();
  for (int64_t i = 0; i < r; ++i) {
    int64_t expect = i == r - 2 ? r - 1 : i == r - 1 ? r - 2 : i;
    if (perm[i] != expect)
      return false;
  }
  return r >= 2;
}

struct RecognizeAttention : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp pv, PatternRewriter &rw) const override {
    auto softmax = pv.getLhs().getDefiningOp<SoftmaxOp>();
    if (!softmax || !softmax->hasOneUse())
      return rw.notifyMatchFailure(pv, "lhs is not a single-use softmax");
    auto probsType = softmax.getType();
    int64_t rank = probsType.getRank();
    if (rank < 2 || (softmax.getAxis() != -1 && softmax.getAxis() != rank - 1))
      return rw.notifyMatchFailure(pv, "softmax is not over the last axis");

    Value scores = softmax.getInput();
    Value mask;
    // A boolean mask: where(keep, scores, fill) or where(drop, fill,
    // scores), fill a scalar constant <= -1e4 (exporters write the dtype's
    // lowest value); before or after an additive mask.
    Value keep;
    bool inverted = false;
    double fill = 0;
    auto peelWhere = [&]() {
      auto where = scores.getDefiningOp<WhereOp>();
      if (keep || !where || !where->hasOneUse() ||
          !cast<RankedTensorType>(where.getCondition().getType()).getElementType().isInteger(1))
        return;
      for (bool inv : {false, true}) {
        Value kept = inv ? where.getY() : where.getX();
        auto value = scalarConstant(inv ? where.getX() : where.getY());
        if (kept.getType() == where.getType() && value && *value <= -1e4) {
          keep = where.getCondition();
          inverted = inv;
          fill = *value;
          scores = kept;
          return;
        }
      }
    };
    peelWhere();
    if (auto add = scores.getDefiningOp<AddOp>(); add && add->hasOneUse()) {
      // The scores side is the one that leads back to a matmul.
      auto leadsToScores = [](Value v) {
        Operation *def = v.getDefiningOp();
        return def && isa<MatMulOp, MulOp, DivOp>(def);
      };
      if (leadsToScores(add.getLhs()) && add.getLhs().getType() == add.getType()) {
        scores = add.getLhs();
        mask = add.getRhs();
      } else if (leadsToScores(add.getRhs()) &&
                 add.getRhs().getType() == add.getType()) {
        scores = add.getRhs();
        mask = add.getLhs();
      } else {
        return rw.notifyMatchFailure(pv, "add does not combine scores and a mask");
      }
    }

    peelWhere();

    double scale = 1.0;
    if (auto mul = scores.getDefiningOp<MulOp>(); mul && mul->hasOneUse()) {
      auto c = scalarConstant(mul.getRhs());
      if (!c || mul.getLhs().getType() != mul.getType())
        return rw.notifyMatchFailure(pv, "scale is not a scalar constant");
      scale = *c;
      scores = mul.getLhs();
    } else if (auto div = scores.getDefiningOp<DivOp>(); div && div->hasOneUse()) {
      auto c = scalarConstant(div.getRhs());
      if (!c || *c == 0.0 || div.getLhs().getType() != div.getType())
        return rw.notifyMatchFailure(pv, "scale is not a scalar constant");
      scale = 1.0 / *c;
      scores = div.getLhs();
    }

    auto qk = scores.getDefiningOp<MatMulOp>();
    if (!qk || !qk->hasOneUse() || qk.getType().getRank() != rank)
      return rw.notifyMatchFailure(pv, "scores are not a single-use matmul");
    Value q = qk.getLhs();
    Value kT = qk.getRhs();

    Location loc = pv.getLoc();
    Value k;
    if (auto t = kT.getDefiningOp<TransposeOp>(); t && swapsLastTwo(t.getPerm()))
      k = t.getInput();
    SmallVector<int64_t> perm;
    for (int64_t i = 0; i < rank; ++i)
      perm.push_back(i == rank - 2 ? rank - 1 : i == rank - 1 ? rank - 2 : i);

    // Check the shapes before creating anything (no diagnostics: a
    // mismatch just means this is not attention).
    SmallVector<Type> inferred;
    auto ranked = [](Value v) { return cast<RankedTensorType>(v.getType()); };
    auto kTType = ranked(kT);
    if (ranked(q).getRank() != rank || kTType.getRank() != rank ||
        ranked(pv.getRhs()).getRank() != rank)
      return rw.notifyMatchFailure(pv, "operands have mixed ranks");
    int64_t sq = ranked(q).getDimSize(rank - 2);
    int64_t sk = kTType.getDimSize(rank - 1);
    bool causal = mask && isCausalMask(mask, sq, sk);
    if (causal)
      mask = nullptr;
    if (keep && !causal && isCausalMask(keep, sq, sk, inverted)) {
      causal = true;
      keep = nullptr;
    }

    if (!k) {
      k = createInferred<TransposeOp>(
          rw, loc, kT, {rw.getNamedAttr("perm", rw.getDenseI64ArrayAttr(perm))});
    }
    if (keep) {
      // Any other boolean mask joins the additive one: fill where dropped.
      auto elt = cast<FloatType>(ranked(q).getElementType());
      auto scalar = RankedTensorType::get({}, elt);
      Value zero = createSplatConstant(rw, loc, scalar, 0.0);
      Value low = createSplatConstant(rw, loc, scalar, fill);
      Value additive = createInferred<WhereOp>(rw, loc, {keep, inverted ? low : zero,
                                                         inverted ? zero : low})
                           ->getResult(0);
      mask = mask ? createInferred<AddOp>(rw, loc, {mask, additive})->getResult(0) : additive;
    }
    SmallVector<Value> operands{q, k, pv.getRhs()};
    if (mask)
      operands.push_back(mask);
    if (failed(inferAttention(std::nullopt, operands, inferred)) ||
        inferred.front() != pv.getType()) {
      if (k.getDefiningOp() && k.getDefiningOp()->use_empty() &&
          !kT.getDefiningOp<TransposeOp>())
        rw.eraseOp(k.getDefiningOp());
      return rw.notifyMatchFailure(pv, "shapes do not form attention");
    }
    auto attn = AttentionOp::create(
        rw, loc, pv.getType(), q, k, pv.getRhs(), mask,
        rw.getF64FloatAttr(scale), rw.getBoolAttr(causal));
    // Requests on the matmul (an attention form, docs/sequence.md) stay.
    for (NamedAttribute a : pv->getDiscardableAttrs())
      attn->setAttr(a.getName(), a.getValue());
    rw.replaceOp(pv, attn.getResult());
    return success();
  }
};

struct GraphRecognizeCompositesPass
    : impl::GraphRecognizeCompositesBase<GraphRecognizeCompositesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RecognizeAttention>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace partita::graph
