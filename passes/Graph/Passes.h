//===- Passes.h - graph-level passes ----------------------------*- C++ -*-===//

#ifndef PARTITA_PASSES_GRAPH_PASSES_H
#define PARTITA_PASSES_GRAPH_PASSES_H

#include "dialects/Graph/IR/GraphOps.h"
#include "mlir/Pass/Pass.h"

namespace partita::graph {

#define GEN_PASS_DECL
#include "passes/Graph/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Graph/Passes.h.inc"

} // namespace partita::graph

#endif // PARTITA_PASSES_GRAPH_PASSES_H
