//===- AttentionForms.cpp - attention over a split sequence ---------------===//
//
// docs/sequence.md has the forms, their communication and the choice.
//
//===----------------------------------------------------------------------===//

#include "passes/Sequence/AttentionForms.h"
#include "passes/Sequence/FormCosts.h"

#include "dialects/Collectives/IR/CollectivesOps.h"
#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Sharding/Rules/GraphShardingRules.h"
#include "partita/Planner/CostModel.h"

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
  case AttentionForm::Zigzag:
    return "zigzag";
  }
  return "local";
}

bool isRequestableForm(StringRef name) {
  return name == "auto" || name == "gather" || name == "ulysses" || name == "ring" ||
         name == "zigzag";
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

/// `op` as its forms see it per rank (FormCosts.h): the leading elements
/// after their own splits, the global sequences, the mask's rows.
AttentionShape attentionShape(graph::AttentionOp op, RankedTensorType query, int64_t sk,
                              ArrayRef<AxisList> factorAxes, MeshAttr mesh, int64_t parts) {
  int64_t rank = query.getRank();
  int64_t sq = query.getDimSize(rank - 2);
  AttentionShape shape;
  for (int64_t d = 0; d < rank - 2; ++d)
    shape.batch *= (double)query.getDimSize(d) / (double)product(factorAxes[d], mesh);
  shape.sq = sq;
  shape.sk = sk;
  shape.d = query.getDimSize(rank - 1);
  shape.dv = cast<RankedTensorType>(op.getV().getType()).getDimSize(rank - 1);
  shape.parts = parts;
  shape.causal = op.getCausal();
  shape.dtype = planner::dtypeName(query.getElementType());
  shape.elementBytes = planner::tensorBytes(RankedTensorType::get({}, query.getElementType()));
  if (Value mask = op.getMask()) {
    // Its rows split with the queries, each rank's rows over all keys.
    auto maskType = cast<RankedTensorType>(mask.getType());
    shape.mask = true;
    shape.maskRowElements = (double)maskType.getNumElements() /
                            maskType.getDimSize(maskType.getRank() - 1) * sk;
    if (maskType.getDimSize(maskType.getRank() - 2) == sq)
      shape.maskRowElements /= parts;
  }
  return shape;
}

} // namespace

ZigzagTables zigzagTables(int64_t parts) {
  auto zig = [&](int64_t chunk) { return chunk < parts ? chunk : 2 * parts - 1 - chunk; };
  ZigzagTables t;
  for (int64_t r = 0; r < parts; ++r) {
    t.evenTo.push_back(zig(2 * r));
    t.oddTo.push_back(zig(2 * r + 1));
    int64_t mine[2] = {r, 2 * parts - 1 - r};
    int64_t even = mine[r % 2], odd = mine[1 - r % 2];
    t.evenBack.push_back(even / 2);
    t.oddBack.push_back((odd - 1) / 2);
  }
  return t;
}

SmallVector<int64_t> permuteShifts(ArrayRef<int64_t> targets) {
  int64_t parts = targets.size();
  SmallVector<int64_t> shifts;
  for (int64_t r = 0; r < parts; ++r)
    shifts.push_back(((targets[r] - r) % parts + parts) % parts);
  return shifts;
}

SmallVector<int64_t> distinctShifts(ArrayRef<int64_t> targets) {
  SmallVector<int64_t> distinct = permuteShifts(targets);
  llvm::sort(distinct);
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  return distinct;
}

