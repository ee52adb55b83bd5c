//===- Halo.h - windowed ops over split spatial dimensions ------*- C++ -*-===//
//
// Internal to sharding-partition: a conv / max_pool / average_pool whose
// input is split along spatial dimensions runs on its local block extended
// by halos, the rows its windows read from the neighbouring blocks.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PASSES_PARTITION_HALO_H
#define PARTITA_PASSES_PARTITION_HALO_H

#include "dialects/Sharding/IR/ShardingOps.h"
#include "dialects/Sharding/IR/ShardingRule.h"

#include "mlir/IR/Builders.h"

namespace partita::sharding {

/// Builds `op` (conv, max_pool or average_pool) on local `operands`, whose
/// input (operand 0) is laid out as `inputDims` (per dimension, the mesh
/// axes splitting it; a spatial dimension may be split only where
/// windowSplitObstacle allows it). `attrs` are the attributes of the local
/// op. For every split spatial dimension the block gets its low halo (the
/// last rows of the blocks before it) and its high halo (the first rows of
/// the blocks after it) through collective_permute within the dimension's
/// device group; the first and last blocks take the op's padding value
/// instead (masked with axis_index), and the local op runs without that
/// dimension's padding. Returns null when no spatial dimension is split;
/// failure after a diagnostic at `op`.
mlir::FailureOr<mlir::Operation *>
buildHaloWindowOp(mlir::OpBuilder &b, mlir::Operation *op, mlir::ValueRange operands,
                  llvm::ArrayRef<mlir::NamedAttribute> attrs, llvm::ArrayRef<AxisList> inputDims,
                  mlir::FlatSymbolRefAttr meshRef, MeshAttr mesh);

} // namespace partita::sharding

#endif // PARTITA_PASSES_PARTITION_HALO_H
