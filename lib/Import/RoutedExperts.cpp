//===- RoutedExperts.cpp - per-expert NonZero routing into MoE ops --------===//
//
// The rewrite in four steps (see RoutedExperts.h for the pattern):
//   1. per NonZero, a Branch: which expert its mask selects, the token and
//      slot vectors it yields, the FFN between the gathered tokens and the
//      weighting Mul, and the scatter that adds the result into the sum;
//   2. branches sharing top-k indices, tokens and gate weights form a
//      Block, whose scatters chain the running sum over every expert;
//   3. the nodes between the NonZeros and the block's sum are replaced
//      (every other value they compute must be unused outside it);
//   4. MoeDispatch, the FFN of expert 0 cloned over stacked weights, and
//      MoeCombine are appended.
// Each check that fails says why; the first such reason is the NonZero's
// diagnostic.
//
//===----------------------------------------------------------------------===//

#include "RoutedExperts.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <map>
#include <set>

using namespace mlir;

namespace partita::import {
namespace {

constexpr size_t kNone = ~size_t(0);

/// A node the rewrite creates, with integer attributes only.
class SyntheticNode : public NodeView {
public:
  SyntheticNode(std::string op, std::vector<std::string> ins,
                std::vector<std::string> outs)
      : op(std::move(op)), ins(std::move(ins)), outs(std::move(outs)) {
    nm = this->outs.front();
  }
  SyntheticNode &set(StringRef attr, int64_t v) {
    scalars[attr] = v;
    return *this;
  }
  SyntheticNode &set(StringRef attr, std::vector<int64_t> v) {
    lists[attr] = std::move(v);
    return *this;
  }

  StringRef opType() const override { return op; }
  StringRef domain() const override { return ""; }
  StringRef name() const override { return nm; }
  const std::vector<std::string> &inputs() const override { return ins; }
  const std::vector<std::string> &outputs() const override { return outs; }
  bool hasAttr(StringRef n) const override {
    return scalars.count(n) || lists.count(n);
  }
  std::vector<std::string> attrNames() const override {
    std::vector<std::string> names;
    for (auto &s : scalars)
      names.push_back(s.getKey().str());
    for (auto &l : lists)
      names.push_back(l.getKey().str());
    return names;
  }
  std::optional<int64_t> getInt(StringRef n) const override {
    auto it = scalars.find(n);
    return it == scalars.end() ? std::nullopt : std::optional<int64_t>(it->second);
  }
  std::optional<std::vector<int64_t>> getInts(StringRef n) const override {
    auto it = lists.find(n);
    return it == lists.end() ? std::nullopt
                             : std::optional<std::vector<int64_t>>(it->second);
  }
  std::optional<double> getFloat(StringRef) const override { return std::nullopt; }
  std::optional<std::string> getString(StringRef) const override {
    return std::nullopt;
  }
  std::optional<std::vector<double>> getFloats(StringRef) const override {
    return std::nullopt;
  }
  std::optional<ElementsAttr> getTensor(StringRef, MLIRContext *,
                                        Location) const override {
    return std::nullopt;
  }

private:
  std::string op, nm;
  std::vector<std::string> ins, outs;
  llvm::StringMap<int64_t> scalars;
  llvm::StringMap<std::vector<int64_t>> lists;
};

/// A source node with new inputs and outputs (its op and attributes kept).
class RewiredNode : public NodeView {
public:
  RewiredNode(std::unique_ptr<NodeView> original, std::vector<std::string> ins,
              std::vector<std::string> outs)
      : orig(std::move(original)), ins(std::move(ins)), outs(std::move(outs)) {}
  StringRef opType() const override { return orig->opType(); }
  StringRef domain() const override { return orig->domain(); }
  StringRef name() const override { return orig->name(); }
  const std::vector<std::string> &inputs() const override { return ins; }
  const std::vector<std::string> &outputs() const override { return outs; }
  bool hasAttr(StringRef n) const override { return orig->hasAttr(n); }
  std::vector<std::string> attrNames() const override { return orig->attrNames(); }
  std::optional<int64_t> getInt(StringRef n) const override { return orig->getInt(n); }
  std::optional<double> getFloat(StringRef n) const override {
    return orig->getFloat(n);
  }
  std::optional<std::string> getString(StringRef n) const override {
    return orig->getString(n);
  }
  std::optional<std::vector<int64_t>> getInts(StringRef n) const override {
    return orig->getInts(n);
  }
  std::optional<std::vector<double>> getFloats(StringRef n) const override {
    return orig->getFloats(n);
  }
  std::optional<ElementsAttr> getTensor(StringRef n, MLIRContext *ctx,
                                        Location loc) const override {
    return orig->getTensor(n, ctx, loc);
  }

private:
  std::unique_ptr<NodeView> orig;
  std::vector<std::string> ins, outs;
};

/// Ops an expert FFN may contain besides MatMul/Gemm: each acts on every
/// row (token) alone, so it computes the same on the stacked [E, C, F]
/// buffers as on one expert's [n, F] rows.
bool isRowwise(StringRef op) {
  static const llvm::StringSet<> ops = {
      "Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Log", "Neg", "Abs", "Sqrt",
      "Reciprocal", "Softplus", "Softsign", "Gelu", "Elu", "Selu", "Celu",
      "LeakyRelu", "HardSigmoid", "HardSwish", "Mish", "Cast", "Identity",
      "Sin", "Cos", "Clip", "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min",
      "PRelu"};
  return ops.contains(op);
}

/// Index and shape arithmetic the exporters emit around the routing.
bool isIndexHelper(StringRef op) {
  static const llvm::StringSet<> ops = {
      "Transpose", "Split", "Squeeze", "Unsqueeze", "Gather", "Reshape",
      "Shape", "Concat", "Mul", "Add", "Sub", "Div", "Flatten", "Expand",
      "Cast", "Slice", "ConstantOfShape", "Constant", "Identity", "Range"};
  return ops.contains(op);
}

/// Producers, users and constants of the graph being rewritten.
class GraphIndex {
public:
  GraphIndex(MLIRContext &ctx, GraphDesc &g, const std::vector<size_t> &order)
      : ctx(ctx), g(g), pos(g.nodes.size()) {
    for (auto [p, i] : llvm::enumerate(order))
      pos[i] = p;
    for (auto &c : g.constants)
      initializers[c.name] = c.value;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      for (const std::string &o : g.nodes[i]->outputs())
        if (!o.empty())
          producer[o] = i;
      for (const std::string &in : g.nodes[i]->inputs())
        if (!in.empty())
          users[in].push_back(i);
    }
  }

