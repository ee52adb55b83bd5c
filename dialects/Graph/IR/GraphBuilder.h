//===- GraphBuilder.h - building graph ops with inferred types --*- C++ -*-===//
//
// Importers and rewrites build graph ops by name from operands and
// attributes; result types always come from the op's inferReturnTypes, so
// there is one shape rule per op and a bad input is a diagnostic at the op's
// location instead of an assertion in a generated builder.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_DIALECTS_GRAPH_IR_GRAPHBUILDER_H
#define PARTITA_DIALECTS_GRAPH_IR_GRAPHBUILDER_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

namespace partita::graph {

/// Creates the registered op `name` with result types inferred from the
/// operands and attributes. Returns nullptr after emitting a diagnostic at
/// `loc` when the op is unknown or inference fails.
mlir::Operation *createInferred(mlir::OpBuilder &b, mlir::Location loc,
                                llvm::StringRef name, mlir::ValueRange operands,
                                llvm::ArrayRef<mlir::NamedAttribute> attrs = {});

template <typename OpTy>
OpTy createInferred(mlir::OpBuilder &b, mlir::Location loc,
                    mlir::ValueRange operands,
                    llvm::ArrayRef<mlir::NamedAttribute> attrs = {}) {
  return llvm::cast_or_null<OpTy>(
      createInferred(b, loc, OpTy::getOperationName(), operands, attrs));
}

/// A graph.constant holding `value` splatted to `type` (float or integer
/// element types; integers take the value truncated toward zero).
mlir::Value createSplatConstant(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::RankedTensorType type, double value);

} // namespace partita::graph

#endif // PARTITA_DIALECTS_GRAPH_IR_GRAPHBUILDER_H
