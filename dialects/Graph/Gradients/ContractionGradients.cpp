//===- ContractionGradients.cpp - vector-Jacobian products of contractions ===//
//
// matmul and gemm: the cotangents are contractions themselves (dA = dY B^T,
// dB = A^T dY), so their sharding rules split the backward like the
// forward (Megatron's column/row pairs swap roles).
//
//===----------------------------------------------------------------------===//

#include "dialects/Graph/Gradients/GradientBuilder.h"

#include "dialects/Graph/IR/GraphOps.h"

#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

namespace partita::graph {
namespace {

using Grads = SmallVectorImpl<Value>;

/// Swaps the last two dimensions.
Value transposeLast2(GradientBuilder &g, Value v) {
  int64_t r = tensorType(v).getRank();
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < r; ++d)
    perm.push_back(d);
  std::swap(perm[r - 2], perm[r - 1]);
  return g.transpose(v, perm);
}

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
  Value da = g.op<MatMulOp>({dy2, transposeLast2(g, b2)});
  Value db = g.op<MatMulOp>({transposeLast2(g, a2), dy2});
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
  Value a = gemm.getTransA() ? transposeLast2(g, gemm.getA()) : gemm.getA();
  Value b = gemm.getTransB() ? transposeLast2(g, gemm.getB()) : gemm.getB();
  Value scaled = alpha == 1.0 ? dy[0] : g.mul(dy[0], alpha);
  Value da = g.op<MatMulOp>({scaled, transposeLast2(g, b)});
  Value db = g.op<MatMulOp>({transposeLast2(g, a), scaled});
  dx[0] = gemm.getTransA() ? transposeLast2(g, da) : da;
  dx[1] = gemm.getTransB() ? transposeLast2(g, db) : db;
  if (Value c = gemm.getC())
    dx[2] = g.sumToShape(beta == 1.0 ? dy[0] : g.mul(dy[0], beta), tensorType(c));
  return success();
}

} // namespace

void registerContractionGradients(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, GraphDialect *) {
    attachGradient<gemmGrad, GemmOp>(ctx);
    attachGradient<matmulGrad, MatMulOp>(ctx);
  });
}

} // namespace partita::graph