  const NodeView &node(size_t i) const { return *g.nodes[i]; }
  size_t defIndex(StringRef v) const {
    auto it = producer.find(v);
    return it == producer.end() ? kNone : it->second;
  }
  const NodeView *def(StringRef v) const {
    size_t i = defIndex(v);
    return i == kNone ? nullptr : g.nodes[i].get();
  }
  bool defIs(StringRef v, StringRef op) const {
    const NodeView *d = def(v);
    return d && d->opType() == op;
  }
  ArrayRef<size_t> usersOf(StringRef v) const {
    auto it = users.find(v);
    return it == users.end() ? ArrayRef<size_t>() : ArrayRef<size_t>(it->second);
  }
  /// The one user of `v`, or kNone.
  size_t soleUser(StringRef v) const {
    ArrayRef<size_t> u = usersOf(v);
    return u.size() == 1 ? u.front() : kNone;
  }
  std::string stripCasts(std::string v) const {
    while (const NodeView *d = def(v)) {
      if ((d->opType() != "Cast" && d->opType() != "Identity") || d->inputs().empty())
        break;
      v = d->inputs().front();
    }
    return v;
  }
  bool isConstant(StringRef v) const {
    return initializers.count(v) || defIs(v, "Constant");
  }
  /// The value of a constant (initializer or Constant node), else null.
  ElementsAttr constant(StringRef v) const {
    auto it = initializers.find(v);
    if (it != initializers.end())
      return it->second;
    const NodeView *d = def(v);
    if (!d || d->opType() != "Constant")
      return {};
    ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
    Builder b(&ctx);
    if (auto t = d->getTensor("value", &ctx, UnknownLoc::get(&ctx)))
      return *t;
    if (auto i = d->getInt("value_int"))
      return DenseElementsAttr::get(RankedTensorType::get({}, b.getI64Type()),
                                    ArrayRef<int64_t>(*i));
    if (auto is = d->getInts("value_ints"))
      return DenseElementsAttr::get(
          RankedTensorType::get({int64_t(is->size())}, b.getI64Type()),
          ArrayRef<int64_t>(*is));
    if (auto f = d->getFloat("value_float")) {
      float x = *f;
      return DenseElementsAttr::get(RankedTensorType::get({}, b.getF32Type()),
                                    ArrayRef<float>(x));
    }
    return {};
  }
  /// The integers of a constant, if it is one with integer elements.
  std::optional<SmallVector<int64_t>> constInts(StringRef v) const {
    auto d = dyn_cast_or_null<DenseIntElementsAttr>(constant(v));
    if (!d)
      return std::nullopt;
    SmallVector<int64_t> out;
    for (const APInt &x : d.getValues<APInt>())
      out.push_back(x.getSExtValue());
    return out;
  }
  std::optional<int64_t> constInt(StringRef v) const {
    auto is = constInts(v);
    if (!is || is->size() != 1)
      return std::nullopt;
    return is->front();
  }
  /// Every element of a constant is 0 (float or integer).
  bool isZeroConstant(StringRef v) const {
    auto d = dyn_cast_or_null<DenseElementsAttr>(constant(v));
    if (!d)
      return false;
    if (auto f = dyn_cast<DenseFPElementsAttr>(d))
      return llvm::all_of(f.getValues<APFloat>(), [](APFloat x) { return x.isZero(); });
    if (auto i = dyn_cast<DenseIntElementsAttr>(d))
      return llvm::all_of(i.getValues<APInt>(), [](APInt x) { return x.isZero(); });
    return false;
  }
  /// An axes list given as attribute or as constant input `i` of node `n`.
  std::optional<SmallVector<int64_t>> axesOf(const NodeView &n, unsigned i) const {
    if (auto a = n.getInts("axes"))
      return SmallVector<int64_t>(a->begin(), a->end());
    if (n.inputs().size() > i && !n.inputs()[i].empty())
      return constInts(n.inputs()[i]);
    return std::nullopt;
  }
  /// Whether `v` is computed from any of `targets` (walking producers).
  bool dependsOn(StringRef v, const llvm::StringSet<> &targets) const {
    llvm::StringSet<> seen;
    SmallVector<std::string> stack = {v.str()};
    while (!stack.empty()) {
      std::string x = stack.pop_back_val();
      if (targets.contains(x))
        return true;
      if (!seen.insert(x).second)
        continue;
      if (const NodeView *d = def(x))
        for (const std::string &in : d->inputs())
          if (!in.empty())
            stack.push_back(in);
    }
    return false;
  }
  bool isGraphOutput(StringRef v) const { return llvm::is_contained(g.outputs, v); }

