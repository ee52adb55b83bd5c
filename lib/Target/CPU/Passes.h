//===- Passes.h - the CPU target's passes -----------------------*- C++ -*-===//

#ifndef PARTITA_TARGET_CPU_PASSES_H
#define PARTITA_TARGET_CPU_PASSES_H

#include "partita/Runtime/Parallel.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace partita::cpu {

#define GEN_PASS_DECL
#include "lib/Target/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lib/Target/CPU/Passes.h.inc"

} // namespace partita::cpu

#endif // PARTITA_TARGET_CPU_PASSES_H
