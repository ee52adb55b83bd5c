//===- ContractionGradients.cpp - vector-Jacobian products of contractions ===//
//
// matmul, gemm, convolution and pooling: the cotangents are contractions
// themselves (dA = dY B^T, dB = A^T dY; a convolution's are convolutions),
// so their sharding rules split the backward like the forward (Megatron's
// column/row pairs swap roles).
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/Gradients/GradientBuilder.h"

#include "dialects/Graph/IR/GraphBuilder.h"
#include "dialects/Graph/IR/GraphInference.h"
#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/DialectRegistry.h"

#include <cmath>

using namespace mlir;

namespace partita::graph {
namespace {

using Grads = SmallVectorImpl<Value>;

/// numpy matmul: a 1-D operand is a row (lhs) or column (rhs) whose
/// dimension the result drops; batch dimensions broadcast.
LogicalResult matmulGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Value a = op->getOperand(0), b = op->getOperand(1);
  RankedTensorType aType = tensorType(a), bType = tensorType(b);
  bool rowVec = aType.getRank() == 1, colVec = bType.getRank() == 1;
  Value a2 = rowVec ? g.reshape(a, {1, aType.getDimSize(0)}) : a;
  Value b2 = colVec ? g.reshape(b, {bType.getDimSize(0), 1}) : b;
  SmallVector<int64_t> yShape(tensorType(dy[0]).getShape());
  if (rowVec)
    yShape.insert(yShape.end() - (colVec ? 0 : 1), 1);
  if (colVec)
    yShape.push_back(1);
  Value dy2 = g.reshape(dy[0], yShape);
  Value da = g.op<MatMulOp>({dy2, g.transposeLast2(b2)});
  Value db = g.op<MatMulOp>({g.transposeLast2(a2), dy2});
  if (g.failed())
    return failure();
  dx[0] = g.reshape(g.sumToShape(da, tensorType(a2)), aType.getShape());
  dx[1] = g.reshape(g.sumToShape(db, tensorType(b2)), bType.getShape());
  return success();
}

/// alpha * op(A) op(B) + beta * C, A and B 2-D.
LogicalResult gemmGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto gemm = cast<GemmOp>(op);
  double alpha = gemm.getAlphaAttr().getValueAsDouble();
  double beta = gemm.getBetaAttr().getValueAsDouble();
  Value a = gemm.getTransA() ? g.transposeLast2(gemm.getA()) : gemm.getA();
  Value b = gemm.getTransB() ? g.transposeLast2(gemm.getB()) : gemm.getB();
  Value scaled = alpha == 1.0 ? dy[0] : g.mul(dy[0], alpha);
  Value da = g.op<MatMulOp>({scaled, g.transposeLast2(b)});
  Value db = g.op<MatMulOp>({g.transposeLast2(a), scaled});
  dx[0] = gemm.getTransA() ? g.transposeLast2(da) : da;
  dx[1] = gemm.getTransB() ? g.transposeLast2(db) : db;
  if (Value c = gemm.getC())
    dx[2] = g.sumToShape(beta == 1.0 ? dy[0] : g.mul(dy[0], beta), tensorType(c));
  return success();
}