  MLIRContext &ctx;
  GraphDesc &g;
  std::vector<size_t> pos; ///< node index -> topological position
  llvm::StringMap<size_t> producer;
  llvm::StringMap<SmallVector<size_t>> users;
  llvm::StringMap<ElementsAttr> initializers;
};

/// One expert's routed computation (one NonZero).
struct Branch {
  size_t nonzero = kNone;
  int64_t expert = -1;
  int64_t numExperts = -1; ///< from OneHot's depth; -1 under Equal masks
  std::string indices;     ///< [T, k] top-k expert indices
  int tokenRow = 0;        ///< the NonZero row holding token positions
  std::vector<std::string> rows[2]; ///< the [n] vectors of each row
  std::string tokens;      ///< [T, H]
  std::string input;       ///< tokens[t], the FFN's input
  std::vector<size_t> ffn; ///< the FFN's nodes, topologically ordered
  std::string output;      ///< the FFN's output
  size_t weighting = kNone;
  std::string routeWeight; ///< weights[t, slot], the weighting's other operand
  std::string gateWeights; ///< [T, k] weights routeWeight is gathered from
  size_t scatter = kNone;
  size_t accAdd = kNone;   ///< the Add after a reduction-free scatter
  std::string accIn, accOut;
};

class Rewriter {
public:
  Rewriter(MLIRContext &ctx, GraphDesc &g, const std::vector<size_t> &order)
      : ix(ctx, g, order), g(g) {}

  LogicalResult run();

private:
  bool analyze(Branch &b, std::string &why);
  bool analyzeMask(Branch &b, std::string &why);
  bool extractRows(Branch &b, std::string &why);
  bool findInput(Branch &b, std::string &why);
  bool findFfn(Branch &b, std::string &why);
  bool findGateWeights(Branch &b, std::string &why);
  bool findScatter(Branch &b, std::string &why);
  bool rewriteBlock(std::vector<Branch *> block, std::string &why);
  std::string uniqueName(std::string name);
  std::string starName(StringRef a, StringRef b);

