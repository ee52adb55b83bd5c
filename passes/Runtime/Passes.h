//===- Passes.h - lowering collectives to runtime calls ---------*- C++ -*-===//

#ifndef PARTITA_PASSES_RUNTIME_PASSES_H
#define PARTITA_PASSES_RUNTIME_PASSES_H

#include "dialects/Collectives/IR/CollectivesOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace partita::collectives {

/// Module attributes written by convert-collectives-to-runtime.
inline constexpr llvm::StringLiteral kGroupsAttr = "partita.collective_groups";
inline constexpr llvm::StringLiteral kGroupsMeshAttr = "partita.collective_mesh";

#define GEN_PASS_DECL
#include "passes/Runtime/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Runtime/Passes.h.inc"

} // namespace partita::collectives

#endif // PARTITA_PASSES_RUNTIME_PASSES_H
