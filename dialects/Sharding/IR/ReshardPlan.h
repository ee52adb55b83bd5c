//===- ReshardPlan.h - the collectives that change a layout -----*- C++ -*-===//
//
// One answer, shared by the partitioner (which emits the collectives) and
// the planner (which costs them), to: which collectives turn a tensor split
// as `from` into one split as `to`? Layouts are per-dimension axis lists,
// major to minor; partial sums are combined before and are not part of it.
//
//   1. all_to_all for each run of axes that moves between dimensions: the
//      minor axes of dim i, wanted right after dim j's current axes (one
//      exchange of (n-1)/n of the block instead of a gather and a slice);
//   2. all_gather, per dimension, of the axes it does not keep;
//   3. a local slice, per dimension, for the axes it gains.
// Every gather comes before every slice: an axis leaving one dimension may
// be the axis another joins, and no layout may use an axis twice.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_DIALECTS_SHARDING_IR_RESHARDPLAN_H
#define PARTITA_DIALECTS_SHARDING_IR_RESHARDPLAN_H

#include "dialects/Sharding/IR/ShardingRule.h"

namespace partita::sharding {

struct ReshardStep {
  enum class Kind { AllToAll, AllGather, Slice };
  Kind kind;
  AxisList axes;
  /// all_gather / slice: the dimension; all_to_all: the dimension the axes
  /// join (split_dim).
  int64_t dim = 0;
  /// all_to_all: the dimension the axes leave (concat_dim).
  int64_t fromDim = 0;
};

/// The steps in order; applying them to `from` gives `to`. Dimensions are
/// paired up to the shorter list.
llvm::SmallVector<ReshardStep> planReshard(llvm::ArrayRef<AxisList> from,
                                           llvm::ArrayRef<AxisList> to);

/// `dims` after `step`.
void applyReshardStep(llvm::SmallVectorImpl<AxisList> &dims, const ReshardStep &step);

} // namespace partita::sharding

#endif // PARTITA_DIALECTS_SHARDING_IR_RESHARDPLAN_H
