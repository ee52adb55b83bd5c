//===- Zero.h - ZeRO stages as shardings of a training step -----*- C++ -*-===//
//
// ZeRO (Rajbhandari et al.) partitions the optimizer state (stage 1), the
// gradients (2) and the parameters (3) over the data-parallel ranks. Here
// each stage is a set of annotations on the step function: the state
// tensors (PARAM.m, ...), the gradients (PARAM.grad) and the parameters are
// split over the data axis on top of the user's annotation of the
// parameter; propagation and partitioning then give reduce_scatter for the
// gradients and all_gather of parameters before their use, with no other
// special case (docs/training.md).
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_DISTRIBUTED_ZERO_H
#define PARTITA_DISTRIBUTED_ZERO_H

#include "partita/Runtime/Train.h"
#include "partita/Sharding/Annotations.h"

#include <string>

namespace partita {

/// The annotations of ZeRO `stage` (1-3) over mesh axis `axis` for `step`
/// (prepareTrainingStep's description of `module`'s @main), each
/// parameter's own annotation in `user` (if any) kept and the axis added to
/// its first dimension that is not split yet and divides. Failure with a
/// one-line message in `error` (an unknown axis, a bad stage).
mlir::FailureOr<ShardingSpecs> zeroShardings(mlir::ModuleOp module, const TrainingStep &step,
                                             const MeshSpec &mesh, int stage,
                                             llvm::StringRef axis, const ShardingSpecs &user,
                                             std::string &error);

} // namespace partita

#endif // PARTITA_DISTRIBUTED_ZERO_H
