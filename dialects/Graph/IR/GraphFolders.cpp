//===- GraphFolders.cpp - constant folding of small tensors ---------------===//
//
// Exported models compute shapes at run time (Shape -> Gather -> Concat ->
// Reshape). With static shapes every such chain is constant, and the
// importers need the values to turn inputs like Reshape's shape into
// attributes. These folders evaluate small constant tensors (at most
// kMaxFoldElements elements, so weights are never copied by folding).
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/IR/GraphInference.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/Builders.h"

using namespace mlir;

namespace partita::graph {
namespace {

constexpr int64_t kMaxFoldElements = 1 << 16;

DenseElementsAttr smallDense(Attribute a) {
  auto d = dyn_cast_or_null<DenseElementsAttr>(a);
  if (!d || d.getNumElements() > kMaxFoldElements)
    return {};
  return d;
}

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// The element of an operand of shape `in` that broadcasts to element
/// `linear` of a result of shape `out`.
int64_t broadcastSource(ArrayRef<int64_t> out, ArrayRef<int64_t> in,
                        int64_t linear) {
  SmallVector<int64_t> outStrides = stridesOf(out), inStrides = stridesOf(in);
  int64_t offset = out.size() - in.size(), src = 0;
  for (size_t d = 0; d < out.size(); ++d) {
    int64_t idx = (linear / outStrides[d]) % out[d];
    if (d >= (size_t)offset && in[d - offset] != 1)
      src += idx * inStrides[d - offset];
  }
  return src;
}

using IntFn = function_ref<std::optional<APInt>(const APInt &, const APInt &)>;

/// Elementwise integer op with broadcasting; null when it does not apply.
OpFoldResult foldIntBinary(ArrayRef<Attribute> operands, Type resultType, IntFn fn) {
  auto lhs = smallDense(operands[0]), rhs = smallDense(operands[1]);
  auto type = dyn_cast<RankedTensorType>(resultType);
  if (!lhs || !rhs || !type || !isa<IntegerType>(lhs.getElementType()) ||
      type.getNumElements() > kMaxFoldElements)
    return {};
  auto a = lhs.getValues<APInt>(), b = rhs.getValues<APInt>();
  auto aShape = lhs.getType().getShape(), bShape = rhs.getType().getShape();
  SmallVector<APInt> out;
  for (int64_t i = 0, n = type.getNumElements(); i < n; ++i) {
    auto r = fn(a[broadcastSource(type.getShape(), aShape, i)],
                b[broadcastSource(type.getShape(), bShape, i)]);
    if (!r)
      return {};
    out.push_back(*r);
  }
  return DenseElementsAttr::get(type, out);
}

bool isUnsigned(Attribute a) {
  return cast<DenseElementsAttr>(a).getElementType().isUnsignedInteger();
}

/// Reads element `i` of a dense attribute as an Attribute (any dtype).
Attribute elementAt(DenseElementsAttr d, int64_t i) {
  return d.getValues<Attribute>()[d.isSplat() ? 0 : i];
}

} // namespace

OpFoldResult AddOp::fold(FoldAdaptor a) {
  return foldIntBinary(a.getOperands(), getType(),
                       [](const APInt &x, const APInt &y) -> std::optional<APInt> { return x + y; });
}
OpFoldResult SubOp::fold(FoldAdaptor a) {
  return foldIntBinary(a.getOperands(), getType(),
                       [](const APInt &x, const APInt &y) -> std::optional<APInt> { return x - y; });
}
OpFoldResult MulOp::fold(FoldAdaptor a) {
  return foldIntBinary(a.getOperands(), getType(),
                       [](const APInt &x, const APInt &y) -> std::optional<APInt> { return x * y; });
}
OpFoldResult DivOp::fold(FoldAdaptor a) {
  if (!a.getLhs() || !a.getRhs())
    return {};
  bool u = isa<DenseElementsAttr>(a.getLhs()) && isUnsigned(a.getLhs());
  return foldIntBinary(a.getOperands(), getType(),
                       [u](const APInt &x, const APInt &y) -> std::optional<APInt> {
                         if (y.isZero())
                           return std::nullopt; // leave division by zero alone
                         return u ? x.udiv(y) : x.sdiv(y);
                       });
}
OpFoldResult NegOp::fold(FoldAdaptor a) {
  auto d = smallDense(a.getInput());
  if (!d || !isa<IntegerType>(d.getElementType()))
    return {};
  SmallVector<APInt> out;
  for (APInt v : d.getValues<APInt>())
    out.push_back(-v);
  return DenseElementsAttr::get(getType(), out);
}

OpFoldResult EqualOp::fold(FoldAdaptor a) {
  auto lhs = smallDense(a.getLhs()), rhs = smallDense(a.getRhs());
  if (!lhs || !rhs || !isa<IntegerType>(lhs.getElementType()))
    return {};
  auto type = getType();
  SmallVector<bool> out;
  auto x = lhs.getValues<APInt>(), y = rhs.getValues<APInt>();
  for (int64_t i = 0, n = type.getNumElements(); i < n; ++i)
    out.push_back(x[broadcastSource(type.getShape(), lhs.getType().getShape(), i)] ==
                  y[broadcastSource(type.getShape(), rhs.getType().getShape(), i)]);
  return DenseElementsAttr::get(type, out);
}

OpFoldResult WhereOp::fold(FoldAdaptor a) {
  auto c = smallDense(a.getCondition()), x = smallDense(a.getX()),
       y = smallDense(a.getY());
  auto type = getType();
  if (!c || !x || !y || type.getNumElements() > kMaxFoldElements)
    return {};
  auto cond = c.getValues<bool>();
  SmallVector<Attribute> out;
  for (int64_t i = 0, n = type.getNumElements(); i < n; ++i) {
    bool pick = cond[broadcastSource(type.getShape(), c.getType().getShape(), i)];
    DenseElementsAttr src = pick ? x : y;
    out.push_back(elementAt(src, broadcastSource(type.getShape(),
                                                 src.getType().getShape(), i)));
  }
  return DenseElementsAttr::get(type, out);
}

OpFoldResult GatherOp::fold(FoldAdaptor a) {
  auto data = smallDense(a.getInput()), idx = smallDense(a.getIndices());
  auto type = getType();
  if (!data || !idx || type.getNumElements() > kMaxFoldElements)
    return {};
  ArrayRef<int64_t> in = data.getType().getShape();
  int64_t axis = getAxis() < 0 ? getAxis() + in.size() : getAxis();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= in[d];
  for (size_t d = axis + 1; d < in.size(); ++d)
    inner *= in[d];
  SmallVector<int64_t> indices;
  for (APInt v : idx.getValues<APInt>()) {
    int64_t i = v.getSExtValue();
    if (i < 0)
      i += in[axis];
    if (i < 0 || i >= in[axis])
      return {}; // out of range: leave the error to run time
    indices.push_back(i);
  }
  SmallVector<Attribute> out;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : indices)
      for (int64_t j = 0; j < inner; ++j)
        out.push_back(elementAt(data, (o * in[axis] + i) * inner + j));
  return DenseElementsAttr::get(type, out);
}