/// Einsum: operand i's cotangent is the einsum of dY with the other operands
/// onto i's labels ("ij,jk->ik": dA = einsum("ik,jk->ij", dY, B)). Labels
/// only i has (summed away alone) come back by broadcasting; labels that
/// broadcast from size 1 are summed back. Diagonals (a label twice in one
/// term) have no rule yet.
LogicalResult einsumGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto einsum = cast<EinsumOp>(op);
  auto eq = parseEinsumEquation(op->getLoc(), einsum.getEquation());
  if (failed(eq))
    return failure();
  auto spell = [](StringRef labels) {
    std::string out;
    for (char c : labels)
      out += c == '.' ? std::string("...") : std::string(1, c);
    return out;
  };
  for (unsigned i = 0; i < op->getNumOperands(); ++i) {
    const std::string &mine = eq->inputs[i];
    std::string kept, alone;
    for (char c : mine) {
      if (llvm::count(mine, c) > 1 && c != '.')
        return op->emitError() << "no gradient for the einsum term '" << spell(mine)
                               << "' (a repeated label) yet";
      bool elsewhere = eq->output.find(c) != std::string::npos;
      for (unsigned j = 0; j < op->getNumOperands() && !elsewhere; ++j)
        elsewhere = j != i && eq->inputs[j].find(c) != std::string::npos;
      (elsewhere || c == '.' ? kept : alone).push_back(c);
    }
    bool ellipsis = mine.find('.') != std::string::npos;
    if (ellipsis && (!alone.empty() || mine.front() != '.'))
      return op->emitError() << "no gradient for the einsum term '" << spell(mine)
                             << "' (an ellipsis that is not leading, or with labels summed "
                                "alone) yet";
    std::string equation = spell(eq->output);
    SmallVector<Value> operands = {dy[0]};
    for (unsigned j = 0; j < op->getNumOperands(); ++j)
      if (j != i) {
        equation += "," + spell(eq->inputs[j]);
        operands.push_back(op->getOperand(j));
      }
    equation += "->" + spell(kept);
    Value r = g.op<EinsumOp>(operands, {g.builder().getNamedAttr(
                                           "equation", g.builder().getStringAttr(equation))});
    if (!r)
      return failure();
    RankedTensorType xt = tensorType(op->getOperand(i));
    if (ellipsis) {
      dx[i] = g.sumToShape(r, xt);
      continue;
    }
    // The kept labels at the operand's sizes, then the alone ones back.
    SmallVector<int64_t> keptShape, withOnes;
    for (auto [d, c] : llvm::enumerate(mine)) {
      bool isKept = kept.find(c) != std::string::npos;
      if (isKept)
        keptShape.push_back(xt.getDimSize(d));
      withOnes.push_back(isKept ? xt.getDimSize(d) : 1);
    }
    r = g.sumToShape(r, RankedTensorType::get(keptShape, xt.getElementType()));
    dx[i] = alone.empty() ? r : g.expand(g.reshape(r, withOnes), xt.getShape());
  }
  return success();
}

/// `v` reversed along dimension `dim` (a gather of the indices n-1 .. 0).
Value reverse(GradientBuilder &g, Value v, int64_t dim) {
  int64_t n = tensorType(v).getDimSize(dim);
  if (n == 1)
    return v;
  SmallVector<int64_t> idx;
  for (int64_t i = n - 1; i >= 0; --i)
    idx.push_back(i);
  auto type = RankedTensorType::get({n}, g.builder().getI64Type());
  Value indices = ConstantOp::create(g.builder(), g.location(), type,
                                     DenseElementsAttr::get(type, ArrayRef<int64_t>(idx)));
  return g.op<GatherOp>({v, indices}, {g.integer("axis", dim)});
}

/// `v` with `factor - 1` zeros between consecutive elements of dimension
/// `dim` (the cotangent of a strided window, spread back to unit steps).
Value dilate(GradientBuilder &g, Value v, int64_t dim, int64_t factor) {
  if (factor == 1)
    return v;
  SmallVector<int64_t> shape(tensorType(v).getShape());
  int64_t n = shape[dim];
  SmallVector<int64_t> split(shape);
  split.insert(split.begin() + dim + 1, 1);
  SmallVector<int64_t> pads(2 * split.size(), 0);
  pads[split.size() + dim + 1] = factor - 1;
  Value spread = g.op<PadOp>({g.reshape(v, split)}, {g.ints("pads", pads)});
  SmallVector<int64_t> joined(shape);
  joined[dim] = n * factor;
  Value flat = g.reshape(spread, joined);
  SmallVector<int64_t> starts(shape.size(), 0), ends(joined), steps(shape.size(), 1);
  ends[dim] = (n - 1) * factor + 1;
  return g.op<SliceOp>({flat}, {g.ints("starts", starts), g.ints("ends", ends),
                                g.ints("steps", steps)});
}

SmallVector<int64_t> iota(int64_t from, int64_t to) {
  SmallVector<int64_t> v;
  for (int64_t i = from; i < to; ++i)
    v.push_back(i);
  return v;
}

/// The window of a convolution (or pooling) over spatial dimensions.
struct Window {
  ArrayRef<int64_t> kernel, strides, dilations, pads;
  int64_t groups;
};

