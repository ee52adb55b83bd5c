//===- OpImporters.cpp - per-ONNX-op handlers -----------------------------===//
//
// One table maps each ONNX op type to a handler. Most handlers come from a
// few templates (unary, binary, reduction, ...); the rest are short
// functions that translate ONNX's opset-dependent spellings (attribute vs.
// input, negative axes, auto_pad, ...) into the graph dialect's normalized
// form. Pure shape computations (Shape, Size, ConstantOfShape, Range) become
// constants, Flatten/Squeeze/Unsqueeze become reshapes, Identity and
// inference-mode Dropout forward their input.
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
#include <numeric>

using namespace mlir;
using namespace partita::graph;

namespace partita::import {

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

InFlightDiagnostic NodeContext::error() const {
  InFlightDiagnostic d = emitError(loc);
  d << node.opType();
  if (!node.name().empty())
    d << " node '" << node.name() << "'";
  d << ": ";
  return d;
}

Value NodeContext::in(unsigned i) const {
  if (!has(i)) {
    error() << "missing required input #" << i;
    return nullptr;
  }
  return ins[i];
}

bool NodeContext::outputWanted(unsigned i) const {
  return i < node.outputs().size() && !node.outputs()[i].empty();
}

DenseElementsAttr NodeContext::constantInput(unsigned i) const {
  if (!has(i))
    return {};
  DenseElementsAttr attr;
  if (matchPattern(ins[i], m_Constant(&attr)))
    return attr;
  if (specs) {
    auto it = specs->available.find(ins[i]);
    if (it != specs->available.end()) {
      specs->used.insert(ins[i]);
      return it->second;
    }
  }
  return {};
}

FailureOr<SmallVector<int64_t>> NodeContext::constInts(unsigned i,
                                                       StringRef what) const {
  Value v = in(i);
  if (!v)
    return failure();
  DenseElementsAttr attr = constantInput(i);
  if (!attr || !isa<IntegerType>(attr.getElementType())) {
    if (attr && isa<FloatType>(attr.getElementType())) {
      SmallVector<int64_t> out;
      for (APFloat f : attr.getValues<APFloat>())
        out.push_back(static_cast<int64_t>(f.convertToDouble()));
      return out;
    }
    return error() << "input '" << what
                   << "' must be a constant: it determines a shape, and "
                      "shapes are static (specialize the model's inputs)";
  }
  SmallVector<int64_t> out;
  for (APInt x : attr.getValues<APInt>())
    out.push_back(attr.getElementType().isUnsignedInteger()
                      ? static_cast<int64_t>(x.getZExtValue())
                      : x.getSExtValue());
  return out;
}

FailureOr<double> NodeContext::constScalar(unsigned i, StringRef what) const {
  Value v = in(i);
  if (!v)
    return failure();
  DenseElementsAttr attr = constantInput(i);
  if (!attr || attr.getNumElements() != 1)
    return error() << "input '" << what << "' must be a one-element constant";
  if (isa<FloatType>(attr.getElementType()))
    return (*attr.getValues<APFloat>().begin()).convertToDouble();
  APInt x = *attr.getValues<APInt>().begin();
  return attr.getElementType().isUnsignedInteger() ? (double)x.getZExtValue()
                                                   : (double)x.getSExtValue();
}

FailureOr<std::optional<SmallVector<int64_t>>>
NodeContext::intsFromAttrOrInput(StringRef attr, unsigned i) const {
  if (auto v = node.getInts(attr))
    return std::optional<SmallVector<int64_t>>(SmallVector<int64_t>(v->begin(), v->end()));
  if (!has(i))
    return std::optional<SmallVector<int64_t>>();
  auto v = constInts(i, attr);
  if (failed(v))
    return failure();
  return std::optional<SmallVector<int64_t>>(*v);
}

Operation *NodeContext::create(StringRef name, ValueRange operands,
                               ArrayRef<NamedAttribute> attrs) {
  // A missing required input is null here; in() has already reported it.
  if (llvm::any_of(operands, [](Value v) { return !v; }))
    return nullptr;
  Operation *op = createInferred(b, loc, name, operands, attrs);
  if (!op)
    return nullptr;
  // Fold shape arithmetic on constants right away: later handlers (Reshape,
  // Slice, ...) need the folded values as attributes.
  if (!foldFloats && llvm::any_of(op->getResultTypes(), [](Type t) {
        auto tensor = dyn_cast<RankedTensorType>(t);
        return tensor && isa<FloatType>(tensor.getElementType());
      }))
    return op;
  SmallVector<Attribute> constants;
  for (Value v : operands) {
    Attribute a;
    if (!matchPattern(v, m_Constant(&a)))
      return op;
    constants.push_back(a);
  }
  SmallVector<OpFoldResult> folded;
  if (failed(op->fold(constants, folded)) || folded.size() != op->getNumResults())
    return op;
  // Only whole-constant folds replace the op; in-place folds keep it.
  SmallVector<ElementsAttr> values;
  for (auto [res, f] : llvm::zip(op->getResults(), folded)) {
    auto attr = dyn_cast_if_present<Attribute>(f);
    auto elements = dyn_cast_or_null<ElementsAttr>(attr);
    if (!elements || elements.getType() != res.getType())
      return op;
    values.push_back(elements);
  }
  if (values.size() != 1)
    return op;
  op->erase();
  return constant(values[0]).getDefiningOp();
}

Value NodeContext::make(StringRef name, ValueRange operands,
                        ArrayRef<NamedAttribute> attrs) {
  Operation *op = create(name, operands, attrs);
  return op ? op->getResult(0) : Value();
}

Value NodeContext::constant(ElementsAttr value) {
  return ConstantOp::create(b, loc, value.getType(), value);
}

Value NodeContext::reshape(Value v, ArrayRef<int64_t> shape) {
  if (!v)
    return v;
  if (type(v).getShape() == shape)
    return v;
  return make(ReshapeOp::getOperationName(), v, {i64s("shape", shape)});
}

FailureOr<SmallVector<int64_t>> normalizeAxes(NodeContext &c, ArrayRef<int64_t> axes,
                                              int64_t rank) {
  SmallVector<int64_t> out;
  for (int64_t a : axes) {
    auto n = normalizeAxis(a, rank);
    if (failed(n))
      return c.error() << "axis " << a << " is out of range for rank " << rank;
    out.push_back(*n);
  }
  llvm::sort(out);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

Type onnxElementType(MLIRContext *ctx, int dt) {
  Builder b(ctx);
  switch (dt) {
  case 1: return b.getF32Type();
  case 2: return b.getIntegerType(8, /*isSigned=*/false);
  case 3: return b.getIntegerType(8);
  case 4: return b.getIntegerType(16, false);
  case 5: return b.getIntegerType(16);
  case 6: return b.getIntegerType(32);
  case 7: return b.getIntegerType(64);
  case 9: return b.getI1Type();
  case 10: return b.getF16Type();
  case 11: return b.getF64Type();
  case 12: return b.getIntegerType(32, false);
  case 13: return b.getIntegerType(64, false);
  case 16: return b.getBF16Type();
  default: return nullptr;
  }
}

StringRef onnxTypeName(int dt) {
  static const char *names[] = {"UNDEFINED", "FLOAT",   "UINT8",     "INT8",
                                "UINT16",    "INT16",   "INT32",     "INT64",
                                "STRING",    "BOOL",    "FLOAT16",   "DOUBLE",
                                "UINT32",    "UINT64",  "COMPLEX64", "COMPLEX128",
                                "BFLOAT16"};
  if (dt >= 0 && dt < (int)std::size(names))
    return names[dt];
  return "unknown";
}

namespace {

//===----------------------------------------------------------------------===//
// Templates
//===----------------------------------------------------------------------===//

/// Unary op; `floatAttrs` lists ONNX float attributes copied with defaults.
template <typename OpTy>
LogicalResult unary(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  SmallVector<NamedAttribute> attrs;
  // Copy every float attribute the op declares (alpha, beta, gamma).
  for (StringRef name : {"alpha", "beta", "gamma"})
    if (auto v = c.node.getFloat(name))
      if (OpTy::getAttributeNames().end() !=
          llvm::find(OpTy::getAttributeNames(), name))
        attrs.push_back(c.f32(name, *v));
  return c.push(c.make(OpTy::getOperationName(), x, attrs));
}

template <typename OpTy>
LogicalResult binary(NodeContext &c) {
  Value a = c.in(0), b = c.in(1);
  if (!a || !b)
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (auto fmod = c.node.getInt("fmod"))
    attrs.push_back(c.boolean("fmod", *fmod != 0));
  return c.push(c.make(OpTy::getOperationName(), {a, b}, attrs));
}

/// Sum, Max, Min: a left fold of the binary op over all inputs.
template <typename OpTy>
LogicalResult variadic(NodeContext &c) {
  Value acc = c.in(0);
  for (unsigned i = 1; acc && i < c.ins.size(); ++i)
    acc = c.make(OpTy::getOperationName(), {acc, c.in(i)});
  c.results.push_back(acc);
  return success(acc != nullptr);
}

LogicalResult importMean(NodeContext &c) {
  if (failed(variadic<AddOp>(c)))
    return failure();
  Value sum = c.results.pop_back_val();
  if (c.ins.size() == 1) {
    c.results.push_back(sum);
    return success();
  }
  auto scalar = RankedTensorType::get({}, c.type(sum).getElementType());
  Value n = createSplatConstant(c.b, c.loc, scalar, (double)c.ins.size());
  return c.push(c.make(DivOp::getOperationName(), {sum, n}));
}

/// ReduceX: axes from the attribute (older opsets) or input 1 (ReduceSum
/// from opset 13, the others from 18); none means all unless
/// noop_with_empty_axes.
template <typename OpTy>
LogicalResult reduce(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  auto axes = c.intsFromAttrOrInput("axes", 1);
  if (failed(axes))
    return failure();
  int64_t rank = c.rank(x);
  SmallVector<int64_t> norm;
  if (!*axes || (*axes)->empty()) {
    if (c.attrInt("noop_with_empty_axes", 0)) {
      c.results.push_back(x);
      return success();
    }
    norm.resize(rank);
    std::iota(norm.begin(), norm.end(), 0);
  } else {
    auto n = normalizeAxes(c, **axes, rank);
    if (failed(n))
      return failure();
    norm = *n;
  }
  return c.push(c.make(OpTy::getOperationName(), x,
                   {c.i64s("axes", norm), c.boolean("keepdims", c.attrInt("keepdims", 1))}));
}

template <typename OpTy>
LogicalResult argReduce(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  return c.push(c.make(OpTy::getOperationName(), x,
                   {c.i64("axis", c.attrInt("axis", 0)),
                    c.boolean("keepdims", c.attrInt("keepdims", 1)),
                    c.boolean("select_last_index", c.attrInt("select_last_index", 0))}));
}

/// Softmax/LogSoftmax. Before opset 13 the input is coerced to 2-D at
/// `axis` (default 1) and normalized over the flattened trailing block.
template <typename OpTy>
LogicalResult softmaxLike(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  int64_t rank = c.rank(x);
  if (c.opset >= 13) {
    return c.push(c.make(OpTy::getOperationName(), x, {c.i64("axis", c.attrInt("axis", -1))}));
  }
  auto axis = normalizeAxis(c.attrInt("axis", 1), rank);
  if (failed(axis))
    return c.error() << "axis " << c.attrInt("axis", 1)
                     << " is out of range for rank " << rank;
  ArrayRef<int64_t> shape = c.type(x).getShape();
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < *axis ? outer : inner) *= shape[d];
  Value flat = c.reshape(x, {outer, inner});
  Value r = c.make(OpTy::getOperationName(), flat, {c.i64("axis", 1)});
  r = c.reshape(r, shape);
  c.results.push_back(r);
  return success(r != nullptr);
}

//===----------------------------------------------------------------------===//
// Individual handlers
//===----------------------------------------------------------------------===//

LogicalResult importIdentity(NodeContext &c) {
  Value x = c.in(0);
  c.results.push_back(x);
  return success(x != nullptr);
}

LogicalResult importDropout(NodeContext &c) {
  // Inference mode only: training_mode (input 2, opset 12+) must be false.
  if (c.has(2)) {
    auto training = c.constScalar(2, "training_mode");
    if (failed(training))
      return failure();
    if (*training != 0.0)
      return c.error() << "training mode is not supported (inference only)";
  }
  Value x = c.in(0);
  if (!x)
    return failure();
  c.results.push_back(x);
  if (c.outputWanted(1)) {
    auto maskType = RankedTensorType::get(c.type(x).getShape(), c.b.getI1Type());
    c.results.push_back(c.constant(DenseElementsAttr::get(maskType, true)));
  }
  return success();
}

LogicalResult importCast(NodeContext &c) {
  Value x = c.in(0);
  auto to = c.node.getInt("to");
  if (!x)
    return failure();
  if (!to)
    return c.error() << "missing attribute 'to'";
  Type elt = onnxElementType(c.b.getContext(), *to);
  if (!elt)
    return c.error() << "cast to " << onnxTypeName(*to)
                     << " is not supported (supported: FLOAT, DOUBLE, FLOAT16, "
                        "BFLOAT16, BOOL, INT8/16/32/64, UINT8/16/32/64)";
  return c.push(c.make(CastOp::getOperationName(), x,
                   {c.b.getNamedAttr("to", TypeAttr::get(elt))}));
}

LogicalResult importClip(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  SmallVector<NamedAttribute> attrs;
  if (c.opset < 11) {
    if (auto v = c.node.getFloat("min"))
      attrs.push_back(c.b.getNamedAttr("min", c.b.getF64FloatAttr(*v)));
    if (auto v = c.node.getFloat("max"))
      attrs.push_back(c.b.getNamedAttr("max", c.b.getF64FloatAttr(*v)));
  } else {
    for (auto [i, name] : llvm::enumerate(std::array<StringRef, 2>{"min", "max"}))
      if (c.has(i + 1)) {
        auto v = c.constScalar(i + 1, name);
        if (failed(v))
          return failure();
        attrs.push_back(c.b.getNamedAttr(name, c.b.getF64FloatAttr(*v)));
      } else if (auto v = c.node.getFloat(name)) { // JSON attribute form
        attrs.push_back(c.b.getNamedAttr(name, c.b.getF64FloatAttr(*v)));
      }
  }
  return c.push(c.make(ClipOp::getOperationName(), x, attrs));
}

LogicalResult importWhere(NodeContext &c) {
  return c.push(c.make(WhereOp::getOperationName(), {c.in(0), c.in(1), c.in(2)}));
}

LogicalResult importCumSum(NodeContext &c) {
  Value x = c.in(0);
  // The JSON form may give the axis as an attribute instead of input 1.
  auto attrAxis = c.has(1) ? std::nullopt : c.node.getInt("axis");
  auto axis = attrAxis ? FailureOr<double>((double)*attrAxis)
                       : c.constScalar(1, "axis");
  if (!x || failed(axis))
    return failure();
  return c.push(c.make(CumSumOp::getOperationName(), x,
                   {c.i64("axis", (int64_t)*axis),
                    c.boolean("exclusive", c.attrInt("exclusive", 0)),
                    c.boolean("reverse", c.attrInt("reverse", 0))}));
}

LogicalResult importTopK(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  int64_t k;
  if (c.opset < 10 || (!c.has(1) && c.node.getInt("k"))) { // or JSON's attribute
    k = c.attrInt("k", -1);
  } else {
    auto kv = c.constInts(1, "K");
    if (failed(kv))
      return failure();
    if (kv->size() != 1)
      return c.error() << "input 'K' must hold one value";
    k = (*kv)[0];
  }
  return c.pushAll(c.create(TopKOp::getOperationName(), x,
                            {c.i64("k", k), c.i64("axis", c.attrInt("axis", -1)),
                             c.boolean("largest", c.attrInt("largest", 1)),
                             c.boolean("sorted", c.attrInt("sorted", 1))}));
}

LogicalResult importBatchNorm(NodeContext &c) {
  if (c.attrInt("training_mode", 0))
    return c.error() << "training_mode = 1 is not supported (inference only)";
  for (unsigned i = 1; i < c.node.outputs().size(); ++i)
    if (c.outputWanted(i))
      return c.error() << "running statistics outputs are not supported "
                          "(inference only)";
  return c.push(c.make(BatchNormOp::getOperationName(),
                   {c.in(0), c.in(1), c.in(2), c.in(3), c.in(4)},
                   {c.f32("epsilon", c.attrFloat("epsilon", 1e-5))}));
}

LogicalResult importInstanceNorm(NodeContext &c) {
  return c.push(c.make(InstanceNormOp::getOperationName(), {c.in(0), c.in(1), c.in(2)},
                   {c.f32("epsilon", c.attrFloat("epsilon", 1e-5))}));
}

LogicalResult importLayerNorm(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  SmallVector<Value> operands{x, c.in(1)};
  if (c.has(2))
    operands.push_back(c.in(2));
  double eps = c.attrFloat("epsilon", 1e-5);
  Value y = c.make(LayerNormOp::getOperationName(), operands,
                   {c.i64("axis", c.attrInt("axis", -1)), c.f32("epsilon", eps)});
  c.results.push_back(y);
  if (!y || (!c.outputWanted(1) && !c.outputWanted(2)))
    return success(y != nullptr);
  // The optional Mean and InvStdDev outputs (kept dims) are computed from
  // primitive ops: mean(x), 1 / sqrt(mean((x - mean)^2) + epsilon).
  int64_t rank = c.rank(x);
  auto axis = normalizeAxis(c.attrInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> axes;
  for (int64_t d = *axis; d < rank; ++d)
    axes.push_back(d);
  SmallVector<NamedAttribute> reduceAttrs{c.i64s("axes", axes), c.boolean("keepdims", true)};
  Value mean = c.make(ReduceMeanOp::getOperationName(), x, reduceAttrs);
  Value centered = c.make(SubOp::getOperationName(), {x, mean});
  Value sq = c.make(MulOp::getOperationName(), {centered, centered});
  Value var = c.make(ReduceMeanOp::getOperationName(), sq, reduceAttrs);
  auto scalar = RankedTensorType::get({}, c.type(x).getElementType());
  Value shifted = c.make(AddOp::getOperationName(),
                         {var, createSplatConstant(c.b, c.loc, scalar, eps)});
  Value invStd = c.make(ReciprocalOp::getOperationName(),
                        c.make(SqrtOp::getOperationName(), shifted));
  c.results.push_back(mean);
  c.results.push_back(invStd);
  return success(mean && invStd);
}

LogicalResult importMatMul(NodeContext &c) { return binary<MatMulOp>(c); }

LogicalResult importGemm(NodeContext &c) {
  SmallVector<Value> operands{c.in(0), c.in(1)};
  if (c.has(2))
    operands.push_back(c.in(2));
  return c.push(c.make(GemmOp::getOperationName(), operands,
                   {c.f32("alpha", c.attrFloat("alpha", 1.0)),
                    c.f32("beta", c.attrFloat("beta", 1.0)),
                    c.boolean("transA", c.attrInt("transA", 0)),
                    c.boolean("transB", c.attrInt("transB", 0))}));
}

LogicalResult importEinsum(NodeContext &c) {
  auto eq = c.node.getString("equation");
  if (!eq)
    return c.error() << "missing attribute 'equation'";
  SmallVector<Value> operands;
  for (unsigned i = 0; i < c.ins.size(); ++i)
    operands.push_back(c.in(i));
  return c.push(c.make(EinsumOp::getOperationName(), operands,
                   {c.b.getNamedAttr("equation", c.b.getStringAttr(*eq))}));
}

/// Window attributes shared by Conv and the pools, with auto_pad resolved.
struct Window {
  SmallVector<int64_t> kernel, strides, pads, dilations;
};

FailureOr<Window> importWindow(NodeContext &c, Value x,
                               ArrayRef<int64_t> kernelFromWeight) {
  Window w;
  int64_t n = c.rank(x) - 2;
  if (n < 1)
    return c.error() << "expected an input of rank >= 3 (N, C, spatial...)";
  auto ints = [&](StringRef name, int64_t count, int64_t dflt) {
    auto v = c.node.getInts(name);
    return v ? SmallVector<int64_t>(v->begin(), v->end())
             : SmallVector<int64_t>(count, dflt);
  };
  if (auto k = c.node.getInts("kernel_shape"))
    w.kernel.assign(k->begin(), k->end());
  else
    w.kernel.assign(kernelFromWeight.begin(), kernelFromWeight.end());
  if ((int64_t)w.kernel.size() != n)
    return c.error() << "kernel_shape has " << w.kernel.size()
                     << " entries, expected " << n;
  w.strides = ints("strides", n, 1);
  w.dilations = ints("dilations", n, 1);
  w.pads = ints("pads", 2 * n, 0);
  if ((int64_t)w.strides.size() != n || (int64_t)w.dilations.size() != n ||
      (int64_t)w.pads.size() != 2 * n)
    return c.error() << "strides, dilations and pads must have " << n << ", "
                     << n << " and " << 2 * n << " entries";
  std::string autoPad = c.node.getString("auto_pad").value_or("NOTSET");
  if (autoPad == "VALID") {
    std::fill(w.pads.begin(), w.pads.end(), 0);
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    ArrayRef<int64_t> spatial = c.type(x).getShape().drop_front(2);
    for (int64_t i = 0; i < n; ++i) {
      int64_t out = llvm::divideCeil(spatial[i], w.strides[i]);
      int64_t span = w.dilations[i] * (w.kernel[i] - 1) + 1;
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + span - spatial[i]);
      int64_t small = total / 2, big = total - small;
      w.pads[i] = autoPad == "SAME_UPPER" ? small : big;
      w.pads[i + n] = autoPad == "SAME_UPPER" ? big : small;
    }
  } else if (autoPad != "NOTSET") {
    return c.error() << "auto_pad '" << autoPad
                     << "' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID";
  }
  return w;
}

LogicalResult importConv(NodeContext &c) {
  Value x = c.in(0), wt = c.in(1);
  if (!x || !wt)
    return failure();
  if (c.rank(wt) < 3)
    return c.error() << "expected a weight of rank >= 3 (M, C/group, kernel...)";
  auto w = importWindow(c, x, c.type(wt).getShape().drop_front(2));
  if (failed(w))
    return failure();
  SmallVector<Value> operands{x, wt};
  if (c.has(2))
    operands.push_back(c.in(2));
  return c.push(c.make(ConvOp::getOperationName(), operands,
                   {c.i64s("strides", w->strides), c.i64s("pads", w->pads),
                    c.i64s("dilations", w->dilations),
                    c.i64("group", c.attrInt("group", 1))}));
}

template <typename OpTy>
LogicalResult pool(NodeContext &c) {
  Value x = c.in(0);
  if (!x)
    return failure();
  if (c.outputWanted(1))
    return c.error() << "the Indices output is not supported";
  if (!c.node.getInts("kernel_shape"))
    return c.error() << "missing attribute 'kernel_shape'";
  auto w = importWindow(c, x, {});
  if (failed(w))
    return failure();
  SmallVector<NamedAttribute> attrs{
      c.i64s("kernel_shape", w->kernel), c.i64s("strides", w->strides),
      c.i64s("pads", w->pads), c.i64s("dilations", w->dilations),
      c.boolean("ceil_mode", c.attrInt("ceil_mode", 0))};
  if (std::is_same_v<OpTy, AveragePoolOp>)
    attrs.push_back(c.boolean("count_include_pad", c.attrInt("count_include_pad", 0)));
  else if (c.attrInt("storage_order", 0) != 0)
    return c.error() << "storage_order = 1 only affects the Indices output, "
                        "which is not supported";
  return c.push(c.make(OpTy::getOperationName(), x, attrs));
}

template <typename OpTy>
LogicalResult globalPool(NodeContext &c) {
  return c.push(c.make(OpTy::getOperationName(), c.in(0)));
}

//===----------------------------------------------------------------------===//
// Partita composites (not ONNX ops; spelled in the JSON graph IR)
//===----------------------------------------------------------------------===//

/// Creates `name` from all given inputs; `attrs` are already converted.
LogicalResult composite(NodeContext &c, StringRef name, unsigned numInputs,
                        ArrayRef<NamedAttribute> attrs) {
  SmallVector<Value> operands;
  for (unsigned i = 0; i < c.ins.size(); ++i)
    if (c.has(i) || i < numInputs)
      operands.push_back(c.in(i));
  if (llvm::is_contained(operands, Value()))
    return failure();
  return c.pushAll(c.create(name, operands, attrs));
}

LogicalResult importAttention(NodeContext &c) {
  Value q = c.in(0);
  if (!q)
    return failure();
  // Default scale 1/sqrt(head dim), as in scaled dot-product attention.
  double scale = c.attrFloat(
      "scale", 1.0 / std::sqrt((double)c.type(q).getShape().back()));
  return composite(c, AttentionOp::getOperationName(), 3,
                   {c.b.getNamedAttr("scale", c.b.getF64FloatAttr(scale)),
                    c.boolean("causal", c.attrInt("causal", 0))});
}

LogicalResult importMoeGate(NodeContext &c) {
  auto k = c.node.getInt("k");
  if (!k)
    return c.error() << "missing attribute 'k'";
  return composite(c, MoeGateOp::getOperationName(), 1,
                   {c.i64("k", *k), c.boolean("normalize", c.attrInt("normalize", 0))});
}

LogicalResult importMoeDispatch(NodeContext &c) {
  auto e = c.node.getInt("num_experts"), cap = c.node.getInt("capacity");
  int64_t groups = c.attrInt("groups", 1);
  bool dropless = c.attrInt("dropless", 0);
  // Dropless: every assignment fits, an expert receiving each token of a
  // group once.
  if (!cap && dropless && groups > 0 && c.has(0) && c.rank(c.ins[0]) >= 1)
    cap = c.type(c.ins[0]).getDimSize(0) / groups;
  if (!e || !cap)
    return c.error() << "missing attribute 'num_experts' or 'capacity' (or 'dropless')";
  return composite(c, MoeDispatchOp::getOperationName(), 2,
                   {c.i64("num_experts", *e), c.i64("capacity", *cap), c.i64("groups", groups),
                    c.boolean("dropless", dropless)});
}

LogicalResult importMoeExpertMatMul(NodeContext &c) {
  return composite(c, MoeExpertMatMulOp::getOperationName(), 2, {});
}

LogicalResult importMoeCombine(NodeContext &c) {
  return composite(c, MoeCombineOp::getOperationName(), 3,
                   {c.i64("groups", c.attrInt("groups", 1))});
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

const llvm::StringMap<OpHandler> &handlerTable() {
  static const llvm::StringMap<OpHandler> table = [] {
    llvm::StringMap<OpHandler> t;
    // Unary elementwise.
    t["Abs"] = unary<AbsOp>;
    t["Ceil"] = unary<CeilOp>;
    t["Celu"] = unary<CeluOp>;
    t["Cos"] = unary<CosOp>;
    t["Elu"] = unary<EluOp>;
    t["Erf"] = unary<ErfOp>;
    t["Exp"] = unary<ExpOp>;
    t["Floor"] = unary<FloorOp>;
    t["HardSigmoid"] = unary<HardSigmoidOp>;
    t["HardSwish"] = unary<HardSwishOp>;
    t["LeakyRelu"] = unary<LeakyReluOp>;
    t["Log"] = unary<LogOp>;
    t["Neg"] = unary<NegOp>;
    t["Not"] = unary<NotOp>;
    t["Reciprocal"] = unary<ReciprocalOp>;
    t["Relu"] = unary<ReluOp>;
    t["Selu"] = unary<SeluOp>;
    t["Sigmoid"] = unary<SigmoidOp>;
    t["Sign"] = unary<SignOp>;
    t["Sin"] = unary<SinOp>;
    t["Softplus"] = unary<SoftplusOp>;
    t["Softsign"] = unary<SoftsignOp>;
    t["Sqrt"] = unary<SqrtOp>;
    t["Tanh"] = unary<TanhOp>;
    t["ThresholdedRelu"] = unary<ThresholdedReluOp>;
    t["Cast"] = importCast;
    t["Clip"] = importClip;
    t["Dropout"] = importDropout;
    t["Identity"] = importIdentity;
    // Binary and variadic elementwise.
    t["Add"] = binary<AddOp>;
    t["And"] = binary<AndOp>;
    t["Div"] = binary<DivOp>;
    t["Equal"] = binary<EqualOp>;
    t["Greater"] = binary<GreaterOp>;
    t["GreaterOrEqual"] = binary<GreaterOrEqualOp>;
    t["Less"] = binary<LessOp>;
    t["LessOrEqual"] = binary<LessOrEqualOp>;
    t["Mod"] = binary<ModOp>;
    t["Mul"] = binary<MulOp>;
    t["Or"] = binary<OrOp>;
    t["Pow"] = binary<PowOp>;
    t["PRelu"] = binary<PReluOp>;
    t["Sub"] = binary<SubOp>;
    t["Xor"] = binary<XorOp>;
    t["Max"] = variadic<MaxOp>;
    t["Min"] = variadic<MinOp>;
    t["Sum"] = variadic<AddOp>;
    t["Mean"] = importMean;
    t["Where"] = importWhere;
    // Reductions and normalizations.
    t["ArgMax"] = argReduce<ArgMaxOp>;
    t["ArgMin"] = argReduce<ArgMinOp>;
    t["CumSum"] = importCumSum;
    t["LogSoftmax"] = softmaxLike<LogSoftmaxOp>;
    t["ReduceL2"] = reduce<ReduceL2Op>;
    t["ReduceLogSumExp"] = reduce<ReduceLogSumExpOp>;
    t["ReduceMax"] = reduce<ReduceMaxOp>;
    t["ReduceMean"] = reduce<ReduceMeanOp>;
    t["ReduceMin"] = reduce<ReduceMinOp>;
    t["ReduceProd"] = reduce<ReduceProdOp>;
    t["ReduceSum"] = reduce<ReduceSumOp>;
    t["ReduceSumSquare"] = reduce<ReduceSumSquareOp>;
    t["Softmax"] = softmaxLike<SoftmaxOp>;
    t["TopK"] = importTopK;
    t["BatchNormalization"] = importBatchNorm;
    t["InstanceNormalization"] = importInstanceNorm;
    t["LayerNormalization"] = importLayerNorm;
    // Contractions, convolution, pooling.
    t["Conv"] = importConv;
    t["Einsum"] = importEinsum;
    t["Gemm"] = importGemm;
    t["MatMul"] = importMatMul;
    t["AveragePool"] = pool<AveragePoolOp>;
    t["MaxPool"] = pool<MaxPoolOp>;
    t["GlobalAveragePool"] = globalPool<GlobalAveragePoolOp>;
    t["GlobalMaxPool"] = globalPool<GlobalMaxPoolOp>;
    // Shape computations and data movement (OpImportersDataMovement.cpp).
    addDataMovementHandlers(t);
    // Partita composites.
    t["Attention"] = importAttention;
    t["MoeCombine"] = importMoeCombine;
    t["MoeDispatch"] = importMoeDispatch;
    t["MoeExpertMatMul"] = importMoeExpertMatMul;
    t["MoeGate"] = importMoeGate;
    return t;
  }();
  return table;
}

} // namespace

OpHandler lookupOpHandler(StringRef opType) {
  auto it = handlerTable().find(opType);
  return it == handlerTable().end() ? nullptr : it->second;
}

std::vector<std::string> handledOpTypes() {
  std::vector<std::string> ops;
  for (auto &e : handlerTable())
    ops.push_back(e.getKey().str());
  llvm::sort(ops);
  return ops;
}

} // namespace partita::import