namespace detail {

/// Concatenation of small constants (used by ConcatOp::fold).
OpFoldResult foldConcatConstants(ArrayRef<Attribute> operands,
                                 RankedTensorType type, int64_t axis) {
  if (type.getNumElements() > kMaxFoldElements)
    return {};
  SmallVector<DenseElementsAttr> parts;
  for (Attribute a : operands) {
    auto d = smallDense(a);
    if (!d)
      return {};
    parts.push_back(d);
  }
  ArrayRef<int64_t> shape = type.getShape();
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  SmallVector<Attribute> out;
  for (int64_t o = 0; o < outer; ++o)
    for (DenseElementsAttr p : parts) {
      int64_t chunk = p.getNumElements() / std::max<int64_t>(outer, 1);
      for (int64_t j = 0; j < chunk; ++j)
        out.push_back(elementAt(p, o * chunk + j));
    }
  return DenseElementsAttr::get(type, out);
}

/// Strided slice of a small constant (used by SliceOp::fold).
OpFoldResult foldSliceConstant(Attribute input, RankedTensorType type,
                               ArrayRef<int64_t> starts, ArrayRef<int64_t> steps) {
  auto d = smallDense(input);
  if (!d || type.getNumElements() > kMaxFoldElements)
    return {};
  SmallVector<int64_t> inStrides = stridesOf(d.getType().getShape());
  SmallVector<int64_t> outStrides = stridesOf(type.getShape());
  SmallVector<Attribute> out;
  for (int64_t i = 0, n = type.getNumElements(); i < n; ++i) {
    int64_t src = 0;
    for (size_t k = 0; k < starts.size(); ++k) {
      int64_t idx = (i / outStrides[k]) % type.getDimSize(k);
      src += (starts[k] + idx * steps[k]) * inStrides[k];
    }
    out.push_back(elementAt(d, src));
  }
  return DenseElementsAttr::get(type, out);
}

/// Integer-to-integer casts of small constants (used by CastOp::fold).
OpFoldResult foldCastConstant(Attribute input, RankedTensorType type) {
  auto d = smallDense(input);
  if (!d || !isa<IntegerType>(d.getElementType()) ||
      !isa<IntegerType>(type.getElementType()))
    return {};
  unsigned width = type.getElementType().getIntOrFloatBitWidth();
  bool fromUnsigned = d.getElementType().isUnsignedInteger();
  bool toBool = width == 1;
  SmallVector<APInt> out;
  for (APInt v : d.getValues<APInt>())
    out.push_back(toBool ? APInt(1, !v.isZero())
                         : (fromUnsigned ? v.zextOrTrunc(width) : v.sextOrTrunc(width)));
  return DenseElementsAttr::get(type, out);
}

} // namespace detail
} // namespace partita::graph
