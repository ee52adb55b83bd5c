//===- GradientBuilder.h - building backward graph ops ----------*- C++ -*-===//
//
// What the gradient rules share: graph ops built by name with inferred
// types (GraphBuilder.h) at one location, a failure remembered instead of
// checked after every op, and the shape plumbing every rule needs (undoing
// a broadcast, putting reduced axes back).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_DIALECTS_GRAPH_GRADIENTS_GRADIENTBUILDER_H
#define PARTITA_DIALECTS_GRAPH_GRADIENTS_GRADIENTBUILDER_H

#include "dialects/Graph/Interfaces/GradientInterface.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace partita::graph {

class GradientBuilder {
public:
  GradientBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  /// The op `name` on `operands` (first result); null once anything failed.
  mlir::Value op(llvm::StringRef name, mlir::ValueRange operands,
                 llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
  template <typename OpTy>
  mlir::Value op(mlir::ValueRange operands, llvm::ArrayRef<mlir::NamedAttribute> attrs = {}) {
    return op(OpTy::getOperationName(), operands, attrs);
  }
  /// All results of the op `name`.
  llvm::SmallVector<mlir::Value> ops(llvm::StringRef name, mlir::ValueRange operands,
                                     llvm::ArrayRef<mlir::NamedAttribute> attrs = {});

  /// A rank-0 constant of `like`'s element type.
  mlir::Value scalar(mlir::Value like, double value);
  /// A constant of `like`'s type, every element `value`.
  mlir::Value splat(mlir::Value like, double value);

  mlir::Value add(mlir::Value a, mlir::Value b);
  mlir::Value sub(mlir::Value a, mlir::Value b);
  mlir::Value mul(mlir::Value a, mlir::Value b);
  mlir::Value div(mlir::Value a, mlir::Value b);
  mlir::Value neg(mlir::Value a);
  mlir::Value mul(mlir::Value a, double c) { return mul(a, scalar(a, c)); }
  /// Where `cond` is true `a`, else `b` (broadcasting).
  mlir::Value select(mlir::Value cond, mlir::Value a, mlir::Value b);
  /// One-hot of `indices` (a new axis `axis` of size `depth`): 1.0 at the
  /// index, 0.0 elsewhere, in `elementType`.
  mlir::Value oneHot(mlir::Value indices, int64_t depth, int64_t axis, mlir::Type elementType);
  /// 1.0 where `cond` holds, else 0.0, in `like`'s element type.
  mlir::Value indicator(mlir::Value cond, mlir::Value like);

  mlir::Value reduceSum(mlir::Value v, llvm::ArrayRef<int64_t> axes, bool keepdims);
  mlir::Value reshape(mlir::Value v, llvm::ArrayRef<int64_t> shape);
  mlir::Value transpose(mlir::Value v, llvm::ArrayRef<int64_t> perm);
  /// `v` with its last two dimensions swapped.
  mlir::Value transposeLast2(mlir::Value v);
  mlir::Value expand(mlir::Value v, llvm::ArrayRef<int64_t> shape);
  mlir::Value cast(mlir::Value v, mlir::Type elementType);

  /// The cotangent of an operand of type `target` that numpy-broadcast to
  /// `grad`'s shape: summed over the broadcast dimensions, reshaped back.
  mlir::Value sumToShape(mlir::Value grad, mlir::RankedTensorType target);
  /// A reduction's result cotangent with the reduced axes back (size 1),
  /// broadcast to `shape`.
  mlir::Value unreduce(mlir::Value grad, llvm::ArrayRef<int64_t> axes, bool keepdims,
                       llvm::ArrayRef<int64_t> shape);

  mlir::NamedAttribute attr(llvm::StringRef name, mlir::Attribute value) {
    return b.getNamedAttr(name, value);
  }
  mlir::NamedAttribute ints(llvm::StringRef name, llvm::ArrayRef<int64_t> values) {
    return b.getNamedAttr(name, b.getDenseI64ArrayAttr(values));
  }
  mlir::NamedAttribute integer(llvm::StringRef name, int64_t value) {
    return b.getNamedAttr(name, b.getI64IntegerAttr(value));
  }

  bool failed() const { return hasFailed; }
  mlir::OpBuilder &builder() { return b; }
  mlir::Location location() const { return loc; }

private:
  mlir::OpBuilder &b;
  mlir::Location loc;
  bool hasFailed = false;
};

mlir::RankedTensorType tensorType(mlir::Value v);

/// Attaches GradientOpInterface to every graph op (a rule, or "no
/// gradient").
void registerGraphGradients(mlir::DialectRegistry &registry);

// Per family (called by registerGraphGradients).
void registerElementwiseGradients(mlir::DialectRegistry &registry);
void registerReductionGradients(mlir::DialectRegistry &registry);
void registerContractionGradients(mlir::DialectRegistry &registry);
void registerShapeGradients(mlir::DialectRegistry &registry);
void registerCompositeGradients(mlir::DialectRegistry &registry);

/// A rule: fills `dx` (sized to the operands, null) from `dy` (one per
/// result, null where none flows); fails after a diagnostic.
using GradientFn = mlir::LogicalResult (*)(GradientBuilder &g, mlir::Operation *op,
                                           llvm::ArrayRef<mlir::Value> dy,
                                           llvm::SmallVectorImpl<mlir::Value> &dx);

template <GradientFn Fn, typename OpTy>
struct GradientModel
    : public GradientOpInterface::ExternalModel<GradientModel<Fn, OpTy>, OpTy> {
  static bool hasGradientRule() { return true; }
  bool isDifferentiable(mlir::Operation *) const { return true; }
  mlir::LogicalResult buildGradients(mlir::Operation *op, mlir::OpBuilder &b,
                                     llvm::ArrayRef<mlir::Value> dy,
                                     llvm::SmallVectorImpl<mlir::Value> &dx) const {
    GradientBuilder g(b, op->getLoc());
    if (mlir::failed(Fn(g, op, dy, dx)) || g.failed())
      return mlir::failure();
    return mlir::success();
  }
};

template <typename OpTy>
struct NoGradientModel : public GradientOpInterface::ExternalModel<NoGradientModel<OpTy>, OpTy> {
  static bool hasGradientRule() { return false; }
  bool isDifferentiable(mlir::Operation *) const { return false; }
  mlir::LogicalResult buildGradients(mlir::Operation *, mlir::OpBuilder &,
                                     llvm::ArrayRef<mlir::Value>,
                                     llvm::SmallVectorImpl<mlir::Value> &) const {
    return mlir::success();
  }
};

template <GradientFn Fn, typename... Ops>
void attachGradient(mlir::MLIRContext *ctx) {
  (Ops::template attachInterface<GradientModel<Fn, Ops>>(*ctx), ...);
}
template <typename... Ops>
void attachNoGradient(mlir::MLIRContext *ctx) {
  (Ops::template attachInterface<NoGradientModel<Ops>>(*ctx), ...);
}

} // namespace partita::graph

#endif // PARTITA_DIALECTS_GRAPH_GRADIENTS_GRADIENTBUILDER_H