FailureOr<AttentionChoice> chooseAttentionForm(graph::AttentionOp op, RankedTensorType query,
                                               RankedTensorType key, ArrayRef<AxisList> factorAxes,
                                               MeshAttr mesh, StringRef requested,
                                               const planner::Cluster *cluster,
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
  // zigzag: each device holds chunks r and 2P-1-r of 2P -- causal
  // self-attention without other masks, its sequence in 2P equal chunks.
  auto zigzagObstacle = [&] {
    std::string obstacle = ringObstacle;
    if (obstacle.empty() && !op.getCausal())
      obstacle = "the attention is not causal (zigzag balances causal work; use ring)";
    else if (obstacle.empty() && op.getMask())
      obstacle = "the attention has a mask besides its causal one";
    else if (obstacle.empty() && sq != sk)
      obstacle = "query and key sequences differ (" + std::to_string(sq) + "/" +
                 std::to_string(sk) + ")";
    else if (obstacle.empty() && sq % (2 * parts) != 0)
      obstacle = "sequence " + std::to_string(sq) + " does not divide into " +
                 std::to_string(2 * parts) + " chunks over " + over;
    return obstacle;
  };
  // On a cluster every form that applies is priced (the plan shows them);
  // `auto` takes the first.
  std::string unpriced;
  FailureOr<AttentionPricing> priced = failure();
  if (cluster) {
    SmallVector<AttentionForm> candidates;
    if (choice.leadingFactor >= 0)
      candidates.push_back(AttentionForm::Ulysses);
    if (zigzagObstacle().empty())
      candidates.push_back(AttentionForm::Zigzag);
    if (ringObstacle.empty())
      candidates.push_back(AttentionForm::Ring);
    candidates.push_back(AttentionForm::Gather);
    AttentionShape shape = attentionShape(op, query, sk, factorAxes, mesh, parts);
    priced = priceForms(candidates, shape, *cluster, mesh, choice.axes, unpriced);
    if (succeeded(priced))
      choice.estimates = priced->estimates;
    else
      unpriced = " (not priced: " + unpriced + ")";
  }
  if (requested == "ulysses")
    return choice.leadingFactor >= 0 ? pick(AttentionForm::Ulysses, "requested; " + heads)
                                     : refuse("ulysses", ulyssesObstacle);
  if (requested == "ring")
    return ringObstacle.empty()
               ? pick(AttentionForm::Ring, "requested; sequences " + std::to_string(sq) + "/" +
                                               std::to_string(sk) + " over " + over)
               : refuse("ring", ringObstacle);
  std::string zigzag = "causal sequence " + std::to_string(sq) + " in " +
                       std::to_string(2 * parts) + " zigzag chunks over " + over;
  if (requested == "zigzag") {
    std::string obstacle = zigzagObstacle();
    if (!obstacle.empty())
      return refuse("zigzag", obstacle);
    return pick(AttentionForm::Zigzag, "requested; " + zigzag);
  }
  if (requested == "gather")
    return pick(AttentionForm::Gather, "requested; K/V all-gathered over " + over);
  if (succeeded(priced))
    return pick(choice.estimates.front().form, "auto on '" + cluster->name + "': " + priced->why);
  if (choice.leadingFactor >= 0)
    return pick(AttentionForm::Ulysses, "auto: " + heads + unpriced);
  // Causal and mask-free, the zigzag ring does 2 of the plain ring's 4
  // half-chunk blocks per step (bench/sequence_parallel: 84 vs 142 ms).
  if (zigzagObstacle().empty())
    return pick(AttentionForm::Zigzag, "auto: " + ulyssesObstacle + "; " + zigzag + unpriced);
  if (ringObstacle.empty())
    return pick(AttentionForm::Ring, "auto: " + ulyssesObstacle + unpriced);
  return pick(AttentionForm::Gather,
              "auto: " + ulyssesObstacle + "; " + ringObstacle + unpriced);
}

FailureOr<AttentionChoice> choosePropagatedAttentionForm(graph::AttentionOp op, MeshAttr mesh,
                                                         const planner::Cluster *cluster,
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
                             requestedForm(op), cluster, error);
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
  case AttentionForm::Zigzag:
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

