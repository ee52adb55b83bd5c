//===- OpImporters.h - per-ONNX-op handlers ---------------------*- C++ -*-===//
//
// A handler turns one NodeView into graph ops. Handlers are looked up by
// ONNX op type in one table (OpImporters.cpp); the same table serves the
// ONNX and the JSON importer.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_LIB_IMPORT_OPIMPORTERS_H
#define PARTITA_LIB_IMPORT_OPIMPORTERS_H

#include "NodeView.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

namespace partita::import {

/// Everything a handler sees of the node being imported.
class NodeContext {
public:
  /// Concrete values of graph inputs that may be specialized, and the set
  /// of inputs that were (filled in by constInts/constScalar).
  struct Specializations {
    llvm::DenseMap<mlir::Value, mlir::DenseElementsAttr> available;
    llvm::DenseSet<mlir::Value> used;
  };

  NodeContext(mlir::OpBuilder &b, const NodeView &node,
              llvm::ArrayRef<mlir::Value> inputs, mlir::Location loc,
              int64_t opset, Specializations *specs = nullptr)
      : b(b), node(node), ins(inputs), loc(loc), opset(opset), specs(specs) {}

  mlir::OpBuilder &b;
  const NodeView &node;
  llvm::ArrayRef<mlir::Value> ins; ///< null entries are absent optionals
  mlir::Location loc;
  int64_t opset;
  Specializations *specs;
  /// Whether create() folds ops with floating-point results (GraphDesc).
  bool foldFloats = true;
  /// Filled by the handler, one per node output (null for unused optional
  /// outputs the handler does not produce).
  llvm::SmallVector<mlir::Value> results;

  /// An error at the node, prefixed with its op type and name.
  mlir::InFlightDiagnostic error() const;

  bool has(unsigned i) const { return i < ins.size() && ins[i]; }
  /// Input i; a diagnostic (and null) if it is absent.
  mlir::Value in(unsigned i) const;
  mlir::RankedTensorType type(mlir::Value v) const {
    return llvm::cast<mlir::RankedTensorType>(v.getType());
  }
  int64_t rank(mlir::Value v) const { return type(v).getRank(); }
  /// True if output i exists and is used by the graph.
  bool outputWanted(unsigned i) const;

  int64_t attrInt(llvm::StringRef name, int64_t dflt) const {
    return node.getInt(name).value_or(dflt);
  }
  double attrFloat(llvm::StringRef name, double dflt) const {
    return node.getFloat(name).value_or(dflt);
  }

  /// The constant value of input i: a constant op, or a graph input with a
  /// concrete value to specialize to. Null if neither.
  mlir::DenseElementsAttr constantInput(unsigned i) const;
  /// The integer contents of constant input i (e.g. Reshape's shape).
  mlir::FailureOr<llvm::SmallVector<int64_t>> constInts(unsigned i,
                                                        llvm::StringRef what) const;
  /// A scalar float from constant input i.
  mlir::FailureOr<double> constScalar(unsigned i, llvm::StringRef what) const;
  /// Shape-like values that moved from attribute to input across opsets:
  /// the attribute if present, else constant input i, else nullopt.
  mlir::FailureOr<std::optional<llvm::SmallVector<int64_t>>>
  intsFromAttrOrInput(llvm::StringRef attr, unsigned i) const;

  /// Records `v` as the node's next output; failure when it is null (its
  /// diagnostic has been emitted).
  mlir::LogicalResult push(mlir::Value v) {
    results.push_back(v);
    return mlir::success(v != nullptr);
  }
  /// Every result of `op` (null after a diagnostic: failure).
  mlir::LogicalResult pushAll(mlir::Operation *op) {
    if (!op)
      return mlir::failure();
    results.append(op->result_begin(), op->result_end());
    return mlir::success();
  }

  /// Creates graph op `name` with inferred result types; folds it when all
  /// operands are constants. Null after a diagnostic on failure.
  mlir::Operation *create(llvm::StringRef name, mlir::ValueRange operands,
                          llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
  /// create() for single-result ops.
  mlir::Value make(llvm::StringRef name, mlir::ValueRange operands,
                   llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
  mlir::Value constant(mlir::ElementsAttr value);
  mlir::Value reshape(mlir::Value v, llvm::ArrayRef<int64_t> shape);

  mlir::NamedAttribute i64(llvm::StringRef n, int64_t v) {
    return b.getNamedAttr(n, b.getI64IntegerAttr(v));
  }
  mlir::NamedAttribute i64s(llvm::StringRef n, llvm::ArrayRef<int64_t> v) {
    return b.getNamedAttr(n, b.getDenseI64ArrayAttr(v));
  }
  mlir::NamedAttribute f32(llvm::StringRef n, double v) {
    return b.getNamedAttr(n, b.getF32FloatAttr(v));
  }
  mlir::NamedAttribute boolean(llvm::StringRef n, bool v) {
    return b.getNamedAttr(n, b.getBoolAttr(v));
  }
};

using OpHandler = mlir::LogicalResult (*)(NodeContext &);

/// Normalizes ONNX axes (negative allowed) into sorted unique axes; a
/// diagnostic at the node for an axis out of range.
mlir::FailureOr<llvm::SmallVector<int64_t>>
normalizeAxes(NodeContext &c, llvm::ArrayRef<int64_t> axes, int64_t rank);

/// Registers the shape-computation and data-movement handlers.
void addDataMovementHandlers(llvm::StringMap<OpHandler> &table);

/// The handler for an ONNX op type, or null.
OpHandler lookupOpHandler(llvm::StringRef opType);
std::vector<std::string> handledOpTypes();

/// Maps an ONNX TensorProto data type to an MLIR element type, or null for
/// types the graph dialect does not support (string, complex, ...).
mlir::Type onnxElementType(mlir::MLIRContext *ctx, int dataType);
/// The name of an ONNX data type for diagnostics ("STRING", "FLOAT", ...).
llvm::StringRef onnxTypeName(int dataType);

} // namespace partita::import

#endif // PARTITA_LIB_IMPORT_OPIMPORTERS_H
