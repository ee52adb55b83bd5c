//===- Passes.h - training-step construction --------------------*- C++ -*-===//

#ifndef PARTITA_PASSES_AUTODIFF_PASSES_H
#define PARTITA_PASSES_AUTODIFF_PASSES_H

#include "dialects/Graph/IR/GraphOps.h"
#include "mlir/Pass/Pass.h"

namespace partita::graph {

#define GEN_PASS_DECL
#include "passes/Autodiff/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Autodiff/Passes.h.inc"

/// The name of the training-step function graph-autodiff adds.
inline constexpr llvm::StringLiteral kTrainStepName = "train_step";

} // namespace partita::graph

#endif // PARTITA_PASSES_AUTODIFF_PASSES_H