/// A block of attention over local keys in f32 statistics: (out, lse) of
/// softmax(scale q k^T + mask) v. A row with every key masked keeps finite
/// statistics: max clamped to the lowest finite value, sum to the smallest
/// normal one.
struct BlockResult {
  Value out, lse;
};
BlockResult attendBlock(Maker &m, Value q, Value kt, Value v, Value scale, Value mask,
                        Type acc) {
  double lowest = acc.isF64() ? -DBL_MAX : -FLT_MAX;
  double tiny = acc.isF64() ? DBL_MIN : FLT_MIN;
  Value scores = m.op<graph::MulOp>({m.op<graph::MatMulOp>({q, kt}), scale});
  if (mask)
    scores = m.op<graph::AddOp>({scores, mask});
  Value rowMax = m.op<graph::MaxOp>(
      {m.op<graph::ReduceMaxOp>({scores}, {m.lastAxis(scores)}), m.scalar(acc, lowest)});
  Value p = m.op<graph::ExpOp>({m.op<graph::SubOp>({scores, rowMax})});
  Value rowSum = m.op<graph::MaxOp>(
      {m.op<graph::ReduceSumOp>({p}, {m.lastAxis(p)}), m.scalar(acc, tiny)});
  return {m.op<graph::DivOp>({m.op<graph::MatMulOp>({p, v}), rowSum}),
          m.op<graph::AddOp>({rowMax, m.op<graph::LogOp>({rowSum})})};
}

/// Merges two blocks' results over disjoint keys (log-sum-exp):
/// out <- out - sigmoid(lse_b - lse) (out - out_b);
/// lse <- max(lse, lse_b) + log(1 + exp(-|lse - lse_b|)).
BlockResult mergeBlocks(Maker &m, BlockResult a, BlockResult b, Type acc) {
  Value weight = m.op<graph::SigmoidOp>({m.op<graph::SubOp>({b.lse, a.lse})});
  Value out = m.op<graph::SubOp>(
      {a.out, m.op<graph::MulOp>({weight, m.op<graph::SubOp>({a.out, b.out})})});
  Value gap = m.op<graph::NegOp>({m.op<graph::AbsOp>({m.op<graph::SubOp>({a.lse, b.lse})})});
  Value lse = m.op<graph::AddOp>(
      {m.op<graph::MaxOp>({a.lse, b.lse}),
       m.op<graph::LogOp>({m.op<graph::AddOp>({m.scalar(acc, 1.0), m.op<graph::ExpOp>({gap})})})});
  return {out, lse};
}

/// Each device sends `x` to position targets[its position] of the group:
/// one collective_permute per distinct shift, each device's block masked
/// to zero in the shifts it does not take, the received blocks summed
/// (collective_permute is a uniform shift; this is any permutation).
Value permuteByTable(Maker &m, Value x, ArrayRef<int64_t> targets, Value position,
                     FlatSymbolRefAttr meshRef, ArrayAttr group) {
  int64_t parts = targets.size();
  SmallVector<int64_t> shifts = permuteShifts(targets);
  auto tableType = RankedTensorType::get({parts}, m.b.getI64Type());
  Value table = graph::ConstantOp::create(m.b, m.loc, tableType,
                                          DenseElementsAttr::get(tableType, ArrayRef(shifts)));
  Value mine = m.op<graph::GatherOp>({table, position});
  Type elt = cast<RankedTensorType>(x.getType()).getElementType();
  Value sum;
  SmallVector<int64_t> distinct = distinctShifts(targets);
  for (int64_t shift : distinct) {
    Value moved = x;
    if (distinct.size() > 1)
      moved = m.op<graph::WhereOp>(
          {m.op<graph::EqualOp>({mine, m.i64(shift)}), x, m.scalar(elt, 0.0)});
    if (shift != 0)
      moved = collectives::CollectivePermuteOp::create(m.b, m.loc, moved.getType(), moved,
                                                       meshRef, group,
                                                       m.b.getI64IntegerAttr(shift));
    sum = sum ? m.op<graph::AddOp>({sum, moved}) : moved;
  }
  return sum;
}

