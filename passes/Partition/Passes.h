//===- Passes.h - SPMD partitioning -----------------------------*- C++ -*-===//

#ifndef PARTITA_PASSES_PARTITION_PASSES_H
#define PARTITA_PASSES_PARTITION_PASSES_H

#include "dialects/Collectives/IR/CollectivesOps.h"
#include "dialects/Graph/IR/GraphOps.h"
#include "mlir/Pass/Pass.h"

namespace partita::sharding {

#define GEN_PASS_DECL
#include "passes/Partition/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Partition/Passes.h.inc"

} // namespace partita::sharding

#endif // PARTITA_PASSES_PARTITION_PASSES_H
