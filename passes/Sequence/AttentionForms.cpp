//===- AttentionForms.cpp - attention over a split sequence ---------------===//
//
// docs/sequence.md has the forms, their communication and the choice.
//
//===----------------------------------------------------------------------===//

#include "passes/Sequence/AttentionForms.h"

#include "dialects/Collectives/IR/CollectivesOps.h"
#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Sharding/Rules/GraphShardingRules.h"

#include "mlir/IR/BuiltinOps.h"

#include <cfloat>
#include <cmath>

using namespace mlir;
using namespace partita::sharding;

namespace partita::sequence {

StringRef formName(AttentionForm form) {
  switch (form) {
  case AttentionForm::Local:
    return "local";
  case AttentionForm::Gather:
    return "gather";
  case AttentionForm::Ulysses:
    return "ulysses";
  case AttentionForm::Ring:
    return "ring";
  }
  return "local";
}

bool isRequestableForm(StringRef name) {
  return name == "auto" || name == "gather" || name == "ulysses" || name == "ring";
}

StringRef requestedForm(Operation *op) {
  if (auto own = op->getAttrOfType<StringAttr>(kAttentionFormAttr))
    return own.getValue();
  if (auto module = op->getParentOfType<ModuleOp>())
    if (auto all = module->getAttrOfType<StringAttr>(kAttentionFormAttr))
      return all.getValue();
  return "auto";
}

namespace {

int64_t product(ArrayRef<StringAttr> axes, MeshAttr mesh) {
  int64_t p = 1;
  for (StringAttr a : axes)
    p *= *mesh.getAxisSize(a.getValue());
  return p;
}

std::string axesText(ArrayRef<StringAttr> axes) {
  std::string s = "{";
  for (auto [i, a] : llvm::enumerate(axes))
    s += (i ? ", " : "") + a.str();
  return s + "}";
}

} // namespace

FailureOr<AttentionChoice> chooseAttentionForm(graph::AttentionOp op, RankedTensorType query,
                                               RankedTensorType key, ArrayRef<AxisList> factorAxes,
                                               MeshAttr mesh, StringRef requested,
                                               std::string &error) {
  int64_t rank = query.getRank();
  AttentionFactors f = AttentionFactors::of(rank);
  AttentionChoice choice;
  choice.query = query;
  choice.key = key;
  choice.axes = factorAxes[f.querySeq];
  if (choice.axes.empty()) {
    choice.why = "the query sequence is not split";
    return choice;
  }
  int64_t parts = product(choice.axes, mesh);
  std::string over = axesText(choice.axes) + " (" + std::to_string(parts) + ")";
  int64_t sq = query.getDimSize(rank - 2);
  int64_t sk = key.getDimSize(rank - 2);

  // Ulysses: a leading dimension, the head dimension first, that divides
  // over the sequence axes on top of its own split.
  std::string ulyssesObstacle = rank < 3 ? "no head or batch dimension" : "";
  for (int64_t d = rank - 3; d >= 0 && choice.leadingFactor < 0; --d) {
    int64_t size = query.getDimSize(d);
    int64_t have = product(factorAxes[d], mesh);
    if (size % (have * parts) == 0) {
      choice.leadingFactor = d;
    } else if (d == rank - 3) {
      ulyssesObstacle = "heads " + std::to_string(size) + " do not divide over " + over;
      if (have > 1)
        ulyssesObstacle += " times their own split (" + std::to_string(have) + ")";
    }
  }
  if (choice.leadingFactor < 0 && ulyssesObstacle.empty())
    ulyssesObstacle = "no leading dimension divides over " + over;
  std::string ringObstacle;
  if (sk % parts != 0)
    ringObstacle = "key sequence " + std::to_string(sk) + " does not divide over " + over;

  auto pick = [&](AttentionForm form, std::string why) -> FailureOr<AttentionChoice> {
    choice.form = form;
    choice.why = std::move(why);
    if (form != AttentionForm::Ulysses)
      choice.leadingFactor = -1;
    return choice;
  };
  auto refuse = [&](StringRef form, const std::string &obstacle) -> FailureOr<AttentionChoice> {
    error = "attention form '" + form.str() + "' cannot apply: " + obstacle;
    return failure();
  };
  std::string heads;
  if (choice.leadingFactor >= 0)
    heads = (choice.leadingFactor == rank - 3
                 ? std::string("heads ")
                 : "dimension " + std::to_string(choice.leadingFactor) + " of ") +
            std::to_string(query.getDimSize(choice.leadingFactor)) +
            " divide over " + over;
  if (choice.leadingFactor >= 0 && !factorAxes[choice.leadingFactor].empty())
    heads += " on top of " + axesText(factorAxes[choice.leadingFactor]);
  if (requested == "ulysses")
    return choice.leadingFactor >= 0 ? pick(AttentionForm::Ulysses, "requested; " + heads)
                                     : refuse("ulysses", ulyssesObstacle);
  if (requested == "ring")
    return ringObstacle.empty()
               ? pick(AttentionForm::Ring, "requested; sequences " + std::to_string(sq) + "/" +
                                               std::to_string(sk) + " over " + over)
               : refuse("ring", ringObstacle);
  if (requested == "gather")
    return pick(AttentionForm::Gather, "requested; K/V all-gathered over " + over);
  if (choice.leadingFactor >= 0)
    return pick(AttentionForm::Ulysses, "auto: " + heads);
  if (ringObstacle.empty())
    return pick(AttentionForm::Ring, "auto: " + ulyssesObstacle);
  return pick(AttentionForm::Gather, "auto: " + ulyssesObstacle + "; " + ringObstacle);
}

FailureOr<AttentionChoice> choosePropagatedAttentionForm(graph::AttentionOp op, MeshAttr mesh,
                                                         std::string &error) {
  // The query sequence and the leading dimensions are pass-through factors:
  // the partitioner takes their axes from the result's sharding, as here.
  int64_t rank = op.getQ().getType().getRank();
  SmallVector<AxisList> factorAxes(AttentionFactors::of(rank).valueDim + 1);
  auto shardings = op->getAttrOfType<ArrayAttr>(kShardingsAttr);
  auto result = shardings && !shardings.empty() ? dyn_cast<TensorShardingAttr>(shardings[0])
                                                : TensorShardingAttr();
  if (result)
    for (auto [d, dim] : llvm::enumerate(result.getDims()))
      if ((int64_t)d < rank - 1)
        factorAxes[d].assign(dim.getAxes().begin(), dim.getAxes().end());
  return chooseAttentionForm(op, op.getQ().getType(), op.getK().getType(), factorAxes, mesh,
                             requestedForm(op), error);
}

void applyAttentionForm(const AttentionChoice &choice, int64_t queryRank,
                        SmallVectorImpl<AxisList> &factorAxes) {
  AttentionFactors f = AttentionFactors::of(queryRank);
  switch (choice.form) {
  case AttentionForm::Local:
  case AttentionForm::Gather:
    return;
  case AttentionForm::Ulysses:
    factorAxes[f.querySeq].clear();
    factorAxes[choice.leadingFactor].append(choice.axes.begin(), choice.axes.end());
    return;
  case AttentionForm::Ring:
    factorAxes[f.keySeq] = choice.axes;
    return;
  }
}

namespace {

/// Builds graph ops with inferred types at one location.
struct Maker {
  OpBuilder &b;
  Location loc;
  Value op(StringRef name, ValueRange operands, ArrayRef<NamedAttribute> attrs = {}) {
    Operation *made = graph::createInferred(b, loc, name, operands, attrs);
    return made ? made->getResult(0) : Value();
  }
  template <typename OpTy>
  Value op(ValueRange operands, ArrayRef<NamedAttribute> attrs = {}) {
    return op(OpTy::getOperationName(), operands, attrs);
  }
  Value scalar(Type elt, double v) {
    return graph::createSplatConstant(b, loc, RankedTensorType::get({}, elt), v);
  }
  Value i64(int64_t v) { return scalar(b.getI64Type(), (double)v); }
  /// [0, 1, ..., n-1] shaped `shape` (one dimension is n, the others 1).
  Value iota(int64_t n, ArrayRef<int64_t> shape) {
    SmallVector<int64_t> vals(n);
    for (int64_t i = 0; i < n; ++i)
      vals[i] = i;
    auto type = RankedTensorType::get(shape, b.getI64Type());
    return graph::ConstantOp::create(b, loc, type,
                                     DenseElementsAttr::get(type, ArrayRef<int64_t>(vals)));
  }
  Value cast(Value v, Type elt) {
    if (llvm::cast<RankedTensorType>(v.getType()).getElementType() == elt)
      return v;
    return op<graph::CastOp>({v}, {b.getNamedAttr("to", TypeAttr::get(elt))});
  }
  NamedAttribute lastAxis(Value v) {
    int64_t r = llvm::cast<RankedTensorType>(v.getType()).getRank();
    return b.getNamedAttr("axes", b.getDenseI64ArrayAttr({r - 1}));
  }
};

/// Additive [sqLocal, skLocal] mask: 0 where the key's global position
/// (kOffset + j) is at most the query's (qOffset + i) plus `shift`
/// (Sk - Sq: causal attention aligns the sequences at their ends), -inf
/// elsewhere. Offsets are i64 scalars.
Value causalBlockMask(Maker &m, Value qOffset, Value kOffset, int64_t sqLocal, int64_t skLocal,
                      int64_t shift, Type elt) {
  Value qpos = m.op<graph::AddOp>({m.iota(sqLocal, {sqLocal, 1}),
                                   m.op<graph::AddOp>({qOffset, m.i64(shift)})});
  Value kpos = m.op<graph::AddOp>({m.iota(skLocal, {1, skLocal}), kOffset});
  Value visible = m.op<graph::LessOrEqualOp>({kpos, qpos});
  return m.op<graph::WhereOp>({visible, m.scalar(elt, 0.0), m.scalar(elt, -INFINITY)});
}

} // namespace

FailureOr<Value> buildAttentionForm(OpBuilder &b, graph::AttentionOp op, ValueRange operands,
                                    const AttentionChoice &choice, FlatSymbolRefAttr meshRef,
                                    MeshAttr mesh) {
  bool ring = choice.form == AttentionForm::Ring;
  if (!ring && !(choice.form == AttentionForm::Gather && op.getCausal()))
    return Value();
  Maker m{b, op.getLoc()};
  Location loc = op.getLoc();
  RankedTensorType qGlobal = choice.query;
  int64_t rank = qGlobal.getRank();
  int64_t sqGlobal = qGlobal.getDimSize(rank - 2);
  int64_t skGlobal = choice.key.getDimSize(rank - 2);
  Value q = operands[0], k = operands[1], v = operands[2];
  Value mask = operands.size() > 3 ? operands[3] : Value();
  int64_t sqLocal = cast<RankedTensorType>(q.getType()).getDimSize(rank - 2);
  int64_t skLocal = cast<RankedTensorType>(k.getType()).getDimSize(rank - 2);
  auto scalarType = RankedTensorType::get({}, b.getI64Type());
  ArrayAttr group = b.getArrayAttr(SmallVector<Attribute>(choice.axes.begin(), choice.axes.end()));
  Value position = collectives::AxisIndexOp::create(b, loc, scalarType, meshRef, group);
  Value qOffset = m.op<graph::MulOp>({position, m.i64(sqLocal)});
  int64_t shift = skGlobal - sqGlobal;

  if (!ring) {
    // gather: the whole key sequence, this block of queries.
    Type elt = qGlobal.getElementType();
    Value causal = causalBlockMask(m, qOffset, m.i64(0), sqLocal, skLocal, shift, elt);
    Value combined = mask ? m.op<graph::AddOp>({mask, causal}) : causal;
    Value out = m.op<graph::AttentionOp>(
        {q, k, v, combined},
        {b.getNamedAttr("scale", op.getScaleAttr()), b.getNamedAttr("causal", b.getBoolAttr(false))});
    if (!out)
      return op.emitError() << "cannot build the gathered causal attention";
    return out;
  }

  // ring: statistics in f32 (f64 stays f64).
  Type outElt = qGlobal.getElementType();
  Type acc = outElt.isF64() ? outElt : b.getF32Type();
  q = m.cast(q, acc);
  k = m.cast(k, acc);
  v = m.cast(v, acc);
  if (mask) {
    mask = m.cast(mask, acc);
    // Every step needs its own column block of this rank's mask rows.
    auto maskType = cast<RankedTensorType>(mask.getType());
    int64_t last = maskType.getRank() - 1;
    if (maskType.getDimSize(last) != 1 && maskType.getDimSize(last) != skGlobal) {
      SmallVector<int64_t> shape(maskType.getShape());
      shape[last] = skGlobal;
      mask = collectives::AllGatherOp::create(b, loc, maskType.clone(shape), mask, meshRef, group,
                                              b.getI64IntegerAttr(last));
    }
  }
  int64_t parts = product(choice.axes, mesh);
  SmallVector<int64_t> perm(rank);
  for (int64_t d = 0; d < rank; ++d)
    perm[d] = d;
  std::swap(perm[rank - 2], perm[rank - 1]);
  Value kt = m.op<graph::TransposeOp>({k}, {b.getNamedAttr("perm", b.getDenseI64ArrayAttr(perm))});
  Value scale = m.scalar(acc, op.getScale().convertToDouble());
  double lowest = acc.isF64() ? -DBL_MAX : -FLT_MAX;
  double tiny = acc.isF64() ? DBL_MIN : FLT_MIN;
  Value out, lse;
  for (int64_t s = 0; s < parts; ++s) {
    if (s > 0) {
      // Pass the block on: after step s this rank holds rank (r - s)'s.
      kt = collectives::CollectivePermuteOp::create(b, loc, kt.getType(), kt, meshRef, group,
                                                    b.getI64IntegerAttr(1));
      v = collectives::CollectivePermuteOp::create(b, loc, v.getType(), v, meshRef, group,
                                                   b.getI64IntegerAttr(1));
    }
    Value block = m.op<graph::ModOp>({m.op<graph::SubOp>({position, m.i64(s)}), m.i64(parts)});
    Value kOffset = m.op<graph::MulOp>({block, m.i64(skLocal)});
    Value scores = m.op<graph::MulOp>({m.op<graph::MatMulOp>({q, kt}), scale});
    if (mask) {
      auto maskType = cast<RankedTensorType>(mask.getType());
      int64_t last = maskType.getRank() - 1;
      Value columns = mask;
      if (maskType.getDimSize(last) != 1)
        columns = m.op<graph::GatherOp>(
            {mask, m.op<graph::AddOp>({m.iota(skLocal, {skLocal}), kOffset})},
            {b.getNamedAttr("axis", b.getI64IntegerAttr(last))});
      scores = m.op<graph::AddOp>({scores, columns});
    }
    if (op.getCausal())
      scores = m.op<graph::AddOp>(
          {scores, causalBlockMask(m, qOffset, kOffset, sqLocal, skLocal, shift, acc)});
    // A row with every key masked keeps finite statistics: max clamped to
    // the lowest finite value, sum to the smallest normal one.
    Value rowMax = m.op<graph::MaxOp>(
        {m.op<graph::ReduceMaxOp>({scores}, {m.lastAxis(scores)}), m.scalar(acc, lowest)});
    Value p = m.op<graph::ExpOp>({m.op<graph::SubOp>({scores, rowMax})});
    Value rowSum = m.op<graph::MaxOp>(
        {m.op<graph::ReduceSumOp>({p}, {m.lastAxis(p)}), m.scalar(acc, tiny)});
    Value outBlock = m.op<graph::DivOp>({m.op<graph::MatMulOp>({p, v}), rowSum});
    Value lseBlock = m.op<graph::AddOp>({rowMax, m.op<graph::LogOp>({rowSum})});
    if (s == 0) {
      out = outBlock;
      lse = lseBlock;
      continue;
    }
    // out <- out - sigmoid(lse_b - lse) (out - out_b);
    // lse <- max(lse, lse_b) + log(1 + exp(-|lse - lse_b|)).
    Value weight = m.op<graph::SigmoidOp>({m.op<graph::SubOp>({lseBlock, lse})});
    out = m.op<graph::SubOp>(
        {out, m.op<graph::MulOp>({weight, m.op<graph::SubOp>({out, outBlock})})});
    Value gap = m.op<graph::NegOp>({m.op<graph::AbsOp>({m.op<graph::SubOp>({lse, lseBlock})})});
    lse = m.op<graph::AddOp>(
        {m.op<graph::MaxOp>({lse, lseBlock}),
         m.op<graph::LogOp>({m.op<graph::AddOp>({m.scalar(acc, 1.0), m.op<graph::ExpOp>({gap})})})});
    if (!out || !lse)
      break;
  }
  if (!out || !lse)
    return op.emitError() << "cannot build the ring attention";
  return m.cast(out, outElt);
}

} // namespace partita::sequence
