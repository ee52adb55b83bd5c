//===- ReshardPlan.cpp - the collectives that change a layout -------------===//

#include "dialects/Sharding/IR/ReshardPlan.h"

using namespace mlir;

namespace partita::sharding {

static bool isPrefix(ArrayRef<StringAttr> a, ArrayRef<StringAttr> b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

void applyReshardStep(SmallVectorImpl<AxisList> &dims, const ReshardStep &step) {
  switch (step.kind) {
  case ReshardStep::Kind::AllToAll:
    dims[step.fromDim].resize(dims[step.fromDim].size() - step.axes.size());
    dims[step.dim].append(step.axes.begin(), step.axes.end());
    break;
  case ReshardStep::Kind::AllGather:
    dims[step.dim].resize(dims[step.dim].size() - step.axes.size());
    break;
  case ReshardStep::Kind::Slice:
    dims[step.dim].append(step.axes.begin(), step.axes.end());
    break;
  }
}

SmallVector<ReshardStep> planReshard(ArrayRef<AxisList> fromDims, ArrayRef<AxisList> to) {
  size_t rank = std::min(fromDims.size(), to.size());
  SmallVector<AxisList> from(fromDims.begin(), fromDims.begin() + rank);
  SmallVector<ReshardStep> steps;
  // 1. Runs of axes moving between dimensions, longest run first.
  for (bool moved = true; moved;) {
    moved = false;
    for (size_t i = 0; i < rank && !moved; ++i) {
      ArrayRef<StringAttr> haveI = from[i];
      if (isPrefix(haveI, to[i]))
        continue; // dim i keeps all its axes
      for (size_t len = haveI.size(); len >= 1 && !moved; --len) {
        ArrayRef<StringAttr> run = haveI.take_back(len);
        for (size_t j = 0; j < rank && !moved; ++j) {
          ArrayRef<StringAttr> have = from[j], want = to[j];
          if (j == i || want.size() < have.size() + len || !isPrefix(have, want) ||
              !std::equal(run.begin(), run.end(), want.begin() + have.size()))
            continue;
          ReshardStep step{ReshardStep::Kind::AllToAll, AxisList(run.begin(), run.end()),
                           (int64_t)j, (int64_t)i};
          applyReshardStep(from, step);
          steps.push_back(std::move(step));
          moved = true;
        }
      }
    }
  }
  // 2. and 3. Per dimension, the axes to leave and to join.
  SmallVector<ReshardStep> slices;
  for (size_t d = 0; d < rank; ++d) {
    ArrayRef<StringAttr> have = from[d], want = to[d];
    if (have == want)
      continue;
    AxisList gather, slice;
    if (isPrefix(want, have)) {
      gather.assign(have.begin() + want.size(), have.end());
    } else if (isPrefix(have, want)) {
      slice.assign(want.begin() + have.size(), want.end());
    } else {
      gather.assign(have.begin(), have.end());
      slice.assign(want.begin(), want.end());
    }
    if (!gather.empty())
      steps.push_back({ReshardStep::Kind::AllGather, gather, (int64_t)d, 0});
    if (!slice.empty())
      slices.push_back({ReshardStep::Kind::Slice, slice, (int64_t)d, 0});
  }
  steps.append(slices.begin(), slices.end());
  return steps;
}

} // namespace partita::sharding
