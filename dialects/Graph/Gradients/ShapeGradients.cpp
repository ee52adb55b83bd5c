//===- ShapeGradients.cpp - vector-Jacobian products of data movement -----===//
//
// Reshape, transpose, broadcast, concat/split, slice/pad, tile, gather:
// the cotangent moves back the way the data came (a lookup's cotangent is
// summed into the rows it read, as a one-hot contraction).
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/Gradients/GradientBuilder.h"

#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

namespace partita::graph {
namespace {

using Grads = SmallVectorImpl<Value>;

LogicalResult reshapeGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  dx[0] = g.reshape(dy[0], tensorType(op->getOperand(0)).getShape());
  return success();
}

LogicalResult transposeGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  ArrayRef<int64_t> perm = cast<TransposeOp>(op).getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  dx[0] = g.transpose(dy[0], inverse);
  return success();
}

LogicalResult expandGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  dx[0] = g.sumToShape(dy[0], tensorType(op->getOperand(0)));
  return success();
}

/// Each operand's block of the cotangent along the axis.
LogicalResult concatGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  int64_t axis = cast<ConcatOp>(op).getAxis();
  ArrayRef<int64_t> shape = tensorType(dy[0]).getShape();
  int64_t offset = 0;
  for (auto [i, operand] : llvm::enumerate(op->getOperands())) {
    int64_t size = tensorType(operand).getDimSize(axis);
    SmallVector<int64_t> starts(shape.size(), 0), ends(shape), steps(shape.size(), 1);
    starts[axis] = offset;
    ends[axis] = offset + size;
    dx[i] = g.op<SliceOp>({dy[0]}, {g.ints("starts", starts), g.ints("ends", ends),
                                    g.ints("steps", steps)});
    offset += size;
  }
  return success();
}

/// The pieces' cotangents joined again (zeros for pieces the loss does not
/// reach).
LogicalResult splitGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  SmallVector<Value> pieces;
  for (auto [r, grad] : llvm::enumerate(dy))
    pieces.push_back(grad ? grad : g.splat(op->getResult(r), 0));
  dx[0] = g.op<ConcatOp>(pieces, {g.integer("axis", cast<SplitOp>(op).getAxis())});
  return success();
}

/// A zero-padded cotangent: pad(dy, -pads) crops what was padded and pads
/// what was cropped.
Value unpad(GradientBuilder &g, Value dy, ArrayRef<int64_t> pads) {
  SmallVector<int64_t> negated;
  for (int64_t p : pads)
    negated.push_back(-p);
  return g.op<PadOp>({dy}, {g.ints("pads", negated)});
}

LogicalResult padGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto pad = cast<PadOp>(op);
  if (pad.getMode() != PadMode::constant)
    return op->emitError() << "no gradient for a pad in "
                           << stringifyPadMode(pad.getMode()) << " mode yet";
  dx[0] = unpad(g, dy[0], pad.getPads());
  return success();
}

/// Unit steps: the cotangent is zero-padded back to the operand's shape.
LogicalResult sliceGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto slice = cast<SliceOp>(op);
  if (llvm::any_of(slice.getSteps(), [](int64_t s) { return s != 1; }))
    return op->emitError() << "no gradient for a slice with steps other than 1 yet";
  ArrayRef<int64_t> in = tensorType(slice.getInput()).getShape();
  ArrayRef<int64_t> out = tensorType(slice.getResult()).getShape();
  size_t r = in.size();
  SmallVector<int64_t> pads(2 * r);
  for (size_t d = 0; d < r; ++d) {
    int64_t start = std::clamp<int64_t>(slice.getStarts()[d], 0, in[d]);
    pads[d] = -start;
    pads[r + d] = -(in[d] - start - out[d]);
  }
  dx[0] = unpad(g, dy[0], pads);
  return success();
}

/// y = tile(x, r): dy as [r0, d0, r1, d1, ...] summed over the repeats.
LogicalResult tileGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  ArrayRef<int64_t> repeats = cast<TileOp>(op).getRepeats();
  ArrayRef<int64_t> in = tensorType(op->getOperand(0)).getShape();
  SmallVector<int64_t> split, axes;
  for (auto [d, n] : llvm::enumerate(in)) {
    axes.push_back(split.size());
    split.push_back(repeats[d]);
    split.push_back(n);
  }
  dx[0] = g.reduceSum(g.reshape(dy[0], split), axes, /*keepdims=*/false);
  return success();
}

LogicalResult triluGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto trilu = cast<TriluOp>(op);
  SmallVector<Value> operands = {dy[0]};
  if (trilu->getNumOperands() > 1)
    operands.push_back(op->getOperand(1));
  dx[0] = g.op<TriluOp>(operands, op->getAttrDictionary().getValue());
  return success();
}

/// y = gather(T, I, axis): T's cotangent is the sum, per row of T, of the
/// cotangents of the places that read it -- dT[p, n, q] = sum_s dy[p, s, q]
/// * onehot(I)[s, n], one matmul (a vocabulary-split table keeps its rows
/// split in the backward).
LogicalResult gatherGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto gather = cast<GatherOp>(op);
  RankedTensorType table = tensorType(gather.getInput());
  RankedTensorType idx = tensorType(gather.getIndices());
  int64_t rank = table.getRank();
  int64_t axis = gather.getAxis() < 0 ? gather.getAxis() + rank : gather.getAxis();
  int64_t rows = table.getDimSize(axis), before = 1, after = 1, picks = idx.getNumElements();
  for (int64_t d = 0; d < axis; ++d)
    before *= table.getDimSize(d);
  for (int64_t d = axis + 1; d < rank; ++d)
    after *= table.getDimSize(d);
  Value flatIdx = g.reshape(gather.getIndices(), {picks});
  Value oneHot = g.oneHot(flatIdx, rows, 0, table.getElementType()); // [N, S]
  Value grad = g.reshape(dy[0], {before, picks, after});
  dx[0] = g.reshape(g.op<MatMulOp>({oneHot, grad}), table.getShape()); // [P, N, Q]
  return success();
}

