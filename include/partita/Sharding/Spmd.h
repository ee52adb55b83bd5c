//===- Spmd.h - the SPMD program of an annotated module ---------*- C++ -*-===//
//
// One definition of the pipeline that turns an annotated module (a mesh and
// sharding annotations) into the program each rank runs, shared by
// `partita run --mesh` (lib/Distributed) and the Python frontend's
// `mlir("partitioned")`. Passes are looked up by name in the pass registry
// (partita::registerAllPasses()), so callers need not link them.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_SHARDING_SPMD_H
#define PARTITA_SHARDING_SPMD_H

#include "mlir/IR/BuiltinOps.h"

namespace partita {

/// Runs a textual pass pipeline (`pass-a,pass-b{opt=1}`) on `module`. A
/// pipeline that does not parse (e.g. an unregistered pass) is an error
/// reported at the module.
mlir::LogicalResult runPassPipeline(mlir::ModuleOp module, llvm::StringRef pipeline);

struct SpmdOptions {
  /// sharding-propagate's conflict resolution (common prefix).
  bool conservative = false;
};

/// Annotated -> partitioned: graph-recognize-composites (when registered),
/// sharding-propagate and sharding-partition. The result is one SPMD program
/// on local shapes with explicit collectives; every rank runs the same.
mlir::LogicalResult partitionSpmd(mlir::ModuleOp module, const SpmdOptions &options);

/// Folds each sharded constant of a partitioned module to `rank`'s block
/// (sharding-localize-constants), so the rank keeps only its shards.
mlir::LogicalResult localizeConstants(mlir::ModuleOp module, int64_t rank);

/// The single-device program of an annotated module: sharding.constraint
/// and sharding.reshard ops forward their input, the mesh and the sharding
/// attributes go (`partita run --mesh --check`'s reference run).
void dropShardings(mlir::ModuleOp module);

} // namespace partita

#endif // PARTITA_SHARDING_SPMD_H
