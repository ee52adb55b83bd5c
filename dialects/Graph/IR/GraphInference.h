//===- GraphInference.h - result type inference for graph ops --*- C++ -*-===//
//
// Every graph op infers its result types from its operand types and
// attributes. The functions here are the single place where shape rules
// live: the generated inferReturnTypes of each op calls one of them, the
// verifier compares the declared types against them, and the importers use
// them to give every value a static shape.
//
// They are defensive: an importer may call them with attributes that the op
// verifier has not checked yet, so a missing or ill-typed attribute is a
// diagnostic, never a crash. Diagnostics go through emitOptionalError(loc).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_DIALECTS_GRAPH_IR_GRAPHINFERENCE_H
#define PARTITA_DIALECTS_GRAPH_IR_GRAPHINFERENCE_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/TypeRange.h"
#include "mlir/IR/Value.h"
#include "mlir/IR/ValueRange.h"
#include "mlir/Support/LLVM.h"

#include <optional>
#include <string>

namespace partita::graph {

using OptLoc = std::optional<mlir::Location>;
using TypeResults = llvm::SmallVectorImpl<mlir::Type>;

/// Numpy (ONNX multidirectional) broadcast of two shapes, or failure.
mlir::FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<int64_t> a, llvm::ArrayRef<int64_t> b);

/// An einsum equation split into per-input label strings and the output
/// labels ('.' stands for the ellipsis). Without '->' the output is the
/// ellipsis followed by the labels used once, alphabetically.
struct EinsumEquation {
  llvm::SmallVector<std::string> inputs;
  std::string output;
};
mlir::FailureOr<EinsumEquation> parseEinsumEquation(OptLoc loc,
                                                    llvm::StringRef equation);

/// Normalizes an axis in [-rank, rank) to [0, rank), or failure.
mlir::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank);

mlir::LogicalResult inferSameAsOperand(OptLoc loc, mlir::ValueRange operands,
                                       TypeResults &results);
mlir::LogicalResult inferCast(OptLoc loc, mlir::ValueRange operands,
                              mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferBroadcast(OptLoc loc, mlir::ValueRange operands,
                                   TypeResults &results, bool boolResult = false,
                                   bool sameTypes = true);
mlir::LogicalResult inferPRelu(OptLoc loc, mlir::ValueRange operands,
                               TypeResults &results);
mlir::LogicalResult inferWhere(OptLoc loc, mlir::ValueRange operands,
                               TypeResults &results);

mlir::LogicalResult inferReduce(OptLoc loc, mlir::ValueRange operands,
                                mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferArgReduce(OptLoc loc, mlir::ValueRange operands,
                                   mlir::DictionaryAttr attrs,
                                   TypeResults &results);
mlir::LogicalResult inferSameWithAxis(OptLoc loc, mlir::ValueRange operands,
                                      mlir::DictionaryAttr attrs,
                                      TypeResults &results);
mlir::LogicalResult inferTopK(OptLoc loc, mlir::ValueRange operands,
                              mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferBatchNorm(OptLoc loc, mlir::ValueRange operands,
                                   TypeResults &results);
mlir::LogicalResult inferLayerNorm(OptLoc loc, mlir::ValueRange operands,
                                   mlir::DictionaryAttr attrs,
                                   TypeResults &results);

mlir::LogicalResult inferMatMul(OptLoc loc, mlir::ValueRange operands,
                                TypeResults &results);
mlir::LogicalResult inferGemm(OptLoc loc, mlir::ValueRange operands,
                              mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferEinsum(OptLoc loc, mlir::ValueRange operands,
                                mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferConv(OptLoc loc, mlir::ValueRange operands,
                              mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferPool(OptLoc loc, mlir::ValueRange operands,
                              mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferGlobalPool(OptLoc loc, mlir::ValueRange operands,
                                    TypeResults &results);

mlir::LogicalResult inferConstant(OptLoc loc, mlir::DictionaryAttr attrs,
                                  TypeResults &results);
mlir::LogicalResult inferReshape(OptLoc loc, mlir::ValueRange operands,
                                 mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferTranspose(OptLoc loc, mlir::ValueRange operands,
                                   mlir::DictionaryAttr attrs,
                                   TypeResults &results);
mlir::LogicalResult inferExpand(OptLoc loc, mlir::ValueRange operands,
                                mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferTile(OptLoc loc, mlir::ValueRange operands,
                              mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferConcat(OptLoc loc, mlir::ValueRange operands,
                                mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferSplit(OptLoc loc, mlir::ValueRange operands,
                               mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferSlice(OptLoc loc, mlir::ValueRange operands,
                               mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferPad(OptLoc loc, mlir::ValueRange operands,
                             mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferGather(OptLoc loc, mlir::ValueRange operands,
                                mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferGatherElements(OptLoc loc, mlir::ValueRange operands,
                                        mlir::DictionaryAttr attrs,
                                        TypeResults &results);
mlir::LogicalResult inferScatterElements(OptLoc loc, mlir::ValueRange operands,
                                         mlir::DictionaryAttr attrs,
                                         TypeResults &results);
mlir::LogicalResult inferScatterND(OptLoc loc, mlir::ValueRange operands,
                                   mlir::DictionaryAttr attrs,
                                   TypeResults &results);
mlir::LogicalResult inferOneHot(OptLoc loc, mlir::ValueRange operands,
                                mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferTrilu(OptLoc loc, mlir::ValueRange operands,
                               TypeResults &results);

mlir::LogicalResult inferAttention(OptLoc loc, mlir::ValueRange operands,
                                   TypeResults &results);
mlir::LogicalResult inferMoeGate(OptLoc loc, mlir::ValueRange operands,
                                 mlir::DictionaryAttr attrs, TypeResults &results);
mlir::LogicalResult inferMoeDispatch(OptLoc loc, mlir::ValueRange operands,
                                     mlir::DictionaryAttr attrs,
                                     TypeResults &results);
mlir::LogicalResult inferMoeExpertMatMul(OptLoc loc, mlir::ValueRange operands,
                                         TypeResults &results);
mlir::LogicalResult inferMoeCombine(OptLoc loc, mlir::ValueRange operands,
                                   mlir::DictionaryAttr attrs, TypeResults &results);

} // namespace partita::graph

#endif // PARTITA_DIALECTS_GRAPH_IR_GRAPHINFERENCE_H