/// Elementwise gather: the cotangent is added back at the indices it read
/// (a scatter with reduction add, since indices may repeat).
LogicalResult gatherElementsGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy,
                                 Grads &dx) {
  auto gather = cast<GatherElementsOp>(op);
  Value x = gather.getInput();
  OpBuilder &b = g.builder();
  dx[0] = g.op<ScatterElementsOp>(
      {g.splat(x, 0.0), gather.getIndices(), dy[0]},
      {g.integer("axis", gather.getAxis()),
       b.getNamedAttr("reduction", ScatterReductionAttr::get(b.getContext(),
                                                             ScatterReduction::add))});
  return success();
}

/// Elementwise scatter: the updates' cotangent is read at their indices.
/// Without a reduction the input's elements that were overwritten get none
/// (with `add` all of it); mul, max and min have no rule yet.
LogicalResult scatterElementsGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy,
                                  Grads &dx) {
  auto scatter = cast<ScatterElementsOp>(op);
  ScatterReduction red = scatter.getReduction();
  if (red != ScatterReduction::none && red != ScatterReduction::add)
    return op->emitError() << "no gradient for a scatter_elements with reduction "
                           << stringifyScatterReduction(red) << " yet";
  Value x = scatter.getInput(), idx = scatter.getIndices(), u = scatter.getUpdates();
  NamedAttribute axis = g.integer("axis", scatter.getAxis());
  dx[0] = dy[0];
  if (red == ScatterReduction::none) {
    Value written = g.op<ScatterElementsOp>({g.splat(x, 0.0), idx, g.splat(u, 1.0)}, {axis});
    dx[0] = g.mul(dy[0], g.sub(g.splat(x, 1.0), written));
  }
  dx[2] = g.op<GatherElementsOp>({dy[0], idx}, {axis});
  return success();
}

/// Slice scatter: index tuples of length k into the input's first k
/// dimensions. The updates' cotangent is the output's read at the tuples
/// (a gather over the first k dimensions flattened into one, negative
/// indices wrapped); without a reduction the overwritten slices of the
/// input get none (with `add` all of it); mul, max and min have no rule
/// yet.
LogicalResult scatterNDGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto scatter = cast<ScatterNDOp>(op);
  ScatterReduction red = scatter.getReduction();
  if (red != ScatterReduction::none && red != ScatterReduction::add)
    return op->emitError() << "no gradient for a scatter_nd with reduction "
                           << stringifyScatterReduction(red) << " yet";
  Value x = scatter.getInput(), idx = scatter.getIndices(), u = scatter.getUpdates();
  RankedTensorType xt = tensorType(x), it = tensorType(idx), ut = tensorType(u);
  int64_t k = it.getShape().back(), rows = 1;
  SmallVector<int64_t> dims(xt.getShape().take_front(k)), strides(k, 1), flatShape = {1};
  for (int64_t d = k - 1; d >= 0; --d) {
    strides[d] = rows;
    rows *= dims[d];
  }
  flatShape[0] = rows;
  llvm::append_range(flatShape, xt.getShape().drop_front(k));
  OpBuilder &b = g.builder();
  auto i64s = [&](ArrayRef<int64_t> v) {
    auto t = RankedTensorType::get({(int64_t)v.size()}, b.getI64Type());
    return ConstantOp::create(b, g.location(), t, DenseElementsAttr::get(t, v)).getResult();
  };
  Value wrapped = g.select(g.op<LessOp>({idx, g.scalar(idx, 0)}), g.add(idx, i64s(dims)), idx);
  Value linear = g.reduceSum(g.mul(wrapped, i64s(strides)), {it.getRank() - 1},
                             /*keepdims=*/false);
  Value flat = g.reshape(dy[0], flatShape);
  dx[2] = g.reshape(g.op<GatherOp>({flat, linear}, {g.integer("axis", 0)}), ut.getShape());
  dx[0] = dy[0];
  if (red == ScatterReduction::none)
    dx[0] = g.op<ScatterNDOp>({dy[0], idx, g.splat(u, 0.0)});
  return success();
}

} // namespace

void registerShapeGradients(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, GraphDialect *) {
    attachGradient<concatGrad, ConcatOp>(ctx);
    attachGradient<expandGrad, ExpandOp>(ctx);
    attachGradient<gatherGrad, GatherOp>(ctx);
    attachGradient<gatherElementsGrad, GatherElementsOp>(ctx);
    attachGradient<scatterElementsGrad, ScatterElementsOp>(ctx);
    attachGradient<scatterNDGrad, ScatterNDOp>(ctx);
    attachGradient<padGrad, PadOp>(ctx);
    attachGradient<reshapeGrad, ReshapeOp>(ctx);
    attachGradient<sliceGrad, SliceOp>(ctx);
    attachGradient<splitGrad, SplitOp>(ctx);
    attachGradient<tileGrad, TileOp>(ctx);
    attachGradient<transposeGrad, TransposeOp>(ctx);
    attachGradient<triluGrad, TriluOp>(ctx);
    // Constants have no operands; one-hot's operands are indices and the
    // [off, on] pair.
    attachNoGradient<ConstantOp, OneHotOp>(ctx);
  });
}

} // namespace partita::graph
