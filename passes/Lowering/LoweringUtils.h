//===- LoweringUtils.h - shared helpers for graph lowering ------*- C++ -*-===//
//
// Helpers shared by the per-family lowering files: element-kind queries on
// the *original* graph types (signedness is gone after type conversion),
// scalar constants, broadcasting linalg.generic builders, reshapes between
// static shapes, and reductions.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PASSES_LOWERING_LOWERINGUTILS_H
#define PARTITA_PASSES_LOWERING_LOWERINGUTILS_H

#include "dialects/Graph/IR/GraphOps.h"
#include "passes/Lowering/Passes.h"

#include "mlir/Transforms/DialectConversion.h"

namespace partita::lowering {

using mlir::Location;
using mlir::OpBuilder;
using mlir::Type;
using mlir::Value;
using mlir::ValueRange;

/// Builds the scalar body of an elementwise generic from its block arguments.
using ScalarFn = llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// How arithmetic on an element type behaves. Computed from graph (pre-
/// conversion) types so that unsigned integers are still recognizable.
struct ElemKind {
  Type type;             // the converted (signless) element type
  bool isFloat = false;
  bool isUnsigned = false;
  bool isBool = false;   // i1
  unsigned width = 0;

  static ElemKind of(Type graphElementType);
  static ElemKind ofValue(Value graphValue);
  bool isSignedInt() const { return !isFloat && !isUnsigned && !isBool; }
};

/// The signless counterpart of `t` (element type or tensor type).
Type toSignless(Type t);
mlir::RankedTensorType toSignless(mlir::RankedTensorType t);

/// A scalar constant of `kind` with value `v` (integers: truncated toward
/// zero and clamped to the type's range).
Value scalarConst(OpBuilder &b, Location loc, const ElemKind &kind, double v);
/// The most negative (lowest) / most positive value of the type: -inf/+inf
/// for floats.
Value lowestConst(OpBuilder &b, Location loc, const ElemKind &kind);
Value highestConst(OpBuilder &b, Location loc, const ElemKind &kind);
Value indexConst(OpBuilder &b, Location loc, int64_t v);

/// Converts a scalar between element kinds with ONNX Cast semantics.
Value castScalar(OpBuilder &b, Location loc, Value v, const ElemKind &from,
                 const ElemKind &to);

/// Scalar arithmetic that dispatches on the element kind.
Value addS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y);
Value subS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y);
Value mulS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y);
Value divS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y);
Value maxS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y);
Value minS(OpBuilder &b, Location loc, const ElemKind &k, Value x, Value y);
/// Comparison by predicate name: "eq", "gt", "ge", "lt", "le", "ne".
Value cmpS(OpBuilder &b, Location loc, const ElemKind &k, llvm::StringRef pred,
           Value x, Value y);

/// tensor.empty of a static type.
Value emptyTensor(OpBuilder &b, Location loc, mlir::RankedTensorType t);
/// tensor.empty filled with a scalar (linalg.fill).
Value filledTensor(OpBuilder &b, Location loc, mlir::RankedTensorType t,
                   Value scalar);

/// The map from an output iteration space of shape `outShape` to an operand
/// of shape `inShape` under numpy broadcasting (trailing alignment; size-1
/// dims that broadcast read index 0).
mlir::AffineMap broadcastMap(mlir::MLIRContext *ctx, llvm::ArrayRef<int64_t> inShape,
                             llvm::ArrayRef<int64_t> outShape);

/// One all-parallel linalg.generic producing `outType` from broadcasting
/// `inputs`; `fn` computes the output element from the input elements.
Value buildElementwise(OpBuilder &b, Location loc, mlir::RankedTensorType outType,
                       ValueRange inputs, ScalarFn fn);

/// An all-parallel linalg.generic over `outType` with explicit input maps.
Value buildParallel(OpBuilder &b, Location loc, mlir::RankedTensorType outType,
                    ValueRange inputs, llvm::ArrayRef<mlir::AffineMap> maps,
                    ScalarFn fn);

/// (d0, ..., d{rank-1}) -> the dims not in `axes`: reads a reduced tensor
/// (keepdims = false) from the full iteration space.
mlir::AffineMap dropAxesMap(mlir::MLIRContext *ctx, int64_t rank,
                            llvm::ArrayRef<int64_t> axes);
/// (d0, ..., d{rank-1}) -> (d{dims[0]}, d{dims[1]}, ...).
mlir::AffineMap pickDimsMap(mlir::MLIRContext *ctx, int64_t rank,
                            llvm::ArrayRef<int64_t> dims);

/// Reshape between static shapes of the same element count: a single
/// collapse_shape or expand_shape when one exists, else collapse to 1-D and
/// expand.
Value reshapeTo(OpBuilder &b, Location loc, Value v, llvm::ArrayRef<int64_t> shape);

/// Reduces `input` over `axes` (sorted, non-negative) with the combiner
/// `combine(acc, x)` starting from `init`; the result drops the reduced
/// dimensions. `pre` (optional) maps each element before combining.
Value buildReduction(OpBuilder &b, Location loc, Value input,
                     llvm::ArrayRef<int64_t> axes, Value init,
                     llvm::function_ref<Value(OpBuilder &, Location, Value, Value)> combine,
                     llvm::function_ref<Value(OpBuilder &, Location, Value)> pre = nullptr);

/// Like buildReduction, but `fn(acc, args)` sees every input: `full` inputs
/// have the iteration shape, `reduced` ones the reduced (keepdims = false)
/// shape and are read with dropAxesMap.
Value buildReductionN(OpBuilder &b, Location loc, ValueRange full,
                      ValueRange reduced, llvm::ArrayRef<int64_t> axes, Value init,
                      llvm::function_ref<Value(OpBuilder &, Location, Value,
                                               ValueRange)> fn);

/// Shape of `shape` with `axes` removed (keepdims = false) or set to 1.
llvm::SmallVector<int64_t> reducedShape(llvm::ArrayRef<int64_t> shape,
                                        llvm::ArrayRef<int64_t> axes, bool keep);

/// An axis attribute (ODS returns I64Attr as uint64_t) in [0, rank).
inline int64_t normAxis(uint64_t attr, int64_t rank) {
  int64_t a = static_cast<int64_t>(attr);
  return a < 0 ? a + rank : a;
}

/// Populate functions, one per op family.
void populateElementwisePatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &p);
void populateReductionPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &p);
void populateContractionPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &p);
void populateDataMovementPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &p);
void populateNNPatterns(mlir::TypeConverter &tc, mlir::RewritePatternSet &p);

/// Shorthand: the converted result type of a graph value.
inline mlir::RankedTensorType convertedType(Value graphValue) {
  return toSignless(mlir::cast<mlir::RankedTensorType>(graphValue.getType()));
}

} // namespace partita::lowering

#endif // PARTITA_PASSES_LOWERING_LOWERINGUTILS_H