/// The cotangent of a convolution's input (shape `xs`) from that of its
/// output: the transposed convolution -- dy dilated by the stride, padded by
/// d(K-1) - p (plus the input rows the last window did not reach), and
/// convolved at unit stride with w flipped and its channel dims swapped per
/// group.
Value convInputGrad(GradientBuilder &g, Value dy, Value w, ArrayRef<int64_t> xs,
                    const Window &win) {
  ArrayRef<int64_t> ws = tensorType(w).getShape();
  int64_t rank = xs.size(), k = rank - 2, c = xs[1], m = ws[0], groups = win.groups;
  Value spread = dy;
  SmallVector<int64_t> padding(2 * rank, 0);
  for (int64_t i = 0; i < k; ++i) {
    spread = dilate(g, spread, 2 + i, win.strides[i]);
    int64_t reach = win.dilations[i] * (win.kernel[i] - 1);
    int64_t rest = (xs[2 + i] + win.pads[i] + win.pads[k + i] - reach - 1) % win.strides[i];
    padding[2 + i] = reach - win.pads[i];
    padding[rank + 2 + i] = reach - win.pads[k + i] + rest;
  }
  spread = g.op<PadOp>({spread}, {g.ints("pads", padding)});
  // w [M, C/g, K] -> [g, M/g, C/g, K] -> [g, C/g, M/g, K] -> [C, M/g, K], flipped.
  SmallVector<int64_t> grouped = {groups, m / groups, c / groups};
  llvm::append_range(grouped, ws.drop_front(2));
  SmallVector<int64_t> perm = {0, 2, 1};
  llvm::append_range(perm, iota(3, rank + 1));
  SmallVector<int64_t> flippedShape = {c, m / groups};
  llvm::append_range(flippedShape, ws.drop_front(2));
  Value wt = g.reshape(g.transpose(g.reshape(w, grouped), perm), flippedShape);
  for (int64_t i = 0; i < k; ++i)
    wt = reverse(g, wt, 2 + i);
  SmallVector<int64_t> ones(k, 1), zeros(2 * k, 0);
  return g.op<ConvOp>({spread, wt}, {g.ints("strides", ones), g.ints("dilations", win.dilations),
                                     g.ints("pads", zeros), g.integer("group", groups)});
}

/// y = conv(x, w) + b (NC..., weights MC/g K..., strides s, dilations d,
/// pads pb/pe). dx: convInputGrad. dw convolves x with dy over the batch:
/// the batch becomes the contracted channel, the forward's stride the
/// dilation and its dilation the stride. db sums dy over all but channels.
LogicalResult convGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto conv = cast<ConvOp>(op);
  Value x = conv.getInput(), w = conv.getWeight();
  ArrayRef<int64_t> xs = tensorType(x).getShape(), ws = tensorType(w).getShape();
  ArrayRef<int64_t> ys = tensorType(dy[0]).getShape();
  int64_t rank = xs.size(), k = rank - 2, groups = conv.getGroup();
  ArrayRef<int64_t> strides = conv.getStrides(), dil = conv.getDilations(), pads = conv.getPads();
  int64_t n = xs[0], c = xs[1], m = ws[0];
  if (groups < 1 || c % groups || m % groups)
    return op->emitError() << "no gradient for a convolution with " << groups << " groups of "
                           << c << " input and " << m << " output channels";
  dx[0] = convInputGrad(g, dy[0], w, xs, Window{ws.drop_front(2), strides, dil, pads, groups});

  // dw: x [N, C, S] -> [N, g, C/g, S] -> [C/g, g, N, S] -> [C/g, g*N, S];
  // dy [N, M, O] -> [N, g, M/g, O] -> [g, M/g, N, O] -> [M, N, O].
  SmallVector<int64_t> xg = {n, groups, c / groups};
  llvm::append_range(xg, xs.drop_front(2));
  SmallVector<int64_t> xperm = {2, 1, 0};
  llvm::append_range(xperm, iota(3, rank + 1));
  SmallVector<int64_t> xb = {c / groups, groups * n};
  llvm::append_range(xb, xs.drop_front(2));
  Value xt = g.reshape(g.transpose(g.reshape(x, xg), xperm), xb);
  SmallVector<int64_t> yg = {n, groups, m / groups};
  llvm::append_range(yg, ys.drop_front(2));
  SmallVector<int64_t> yperm = {1, 2, 0};
  llvm::append_range(yperm, iota(3, rank + 1));
  SmallVector<int64_t> yk = {m, n};
  llvm::append_range(yk, ys.drop_front(2));
  Value kernel = g.reshape(g.transpose(g.reshape(dy[0], yg), yperm), yk);
  Value full = g.op<ConvOp>({xt, kernel}, {g.ints("strides", dil), g.ints("dilations", strides),
                                          g.ints("pads", pads),
                                          g.integer("group", groups)}); // [C/g, M, K']
  if (!full)
    return failure();
  SmallVector<int64_t> starts(rank, 0), ends(tensorType(full).getShape()), steps(rank, 1);
  for (int64_t i = 0; i < k; ++i)
    ends[2 + i] = ws[2 + i];
  Value cut = g.op<SliceOp>({full}, {g.ints("starts", starts), g.ints("ends", ends),
                                     g.ints("steps", steps)});
  SmallVector<int64_t> back = {1, 0};
  llvm::append_range(back, iota(2, rank));
  dx[1] = g.transpose(cut, back);

  if (Value b = conv.getBias()) {
    SmallVector<int64_t> axes = {0};
    llvm::append_range(axes, iota(2, rank));
    dx[2] = g.reduceSum(dy[0], axes, /*keepdims=*/false);
  }
  return success();
}

