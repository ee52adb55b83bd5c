//===- ShardingOps.h - the sharding dialect ---------------------*- C++ -*-===//

#ifndef PARTITA_DIALECTS_SHARDING_IR_SHARDINGOPS_H
#define PARTITA_DIALECTS_SHARDING_IR_SHARDINGOPS_H

#include "dialects/Sharding/IR/ShardingRule.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/Sharding/IR/ShardingDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Sharding/IR/ShardingAttrs.h.inc"

#include "dialects/Sharding/IR/ShardingInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialects/Sharding/IR/ShardingOps.h.inc"

namespace partita::sharding {

/// Name of the sharding attribute on function arguments and results.
constexpr llvm::StringLiteral kShardingAttr = "sharding.sharding";
/// After sharding-partition: how a function argument's or result's global
/// tensor maps onto the local one (arguments and results have local types).
constexpr llvm::StringLiteral kPartitionedAttr = "sharding.partitioned";
/// Name of the per-result sharding array on ops after propagation.
constexpr llvm::StringLiteral kShardingsAttr = "sharding.shardings";

/// The mesh `sharding` refers to, looked up from `anchor`; null after a
/// diagnostic when it does not exist.
MeshAttr lookupMesh(TensorShardingAttr sharding, mlir::Operation *anchor);

/// Checks `sharding` against the shape of `type` and its mesh: axes exist,
/// are used once, the rank matches, and every split divides its dimension.
/// `what` names the tensor in diagnostics.
mlir::LogicalResult verifySharding(TensorShardingAttr sharding, mlir::Type type,
                                   mlir::Operation *anchor, llvm::StringRef what);

/// A fully open sharding of rank `rank` on `mesh` (what propagation starts
/// from for values without an annotation).
TensorShardingAttr getOpenSharding(mlir::MLIRContext *ctx,
                                   mlir::FlatSymbolRefAttr mesh, int64_t rank);

/// "[{data}, {}]"-style short text for tables and remarks.
std::string formatSharding(TensorShardingAttr sharding);

} // namespace partita::sharding

#endif // PARTITA_DIALECTS_SHARDING_IR_SHARDINGOPS_H
