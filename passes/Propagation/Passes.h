//===- Passes.h - sharding propagation --------------------------*- C++ -*-===//

#ifndef PARTITA_PASSES_PROPAGATION_PASSES_H
#define PARTITA_PASSES_PROPAGATION_PASSES_H

#include "dialects/Sharding/IR/ShardingOps.h"
#include "mlir/Pass/Pass.h"

#include <string>
#include <vector>

namespace partita::sharding {

#define GEN_PASS_DECL
#include "passes/Propagation/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Propagation/Passes.h.inc"

/// One place where a value must change layout before an op can use it.
struct ReshardNeed {
  mlir::Operation *op;
  unsigned operandIndex;
  std::string tensor;     ///< name of the resharded value
  std::string from, to;   ///< formatted shardings
  std::string collective; ///< all_reduce, all_gather, all_to_all, slice
  std::vector<std::string> axes;
  std::string origin;     ///< the annotation the required layout came from
};

/// Options of one propagation run (the pass's options, for direct calls).
struct PropagationOptions {
  bool conservative = false;
  bool explain = false;
};

/// Runs propagation on `module` and returns the reshards the result implies.
mlir::FailureOr<std::vector<ReshardNeed>>
propagateShardings(mlir::ModuleOp module, const PropagationOptions &options);

/// The name a value is known by: `graph.name` of arguments, the NameLoc of
/// its defining op (per result for multi-result ops), or "".
std::string valueName(mlir::Value v);

} // namespace partita::sharding

#endif // PARTITA_PASSES_PROPAGATION_PASSES_H
