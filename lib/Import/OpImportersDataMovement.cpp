//===- OpImportersDataMovement.cpp - shape computations, data movement ----===//
//
// Handlers for ONNX ops that compute shapes (folded into constants at
// import: Shape, Size, ConstantOfShape, Range, Constant) and ops that move
// data (Reshape and its spellings Flatten/Squeeze/Unsqueeze, Transpose,
// Expand, Tile, Concat, Split, Slice, Pad, Gather*, Scatter*, OneHot, Trilu).
// Their job is mostly to turn ONNX's input-or-attribute, negative-index
// spellings into the graph dialect's normalized attributes.
//
//===----------------------------------------------------------------------===//

#include "OpImporters.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphInference.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace partita::graph;

namespace partita::import {
namespace {

//===----------------------------------------------------------------------===//
// Shape computations folded at import
//===----------------------------------------------------------------------===//

Value i64Constant(NodeContext &c, ArrayRef<int64_t> shape,
                  ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get(shape, c.b.getI64Type());
  return c.constant(DenseElementsAttr::get(type, values));
}

LogicalResult importShape(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  ArrayRef<int64_t> shape = c.type(x).getShape();
  int64_t rank = shape.size();
  // Opset 15 adds start/end with Python-style clamping.
  auto clampIdx = [&](int64_t i) {
    if (i < 0)
      i += rank;
    return std::clamp<int64_t>(i, 0, rank);
  };
  int64_t start = clampIdx(c.attrInt("start", 0));
  int64_t end = clampIdx(c.attrInt("end", rank));
  SmallVector<int64_t> dims;
  for (int64_t i = start; i < end; ++i)
    dims.push_back(shape[i]);
  c.results.push_back(i64Constant(c, {(int64_t)dims.size()}, dims));
  return success();
}

LogicalResult importSize(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  c.results.push_back(i64Constant(c, {}, {c.type(x).getNumElements()}));
  return success();
}

LogicalResult importConstant(NodeContext &c) {
  MLIRContext *ctx = c.b.getContext();
  if (auto t = c.node.getTensor("value", ctx, c.loc)) {
    if (!*t)
      return failure();
    c.results.push_back(c.constant(*t));
    return success();
  }
  Builder &b = c.b;
  if (auto f = c.node.getFloat("value_float")) {
    auto type = RankedTensorType::get({}, b.getF32Type());
    c.results.push_back(c.constant(DenseElementsAttr::get(type, (float)*f)));
  } else if (auto fs = c.node.getFloats("value_floats")) {
    SmallVector<float> v(fs->begin(), fs->end());
    auto type = RankedTensorType::get({(int64_t)v.size()}, b.getF32Type());
    c.results.push_back(c.constant(DenseElementsAttr::get(type, ArrayRef<float>(v))));
  } else if (auto i = c.node.getInt("value_int")) {
    c.results.push_back(i64Constant(c, {}, {*i}));
  } else if (auto is = c.node.getInts("value_ints")) {
    c.results.push_back(i64Constant(c, {(int64_t)is->size()}, *is));
  } else {
    return c.error() << "only 'value', 'value_float(s)' and 'value_int(s)' "
                        "constants are supported (got sparse or string)";
  }
  return success();
}

LogicalResult importConstantOfShape(NodeContext &c) {
  auto shape = c.constInts(0, "input");
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
      return c.error() << "negative dimension " << d << " in the shape";
  DenseElementsAttr fill;
  if (auto t = c.node.getTensor("value", c.b.getContext(), c.loc)) {
    fill = dyn_cast_or_null<DenseElementsAttr>(*t);
    if (!fill || fill.getNumElements() != 1)
      return c.error() << "'value' must be a one-element tensor";
  } else {
    fill = DenseElementsAttr::get(RankedTensorType::get({1}, c.b.getF32Type()), 0.0f);
  }
  auto type = RankedTensorType::get(*shape, fill.getElementType());
  c.results.push_back(c.constant(fill.resizeSplat(type)));
  return success();
}

LogicalResult importRange(NodeContext &c) {
  Value start = c.in(0);
  auto s = c.constScalar(0, "start"), l = c.constScalar(1, "limit"),
       d = c.constScalar(2, "delta");
  if (!start || failed(s) || failed(l) || failed(d))
    return failure();
  if (*d == 0)
    return c.error() << "delta must be non-zero";
  int64_t n = std::max<int64_t>(0, (int64_t)std::ceil((*l - *s) / *d));
  Type elt = c.type(start).getElementType();
  auto type = RankedTensorType::get({n}, elt);
  if (isa<FloatType>(elt)) {
    SmallVector<APFloat> vals;
    for (int64_t i = 0; i < n; ++i) {
      APFloat f(*s + i * *d);
      bool lost;
      f.convert(cast<FloatType>(elt).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &lost);
      vals.push_back(f);
    }
    c.results.push_back(c.constant(DenseElementsAttr::get(type, vals)));
  } else {
    SmallVector<APInt> vals;
    for (int64_t i = 0; i < n; ++i)
      vals.push_back(APInt(elt.getIntOrFloatBitWidth(),
                           (int64_t)*s + i * (int64_t)*d, /*isSigned=*/true));
    c.results.push_back(c.constant(DenseElementsAttr::get(type, vals)));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult importReshape(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  auto shape = c.intsFromAttrOrInput("shape", 1);
  if (failed(shape))
    return failure();
  if (!*shape)
    return c.error() << "missing shape";
  ArrayRef<int64_t> in = c.type(x).getShape();
  SmallVector<int64_t> out(**shape);
  bool allowZero = c.attrInt("allowzero", 0);
  int64_t inferred = -1, known = 1;
  for (auto [i, d] : llvm::enumerate(out)) {
    if (d == 0 && !allowZero) {
      if (i >= in.size())
        return c.error() << "shape entry " << i << " is 0 (copy) but the input "
                         << "has rank " << in.size();
      d = in[i];
    }
    if (d == -1) {
      if (inferred >= 0)
        return c.error() << "shape has more than one -1";
      inferred = i;
      continue;
    }
    if (d < 0)
      return c.error() << "invalid shape entry " << d;
    known *= d;
  }
  if (inferred >= 0) {
    int64_t total = c.type(x).getNumElements();
    if (known == 0 || total % known != 0)
      return c.error() << "cannot infer the -1 entry: " << total
                       << " elements do not divide by " << known;
    out[inferred] = total / known;
  }
  return c.push(c.make(ReshapeOp::getOperationName(), x, {c.i64s("shape", out)}));
}

LogicalResult importFlatten(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  int64_t rank = c.rank(x), axis = c.attrInt("axis", 1);
  if (axis < -rank || axis > rank)
    return c.error() << "axis " << axis << " is out of range [" << -rank << ", "
                     << rank << "]";
  if (axis < 0)
    axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? outer : inner) *= c.type(x).getDimSize(d);
  return c.push(c.reshape(x, {outer, inner}));
}

LogicalResult importSqueeze(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  auto axes = c.intsFromAttrOrInput("axes", 1);
  if (failed(axes))
    return failure();
  ArrayRef<int64_t> in = c.type(x).getShape();
  SmallVector<int64_t> drop;
  if (*axes) {
    auto n = normalizeAxes(c, **axes, in.size());
    if (failed(n))
      return failure();
    drop = *n;
    for (int64_t a : drop)
      if (in[a] != 1)
        return c.error() << "cannot squeeze axis " << a << " of size " << in[a];
  } else {
    for (auto [i, d] : llvm::enumerate(in))
      if (d == 1)
        drop.push_back(i);
  }
  SmallVector<int64_t> out;
  for (auto [i, d] : llvm::enumerate(in))
    if (!llvm::is_contained(drop, (int64_t)i))
      out.push_back(d);
  return c.push(c.reshape(x, out));
}

LogicalResult importUnsqueeze(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  auto axes = c.intsFromAttrOrInput("axes", 1);
  if (failed(axes))
    return failure();
  if (!*axes)
    return c.error() << "missing axes";
  ArrayRef<int64_t> in = c.type(x).getShape();
  int64_t outRank = in.size() + (*axes)->size();
  auto n = normalizeAxes(c, **axes, outRank);
  if (failed(n))
    return failure();
  if (n->size() != (*axes)->size())
    return c.error() << "axes contain duplicates";
  SmallVector<int64_t> out;
  auto it = in.begin();
  for (int64_t d = 0; d < outRank; ++d)
    out.push_back(llvm::is_contained(*n, d) ? 1 : *it++);
  return c.push(c.reshape(x, out));
}

LogicalResult importTranspose(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  SmallVector<int64_t> perm;
  if (auto p = c.node.getInts("perm")) {
    perm.assign(p->begin(), p->end());
  } else {
    for (int64_t d = c.rank(x) - 1; d >= 0; --d)
      perm.push_back(d);
  }
  return c.push(c.make(TransposeOp::getOperationName(), x, {c.i64s("perm", perm)}));
}

/// Expand and Tile: the input and one list of integers, an attribute or
/// (newer opsets) a constant second input, which becomes attribute `attr`.
static LogicalResult importWithIntList(NodeContext &c, StringRef attr, StringRef opName) {
  Value x = c.in(0);
  auto ints = c.intsFromAttrOrInput(attr, 1);
  if (!x || failed(ints))
    return failure();
  if (!*ints)
    return c.error() << "missing " << attr;
  return c.push(c.make(opName, x, {c.i64s(attr, **ints)}));
}

LogicalResult importExpand(NodeContext &c) {
  return importWithIntList(c, "shape", ExpandOp::getOperationName());
}

LogicalResult importTile(NodeContext &c) {
  return importWithIntList(c, "repeats", TileOp::getOperationName());
}

LogicalResult importConcat(NodeContext &c) {
  SmallVector<Value> operands;
  for (unsigned i = 0; i < c.ins.size(); ++i)
    if (c.has(i))
      operands.push_back(c.ins[i]);
  if (operands.empty())
    return c.error() << "needs at least one input";
  auto axis = c.node.getInt("axis");
  if (!axis)
    return c.error() << "missing attribute 'axis'";
  auto n = normalizeAxis(*axis, c.rank(operands[0]));
  if (failed(n))
    return c.error() << "axis " << *axis << " is out of range for rank "
                     << c.rank(operands[0]);
  return c.push(c.make(ConcatOp::getOperationName(), operands, {c.i64("axis", *n)}));
}

LogicalResult importSplit(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  auto axis = normalizeAxis(c.attrInt("axis", 0), c.rank(x));
  if (failed(axis))
    return c.error() << "axis " << c.attrInt("axis", 0)
                     << " is out of range for rank " << c.rank(x);
  auto split = c.intsFromAttrOrInput("split", 1);
  if (failed(split))
    return failure();
  int64_t dim = c.type(x).getDimSize(*axis);
  SmallVector<int64_t> sizes;
  if (*split && !(*split)->empty()) {
    sizes = **split;
  } else {
    // Equal pieces; from opset 18 the last one may be smaller.
    int64_t n = c.attrInt("num_outputs", c.node.outputs().size());
    if (n <= 0)
      return c.error() << "cannot split into " << n << " pieces";
    int64_t piece = llvm::divideCeil(dim, n);
    if (c.opset < 18 && dim % n != 0)
      return c.error() << "axis of size " << dim << " does not split evenly into "
                       << n << " outputs";
    for (int64_t i = 0, left = dim; i < n; ++i, left -= piece)
      sizes.push_back(std::max<int64_t>(0, std::min(piece, left)));
  }
  return c.pushAll(c.create(SplitOp::getOperationName(), x,
                            {c.i64("axis", *axis), c.i64s("split", sizes)}));
}

LogicalResult importSlice(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  SmallVector<int64_t> starts, ends, axes, steps;
  if (c.opset < 10) {
    auto s = c.node.getInts("starts"), e = c.node.getInts("ends");
    if (!s || !e)
      return c.error() << "missing attributes 'starts' and 'ends'";
    starts.assign(s->begin(), s->end());
    ends.assign(e->begin(), e->end());
    if (auto a = c.node.getInts("axes"))
      axes.assign(a->begin(), a->end());
  } else {
    auto s = c.intsFromAttrOrInput("starts", 1), e = c.intsFromAttrOrInput("ends", 2);
    auto a = c.intsFromAttrOrInput("axes", 3), st = c.intsFromAttrOrInput("steps", 4);
    if (failed(s) || failed(e) || failed(a) || failed(st))
      return failure();
    if (!*s || !*e)
      return c.error() << "missing starts or ends";
    starts = **s;
    ends = **e;
    if (*a)
      axes = **a;
    if (*st)
      steps = **st;
  }
  int64_t rank = c.rank(x);
  if (axes.empty())
    for (int64_t i = 0; i < (int64_t)starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return c.error() << "starts, ends, axes and steps differ in length";
  ArrayRef<int64_t> shape = c.type(x).getShape();
  SmallVector<int64_t> nStart(rank, 0), nEnd(shape), nStep(rank, 1);
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    auto a = normalizeAxis(axes[i], rank);
    if (failed(a) || seen[*a])
      return c.error() << "invalid or repeated axis " << axes[i];
    seen[*a] = true;
    int64_t dim = shape[*a], step = steps[i];
    if (step == 0)
      return c.error() << "step must be non-zero";
    // ONNX semantics: negative indices count from the end, then clamp to
    // [0, dim] for positive steps and [-1, dim - 1] for negative ones.
    auto clampIdx = [&](int64_t v) {
      if (v < 0)
        v = v < -dim ? (step > 0 ? 0 : -1) : v + dim;
      return step > 0 ? std::clamp<int64_t>(v, 0, dim)
                      : std::clamp<int64_t>(v, -1, dim - 1);
    };
    nStart[*a] = clampIdx(starts[i]);
    nEnd[*a] = clampIdx(ends[i]);
    nStep[*a] = step;
    // An empty negative-step slice of an empty dimension: keep it in range.
    if (step < 0 && dim == 0)
      nStart[*a] = nEnd[*a] = -1;
  }
  return c.push(c.make(SliceOp::getOperationName(), x,
                   {c.i64s("starts", nStart), c.i64s("ends", nEnd), c.i64s("steps", nStep)}));
}

LogicalResult importPad(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  int64_t rank = c.rank(x);
  auto pads = c.intsFromAttrOrInput("pads", 1);
  if (failed(pads))
    return failure();
  if (!*pads)
    return c.error() << "missing pads";
  double value = c.attrFloat("value", 0.0);
  if (c.opset >= 11 && c.has(2)) {
    auto v = c.constScalar(2, "constant_value");
    if (failed(v))
      return failure();
    value = *v;
  }
  SmallVector<int64_t> full(2 * rank, 0);
  if (c.has(3)) {
    // Opset 18: pads apply to the listed axes only.
    auto axes = c.constInts(3, "axes");
    if (failed(axes))
      return failure();
    if ((*pads)->size() != 2 * axes->size())
      return c.error() << "pads must have 2 entries per axis";
    for (auto [i, a] : llvm::enumerate(*axes)) {
      auto n = normalizeAxis(a, rank);
      if (failed(n))
        return c.error() << "axis " << a << " is out of range for rank " << rank;
      full[*n] = (**pads)[i];
      full[*n + rank] = (**pads)[i + axes->size()];
    }
  } else {
    full = **pads;
  }
  std::string mode = c.node.getString("mode").value_or("constant");
  std::optional<PadMode> m = symbolizePadMode(mode);
  if (!m)
    return c.error() << "pad mode '" << mode
                     << "' is not one of constant, reflect, edge, wrap";
  return c.push(c.make(PadOp::getOperationName(), x,
                   {c.i64s("pads", full),
                    c.b.getNamedAttr("mode", PadModeAttr::get(c.b.getContext(), *m)),
                    c.b.getNamedAttr("value", c.b.getF64FloatAttr(value))}));
}

template <typename OpTy>
LogicalResult gatherLike(NodeContext &c) {
  return c.push(c.make(OpTy::getOperationName(), {c.in(0), c.in(1)},
                   {c.i64("axis", c.attrInt("axis", 0))}));
}

FailureOr<ScatterReductionAttr> scatterReduction(NodeContext &c) {
  std::string red = c.node.getString("reduction").value_or("none");
  std::optional<ScatterReduction> r = symbolizeScatterReduction(red);
  if (!r)
    return c.error() << "reduction '" << red
                     << "' is not one of none, add, mul, max, min";
  return ScatterReductionAttr::get(c.b.getContext(), *r);
}

LogicalResult importScatterElements(NodeContext &c) {
  auto red = scatterReduction(c);
  if (failed(red))
    return failure();
  return c.push(c.make(ScatterElementsOp::getOperationName(), {c.in(0), c.in(1), c.in(2)},
                   {c.i64("axis", c.attrInt("axis", 0)),
                    c.b.getNamedAttr("reduction", *red)}));
}

LogicalResult importScatterND(NodeContext &c) {
  auto red = scatterReduction(c);
  if (failed(red))
    return failure();
  return c.push(c.make(ScatterNDOp::getOperationName(), {c.in(0), c.in(1), c.in(2)},
                   {c.b.getNamedAttr("reduction", *red)}));
}

LogicalResult importOneHot(NodeContext &c) {
  auto attrDepth = c.has(1) ? std::nullopt : c.node.getInt("depth"); // JSON
  auto depth = attrDepth ? FailureOr<double>((double)*attrDepth)
                         : c.constScalar(1, "depth");
  if (failed(depth))
    return failure();
  return c.push(c.make(OneHotOp::getOperationName(), {c.in(0), c.in(2)},
                   {c.i64("depth", (int64_t)*depth), c.i64("axis", c.attrInt("axis", -1))}));
}

LogicalResult importTrilu(NodeContext &c) {
  int64_t k = c.attrInt("k", 0); // JSON's attribute form; ONNX uses input 1
  if (c.has(1)) {
    auto kv = c.constScalar(1, "k");
    if (failed(kv))
      return failure();
    k = (int64_t)*kv;
  }
  return c.push(c.make(TriluOp::getOperationName(), c.in(0),
                   {c.boolean("upper", c.attrInt("upper", 1)), c.i64("k", k)}));
}

} // namespace

void addDataMovementHandlers(llvm::StringMap<OpHandler> &t) {
  t["Constant"] = importConstant;
  t["ConstantOfShape"] = importConstantOfShape;
  t["Range"] = importRange;
  t["Shape"] = importShape;
  t["Size"] = importSize;
  t["Concat"] = importConcat;
  t["Expand"] = importExpand;
  t["Flatten"] = importFlatten;
  t["Gather"] = gatherLike<GatherOp>;
  t["GatherElements"] = gatherLike<GatherElementsOp>;
  t["OneHot"] = importOneHot;
  t["Pad"] = importPad;
  t["Reshape"] = importReshape;
  t["ScatterElements"] = importScatterElements;
  t["ScatterND"] = importScatterND;
  t["Slice"] = importSlice;
  t["Split"] = importSplit;
  t["Squeeze"] = importSqueeze;
  t["Tile"] = importTile;
  t["Transpose"] = importTranspose;
  t["Trilu"] = importTrilu;
  t["Unsqueeze"] = importUnsqueeze;
}

} // namespace partita::import
