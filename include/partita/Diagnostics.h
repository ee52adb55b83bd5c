//===- Diagnostics.h - one-line diagnostics for the tools -------*- C++ -*-===//
//
// Tools print each error as one line, `<where>: error: <message>`, where
// <where> names the file and, for imported graphs, the node:
// `model.onnx: node 12 (out_name)`. Notes attached by verifiers are dropped
// unless `verbose` is set.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_DIAGNOSTICS_H
#define PARTITA_DIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <memory>
#include <string>

namespace partita {

/// Renders a location for a one-line diagnostic.
std::string describeLocation(mlir::Location loc);

/// While alive, prints every diagnostic of `ctx` as one line to stderr and
/// counts the errors.
class OneLineDiagnostics {
public:
  explicit OneLineDiagnostics(mlir::MLIRContext &ctx, bool verbose = false);
  ~OneLineDiagnostics();
  unsigned numErrors() const { return errors; }
  /// The first error message printed (without location), for APIs that
  /// surface it (e.g. Python exceptions).
  const std::string &firstError() const { return first; }

private:
  mlir::MLIRContext &ctx;
  mlir::DiagnosticEngine::HandlerID id;
  unsigned errors = 0;
  std::string first;
};

} // namespace partita

#endif // PARTITA_DIAGNOSTICS_H