/// Average pooling: a depthwise convolution with a kernel of ones, divided
/// by each window's count (the kernel size, or without count_include_pad
/// the elements inside the input -- a convolution of ones).
LogicalResult averagePoolGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy,
                              Grads &dx) {
  auto pool = cast<AveragePoolOp>(op);
  if (pool.getCeilMode())
    return op->emitError() << "no gradient for an average pool with ceil_mode yet";
  Value x = pool.getInput();
  ArrayRef<int64_t> xs = tensorType(x).getShape();
  int64_t c = xs[1];
  SmallVector<int64_t> kernelShape = {c, 1};
  llvm::append_range(kernelShape, pool.getKernelShape());
  auto kernelType = RankedTensorType::get(kernelShape, tensorType(x).getElementType());
  Value ones = createSplatConstant(g.builder(), g.location(), kernelType, 1.0);
  Window win{pool.getKernelShape(), pool.getStrides(), pool.getDilations(), pool.getPads(), c};
  Value count;
  bool padded = llvm::any_of(pool.getPads(), [](int64_t p) { return p != 0; });
  if (pool.getCountIncludePad() || !padded) {
    int64_t size = 1;
    for (int64_t kk : pool.getKernelShape())
      size *= kk;
    count = g.scalar(x, (double)size);
  } else {
    // Elements of each window inside the input: ones through the window.
    SmallVector<int64_t> unit(xs);
    unit[0] = 1;
    unit[1] = 1;
    auto unitType = RankedTensorType::get(unit, tensorType(x).getElementType());
    SmallVector<int64_t> one = {1, 1};
    llvm::append_range(one, pool.getKernelShape());
    auto oneKernel = RankedTensorType::get(one, tensorType(x).getElementType());
    count = g.op<ConvOp>({createSplatConstant(g.builder(), g.location(), unitType, 1.0),
                          createSplatConstant(g.builder(), g.location(), oneKernel, 1.0)},
                         {g.ints("strides", win.strides), g.ints("dilations", win.dilations),
                          g.ints("pads", win.pads), g.integer("group", 1)});
  }
  dx[0] = convInputGrad(g, g.div(dy[0], count), ones, xs, win);
  return success();
}

