//===- GraphDriver.h - builds @main from an abstract graph ------*- C++ -*-===//
//
// Format-specific readers (ONNX protobuf, JSON) fill a GraphDesc; the driver
// checks it (duplicate definitions, dangling values, cycles), orders the
// nodes, runs the per-op handlers and checks declared shapes.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_LIB_IMPORT_GRAPHDRIVER_H
#define PARTITA_LIB_IMPORT_GRAPHDRIVER_H

#include "NodeView.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"

#include <memory>

namespace partita::import {

struct GraphDesc {
  /// Names the file in locations and diagnostics.
  std::string source;
  /// The default-domain opset the model was written against.
  int64_t opset = 17;
  struct Input {
    std::string name;
    mlir::RankedTensorType type;
  };
  std::vector<Input> inputs;
  struct Constant {
    std::string name;
    mlir::ElementsAttr value;
  };
  std::vector<Constant> constants;
  std::vector<std::unique_ptr<NodeView>> nodes;
  /// Where node i stands in the source (its locations' line): set when a
  /// rewrite (RoutedExperts.h) replaces nodes; empty means i itself.
  std::vector<size_t> nodeSource;
  size_t sourcePosition(size_t i) const {
    return i < nodeSource.size() ? nodeSource[i] : i;
  }
  std::vector<std::string> outputs;
  /// Static types declared for values (ONNX value_info / outputs, JSON
  /// outputs); the imported types must agree.
  llvm::StringMap<mlir::RankedTensorType> declared;
  /// Per-tensor attributes to attach (e.g. sharding annotations from JSON),
  /// keyed by tensor name; attached to function arguments and results.
  llvm::StringMap<mlir::DictionaryAttr> tensorAttrs;
  /// Concrete input values that shape-determining inputs may specialize to.
  llvm::StringMap<mlir::DenseElementsAttr> inputValues;
  /// Fold floating-point values at import (ImportOptions::keepFloatInitializers
  /// clears it).
  bool foldFloats = true;
  /// Extra module attributes (e.g. a mesh declaration).
  llvm::SmallVector<mlir::NamedAttribute> moduleAttrs;
};

/// Builds the module. Returns null after emitting diagnostics.
mlir::OwningOpRef<mlir::ModuleOp> buildModule(mlir::MLIRContext &ctx,
                                              GraphDesc &graph);

/// Location of node `index` producing `outputs` in `source`.
mlir::Location nodeLocation(mlir::MLIRContext &ctx, llvm::StringRef source,
                            size_t index, llvm::ArrayRef<std::string> outputs,
                            llvm::StringRef nodeName);

/// The file-level location for diagnostics that are not about one node.
mlir::Location fileLocation(mlir::MLIRContext &ctx, llvm::StringRef source);

} // namespace partita::import

#endif // PARTITA_LIB_IMPORT_GRAPHDRIVER_H
