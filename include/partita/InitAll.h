//===- InitAll.h - register every Partita dialect and pass ------*- C++ -*-===//
//
// Tools call these so that partita-opt, the partita CLI and the Python
// bindings see the same set of dialects and passes.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_INITALL_H
#define PARTITA_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace partita {

/// Partita's dialects plus the upstream ones its pipelines produce.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Partita's passes and pipelines (for the opt driver's command line).
void registerAllPasses();

} // namespace partita

#endif // PARTITA_INITALL_H