/// Max pooling: each window's cotangent goes to its first maximum in scan
/// order (PyTorch's pick among ties), summed where windows overlap. Per
/// kernel offset, the strided slice of the -inf-padded input that the
/// offset reads is compared with the output, excluding the offsets before
/// it; the K masked cotangents, stacked as channels c*K + k, go back through
/// one grouped transposed convolution with one-hot kernels (the scatter of
/// each offset to its input positions), and the padding is cut off.
LogicalResult maxPoolGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  auto pool = cast<MaxPoolOp>(op);
  Value x = pool.getInput(), y = pool.getResult();
  ArrayRef<int64_t> xs = tensorType(x).getShape(), ys = tensorType(y).getShape();
  ArrayRef<int64_t> kernel = pool.getKernelShape(), strides = pool.getStrides(),
                    dil = pool.getDilations(), pads = pool.getPads();
  int64_t rank = xs.size(), k = rank - 2, c = xs[1];
  // Pads that hold every window (ceil_mode's last windows included).
  SmallVector<int64_t> padAll(2 * rank, 0), padded(xs);
  for (int64_t i = 0; i < k; ++i) {
    int64_t reach = (ys[2 + i] - 1) * strides[i] + (kernel[i] - 1) * dil[i] + 1;
    padAll[2 + i] = pads[i];
    padAll[rank + 2 + i] = std::max<int64_t>(pads[k + i], reach - xs[2 + i] - pads[i]);
    padded[2 + i] = xs[2 + i] + padAll[2 + i] + padAll[rank + 2 + i];
  }
  OpBuilder &b = g.builder();
  bool anyPad = llvm::any_of(padAll, [](int64_t p) { return p != 0; });
  Value xp = anyPad ? g.op<PadOp>({x}, {g.ints("pads", padAll),
                                        b.getNamedAttr("value", b.getF64FloatAttr(-INFINITY))})
                    : x;
  int64_t offsets = 1;
  for (int64_t kk : kernel)
    offsets *= kk;
  SmallVector<int64_t> stackedShape(ys);
  stackedShape.insert(stackedShape.begin() + 2, 1);
  SmallVector<Value> picks;
  Value taken;
  std::vector<float> oneHot(c * offsets * offsets, 0.0f);
  for (int64_t f = 0; f < offsets; ++f) {
    SmallVector<int64_t> starts(rank, 0), ends(padded), steps(rank, 1);
    int64_t rem = f;
    for (int64_t i = k - 1; i >= 0; --i) {
      int64_t off = rem % kernel[i];
      rem /= kernel[i];
      starts[2 + i] = off * dil[i];
      ends[2 + i] = starts[2 + i] + (ys[2 + i] - 1) * strides[i] + 1;
      steps[2 + i] = strides[i];
    }
    Value window = g.op<SliceOp>({xp}, {g.ints("starts", starts), g.ints("ends", ends),
                                        g.ints("steps", steps)});
    Value hit = g.indicator(g.op<EqualOp>({window, y}), y);
    Value first = taken ? g.mul(hit, g.sub(g.splat(y, 1.0), taken)) : hit;
    taken = taken ? g.add(taken, first) : first;
    picks.push_back(g.reshape(g.mul(dy[0], first), stackedShape));
    for (int64_t ch = 0; ch < c; ++ch)
      oneHot[(ch * offsets + f) * offsets + f] = 1.0f;
  }
  if (g.failed())
    return failure();
  Value stacked = offsets == 1 ? picks[0] : g.op<ConcatOp>(picks, {g.integer("axis", 2)});
  SmallVector<int64_t> zs = {xs[0], c * offsets};
  llvm::append_range(zs, ys.drop_front(2));
  SmallVector<int64_t> ws = {c * offsets, 1};
  llvm::append_range(ws, kernel);
  auto wType = RankedTensorType::get(ws, b.getF32Type());
  Value w = g.cast(ConstantOp::create(b, g.location(), wType,
                                      DenseElementsAttr::get(wType, ArrayRef<float>(oneHot))),
                   tensorType(x).getElementType());
  SmallVector<int64_t> noPads(2 * k, 0);
  Value dxp = convInputGrad(g, g.reshape(stacked, zs), w, padded,
                            Window{kernel, strides, dil, noPads, c});
  if (!anyPad) {
    dx[0] = dxp;
    return success();
  }
  SmallVector<int64_t> starts(rank, 0), ends(xs), steps(rank, 1);
  for (int64_t i = 0; i < k; ++i) {
    starts[2 + i] = padAll[2 + i];
    ends[2 + i] = padAll[2 + i] + xs[2 + i];
  }
  dx[0] = g.op<SliceOp>({dxp}, {g.ints("starts", starts), g.ints("ends", ends),
                                g.ints("steps", steps)});
  return success();
}

/// Global pools: the mean spreads evenly; the max goes to the elements
/// equal to it (split among ties).
template <bool IsMax>
LogicalResult globalPoolGrad(GradientBuilder &g, Operation *op, ArrayRef<Value> dy, Grads &dx) {
  Value x = op->getOperand(0);
  ArrayRef<int64_t> xs = tensorType(x).getShape();
  SmallVector<int64_t> axes = iota(2, xs.size());
  Value spread = g.expand(dy[0], xs);
  if (!IsMax) {
    int64_t count = 1;
    for (int64_t a : axes)
      count *= xs[a];
    dx[0] = g.mul(spread, 1.0 / count);
    return success();
  }
  Value hit = g.indicator(g.op<EqualOp>({x, g.expand(op->getResult(0), xs)}), x);
  Value ties = g.reduceSum(hit, axes, /*keepdims=*/true);
  dx[0] = g.div(g.mul(spread, hit), ties);
  return success();
}

} // namespace

void registerContractionGradients(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, GraphDialect *) {
    attachGradient<averagePoolGrad, AveragePoolOp>(ctx);
    attachGradient<convGrad, ConvOp>(ctx);
    attachGradient<einsumGrad, EinsumOp>(ctx);
    attachGradient<globalPoolGrad<false>, GlobalAveragePoolOp>(ctx);
    attachGradient<globalPoolGrad<true>, GlobalMaxPoolOp>(ctx);
    attachGradient<gemmGrad, GemmOp>(ctx);
    attachGradient<matmulGrad, MatMulOp>(ctx);
    attachGradient<maxPoolGrad, MaxPoolOp>(ctx);
  });
}

} // namespace partita::graph
