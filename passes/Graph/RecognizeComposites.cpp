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

/// A small constant tensor as doubles (booleans 0/1), row-major.
struct ConstTensor {
  SmallVector<int64_t> shape;
  std::vector<double> values;
  int64_t size() const { return values.size(); }
};

// A causal mask over 2048 positions is 4M elements (32 MiB as doubles).
constexpr int64_t kMaxEvalElements = 1 << 23;

/// The row-major index into a tensor of shape `in` that element `linear` of
/// shape `out` broadcasts from (numpy rules, aligned at the right).
int64_t broadcastIndex(ArrayRef<int64_t> out, ArrayRef<int64_t> in, int64_t linear) {
  int64_t src = 0, stride = 1;
  for (int64_t d = (int64_t)out.size() - 1, e = (int64_t)in.size() - 1; d >= 0; --d, --e) {
    int64_t idx = linear % out[d];
    linear /= out[d];
    if (e >= 0) {
      if (in[e] != 1)
        src += idx * stride;
      stride *= in[e];
    }
  }
  return src;
}

/// The value of a constant expression (at most 8M elements): a
/// constant, or elementwise pow/add/sub/mul/div/sqrt/neg/cast/where,
/// trilu, reshape, expand and slice of such. Exporters write the attention
/// scale as sqrt(d) or pow(d, 0.5) + 0, and causal masks as triu of a
/// filled matrix times a comparison, reshaped, expanded over the batch and
/// sliced -- ops the importer leaves unfolded.
std::optional<ConstTensor> constantTensor(Value v, int depth = 0) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.hasStaticShape() || type.getNumElements() > kMaxEvalElements || depth > 12)
    return std::nullopt;
  ConstTensor out;
  out.shape.assign(type.getShape().begin(), type.getShape().end());
  ElementsAttr value;
  if (matchPattern(v, m_Constant(&value))) {
    // A constant the importer mapped from the model file is read (copied).
    auto attr = dyn_cast<DenseElementsAttr>(value);
    if (!attr)
      attr = dyn_cast_or_null<DenseElementsAttr>(
          readBlock(value, type, SmallVector<int64_t>(type.getRank(), 0)));
    if (!attr)
      return std::nullopt;
    Type elt = attr.getElementType();
    if (elt.isInteger(1)) {
      for (bool x : attr.getValues<bool>())
        out.values.push_back(x);
    } else if (isa<FloatType>(elt)) {
      for (const APFloat &x : attr.getValues<APFloat>())
        out.values.push_back(x.convertToDouble());
    } else if (isa<IntegerType>(elt)) {
      for (const APInt &x : attr.getValues<APInt>())
        out.values.push_back((double)x.getSExtValue());
    } else {
      return std::nullopt;
    }
    return out;
  }
  Operation *def = v.getDefiningOp();
  if (!def || def->getNumResults() != 1)
    return std::nullopt;
  SmallVector<ConstTensor, 3> args;
  for (Value operand : def->getOperands()) {
    auto x = constantTensor(operand, depth + 1);
    if (!x)
      return std::nullopt;
    args.push_back(std::move(*x));
  }
  int64_t n = type.getNumElements();
  auto at = [&](const ConstTensor &t, int64_t i) {
    return t.values[broadcastIndex(out.shape, t.shape, i)];
  };
  auto elementwise = [&](auto fn) -> std::optional<ConstTensor> {
    for (int64_t i = 0; i < n; ++i)
      out.values.push_back(fn(i));
    return out;
  };
  bool toBool = type.getElementType().isInteger(1);
  if (args.size() == 2) {
    const ConstTensor &a = args[0], &b = args[1];
    if (isa<PowOp>(def))
      return elementwise([&](int64_t i) { return std::pow(at(a, i), at(b, i)); });
    if (isa<AddOp>(def))
      return elementwise([&](int64_t i) { return at(a, i) + at(b, i); });
    if (isa<SubOp>(def))
      return elementwise([&](int64_t i) { return at(a, i) - at(b, i); });
    if (isa<MulOp>(def))
      return elementwise([&](int64_t i) { return at(a, i) * at(b, i); });
    if (isa<DivOp>(def) && isa<FloatType>(type.getElementType()))
      return elementwise([&](int64_t i) { return at(a, i) / at(b, i); });
  }
  if (args.size() == 3 && isa<WhereOp>(def))
    return elementwise(
        [&](int64_t i) { return at(args[0], i) != 0.0 ? at(args[1], i) : at(args[2], i); });
  if (args.size() != 1)
    return std::nullopt;
  const ConstTensor &a = args[0];
  if (isa<SqrtOp>(def))
    return elementwise([&](int64_t i) { return std::sqrt(a.values[i]); });
  if (isa<NegOp>(def))
    return elementwise([&](int64_t i) { return -a.values[i]; });
  if (isa<CastOp>(def))
    return elementwise([&](int64_t i) {
      double x = a.values[i];
      return toBool ? (double)(x != 0.0) : x;
    });
  if (isa<ReshapeOp>(def) && a.size() == n) {
    out.values = a.values;
    return out;
  }
  if (isa<ExpandOp>(def))
    return elementwise([&](int64_t i) { return at(a, i); });
  if (auto trilu = dyn_cast<TriluOp>(def)) {
    int64_t r = out.shape.size();
    if (r < 2)
      return std::nullopt;
    int64_t rows = out.shape[r - 2], cols = out.shape[r - 1];
    int64_t k = (int64_t)trilu.getK(); // the accessor is unsigned
    return elementwise([&](int64_t i) {
      int64_t row = (i / cols) % rows, col = i % cols;
      bool keep = trilu.getUpper() ? col - row >= k : col - row <= k;
      return keep ? a.values[i] : 0.0;
    });
  }
  if (auto slice = dyn_cast<SliceOp>(def)) {
    ArrayRef<int64_t> starts = slice.getStarts(), steps = slice.getSteps();
    return elementwise([&](int64_t i) {
      int64_t src = 0, stride = 1, rest = i;
      for (int64_t d = (int64_t)out.shape.size() - 1; d >= 0; --d) {
        int64_t idx = rest % out.shape[d];
        rest /= out.shape[d];
        src += (starts[d] + idx * steps[d]) * stride;
        stride *= a.shape[d];
      }
      return a.values[src];
    });
  }
  return std::nullopt;
}