/// Zigzag causal ring attention (docs/sequence.md): the sequence in 2P
/// chunks, device r holding chunks r and 2P-1-r. From the block layout
/// (device r: chunks 2r, 2r+1), Q, K and V move in (their even and odd
/// chunks are two permutations), the output back. Step 0 attends the two
/// own chunks (causal within each, the later one to all of the earlier);
/// at step s > 0 the keys are device j = r - s's chunks (j, 2P-1-j): the
/// later query chunk sees all of chunk j, and the earlier query chunk sees
/// it too when j < r, else the later one sees chunk 2P-1-j -- two c x c
/// blocks on every device at every step.
FailureOr<Value> buildZigzagAttention(Maker &m, graph::AttentionOp op, Value q, Value k, Value v,
                                      Value position, int64_t parts, FlatSymbolRefAttr meshRef,
                                      ArrayAttr group, Type acc, Value scale) {
  OpBuilder &b = m.b;
  auto qType = cast<RankedTensorType>(q.getType());
  int64_t rank = qType.getRank(), seq = rank - 2;
  int64_t c = qType.getDimSize(seq) / 2;
  auto halves = [&](Value x, int64_t axis) -> std::pair<Value, Value> {
    int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(axis);
    Operation *split = graph::createInferred(
        b, m.loc, graph::SplitOp::getOperationName(), {x},
        {b.getNamedAttr("axis", b.getI64IntegerAttr(axis)),
         b.getNamedAttr("split", b.getDenseI64ArrayAttr({n / 2, n / 2}))});
    return {split->getResult(0), split->getResult(1)};
  };
  auto concat = [&](Value x, Value y, int64_t axis) {
    return m.op<graph::ConcatOp>({x, y}, {b.getNamedAttr("axis", b.getI64IntegerAttr(axis))});
  };
  auto [evenTo, oddTo, evenBack, oddBack] = zigzagTables(parts);
  Value odd = m.op<graph::EqualOp>({m.op<graph::ModOp>({position, m.i64(2)}), m.i64(1)});
  auto select = [&](Value cond, Value x, Value y) { return m.op<graph::WhereOp>({cond, x, y}); };
  // Block layout -> this device's (chunk r, chunk 2P-1-r).
  auto toZigzag = [&](Value x, int64_t axis) -> std::pair<Value, Value> {
    auto [even, oddHalf] = halves(x, axis);
    Value e = permuteByTable(m, even, evenTo, position, meshRef, group);
    Value o = permuteByTable(m, oddHalf, oddTo, position, meshRef, group);
    return {select(odd, o, e), select(odd, e, o)};
  };
  auto [qa, qb] = toZigzag(q, seq);
  auto [ka, kb] = toZigzag(k, seq);
  auto [va, vb] = toZigzag(v, seq);
  SmallVector<int64_t> perm(rank);
  for (int64_t d = 0; d < rank; ++d)
    perm[d] = d;
  std::swap(perm[rank - 2], perm[rank - 1]);
  auto transpose = [&](Value x) {
    return m.op<graph::TransposeOp>({x}, {b.getNamedAttr("perm", b.getDenseI64ArrayAttr(perm))});
  };
  // The keys travel as one block: K^T [.., d, 2c] and V [.., 2c, d].
  Value kt = concat(transpose(ka), transpose(kb), rank - 1);
  Value vv = concat(va, vb, seq);
  Value zero = m.i64(0);
  Value diag = causalBlockMask(m, zero, zero, c, c, 0, acc);
  Value laterToBoth = causalBlockMask(m, m.i64(c), zero, c, 2 * c, 0, acc);
  BlockResult a = attendBlock(m, qa, transpose(ka), va, scale, diag, acc);
  BlockResult bRes = attendBlock(m, qb, kt, vv, scale, laterToBoth, acc);
  for (int64_t s = 1; s < parts; ++s) {
    kt = collectives::CollectivePermuteOp::create(b, m.loc, kt.getType(), kt, meshRef, group,
                                                  b.getI64IntegerAttr(1));
    vv = collectives::CollectivePermuteOp::create(b, m.loc, vv.getType(), vv, meshRef, group,
                                                  b.getI64IntegerAttr(1));
    auto [kta, ktb] = halves(kt, rank - 1);
    auto [vja, vjb] = halves(vv, seq);
    // Later queries see all of the earlier key chunk j.
    bRes = mergeBlocks(m, bRes, attendBlock(m, qb, kta, vja, scale, Value(), acc), acc);
    // j < r (s <= r): earlier queries see chunk j; else later queries see
    // chunk 2P-1-j.
    Value early = m.op<graph::LessOrEqualOp>({m.i64(s), position});
    BlockResult x = attendBlock(m, select(early, qa, qb), select(early, kta, ktb),
                                select(early, vja, vjb), scale, Value(), acc);
    BlockResult intoA = mergeBlocks(m, a, x, acc), intoB = mergeBlocks(m, bRes, x, acc);
    a = {select(early, intoA.out, a.out), select(early, intoA.lse, a.lse)};
    bRes = {select(early, bRes.out, intoB.out), select(early, bRes.lse, intoB.lse)};
  }
  if (!a.out || !bRes.out)
    return op.emitError() << "cannot build the zigzag ring attention";
  // Back to the block layout: the even chunk to its block's first half,
  // the odd one to the second.
  Value even = select(odd, bRes.out, a.out), oddChunk = select(odd, a.out, bRes.out);
  return concat(permuteByTable(m, even, evenBack, position, meshRef, group),
                permuteByTable(m, oddChunk, oddBack, position, meshRef, group), seq);
}

} // namespace

