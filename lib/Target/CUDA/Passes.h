//===- Passes.h - the CUDA target's passes ----------------------*- C++ -*-===//

#ifndef PARTITA_TARGET_CUDA_PASSES_H
#define PARTITA_TARGET_CUDA_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace partita::cuda {

#define GEN_PASS_DECL
#include "lib/Target/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lib/Target/CUDA/Passes.h.inc"

} // namespace partita::cuda

#endif // PARTITA_TARGET_CUDA_PASSES_H