/// The value of a one-element constant expression (constantTensor).
std::optional<double> scalarConstant(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !isa<FloatType>(type.getElementType()))
    return std::nullopt;
  auto t = constantTensor(v);
  if (!t || t->size() < 1 ||
      llvm::any_of(t->values, [&](double x) { return x != t->values.front(); }))
    return std::nullopt;
  return t->values.front();
}

/// True if `mask` is a constant [.., sq, sk] mask (every leading copy the
/// same) that lets key j through exactly where j <= i + (sk - sq): additive
/// (0 there, very negative or -inf elsewhere) or boolean (true there; false
/// there when `inverted`).
bool isCausalMask(Value mask, int64_t sq, int64_t sk, bool inverted = false) {
  auto type = cast<RankedTensorType>(mask.getType());
  int64_t r = type.getRank();
  if (r < 2 || type.getDimSize(r - 2) != sq || type.getDimSize(r - 1) != sk)
    return false;
  auto value = constantTensor(mask);
  if (!value)
    return false;
  bool boolean = type.getElementType().isInteger(1);
  if (!boolean && !isa<FloatType>(type.getElementType()))
    return false;
  for (int64_t at = 0; at < value->size(); ++at) {
    int64_t i = (at / sk) % sq, j = at % sk;
    double x = value->values[at];
    bool allowed = j <= i + (sk - sq);
    if (boolean ? ((x != 0.0) != inverted) != allowed
                : (allowed ? x != 0.0 : !(x <= -1e4)))
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
