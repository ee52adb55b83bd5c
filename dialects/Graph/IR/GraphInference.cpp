//===- GraphInference.cpp - result type inference for graph ops -----------===//

#include "dialects/Graph/IR/GraphInference.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <map>

using namespace mlir;

namespace partita::graph {
namespace {

/// Formats a shape as "2x3x4" (or "scalar") for diagnostics.
std::string shapeStr(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, "x");
  return s;
}

/// The operand's type as a statically shaped ranked tensor, or a diagnostic.
FailureOr<RankedTensorType> tensorAt(OptLoc loc, ValueRange operands,
                                     unsigned i, StringRef what) {
  if (i >= operands.size())
    return emitOptionalError(loc, "missing operand '", what, "'");
  auto t = dyn_cast<RankedTensorType>(operands[i].getType());
  if (!t || !t.hasStaticShape())
    return emitOptionalError(loc, "operand '", what,
                             "' must be a statically shaped tensor, got ",
                             operands[i].getType());
  return t;
}

std::optional<int64_t> getInt(DictionaryAttr attrs, StringRef name) {
  if (!attrs)
    return std::nullopt;
  if (auto a = attrs.getAs<IntegerAttr>(name))
    return a.getValue().getSExtValue();
  return std::nullopt;
}

FailureOr<int64_t> requireInt(OptLoc loc, DictionaryAttr attrs, StringRef name) {
  if (auto v = getInt(attrs, name))
    return *v;
  return emitOptionalError(loc, "missing integer attribute '", name, "'");
}

bool getBool(DictionaryAttr attrs, StringRef name, bool dflt) {
  if (!attrs)
    return dflt;
  if (auto a = attrs.getAs<BoolAttr>(name))
    return a.getValue();
  return dflt;
}

FailureOr<ArrayRef<int64_t>> requireInts(OptLoc loc, DictionaryAttr attrs,
                                         StringRef name) {
  if (attrs)
    if (auto a = attrs.getAs<DenseI64ArrayAttr>(name))
      return a.asArrayRef();
  return emitOptionalError(loc, "missing integer array attribute '", name, "'");
}

FailureOr<int64_t> axisAttr(OptLoc loc, DictionaryAttr attrs, int64_t rank,
                            int64_t dflt, StringRef name = "axis") {
  int64_t axis = getInt(attrs, name).value_or(dflt);
  auto n = normalizeAxis(axis, rank);
  if (failed(n))
    return emitOptionalError(loc, name, " ", axis, " is out of range for rank ",
                             rank, " (expected [", -rank, ", ", rank, "))");
  return *n;
}

LogicalResult sameElementType(OptLoc loc, Type a, Type b, StringRef what) {
  if (a != b)
    return emitOptionalError(loc, what, " must have the same element type, got ",
                             a, " and ", b);
  return success();
}

/// True if `from` broadcasts to `to` one-directionally (ONNX unidirectional).
bool broadcastsTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  size_t off = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[off + i])
      return false;
  return true;
}

} // namespace

FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return failure();
    out[i] = da == 1 ? db : da;
  }
  return out;
}

FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return failure();
  return axis < 0 ? axis + rank : axis;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult inferSameAsOperand(OptLoc loc, ValueRange operands,
                                 TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  if (failed(t))
    return failure();
  results.push_back(*t);
  return success();
}

LogicalResult inferCast(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                        TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  if (failed(t))
    return failure();
  auto to = attrs ? attrs.getAs<TypeAttr>("to") : TypeAttr();
  if (!to)
    return emitOptionalError(loc, "missing type attribute 'to'");
  results.push_back(t->clone(to.getValue()));
  return success();
}

LogicalResult inferBroadcast(OptLoc loc, ValueRange operands,
                             TypeResults &results, bool boolResult,
                             bool sameTypes) {
  auto a = tensorAt(loc, operands, 0, "lhs");
  auto b = tensorAt(loc, operands, 1, "rhs");
  if (failed(a) || failed(b))
    return failure();
  if (sameTypes && failed(sameElementType(loc, a->getElementType(),
                                          b->getElementType(), "operands")))
    return failure();
  auto shape = broadcastShapes(a->getShape(), b->getShape());
  if (failed(shape))
    return emitOptionalError(loc, "operand shapes ", shapeStr(a->getShape()),
                             " and ", shapeStr(b->getShape()),
                             " are not broadcast-compatible");
  Type elt = boolResult ? IntegerType::get(a->getContext(), 1)
                        : a->getElementType();
  results.push_back(RankedTensorType::get(*shape, elt));
  return success();
}

LogicalResult inferPRelu(OptLoc loc, ValueRange operands, TypeResults &results) {
  auto x = tensorAt(loc, operands, 0, "input");
  auto s = tensorAt(loc, operands, 1, "slope");
  if (failed(x) || failed(s))
    return failure();
  if (failed(sameElementType(loc, x->getElementType(), s->getElementType(),
                             "input and slope")))
    return failure();
  if (!broadcastsTo(s->getShape(), x->getShape()))
    return emitOptionalError(loc, "slope shape ", shapeStr(s->getShape()),
                             " does not broadcast to input shape ",
                             shapeStr(x->getShape()));
  results.push_back(*x);
  return success();
}

