//===- PipelineBalanceTest.cpp - the automatic stage split ----------------===//

#include "partita/Pipeline/Balance.h"

#include <gtest/gtest.h>

#include <random>

using namespace partita::pipeline;

namespace {

// Unequal layers (an embedding, uneven blocks, a heavy head): the dynamic
// program's bottleneck equals the best split by enumeration (well within
// the 10% the issue allows), for every stage count and with a memory limit.
TEST(PipelineBalance, MatchesBruteForceOnUnequalLayers) {
  std::mt19937 rng(13);
  std::uniform_real_distribution<double> time(0.2, 3.0), mem(1.0, 5.0);
  for (int trial = 0; trial < 40; ++trial) {
    size_t n = 3 + trial % 8; // 3..10 layers: no divisibility
    std::vector<double> t(n), b(n);
    for (size_t i = 0; i < n; ++i)
      t[i] = time(rng), b[i] = mem(rng);
    t.back() *= 3; // the head
    for (int s = 1; s <= (int)std::min<size_t>(n, 5); ++s)
      for (double limit : {0.0, 12.0}) {
        std::string error;
        auto dp = balanceStages(t, b, s, limit, error);
        auto brute = bruteForceStages(t, b, s, limit);
        ASSERT_EQ(dp.has_value(), brute.has_value()) << "n=" << n << " s=" << s << " " << error;
        if (!dp)
          continue;
        EXPECT_NEAR(dp->bottleneck, brute->bottleneck, 1e-9) << "n=" << n << " s=" << s;
        EXPECT_EQ(dp->lastUnits.size(), (size_t)s - 1);
        EXPECT_EQ(dp->stageTimes.size(), (size_t)s);
        for (double x : dp->stageBytes)
          EXPECT_TRUE(limit == 0 || x <= limit);
      }
  }
}

TEST(PipelineBalance, UnevenSplitAndErrors) {
  // 5 layers of 1 and a head of 3 in 2 stages: 4 + (1 + 3).
  std::vector<double> t = {1, 1, 1, 1, 1, 3}, b(6, 1);
  std::string error;
  auto s = balanceStages(t, b, 2, 0, error);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->lastUnits, std::vector<size_t>({3}));
  EXPECT_DOUBLE_EQ(s->bottleneck, 4);
  EXPECT_FALSE(balanceStages(t, b, 7, 0, error));
  EXPECT_EQ(error, "cannot cut 6 layers into 7 stages");
  EXPECT_FALSE(balanceStages(t, b, 2, 2.5, error));
  EXPECT_EQ(error, "no split into 2 stages fits the memory limit of 2 bytes per stage");
}

} // namespace
