//===- ReshardPlanTest.cpp - the collectives that change a layout --------===//

#include "dialects/Sharding/IR/ReshardPlan.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <set>

using namespace mlir;
using namespace partita::sharding;
using Kind = ReshardStep::Kind;

namespace {

class ReshardPlanTest : public ::testing::Test {
protected:
  MLIRContext ctx;
  Builder b{&ctx};
  /// "ab,|" -> [[a, b], []]: one letter per axis, '|' between dimensions.
  SmallVector<AxisList> layout(StringRef spec) {
    SmallVector<AxisList> dims(1);
    for (char c : spec) {
      if (c == '|')
        dims.emplace_back();
      else
        dims.back().push_back(b.getStringAttr(StringRef(&c, 1)));
    }
    return dims;
  }
  std::string axes(const AxisList &l) {
    std::string s;
    for (StringAttr a : l)
      s += a.str();
    return s;
  }
  /// The plan must reach `to` and never use one axis on two dimensions.
  SmallVector<ReshardStep> plan(StringRef from, StringRef to) {
    SmallVector<AxisList> f = layout(from), t = layout(to);
    auto steps = planReshard(f, t);
    for (const ReshardStep &s : steps) {
      applyReshardStep(f, s);
      std::set<std::string> seen;
      for (const AxisList &d : f)
        for (StringAttr a : d)
          EXPECT_TRUE(seen.insert(a.str()).second)
              << "axis " << a.str() << " used twice after a step of " << from.str() << " -> "
              << to.str();
    }
    EXPECT_EQ(f, t) << from.str() << " -> " << to.str();
    return steps;
  }
};

TEST_F(ReshardPlanTest, EqualLayoutsNeedNothing) { EXPECT_TRUE(plan("ab|", "ab|").empty()); }

TEST_F(ReshardPlanTest, AxisMovingBetweenDimensionsIsOneAllToAll) {
  auto steps = plan("a|", "|a");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].kind, Kind::AllToAll);
  EXPECT_EQ(axes(steps[0].axes), "a");
  EXPECT_EQ(steps[0].dim, 1);
  EXPECT_EQ(steps[0].fromDim, 0);
}

TEST_F(ReshardPlanTest, MinorRunMovesTogether) {
  auto steps = plan("|ab", "ab|");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].kind, Kind::AllToAll);
  EXPECT_EQ(axes(steps[0].axes), "ab");
  // Only the minor axis of [a, b] can move without disturbing a.
  steps = plan("ab|", "a|b");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(axes(steps[0].axes), "b");
}

TEST_F(ReshardPlanTest, GathersComeBeforeSlices) {
  // b is major in dim 0 of the target: no run moves; gather all of dim 0,
  // then slice b into dim 0 and a into dim 1.
  auto steps = plan("ab|", "b|a");
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].kind, Kind::AllGather);
  EXPECT_EQ(axes(steps[0].axes), "ab");
  EXPECT_EQ(steps[1].kind, Kind::Slice);
  EXPECT_EQ(steps[2].kind, Kind::Slice);
}

TEST_F(ReshardPlanTest, PrefixesGatherOrSliceOnlyTheDifference) {
  auto steps = plan("ab|", "a|");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].kind, Kind::AllGather);
  EXPECT_EQ(axes(steps[0].axes), "b");
  steps = plan("a|", "ab|");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].kind, Kind::Slice);
  EXPECT_EQ(axes(steps[0].axes), "b");
}

} // namespace
