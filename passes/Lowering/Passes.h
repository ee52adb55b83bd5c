//===- Passes.h - graph to upstream dialects --------------------*- C++ -*-===//

#ifndef PARTITA_PASSES_LOWERING_PASSES_H
#define PARTITA_PASSES_LOWERING_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace partita::lowering {

#define GEN_PASS_DECL
#include "passes/Lowering/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Lowering/Passes.h.inc"

/// graph-expand-composites, convert-graph-to-linalg, then elementwise fusion
/// and cleanup: the tensor-level input that bufferization expects.
void buildGraphToLinalgPipeline(mlir::OpPassManager &pm);

/// Registers `graph-to-linalg` (the pipeline above) with the opt driver.
void registerGraphToLinalgPipeline();

} // namespace partita::lowering

#endif // PARTITA_PASSES_LOWERING_PASSES_H