LogicalResult inferWhere(OptLoc loc, ValueRange operands, TypeResults &results) {
  auto c = tensorAt(loc, operands, 0, "condition");
  auto x = tensorAt(loc, operands, 1, "x");
  auto y = tensorAt(loc, operands, 2, "y");
  if (failed(c) || failed(x) || failed(y))
    return failure();
  if (!c->getElementType().isInteger(1))
    return emitOptionalError(loc, "condition must be a tensor of i1, got ", *c);
  if (failed(sameElementType(loc, x->getElementType(), y->getElementType(),
                             "x and y")))
    return failure();
  auto xy = broadcastShapes(x->getShape(), y->getShape());
  FailureOr<SmallVector<int64_t>> all = failure();
  if (succeeded(xy))
    all = broadcastShapes(c->getShape(), *xy);
  if (failed(all))
    return emitOptionalError(loc, "shapes ", shapeStr(c->getShape()), ", ",
                             shapeStr(x->getShape()), " and ",
                             shapeStr(y->getShape()),
                             " are not broadcast-compatible");
  results.push_back(RankedTensorType::get(*all, x->getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions and normalizations
//===----------------------------------------------------------------------===//

LogicalResult inferReduce(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                          TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto axes = requireInts(loc, attrs, "axes");
  if (failed(t) || failed(axes))
    return failure();
  int64_t rank = t->getRank();
  for (size_t i = 0; i < axes->size(); ++i) {
    int64_t a = (*axes)[i];
    if (a < 0 || a >= rank)
      return emitOptionalError(loc, "reduction axis ", a,
                               " is out of range for rank ", rank);
    if (i > 0 && (*axes)[i - 1] >= a)
      return emitOptionalError(loc, "reduction axes must be strictly increasing");
  }
  bool keep = getBool(attrs, "keepdims", true);
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(*axes, d);
    if (!reduced)
      shape.push_back(t->getDimSize(d));
    else if (keep)
      shape.push_back(1);
  }
  results.push_back(t->clone(shape));
  return success();
}

LogicalResult inferArgReduce(OptLoc loc, ValueRange operands,
                             DictionaryAttr attrs, TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  if (failed(t))
    return failure();
  auto axis = axisAttr(loc, attrs, t->getRank(), 0);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(t->getShape());
  if (getBool(attrs, "keepdims", true))
    shape[*axis] = 1;
  else
    shape.erase(shape.begin() + *axis);
  results.push_back(RankedTensorType::get(shape, IntegerType::get(t->getContext(), 64)));
  return success();
}

LogicalResult inferSameWithAxis(OptLoc loc, ValueRange operands,
                                DictionaryAttr attrs, TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  if (failed(t))
    return failure();
  if (failed(axisAttr(loc, attrs, t->getRank(), -1)))
    return failure();
  results.push_back(*t);
  return success();
}

LogicalResult inferTopK(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                        TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto k = requireInt(loc, attrs, "k");
  if (failed(t) || failed(k))
    return failure();
  auto axis = axisAttr(loc, attrs, t->getRank(), -1);
  if (failed(axis))
    return failure();
  if (*k < 0 || *k > t->getDimSize(*axis))
    return emitOptionalError(loc, "k = ", *k, " must be in [0, ",
                             t->getDimSize(*axis), "], the size of axis ", *axis);
  SmallVector<int64_t> shape(t->getShape());
  shape[*axis] = *k;
  results.push_back(t->clone(shape));
  results.push_back(RankedTensorType::get(shape, IntegerType::get(t->getContext(), 64)));
  return success();
}

LogicalResult inferBatchNorm(OptLoc loc, ValueRange operands,
                             TypeResults &results) {
  auto x = tensorAt(loc, operands, 0, "input");
  if (failed(x))
    return failure();
  if (x->getRank() < 2)
    return emitOptionalError(loc, "input must have rank >= 2 (N, C, ...), got ",
                             shapeStr(x->getShape()));
  int64_t c = x->getDimSize(1);
  static const char *names[] = {"input", "scale", "bias", "mean", "var"};
  for (unsigned i = 1; i < operands.size(); ++i) {
    auto p = tensorAt(loc, operands, i, names[std::min(i, 4u)]);
    if (failed(p))
      return failure();
    if (p->getShape() != ArrayRef<int64_t>{c})
      return emitOptionalError(loc, "operand '", names[std::min(i, 4u)],
                               "' must have shape ", c, " (the channel count), got ",
                               shapeStr(p->getShape()));
  }
  results.push_back(*x);
  return success();
}

LogicalResult inferLayerNorm(OptLoc loc, ValueRange operands,
                             DictionaryAttr attrs, TypeResults &results) {
  auto x = tensorAt(loc, operands, 0, "input");
  if (failed(x))
    return failure();
  auto axis = axisAttr(loc, attrs, x->getRank(), -1);
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> normShape = x->getShape().drop_front(*axis);
  for (unsigned i = 1; i < operands.size(); ++i) {
    StringRef what = i == 1 ? "scale" : "bias";
    auto p = tensorAt(loc, operands, i, what);
    if (failed(p))
      return failure();
    if (!broadcastsTo(p->getShape(), normShape))
      return emitOptionalError(loc, what, " shape ", shapeStr(p->getShape()),
                               " does not broadcast to the normalized shape ",
                               shapeStr(normShape));
  }
  results.push_back(*x);
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions, convolution, pooling
//===----------------------------------------------------------------------===//

LogicalResult inferMatMul(OptLoc loc, ValueRange operands, TypeResults &results) {
  auto a = tensorAt(loc, operands, 0, "lhs");
  auto b = tensorAt(loc, operands, 1, "rhs");
  if (failed(a) || failed(b))
    return failure();
  if (failed(sameElementType(loc, a->getElementType(), b->getElementType(),
                             "operands")))
    return failure();
  if (a->getRank() == 0 || b->getRank() == 0)
    return emitOptionalError(loc, "matmul operands must have rank >= 1");
  SmallVector<int64_t> as(a->getShape()), bs(b->getShape());
  bool vecA = as.size() == 1, vecB = bs.size() == 1;
  if (vecA)
    as.insert(as.begin(), 1);
  if (vecB)
    bs.push_back(1);
  int64_t m = as[as.size() - 2], k = as.back(), k2 = bs[bs.size() - 2],
          n = bs.back();
  if (k != k2)
    return emitOptionalError(loc, "contraction dimensions differ: lhs ",
                             shapeStr(a->getShape()), " has ", k, ", rhs ",
                             shapeStr(b->getShape()), " has ", k2);
  auto batch = broadcastShapes(ArrayRef<int64_t>(as).drop_back(2),
                               ArrayRef<int64_t>(bs).drop_back(2));
  if (failed(batch))
    return emitOptionalError(loc, "batch dimensions of ", shapeStr(a->getShape()),
                             " and ", shapeStr(b->getShape()),
                             " are not broadcast-compatible");
  SmallVector<int64_t> shape(*batch);
  if (!vecA)
    shape.push_back(m);
  if (!vecB)
    shape.push_back(n);
  results.push_back(RankedTensorType::get(shape, a->getElementType()));
  return success();
}

LogicalResult inferGemm(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                        TypeResults &results) {
  auto a = tensorAt(loc, operands, 0, "a");
  auto b = tensorAt(loc, operands, 1, "b");
  if (failed(a) || failed(b))
    return failure();
  if (a->getRank() != 2 || b->getRank() != 2)
    return emitOptionalError(loc, "gemm operands must be matrices, got ",
                             shapeStr(a->getShape()), " and ",
                             shapeStr(b->getShape()));
  if (failed(sameElementType(loc, a->getElementType(), b->getElementType(),
                             "operands")))
    return failure();
  bool ta = getBool(attrs, "transA", false), tb = getBool(attrs, "transB", false);
  int64_t m = a->getDimSize(ta ? 1 : 0), k = a->getDimSize(ta ? 0 : 1);
  int64_t k2 = b->getDimSize(tb ? 1 : 0), n = b->getDimSize(tb ? 0 : 1);
  if (k != k2)
    return emitOptionalError(loc, "contraction dimensions differ: ", k, " vs ", k2);
  if (operands.size() > 2) {
    auto c = tensorAt(loc, operands, 2, "c");
    if (failed(c))
      return failure();
    if (!broadcastsTo(c->getShape(), {m, n}))
      return emitOptionalError(loc, "c shape ", shapeStr(c->getShape()),
                               " does not broadcast to ", m, "x", n);
  }
  results.push_back(RankedTensorType::get({m, n}, a->getElementType()));
  return success();
}

namespace {
/// One einsum operand: its labels, with '.' standing for the ellipsis.
struct EinsumTerm {
  std::string labels;
};

FailureOr<std::string> parseEinsumTerm(OptLoc loc, StringRef term) {
  std::string out;
  term = term.trim();
  for (size_t i = 0; i < term.size(); ++i) {
    char c = term[i];
    if (c == ' ')
      continue;
    if (c == '.') {
      if (!term.substr(i).starts_with("...") || out.find('.') != std::string::npos)
        return emitOptionalError(loc, "malformed ellipsis in einsum term '", term, "'");
      out.push_back('.');
      i += 2;
      continue;
    }
    if (!llvm::isAlpha(c))
      return emitOptionalError(loc, "invalid character '", std::string(1, c),
                               "' in einsum equation");
    out.push_back(c);
  }
  return out;
}
} // namespace

FailureOr<EinsumEquation> parseEinsumEquation(OptLoc loc, StringRef eq) {
  auto [lhs, rhs] = eq.split("->");
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  EinsumEquation out;
  std::map<char, int> counts;
  for (StringRef term : terms) {
    auto labels = parseEinsumTerm(loc, term);
    if (failed(labels))
      return failure();
    for (char c : *labels)
      if (c != '.')
        counts[c]++;
    out.inputs.push_back(*labels);
  }
  if (eq.contains("->")) {
    auto labels = parseEinsumTerm(loc, rhs);
    if (failed(labels))
      return failure();
    out.output = *labels;
  } else {
    bool ellipsis = llvm::any_of(out.inputs, [](const std::string &s) {
      return s.find('.') != std::string::npos;
    });
    if (ellipsis)
      out.output.push_back('.');
    for (auto [c, n] : counts)
      if (n == 1)
        out.output.push_back(c);
  }
  return out;
}

LogicalResult inferEinsum(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                          TypeResults &results) {
  auto eqAttr = attrs ? attrs.getAs<StringAttr>("equation") : StringAttr();
  if (!eqAttr)
    return emitOptionalError(loc, "missing string attribute 'equation'");
  StringRef eq = eqAttr.getValue();
  auto [lhs, rhs] = eq.split("->");
  bool explicitOut = eq.contains("->");
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != operands.size())
    return emitOptionalError(loc, "einsum equation '", eq, "' has ", terms.size(),
                             " inputs but the op has ", operands.size(),
                             " operands");
  std::map<char, int64_t> sizes;
  std::map<char, int> counts;
  SmallVector<int64_t> ellipsis;
  Type elt;
  for (auto [i, term] : llvm::enumerate(terms)) {
    auto t = tensorAt(loc, operands, i, "inputs");
    auto labels = parseEinsumTerm(loc, term);
    if (failed(t) || failed(labels))
      return failure();
    if (!elt)
      elt = t->getElementType();
    else if (failed(sameElementType(loc, elt, t->getElementType(), "operands")))
      return failure();
    size_t named = labels->size() - (labels->find('.') != std::string::npos);
    bool hasEll = named != labels->size();
    if ((!hasEll && named != (size_t)t->getRank()) ||
        (hasEll && named > (size_t)t->getRank()))
      return emitOptionalError(loc, "einsum term '", term, "' does not match ",
                               "operand #", i, " of rank ", t->getRank());
    int64_t ellRank = t->getRank() - named;
    int64_t dim = 0;
    for (char c : *labels) {
      if (c == '.') {
        auto sub = t->getShape().slice(dim, ellRank);
        auto b = broadcastShapes(ellipsis, sub);
        if (failed(b))
          return emitOptionalError(loc, "einsum ellipsis dimensions do not broadcast");
        ellipsis = *b;
        dim += ellRank;
        continue;
      }
      int64_t size = t->getDimSize(dim++);
      auto it = sizes.find(c);
      if (it != sizes.end() && it->second != size) {
        if (it->second == 1)
          it->second = size;
        else if (size != 1)
          return emitOptionalError(loc, "einsum label '", std::string(1, c),
                                   "' has sizes ", it->second, " and ", size);
      }
      sizes.emplace(c, size);
      counts[c]++;
    }
  }
  SmallVector<int64_t> shape;
  if (explicitOut) {
    auto out = parseEinsumTerm(loc, rhs);
    if (failed(out))
      return failure();
    for (char c : *out) {
      if (c == '.') {
        shape.append(ellipsis);
        continue;
      }
      auto it = sizes.find(c);
      if (it == sizes.end())
        return emitOptionalError(loc, "einsum output label '", std::string(1, c),
                                 "' does not appear in any input");
      shape.push_back(it->second);
    }
  } else {
    shape.append(ellipsis);
    for (auto [c, n] : counts)
      if (n == 1)
        shape.push_back(sizes[c]);
  }
  results.push_back(RankedTensorType::get(shape, elt));
  return success();
}

namespace {
/// Checks kernel-window attributes against `spatial` dims and computes the
/// output spatial sizes.
FailureOr<SmallVector<int64_t>>
windowOutput(OptLoc loc, ArrayRef<int64_t> spatial, ArrayRef<int64_t> kernel,
             DictionaryAttr attrs, bool ceilMode) {
  size_t n = spatial.size();
  auto strides = requireInts(loc, attrs, "strides");
  auto pads = requireInts(loc, attrs, "pads");
  auto dil = requireInts(loc, attrs, "dilations");
  if (failed(strides) || failed(pads) || failed(dil))
    return failure();
  if (kernel.size() != n || strides->size() != n || dil->size() != n ||
      pads->size() != 2 * n)
    return emitOptionalError(loc, "window attributes must have one entry per ",
                             "spatial dimension (", n, "; pads 2x that), got "
                             "kernel ", kernel.size(), ", strides ",
                             strides->size(), ", dilations ", dil->size(),
                             ", pads ", pads->size());
  SmallVector<int64_t> out;
  for (size_t i = 0; i < n; ++i) {
    int64_t k = kernel[i], s = (*strides)[i], d = (*dil)[i];
    int64_t pb = (*pads)[i], pe = (*pads)[i + n];
    if (k <= 0 || s <= 0 || d <= 0 || pb < 0 || pe < 0)
      return emitOptionalError(loc, "kernel, stride and dilation must be positive "
                               "and pads non-negative in spatial dimension ", i);
    int64_t span = d * (k - 1) + 1, padded = spatial[i] + pb + pe;
    if (padded < span)
      return emitOptionalError(loc, "window of extent ", span,
                               " is larger than the padded input extent ",
                               padded, " in spatial dimension ", i);
    int64_t o = ceilMode ? llvm::divideCeil(padded - span, s) + 1
                         : (padded - span) / s + 1;
    // A window that starts entirely in the end padding is dropped.
    if (ceilMode && (o - 1) * s >= spatial[i] + pb)
      --o;
    out.push_back(o);
  }
  return out;
}
} // namespace

LogicalResult inferConv(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                        TypeResults &results) {
  auto x = tensorAt(loc, operands, 0, "input");
  auto w = tensorAt(loc, operands, 1, "weight");
  if (failed(x) || failed(w))
    return failure();
  if (x->getRank() < 3 || w->getRank() != x->getRank())
    return emitOptionalError(loc, "conv expects input (N, C, spatial...) and ",
                             "weight (M, C/group, kernel...) of equal rank >= 3, got ",
                             shapeStr(x->getShape()), " and ",
                             shapeStr(w->getShape()));
  if (failed(sameElementType(loc, x->getElementType(), w->getElementType(),
                             "input and weight")))
    return failure();
  int64_t group = getInt(attrs, "group").value_or(1);
  int64_t c = x->getDimSize(1), m = w->getDimSize(0);
  if (group <= 0 || c % group != 0 || m % group != 0 ||
      w->getDimSize(1) * group != c)
    return emitOptionalError(loc, "channel mismatch: input has ", c,
                             " channels, weight expects ", w->getDimSize(1),
                             " per group with group = ", group, " and ", m,
                             " output channels");
  if (operands.size() > 2) {
    auto b = tensorAt(loc, operands, 2, "bias");
    if (failed(b))
      return failure();
    if (b->getShape() != ArrayRef<int64_t>{m})
      return emitOptionalError(loc, "bias must have shape ", m, ", got ",
                               shapeStr(b->getShape()));
  }
  auto spatial = windowOutput(loc, x->getShape().drop_front(2),
                              w->getShape().drop_front(2), attrs, false);
  if (failed(spatial))
    return failure();
  SmallVector<int64_t> shape{x->getDimSize(0), m};
  shape.append(*spatial);
  results.push_back(x->clone(shape));
  return success();
}

LogicalResult inferPool(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                        TypeResults &results) {
  auto x = tensorAt(loc, operands, 0, "input");
  auto kernel = requireInts(loc, attrs, "kernel_shape");
  if (failed(x) || failed(kernel))
    return failure();
  if (x->getRank() < 3)
    return emitOptionalError(loc, "pooling expects (N, C, spatial...), got ",
                             shapeStr(x->getShape()));
  auto spatial = windowOutput(loc, x->getShape().drop_front(2), *kernel, attrs,
                              getBool(attrs, "ceil_mode", false));
  if (failed(spatial))
    return failure();
  SmallVector<int64_t> shape(x->getShape().take_front(2));
  shape.append(*spatial);
  results.push_back(x->clone(shape));
  return success();
}

LogicalResult inferGlobalPool(OptLoc loc, ValueRange operands,
                              TypeResults &results) {
  auto x = tensorAt(loc, operands, 0, "input");
  if (failed(x))
    return failure();
  if (x->getRank() < 3)
    return emitOptionalError(loc, "global pooling expects (N, C, spatial...), got ",
                             shapeStr(x->getShape()));
  SmallVector<int64_t> shape(x->getRank(), 1);
  shape[0] = x->getDimSize(0);
  shape[1] = x->getDimSize(1);
  results.push_back(x->clone(shape));
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult inferConstant(OptLoc loc, DictionaryAttr attrs,
                            TypeResults &results) {
  auto value = attrs ? attrs.getAs<ElementsAttr>("value") : ElementsAttr();
  if (!value)
    return emitOptionalError(loc, "missing elements attribute 'value'");
  auto t = dyn_cast<RankedTensorType>(value.getType());
  if (!t || !t.hasStaticShape())
    return emitOptionalError(loc, "constant value must be a static tensor");
  results.push_back(t);
  return success();
}

LogicalResult inferReshape(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                           TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto shape = requireInts(loc, attrs, "shape");
  if (failed(t) || failed(shape))
    return failure();
  int64_t n = 1;
  for (int64_t d : *shape) {
    if (d < 0)
      return emitOptionalError(loc, "reshape target ", shapeStr(*shape),
                               " must be fully static (no -1)");
    n *= d;
  }
  if (n != t->getNumElements())
    return emitOptionalError(loc, "cannot reshape ", shapeStr(t->getShape()), " (",
                             t->getNumElements(), " elements) to ",
                             shapeStr(*shape), " (", n, " elements)");
  results.push_back(t->clone(*shape));
  return success();
}

LogicalResult inferTranspose(OptLoc loc, ValueRange operands,
                             DictionaryAttr attrs, TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto perm = requireInts(loc, attrs, "perm");
  if (failed(t) || failed(perm))
    return failure();
  int64_t rank = t->getRank();
  SmallVector<bool> seen(rank, false);
  if ((int64_t)perm->size() != rank)
    return emitOptionalError(loc, "perm has ", perm->size(),
                             " entries but the input has rank ", rank);
  SmallVector<int64_t> shape;
  for (int64_t p : *perm) {
    if (p < 0 || p >= rank || seen[p])
      return emitOptionalError(loc, "perm ", shapeStr(*perm),
                               " is not a permutation of [0, ", rank, ")");
    seen[p] = true;
    shape.push_back(t->getDimSize(p));
  }
  results.push_back(t->clone(shape));
  return success();
}

LogicalResult inferExpand(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                          TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto shape = requireInts(loc, attrs, "shape");
  if (failed(t) || failed(shape))
    return failure();
  auto out = broadcastShapes(t->getShape(), *shape);
  if (failed(out))
    return emitOptionalError(loc, "cannot expand ", shapeStr(t->getShape()),
                             " to ", shapeStr(*shape));
  results.push_back(t->clone(*out));
  return success();
}

LogicalResult inferTile(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                        TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto reps = requireInts(loc, attrs, "repeats");
  if (failed(t) || failed(reps))
    return failure();
  if ((int64_t)reps->size() != t->getRank())
    return emitOptionalError(loc, "repeats has ", reps->size(),
                             " entries but the input has rank ", t->getRank());
  SmallVector<int64_t> shape;
  for (auto [d, r] : llvm::zip(t->getShape(), *reps)) {
    if (r < 0)
      return emitOptionalError(loc, "repeats must be non-negative");
    shape.push_back(d * r);
  }
  results.push_back(t->clone(shape));
  return success();
}

LogicalResult inferConcat(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                          TypeResults &results) {
  if (operands.empty())
    return emitOptionalError(loc, "concat needs at least one input");
  auto first = tensorAt(loc, operands, 0, "inputs");
  if (failed(first))
    return failure();
  auto axis = axisAttr(loc, attrs, first->getRank(), 0);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(first->getShape());
  for (unsigned i = 1; i < operands.size(); ++i) {
    auto t = tensorAt(loc, operands, i, "inputs");
    if (failed(t))
      return failure();
    if (failed(sameElementType(loc, first->getElementType(),
                               t->getElementType(), "concat inputs")))
      return failure();
    bool ok = t->getRank() == first->getRank();
    for (int64_t d = 0; ok && d < t->getRank(); ++d)
      ok = d == *axis || t->getDimSize(d) == shape[d];
    if (!ok)
      return emitOptionalError(loc, "concat input #", i, " has shape ",
                               shapeStr(t->getShape()), ", incompatible with ",
                               shapeStr(first->getShape()), " along axis ", *axis);
    shape[*axis] += t->getDimSize(*axis);
  }
  results.push_back(first->clone(shape));
  return success();
}

LogicalResult inferSplit(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                         TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto split = requireInts(loc, attrs, "split");
  if (failed(t) || failed(split))
    return failure();
  auto axis = axisAttr(loc, attrs, t->getRank(), 0);
  if (failed(axis))
    return failure();
  int64_t total = 0;
  for (int64_t s : *split) {
    if (s < 0)
      return emitOptionalError(loc, "split sizes must be non-negative");
    total += s;
  }
  if (total != t->getDimSize(*axis))
    return emitOptionalError(loc, "split sizes sum to ", total, " but axis ",
                             *axis, " has size ", t->getDimSize(*axis));
  for (int64_t s : *split) {
    SmallVector<int64_t> shape(t->getShape());
    shape[*axis] = s;
    results.push_back(t->clone(shape));
  }
  return success();
}

LogicalResult inferSlice(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                         TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto starts = requireInts(loc, attrs, "starts");
  auto ends = requireInts(loc, attrs, "ends");
  auto steps = requireInts(loc, attrs, "steps");
  if (failed(t) || failed(starts) || failed(ends) || failed(steps))
    return failure();
  int64_t rank = t->getRank();
  if ((int64_t)starts->size() != rank || (int64_t)ends->size() != rank ||
      (int64_t)steps->size() != rank)
    return emitOptionalError(loc, "slice needs one start, end and step per "
                             "dimension (", rank, ")");
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = t->getDimSize(d), s = (*starts)[d], e = (*ends)[d],
            st = (*steps)[d];
    bool ok = st > 0 ? (s >= 0 && s <= dim && e >= 0 && e <= dim)
                     : (st < 0 && s >= -1 && s < dim && e >= -1 && e < dim);
    if (!ok)
      return emitOptionalError(loc, "slice (start ", s, ", end ", e, ", step ",
                               st, ") is not normalized for dimension ", d,
                               " of size ", dim);
    int64_t n = st > 0 ? llvm::divideCeil(std::max<int64_t>(e - s, 0), st)
                       : llvm::divideCeil(std::max<int64_t>(s - e, 0), -st);
    shape.push_back(n);
  }
  results.push_back(t->clone(shape));
  return success();
}

LogicalResult inferPad(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                       TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto pads = requireInts(loc, attrs, "pads");
  if (failed(t) || failed(pads))
    return failure();
  int64_t rank = t->getRank();
  if ((int64_t)pads->size() != 2 * rank)
    return emitOptionalError(loc, "pads has ", pads->size(),
                             " entries, expected 2 x rank = ", 2 * rank);
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t n = t->getDimSize(d) + (*pads)[d] + (*pads)[d + rank];
    if (n < 0)
      return emitOptionalError(loc, "pads crop dimension ", d, " below zero");
    shape.push_back(n);
  }
  results.push_back(t->clone(shape));
  return success();
}

LogicalResult inferGather(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                          TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto idx = tensorAt(loc, operands, 1, "indices");
  if (failed(t) || failed(idx))
    return failure();
  if (t->getRank() == 0)
    return emitOptionalError(loc, "gather input must have rank >= 1");
  auto axis = axisAttr(loc, attrs, t->getRank(), 0);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(t->getShape().take_front(*axis));
  shape.append(idx->getShape().begin(), idx->getShape().end());
  shape.append(t->getShape().begin() + *axis + 1, t->getShape().end());
  results.push_back(t->clone(shape));
  return success();
}

LogicalResult inferGatherElements(OptLoc loc, ValueRange operands,
                                  DictionaryAttr attrs, TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto idx = tensorAt(loc, operands, 1, "indices");
  if (failed(t) || failed(idx))
    return failure();
  if (idx->getRank() != t->getRank())
    return emitOptionalError(loc, "indices rank ", idx->getRank(),
                             " differs from input rank ", t->getRank());
  if (failed(axisAttr(loc, attrs, t->getRank(), 0)))
    return failure();
  results.push_back(t->clone(idx->getShape()));
  return success();
}

LogicalResult inferScatterElements(OptLoc loc, ValueRange operands,
                                   DictionaryAttr attrs, TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto idx = tensorAt(loc, operands, 1, "indices");
  auto upd = tensorAt(loc, operands, 2, "updates");
  if (failed(t) || failed(idx) || failed(upd))
    return failure();
  if (idx->getShape() != upd->getShape() || idx->getRank() != t->getRank())
    return emitOptionalError(loc, "indices ", shapeStr(idx->getShape()),
                             " and updates ", shapeStr(upd->getShape()),
                             " must have equal shapes of the input's rank ",
                             t->getRank());
  if (failed(sameElementType(loc, t->getElementType(), upd->getElementType(),
                             "input and updates")) ||
      failed(axisAttr(loc, attrs, t->getRank(), 0)))
    return failure();
  results.push_back(*t);
  return success();
}

LogicalResult inferScatterND(OptLoc loc, ValueRange operands,
                             DictionaryAttr attrs, TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  auto idx = tensorAt(loc, operands, 1, "indices");
  auto upd = tensorAt(loc, operands, 2, "updates");
  if (failed(t) || failed(idx) || failed(upd))
    return failure();
  if (idx->getRank() < 1 || idx->getShape().back() > t->getRank())
    return emitOptionalError(loc, "indices ", shapeStr(idx->getShape()),
                             " must end in a tuple length <= the input rank ",
                             t->getRank());
  SmallVector<int64_t> expect(idx->getShape().drop_back());
  expect.append(t->getShape().begin() + idx->getShape().back(),
                t->getShape().end());
  if (upd->getShape() != ArrayRef<int64_t>(expect))
    return emitOptionalError(loc, "updates must have shape ", shapeStr(expect),
                             ", got ", shapeStr(upd->getShape()));
  if (failed(sameElementType(loc, t->getElementType(), upd->getElementType(),
                             "input and updates")))
    return failure();
  results.push_back(*t);
  return success();
}

LogicalResult inferOneHot(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                          TypeResults &results) {
  auto idx = tensorAt(loc, operands, 0, "indices");
  auto vals = tensorAt(loc, operands, 1, "values");
  auto depth = requireInt(loc, attrs, "depth");
  if (failed(idx) || failed(vals) || failed(depth))
    return failure();
  if (vals->getNumElements() != 2 || vals->getRank() != 1)
    return emitOptionalError(loc, "values must be [off, on], shape 2, got ",
                             shapeStr(vals->getShape()));
  if (*depth <= 0)
    return emitOptionalError(loc, "depth must be positive, got ", *depth);
  int64_t rank = idx->getRank() + 1;
  auto axis = axisAttr(loc, attrs, rank, -1);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(idx->getShape());
  shape.insert(shape.begin() + *axis, *depth);
  results.push_back(vals->clone(shape));
  return success();
}

LogicalResult inferTrilu(OptLoc loc, ValueRange operands, TypeResults &results) {
  auto t = tensorAt(loc, operands, 0, "input");
  if (failed(t))
    return failure();
  if (t->getRank() < 2)
    return emitOptionalError(loc, "trilu input must have rank >= 2");
  results.push_back(*t);
  return success();
}

//===----------------------------------------------------------------------===//
// Composites
//===----------------------------------------------------------------------===//

LogicalResult inferAttention(OptLoc loc, ValueRange operands,
                             TypeResults &results) {
  auto q = tensorAt(loc, operands, 0, "q");
  auto k = tensorAt(loc, operands, 1, "k");
  auto v = tensorAt(loc, operands, 2, "v");
  if (failed(q) || failed(k) || failed(v))
    return failure();
  int64_t r = q->getRank();
  if (r < 2 || k->getRank() != r || v->getRank() != r)
    return emitOptionalError(loc, "q, k and v must have the same rank >= 2");
  if (q->getShape().drop_back(2) != k->getShape().drop_back(2) ||
      q->getShape().drop_back(2) != v->getShape().drop_back(2))
    return emitOptionalError(loc, "q, k and v must share leading dimensions, got ",
                             shapeStr(q->getShape()), ", ", shapeStr(k->getShape()),
                             ", ", shapeStr(v->getShape()));
  int64_t sq = q->getDimSize(r - 2), sk = k->getDimSize(r - 2);
  if (q->getDimSize(r - 1) != k->getDimSize(r - 1) || v->getDimSize(r - 2) != sk)
    return emitOptionalError(loc, "attention shapes do not match: q ",
                             shapeStr(q->getShape()), ", k ",
                             shapeStr(k->getShape()), ", v ",
                             shapeStr(v->getShape()));
  if (q->getElementType() != k->getElementType() ||
      q->getElementType() != v->getElementType())
    return emitOptionalError(loc, "q, k and v must have the same element type");
  if (operands.size() > 3) {
    auto m = tensorAt(loc, operands, 3, "mask");
    if (failed(m))
      return failure();
    // The expansion adds the mask to the scores, which needs equal types.
    if (failed(sameElementType(loc, q->getElementType(), m->getElementType(),
                               "q and mask")))
      return failure();
    SmallVector<int64_t> scores(q->getShape().drop_back());
    scores.push_back(sk);
    if (!broadcastsTo(m->getShape(), scores))
      return emitOptionalError(loc, "mask shape ", shapeStr(m->getShape()),
                               " does not broadcast to the scores ",
                               shapeStr(scores));
  }
  SmallVector<int64_t> shape(q->getShape().drop_back());
  shape.push_back(v->getDimSize(r - 1));
  (void)sq;
  results.push_back(q->clone(shape));
  return success();
}

LogicalResult inferMoeGate(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                           TypeResults &results) {
  auto l = tensorAt(loc, operands, 0, "logits");
  auto k = requireInt(loc, attrs, "k");
  if (failed(l) || failed(k))
    return failure();
  if (l->getRank() != 2)
    return emitOptionalError(loc, "logits must be [tokens, experts], got ",
                             shapeStr(l->getShape()));
  if (*k < 1 || *k > l->getDimSize(1))
    return emitOptionalError(loc, "k = ", *k, " must be in [1, ",
                             l->getDimSize(1), "] (the number of experts)");
  SmallVector<int64_t> shape{l->getDimSize(0), *k};
  results.push_back(l->clone(shape));
  results.push_back(RankedTensorType::get(shape, IntegerType::get(l->getContext(), 64)));
  return success();
}

/// moe_dispatch/moe_combine's optional priority (operand `at`): a float
/// tensor shaped like the indices.
static LogicalResult checkPriority(OptLoc loc, ValueRange operands, unsigned at,
                                   RankedTensorType indices) {
  if (operands.size() <= at)
    return success();
  auto p = dyn_cast<RankedTensorType>(operands[at].getType());
  if (!p || !isa<FloatType>(p.getElementType()) || p.getShape() != indices.getShape())
    return emitOptionalError(loc, "expected a float priority shaped like the indices ",
                             shapeStr(indices.getShape()), ", got ",
                             p ? shapeStr(p.getShape()) : std::string("an unranked value"));
  return success();
}

LogicalResult inferMoeDispatch(OptLoc loc, ValueRange operands,
                               DictionaryAttr attrs, TypeResults &results) {
  auto x = tensorAt(loc, operands, 0, "tokens");
  auto idx = tensorAt(loc, operands, 1, "indices");
  auto e = requireInt(loc, attrs, "num_experts");
  auto c = requireInt(loc, attrs, "capacity");
  if (failed(x) || failed(idx) || failed(e) || failed(c))
    return failure();
  if (x->getRank() != 2 || idx->getRank() != 2 ||
      idx->getDimSize(0) != x->getDimSize(0))
    return emitOptionalError(loc, "expected tokens [T, H] and indices [T, k], got ",
                             shapeStr(x->getShape()), " and ",
                             shapeStr(idx->getShape()));
  if (*e < 1 || *c < 1)
    return emitOptionalError(loc, "num_experts and capacity must be positive");
  int64_t groups = getInt(attrs, "groups").value_or(1);
  if (groups < 1 || x->getDimSize(0) % groups != 0)
    return emitOptionalError(loc, "groups (", groups, ") must divide the ",
                             x->getDimSize(0), " tokens");
  if (getBool(attrs, "dropless", false) && *c != x->getDimSize(0) / groups)
    return emitOptionalError(loc, "a dropless dispatch has capacity ",
                             x->getDimSize(0) / groups, " (the tokens per group), not ", *c);
  if (failed(checkPriority(loc, operands, 2, *idx)))
    return failure();
  results.push_back(x->clone({*e, groups * *c, x->getDimSize(1)}));
  return success();
}

LogicalResult inferMoeExpertMatMul(OptLoc loc, ValueRange operands,
                                   TypeResults &results) {
  auto x = tensorAt(loc, operands, 0, "input");
  auto w = tensorAt(loc, operands, 1, "weight");
  if (failed(x) || failed(w))
    return failure();
  if (x->getRank() != 3 || w->getRank() != 3 ||
      x->getDimSize(0) != w->getDimSize(0) || x->getDimSize(2) != w->getDimSize(1))
    return emitOptionalError(loc, "expected input [E, C, H] and weight [E, H, F], got ",
                             shapeStr(x->getShape()), " and ",
                             shapeStr(w->getShape()));
  if (failed(sameElementType(loc, x->getElementType(), w->getElementType(),
                             "input and weight")))
    return failure();
  results.push_back(x->clone({x->getDimSize(0), x->getDimSize(1), w->getDimSize(2)}));
  return success();
}

LogicalResult inferMoeCombine(OptLoc loc, ValueRange operands, DictionaryAttr attrs,
                              TypeResults &results) {
  auto y = tensorAt(loc, operands, 0, "expert_out");
  auto w = tensorAt(loc, operands, 1, "weights");
  auto idx = tensorAt(loc, operands, 2, "indices");
  if (failed(y) || failed(w) || failed(idx))
    return failure();
  if (y->getRank() != 3 || w->getRank() != 2 || w->getShape() != idx->getShape())
    return emitOptionalError(loc, "expected expert_out [E, C, H] and weights, "
                             "indices [T, k], got ", shapeStr(y->getShape()), ", ",
                             shapeStr(w->getShape()), ", ",
                             shapeStr(idx->getShape()));
  // The expansion multiplies the weights into the expert outputs.
  if (failed(sameElementType(loc, y->getElementType(), w->getElementType(),
                             "expert_out and weights")))
    return failure();
  int64_t groups = getInt(attrs, "groups").value_or(1);
  if (groups < 1 || w->getDimSize(0) % groups != 0 || y->getDimSize(1) % groups != 0)
    return emitOptionalError(loc, "groups (", groups, ") must divide the ", w->getDimSize(0),
                             " tokens and the ", y->getDimSize(1), " slots");
  if (failed(checkPriority(loc, operands, 3, *idx)))
    return failure();
  results.push_back(y->clone({w->getDimSize(0), y->getDimSize(2)}));
  return success();
}

} // namespace partita::graph
