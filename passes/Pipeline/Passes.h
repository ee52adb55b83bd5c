//===- Passes.h - pipeline-parallel passes ----------------------*- C++ -*-===//

#ifndef PARTITA_PASSES_PIPELINE_PASSES_H
#define PARTITA_PASSES_PIPELINE_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace partita::pipeline {

/// The stage index a stage function carries.
inline constexpr llvm::StringLiteral kStageAttr = "pipeline.stage";
/// On a stage's weight that another stage also uses.
inline constexpr llvm::StringLiteral kTiedAttr = "pipeline.tied";

#define GEN_PASS_DECL
#include "passes/Pipeline/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Pipeline/Passes.h.inc"

} // namespace partita::pipeline

#endif // PARTITA_PASSES_PIPELINE_PASSES_H