FailureOr<Value> buildAttentionForm(OpBuilder &b, graph::AttentionOp op, ValueRange operands,
                                    const AttentionChoice &choice, FlatSymbolRefAttr meshRef,
                                    MeshAttr mesh) {
  bool ring = choice.form == AttentionForm::Ring || choice.form == AttentionForm::Zigzag;
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
  if (choice.form == AttentionForm::Zigzag) {
    FailureOr<Value> out =
        buildZigzagAttention(m, op, q, k, v, position, parts, meshRef, group, acc,
                             m.scalar(acc, op.getScale().convertToDouble()));
    return failed(out) ? out : FailureOr<Value>(m.cast(*out, outElt));
  }
  SmallVector<int64_t> perm(rank);
  for (int64_t d = 0; d < rank; ++d)
    perm[d] = d;
  std::swap(perm[rank - 2], perm[rank - 1]);
  Value kt = m.op<graph::TransposeOp>({k}, {b.getNamedAttr("perm", b.getDenseI64ArrayAttr(perm))});
  Value scale = m.scalar(acc, op.getScale().convertToDouble());
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
    Value blockMask;
    if (mask) {
      auto maskType = cast<RankedTensorType>(mask.getType());
      int64_t last = maskType.getRank() - 1;
      blockMask = mask;
      if (maskType.getDimSize(last) != 1)
        blockMask = m.op<graph::GatherOp>(
            {mask, m.op<graph::AddOp>({m.iota(skLocal, {skLocal}), kOffset})},
            {b.getNamedAttr("axis", b.getI64IntegerAttr(last))});
    }
    if (op.getCausal()) {
      Value causal = causalBlockMask(m, qOffset, kOffset, sqLocal, skLocal, shift, acc);
      blockMask = blockMask ? m.op<graph::AddOp>({blockMask, causal}) : causal;
    }
    BlockResult result = attendBlock(m, q, kt, v, scale, blockMask, acc);
    if (s == 0) {
      out = result.out;
      lse = result.lse;
      continue;
    }
    BlockResult merged = mergeBlocks(m, {out, lse}, result, acc);
    out = merged.out;
    lse = merged.lse;
    if (!out || !lse)
      break;
  }
  if (!out || !lse)
    return op.emitError() << "cannot build the ring attention";
  return m.cast(out, outElt);
}

} // namespace partita::sequence
