//===- NodeView.h - one node of an imported graph ---------------*- C++ -*-===//
//
// The ONNX and JSON importers describe their graphs through this interface
// so that one table of per-op handlers (OpImporters.cpp) and one graph
// builder (GraphBuilderDriver) serve both formats.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_LIB_IMPORT_NODEVIEW_H
#define PARTITA_LIB_IMPORT_NODEVIEW_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>
#include <vector>

namespace partita::import {

/// Attribute access in ONNX terms. Every getter returns nullopt when the
/// attribute is absent and reports a type mismatch through `error`.
class NodeView {
public:
  virtual ~NodeView() = default;

  virtual llvm::StringRef opType() const = 0;
  virtual llvm::StringRef domain() const = 0;
  /// The node's name (may be empty).
  virtual llvm::StringRef name() const = 0;
  /// Input and output tensor names; an empty name is an absent optional.
  virtual const std::vector<std::string> &inputs() const = 0;
  virtual const std::vector<std::string> &outputs() const = 0;

  virtual bool hasAttr(llvm::StringRef name) const = 0;
  /// Names of all attributes present on the node.
  virtual std::vector<std::string> attrNames() const = 0;
  virtual std::optional<int64_t> getInt(llvm::StringRef name) const = 0;
  virtual std::optional<double> getFloat(llvm::StringRef name) const = 0;
  virtual std::optional<std::string> getString(llvm::StringRef name) const = 0;
  virtual std::optional<std::vector<int64_t>>
  getInts(llvm::StringRef name) const = 0;
  virtual std::optional<std::vector<double>>
  getFloats(llvm::StringRef name) const = 0;
  /// A tensor-valued attribute (Constant's `value`, ConstantOfShape's
  /// `value`), decoded into an ElementsAttr; null with a diagnostic emitted
  /// at `loc` when it cannot be decoded.
  virtual std::optional<mlir::ElementsAttr>
  getTensor(llvm::StringRef name, mlir::MLIRContext *ctx,
            mlir::Location loc) const = 0;
};

} // namespace partita::import

#endif // PARTITA_LIB_IMPORT_NODEVIEW_H