  GraphIndex ix;
  GraphDesc &g;
  llvm::StringSet<> created;
  std::vector<std::unique_ptr<NodeView>> added;
  llvm::DenseSet<size_t> removed;
  std::vector<size_t> addedSource;
};

bool Rewriter::analyzeMask(Branch &b, std::string &why) {
  const NodeView &nz = ix.node(b.nonzero);
  std::string mask = ix.stripCasts(nz.inputs().front());
  const NodeView *d = ix.def(mask);
  if (d && d->opType() == "Equal" && d->inputs().size() == 2) {
    for (int side = 0; side < 2; ++side)
      if (auto e = ix.constInt(ix.stripCasts(d->inputs()[side]))) {
        b.expert = *e;
        b.indices = d->inputs()[1 - side];
        b.tokenRow = 0; // the mask is [T, k]
        return true;
      }
  }
  if (d && d->opType() == "Gather" && d->inputs().size() == 2) {
    auto e = ix.constInt(d->inputs()[1]);
    int64_t axis = d->getInt("axis").value_or(0);
    std::string src = d->inputs()[0];
    SmallVector<int64_t> perm = {0, 1, 2};
    if (const NodeView *t = ix.def(src); t && t->opType() == "Transpose") {
      auto p = t->getInts("perm");
      if (!p || p->size() != 3) {
        why = "the mask's transpose is not of a [tokens, k, experts] one-hot";
        return false;
      }
      perm.assign(p->begin(), p->end());
      src = t->inputs().front();
    }
    const NodeView *oh = ix.def(src);
    if (e && oh && oh->opType() == "OneHot" && oh->inputs().size() == 3) {
      int64_t ohAxis = oh->getInt("axis").value_or(-1);
      auto depth = ix.constInt(oh->inputs()[1]);
      auto values = ix.constInts(oh->inputs()[2]);
      if (axis < 0)
        axis += 3;
      if ((ohAxis != -1 && ohAxis != 2) || !depth || axis < 0 || axis > 2 ||
          perm[axis] != 2) {
        why = "the mask does not select one expert of a one-hot over the experts";
        return false;
      }
      if (auto f = dyn_cast_or_null<DenseFPElementsAttr>(ix.constant(oh->inputs()[2]))) {
        auto v = llvm::to_vector(f.getValues<APFloat>());
        if (v.size() != 2 || !v[0].isZero() || v[1].convertToDouble() != 1.0) {
          why = "the one-hot's values are not {0, 1}";
          return false;
        }
      } else if (!values || values->size() != 2 || (*values)[0] != 0 ||
                 (*values)[1] != 1) {
        why = "the one-hot's values are not {0, 1}";
        return false;
      }
      b.expert = *e;
      b.numExperts = *depth;
      b.indices = oh->inputs()[0];
      SmallVector<int64_t> kept;
      for (int64_t x = 0; x < 3; ++x)
        if (x != axis)
          kept.push_back(perm[x]);
      b.tokenRow = kept[0] == 0 ? 0 : 1;
      return true;
    }
  }
  why = "its input is not a mask of top-k expert indices (one expert of a "
        "OneHot, or Equal with a constant expert)";
  return false;
}

bool Rewriter::extractRows(Branch &b, std::string &why) {
  std::string z = ix.node(b.nonzero).outputs().front();
  auto takeSqueezed = [&](int row, const std::string &v, int64_t axis) {
    for (size_t u : ix.usersOf(v)) {
      const NodeView &s = ix.node(u);
      auto axes = ix.axesOf(s, 1);
      if (s.opType() != "Squeeze" || !axes || axes->size() != 1 ||
          ((*axes)[0] != axis && (*axes)[0] != axis - 2))
        return false;
      b.rows[row].push_back(s.outputs().front());
    }
    return true;
  };
  auto takeSplit = [&](const NodeView &s, int64_t axis) {
    if (s.outputs().size() != 2 || s.getInt("axis").value_or(0) != axis)
      return false;
    return takeSqueezed(0, s.outputs()[0], axis) && takeSqueezed(1, s.outputs()[1], axis);
  };
  auto takeGather = [&](const NodeView &s, int64_t axis) {
    auto r = ix.constInt(s.inputs().size() > 1 ? s.inputs()[1] : "");
    if (s.getInt("axis").value_or(0) != axis || !r || *r < 0 || *r > 1)
      return false;
    b.rows[*r].push_back(s.outputs().front());
    return true;
  };
  for (size_t u : ix.usersOf(z)) {
    const NodeView &n = ix.node(u);
    bool ok = false;
    if (n.opType() == "Transpose") {
      auto p = n.getInts("perm");
      ok = p && *p == std::vector<int64_t>{1, 0};
      for (size_t w : ix.usersOf(n.outputs().front())) {
        const NodeView &m = ix.node(w);
        ok = ok && ((m.opType() == "Split" && takeSplit(m, 1)) ||
                    (m.opType() == "Gather" && takeGather(m, 1)));
      }
    } else if (n.opType() == "Split") {
      ok = takeSplit(n, 0);
    } else if (n.opType() == "Gather") {
      ok = takeGather(n, 0);
    }
    if (!ok) {
      why = "its result is not split into the (slot, token) index vectors";
      return false;
    }
  }
  if (b.rows[0].empty() || b.rows[1].empty()) {
    why = "its result is not split into the (slot, token) index vectors";
    return false;
  }
  return true;
}

bool Rewriter::findInput(Branch &b, std::string &why) {
  for (const std::string &tok : b.rows[b.tokenRow])
    for (size_t u : ix.usersOf(tok)) {
      const NodeView &n = ix.node(u);
      if (n.opType() != "Gather" || n.inputs().size() != 2 || n.inputs()[1] != tok)
        continue;
      std::string data = n.inputs()[0], v = n.outputs().front();
      int64_t axis = n.getInt("axis").value_or(0);
      std::string tokens;
      if (axis == 0) {
        tokens = data;
      } else if (axis == 1) {
        const NodeView *un = ix.def(data);
        auto axes = un && un->opType() == "Unsqueeze" ? ix.axesOf(*un, 1) : std::nullopt;
        if (!axes || *axes != SmallVector<int64_t>{0})
          continue;
        tokens = un->inputs().front();
        size_t r = ix.soleUser(v);
        if (r == kNone || ix.node(r).opType() != "Reshape")
          continue;
      } else {
        continue;
      }
      size_t r = ix.soleUser(v);
      if (r != kNone && ix.node(r).opType() == "Reshape")
        v = ix.node(r).outputs().front();
      if (!b.input.empty()) {
        why = "the routed tokens are gathered more than once";
        return false;
      }
      b.tokens = tokens;
      b.input = v;
    }
  if (b.input.empty()) {
    why = "no gather of the tokens by the routed token positions";
    return false;
  }
  return true;
}

bool Rewriter::findFfn(Branch &b, std::string &why) {
  llvm::StringSet<> inSub = {b.input};
  std::set<std::pair<size_t, size_t>> work; // (position, node)
  auto pushUsers = [&](StringRef v) {
    for (size_t u : ix.usersOf(v))
      work.insert({ix.pos[u], u});
  };
  pushUsers(b.input);
  std::set<size_t> exits, seen;
  while (!work.empty()) {
    size_t n = work.begin()->second;
    work.erase(work.begin());
    if (!seen.insert(n).second)
      continue;
    const NodeView &node = ix.node(n);
    bool other = false;
    for (const std::string &in : node.inputs())
      if (!in.empty() && !inSub.contains(in) && !ix.isConstant(in))
        other = true;
    if (other) {
      exits.insert(n);
      continue;
    }
    b.ffn.push_back(n);
    for (const std::string &o : node.outputs())
      if (!o.empty()) {
        inSub.insert(o);
        pushUsers(o);
      }
  }
  if (exits.size() != 1) {
    why = "the expert's computation does not end in one weighting by the gate";
    return false;
  }
  size_t mul = *exits.begin();
  const NodeView &m = ix.node(mul);
  if (m.opType() != "Mul" || m.inputs().size() != 2 ||
      inSub.contains(m.inputs()[0]) == inSub.contains(m.inputs()[1])) {
    why = "the expert's output is not multiplied by its gate weight";
    return false;
  }
  int side = inSub.contains(m.inputs()[0]) ? 0 : 1;
  b.output = m.inputs()[side];
  b.routeWeight = m.inputs()[1 - side];
  b.weighting = mul;
  for (size_t n : b.ffn)
    for (const std::string &o : ix.node(n).outputs())
      for (size_t u : ix.usersOf(o))
        if (u != mul && !llvm::is_contained(b.ffn, u)) {
          why = "a value of the expert's computation is used outside it";
          return false;
        }
  if (llvm::count_if(ix.usersOf(b.output), [&](size_t u) { return u == mul; }) !=
      (ptrdiff_t)ix.usersOf(b.output).size()) {
    why = "the expert's output is used besides its weighting";
    return false;
  }
  if (llvm::none_of(b.ffn, [&](size_t n) {
        StringRef op = ix.node(n).opType();
        return op == "MatMul" || op == "Gemm";
      })) {
    why = "the routed computation has no matrix product (not an expert FFN)";
    return false;
  }
  return true;
}

bool Rewriter::findGateWeights(Branch &b, std::string &why) {
  // The gate weights follow the top-k values that chose `indices`: the
  // values themselves, cast, renormalized by their sum, scaled.
  std::string idx = ix.stripCasts(b.indices);
  size_t topk = ix.defIndex(idx);
  if (topk == kNone || ix.node(topk).opType() != "TopK" ||
      ix.node(topk).outputs().size() < 2 || ix.node(topk).outputs()[1] != idx) {
    why = "the expert indices are not the indices of a TopK";
    return false;
  }
  std::vector<std::string> candidates = {ix.node(topk).outputs()[0]};
  for (size_t c = 0; c < candidates.size() && candidates.size() < 64; ++c)
    for (size_t u : ix.usersOf(candidates[c])) {
      const NodeView &n = ix.node(u);
      StringRef op = n.opType();
      bool keep = op == "Cast" || op == "Identity" || op == "Softmax";
      if (op == "Div" || op == "Mul")
        keep = n.inputs()[0] == candidates[c] &&
               (ix.isConstant(n.inputs()[1]) ||
                (op == "Div" && ix.defIs(n.inputs()[1], "ReduceSum") &&
                 ix.def(n.inputs()[1])->inputs()[0] == candidates[c]));
      if (keep && !llvm::is_contained(candidates, n.outputs().front()))
        candidates.push_back(n.outputs().front());
    }
  for (const std::string &c : llvm::reverse(candidates))
    if (ix.dependsOn(b.routeWeight, {c})) {
      b.gateWeights = c;
      break;
    }
  llvm::StringSet<> tok, slot;
  for (auto &v : b.rows[b.tokenRow])
    tok.insert(v);
  for (auto &v : b.rows[1 - b.tokenRow])
    slot.insert(v);
  if (b.gateWeights.empty() || !ix.dependsOn(b.routeWeight, tok) ||
      !ix.dependsOn(b.routeWeight, slot)) {
    why = "the expert's weighting is not the top-k gate weight of each routed token";
    return false;
  }
  return true;
}

bool Rewriter::findScatter(Branch &b, std::string &why) {
  // Through casts and expands to its own shape (index_add's export); the
  // Shape ops reading the update are index arithmetic.
  auto soleDataUser = [&](StringRef v) {
    size_t one = kNone;
    for (size_t u : ix.usersOf(v))
      if (ix.node(u).opType() != "Shape")
        one = one == kNone ? u : kNone - 1;
    return one == kNone - 1 ? kNone : one;
  };
  std::string v = ix.node(b.weighting).outputs().front();
  for (size_t u; (u = soleDataUser(v)) != kNone;) {
    const NodeView &n = ix.node(u);
    if (n.opType() != "Cast" && !(n.opType() == "Expand" && n.inputs()[0] == v))
      break;
    v = n.outputs().front();
  }
  size_t s = soleDataUser(v);
  const NodeView *sc = s == kNone ? nullptr : &ix.node(s);
  llvm::StringSet<> tok;
  for (auto &t : b.rows[b.tokenRow])
    tok.insert(t);
  if (!sc || (sc->opType() != "ScatterElements" && sc->opType() != "ScatterND") ||
      sc->inputs().size() != 3 || sc->inputs()[2] != v ||
      !ix.dependsOn(sc->inputs()[1], tok)) {
    why = "the weighted expert output is not scattered back to its tokens";
    return false;
  }
  std::string reduction = sc->getString("reduction").value_or("none");
  int64_t axis = sc->getInt("axis").value_or(0);
  if (sc->opType() == "ScatterElements" && axis != 0 && axis != -2) {
    why = "the scatter back to the tokens is not along the token axis";
    return false;
  }
  b.scatter = s;
  if (reduction == "add") {
    b.accIn = sc->inputs()[0];
    b.accOut = sc->outputs().front();
    return true;
  }
  size_t add = ix.soleUser(sc->outputs().front());
  if (reduction != "none" || !ix.isZeroConstant(sc->inputs()[0]) || add == kNone ||
      ix.node(add).opType() != "Add") {
    why = "the scattered expert output is not added into a running sum";
    return false;
  }
  const NodeView &a = ix.node(add);
  b.accAdd = add;
  b.accIn = a.inputs()[0] == sc->outputs().front() ? a.inputs()[1] : a.inputs()[0];
  b.accOut = a.outputs().front();
  return true;
}

bool Rewriter::analyze(Branch &b, std::string &why) {
  return analyzeMask(b, why) && extractRows(b, why) && findInput(b, why) &&
         findFfn(b, why) && findGateWeights(b, why) && findScatter(b, why);
}

std::string Rewriter::uniqueName(std::string name) {
  std::string n = name;
  for (int k = 1; ix.producer.count(n) || ix.initializers.count(n) ||
                  created.contains(n);
       ++k)
    n = name + "#" + std::to_string(k);
  created.insert(n);
  return n;
}

/// `a` with the part where it differs from `b` replaced by '*'
/// ("experts.0/w1" and "experts.1/w1" give "experts.*/w1").
std::string Rewriter::starName(StringRef a, StringRef b) {
  if (b.empty() || a == b)
    return a.str();
  size_t p = 0;
  while (p < a.size() && p < b.size() && a[p] == b[p])
    ++p;
  size_t s = 0;
  while (s < a.size() - p && s < b.size() - p &&
         a[a.size() - 1 - s] == b[b.size() - 1 - s])
    ++s;
  return (a.substr(0, p) + "*" + a.substr(a.size() - s)).str();
}

bool Rewriter::rewriteBlock(std::vector<Branch *> block, std::string &why) {
  // Experts 0..E-1, each once, chained through the running sum.
  llvm::sort(block, [](Branch *x, Branch *y) { return x->expert < y->expert; });
  int64_t numExperts = block.front()->numExperts;
  if (numExperts < 0)
    numExperts = block.size();
  for (auto [e, b] : llvm::enumerate(block))
    if (b->expert != int64_t(e) || (b->numExperts >= 0 && b->numExperts != numExperts)) {
      why = "the block does not route to each of its experts exactly once";
      return false;
    }
  if (int64_t(block.size()) != numExperts) {
    why = "the block routes to " + std::to_string(block.size()) + " of its " +
          std::to_string(numExperts) + " experts";
    return false;
  }
  llvm::StringMap<Branch *> byAccIn;
  llvm::StringSet<> accOuts;
  for (Branch *b : block) {
    byAccIn[b->accIn] = b;
    accOuts.insert(b->accOut);
  }
  Branch *first = nullptr;
  for (Branch *b : block)
    if (!accOuts.contains(b->accIn))
      first = first ? nullptr : b;
  std::string sum;
  size_t chained = 0;
  for (Branch *b = first; b; b = byAccIn.lookup(b->accOut)) {
    sum = b->accOut;
    if (++chained > block.size())
      break;
  }
  if (!first || chained != block.size()) {
    why = "the experts' outputs are not summed in one chain";
    return false;
  }
  std::string acc0 = first->accIn;

  // The nodes replaced: those computed from the NonZeros up to the sum.
  // Every node computed from `seeds` (themselves included).
  auto downstream = [&](std::vector<size_t> stack) {
    llvm::DenseSet<size_t> seen;
    while (!stack.empty()) {
      size_t n = stack.back();
      stack.pop_back();
      if (!seen.insert(n).second)
        continue;
      for (const std::string &o : ix.node(n).outputs())
        for (size_t u : ix.usersOf(o))
          stack.push_back(u);
    }
    return seen;
  };
  std::vector<size_t> nonzeros;
  for (Branch *b : block)
    nonzeros.push_back(b->nonzero);
  llvm::DenseSet<size_t> desc = downstream(nonzeros), anc;
  ArrayRef<size_t> sumUsers = ix.usersOf(sum);
  llvm::DenseSet<size_t> afterSum = downstream({sumUsers.begin(), sumUsers.end()});
  std::vector<size_t> stack = {ix.defIndex(sum)};
  while (!stack.empty()) {
    size_t n = stack.back();
    stack.pop_back();
    if (n == kNone || !desc.contains(n) || !anc.insert(n).second)
      continue;
    for (const std::string &in : ix.node(n).inputs())
      if (!in.empty())
        stack.push_back(ix.defIndex(in));
  }
  llvm::DenseSet<size_t> known;
  for (Branch *b : block) {
    known.insert(b->ffn.begin(), b->ffn.end());
    for (size_t n : {b->nonzero, b->weighting, b->scatter})
      known.insert(n);
    if (b->accAdd != kNone)
      known.insert(b->accAdd);
  }
  for (size_t n : desc) {
    const NodeView &node = ix.node(n);
    if (!anc.contains(n) && !afterSum.contains(n)) {
      why = "'" + node.outputs().front() + "' (" + node.opType().str() +
            ") depends on the routing but does not feed the experts' sum";
      return false;
    }
    if (anc.contains(n) && !known.contains(n) && !isIndexHelper(node.opType())) {
      why = "op " + node.opType().str() + " in node '" + node.name().str() +
            "' is part of the routing";
      return false;
    }
    if (anc.contains(n))
      for (const std::string &o : node.outputs())
        if (o != sum && ix.isGraphOutput(o)) {
          why = "graph output '" + o + "' is computed inside the routing";
          return false;
        }
  }

  // Expert 0's FFN is the template; the others must match it node for
  // node, differing only in constants (their weights).
  Branch &t = *block.front();
  using Slot = std::pair<size_t, size_t>; // (FFN position, input)
  std::map<Slot, std::vector<std::string>> params;
  for (Branch *b : block) {
    if (b->ffn.size() != t.ffn.size()) {
      why = "expert " + std::to_string(b->expert) + "'s FFN differs from expert 0's";
      return false;
    }
    llvm::StringMap<std::string> map = {{t.input, b->input}};
    for (size_t i = 0; i < t.ffn.size(); ++i) {
      const NodeView &tn = ix.node(t.ffn[i]), &bn = ix.node(b->ffn[i]);
      bool same = tn.opType() == bn.opType() && tn.inputs().size() == bn.inputs().size() &&
                  tn.outputs().size() == bn.outputs().size() &&
                  tn.attrNames() == bn.attrNames();
      for (const std::string &a : tn.attrNames())
        same = same && tn.getInt(a) == bn.getInt(a) && tn.getInts(a) == bn.getInts(a) &&
               tn.getFloat(a) == bn.getFloat(a) && tn.getFloats(a) == bn.getFloats(a) &&
               tn.getString(a) == bn.getString(a);
      for (size_t j = 0; same && j < tn.inputs().size(); ++j) {
        const std::string &ti = tn.inputs()[j], &bi = bn.inputs()[j];
        if (map.count(ti))
          same = map[ti] == bi;
        else if (ti.empty() || bi.empty())
          same = ti.empty() && bi.empty();
        else
          params[{i, j}].push_back(bi);
      }
      for (size_t j = 0; same && j < tn.outputs().size(); ++j)
        map[tn.outputs()[j]] = bn.outputs()[j];
      if (!same) {
        why = "expert " + std::to_string(b->expert) + "'s FFN differs from expert 0's at '" +
              bn.name().str() + "'";
        return false;
      }
    }
    if (map.lookup(t.output) != b->output) {
      why = "expert " + std::to_string(b->expert) + "'s FFN differs from expert 0's";
      return false;
    }
    if (b->tokens != t.tokens || b->indices != t.indices || b->gateWeights != t.gateWeights) {
      why = "the experts do not share the tokens, indices and gate weights";
      return false;
    }
  }

  // The replacement.
  StringRef nzName = ix.node(t.nonzero).name();
  std::string prefix = nzName.contains('/') ? nzName.rsplit('/').first.str() : sum;
  size_t source = ix.defIndex(sum);
  auto add = [&](std::unique_ptr<NodeView> n) -> NodeView & {
    added.push_back(std::move(n));
    addedSource.push_back(source);
    return *added.back();
  };
  auto synth = [&](std::string op, std::vector<std::string> ins,
                   std::string out) -> SyntheticNode & {
    auto n = std::make_unique<SyntheticNode>(std::move(op), std::move(ins),
                                             std::vector<std::string>{out});
    SyntheticNode &ref = *n;
    add(std::move(n));
    return ref;
  };
  std::string dispatched = uniqueName(prefix + "/moe_dispatch");
  synth("MoeDispatch", {t.tokens, t.indices}, dispatched)
      .set("num_experts", numExperts)
      .set("dropless", 1);

  Branch *second = block.size() > 1 ? block[1] : nullptr;
  auto nodeOf = [&](Branch *b, size_t i) -> const NodeView & { return ix.node(b->ffn[i]); };
  llvm::StringMap<std::string> clone = {{t.input, dispatched}};
  for (size_t i = 0; i < t.ffn.size(); ++i) {
    const NodeView &tn = nodeOf(&t, i);
    StringRef op = tn.opType();
    std::vector<std::string> ins;
    std::vector<bool> stacked;
    for (size_t j = 0; j < tn.inputs().size(); ++j) {
      const std::string &in = tn.inputs()[j];
      auto p = params.find({i, j});
      bool perExpert = false;
      if (p != params.end()) {
        ElementsAttr v0 = ix.constant(p->second.front());
        perExpert = llvm::any_of(p->second, [&](const std::string &n) {
          return ix.constant(n) != v0 || !v0;
        });
      }
      if (clone.count(in)) {
        ins.push_back(clone[in]);
      } else if (!perExpert) {
        ins.push_back(in);
      } else {
        // Stack expert e's constant at index e of a new leading dimension,
        // ranked so that it broadcasts over [E, C, F].
        ElementsAttr v = ix.constant(p->second.front());
        int64_t rank = v ? cast<ShapedType>(v.getType()).getRank() : -1;
        bool weight = (op == "MatMul" || op == "Gemm") && j == 1;
        if (rank < 0 || rank > 2 || (weight && rank != 2)) {
          why = "expert parameter '" + p->second.front() + "' cannot be stacked";
          return false;
        }
        std::vector<int64_t> axes = weight || rank == 2 ? std::vector<int64_t>{0}
                                    : rank == 1         ? std::vector<int64_t>{0, 1}
                                                        : std::vector<int64_t>{0, 1, 2};
        std::string base = starName(tn.name(), second ? nodeOf(second, i).name() : "");
        std::string stack = uniqueName(
            (base.empty() ? prefix + "/experts" : base) +
            (weight ? "/weight" : op == "Gemm" && j == 2 ? "/bias" : "/input" + std::to_string(j)));
        std::vector<std::string> parts;
        for (auto [e, name] : llvm::enumerate(p->second)) {
          parts.push_back(uniqueName(stack + "/" + std::to_string(e)));
          synth("Unsqueeze", {name}, parts.back()).set("axes", axes);
        }
        synth("Concat", parts, stack).set("axis", 0);
        ins.push_back(stack);
      }
      stacked.push_back(perExpert);
    }
    std::vector<std::string> outs;
    for (const std::string &o : tn.outputs()) {
      std::string name = o.empty() ? o
                         : uniqueName(starName(o, second ? nodeOf(second, i).outputs()
                                                               .front()
                                                         : prefix + "/experts/" + o));
      clone[o] = name;
      outs.push_back(name);
    }
    if (op == "MatMul") {
      if (!clone.count(tn.inputs()[0]) || clone.count(tn.inputs()[1])) {
        why = "an expert matmul does not multiply the tokens by a weight";
        return false;
      }
      synth(stacked[1] ? "MoeExpertMatMul" : "MatMul", ins, outs.front());
    } else if (op == "Gemm") {
      if (tn.getInt("transA").value_or(0) != 0 || tn.getFloat("alpha").value_or(1) != 1 ||
          tn.getFloat("beta").value_or(1) != 1 || !clone.count(tn.inputs()[0]) ||
          clone.count(tn.inputs()[1])) {
        why = "expert Gemm '" + tn.name().str() + "' is not tokens x weight (+ bias)";
        return false;
      }
      std::string w = ins[1];
      if (tn.getInt("transB").value_or(0)) {
        w = uniqueName(w + "/transposed");
        synth("Transpose", {ins[1]}, w)
            .set("perm", stacked[1] ? std::vector<int64_t>{0, 2, 1}
                                    : std::vector<int64_t>{1, 0});
      }
      bool bias = ins.size() > 2 && !ins[2].empty();
      std::string mm = bias ? uniqueName(outs.front() + "/matmul") : outs.front();
      synth(stacked[1] ? "MoeExpertMatMul" : "MatMul", {ins[0], w}, mm);
      if (bias)
        synth("Add", {mm, ins[2]}, outs.front());
    } else if (isRowwise(op)) {
      std::unique_ptr<NodeView> orig = std::move(g.nodes[t.ffn[i]]);
      add(std::make_unique<RewiredNode>(std::move(orig), ins, outs));
    } else {
      why = "op " + op.str() + " in expert node '" + tn.name().str() +
            "' does not act on each token alone";
      return false;
    }
  }
  bool zeroStart = ix.isZeroConstant(acc0);
  std::string combined = zeroStart ? sum : uniqueName(prefix + "/moe_combine");
  synth("MoeCombine", {clone[t.output], t.gateWeights, t.indices}, combined);
  if (!zeroStart)
    synth("Add", {acc0, combined}, sum);
  for (size_t n : anc)
    removed.insert(n);
  return true;
}

LogicalResult Rewriter::run() {
  std::vector<size_t> nonzeros;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i]->opType() == "NonZero")
      nonzeros.push_back(i);
  if (nonzeros.empty())
    return success();
  auto fail = [&](size_t n, const std::string &why) {
    const NodeView &node = ix.node(n);
    emitError(nodeLocation(ix.ctx, g.source, g.sourcePosition(n), node.outputs(),
                           node.name()))
        << "NonZero node '" << node.name()
        << "': a data-dependent shape is supported only as the per-expert routing "
           "of a mixture-of-experts block (docs/experts.md), and here "
        << why;
    return failure();
  };
  std::vector<Branch> branches(nonzeros.size());
  for (auto [b, n] : llvm::zip(branches, nonzeros)) {
    b.nonzero = n;
    std::string why;
    if (!analyze(b, why))
      return fail(n, why);
  }
  // Blocks: the branches of one top-k routing.
  std::map<std::string, std::vector<Branch *>> blocks;
  for (Branch &b : branches)
    blocks[b.indices].push_back(&b);
  for (auto &[key, block] : blocks) {
    std::string why;
    if (!rewriteBlock(block, why))
      return fail(block.front()->nonzero, why);
  }
  // Replace: drop the block's nodes, append the new ones where the block's
  // sum was (for locations).
  std::vector<std::unique_ptr<NodeView>> nodes;
  std::vector<size_t> source;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!removed.contains(i) && g.nodes[i]) {
      nodes.push_back(std::move(g.nodes[i]));
      source.push_back(g.sourcePosition(i));
    }
  for (auto [n, s] : llvm::zip(added, addedSource)) {
    nodes.push_back(std::move(n));
    source.push_back(s);
  }
  g.nodes = std::move(nodes);
  g.nodeSource = std::move(source);
  return success();
}

} // namespace

LogicalResult rewriteRoutedExperts(MLIRContext &ctx, GraphDesc &g,
                                   const std::vector<size_t> &order) {
  return Rewriter(ctx, g, order).run();
}

} // namespace partita::import
