//===- PipelineScheduleTest.cpp - schedules against the published figures ===//
//
// Bubble fractions (REFERENCES.md "Pipeline schedules") and the activations
// each schedule keeps in flight, on uniform stages; the verifier's
// diagnostics on broken lists.
//
//===----------------------------------------------------------------------===//

#include "partita/Pipeline/Schedule.h"

#include <gtest/gtest.h>

using namespace partita::pipeline;

namespace {

Schedule make(const std::string &name, int p, int m, bool training = true) {
  ScheduleSpec spec;
  std::string error;
  EXPECT_TRUE(parseScheduleName(name, spec, error)) << error;
  spec.ranks = p;
  spec.microbatches = m;
  spec.training = training;
  auto s = generateSchedule(spec, error);
  EXPECT_TRUE(s.has_value()) << error;
  std::string verr;
  EXPECT_TRUE(verifySchedule(*s, verr)) << name << ": " << verr;
  return *s;
}

} // namespace

TEST(PipelineSchedule, GPipeAnd1F1BBubble) {
  for (int p : {2, 4, 8})
    for (int m : {p, 2 * p, 4 * p}) {
      for (const char *name : {"gpipe", "1f1b"}) {
        SimulationResult r = simulateSchedule(make(name, p, m));
        EXPECT_NEAR(r.bubble, double(p - 1) / m, 0.02) << name << " p=" << p << " m=" << m;
      }
    }
}

TEST(PipelineSchedule, InterleavedBubble) {
  for (int p : {2, 4})
    for (int v : {2, 3})
      for (int m : {p, 2 * p, 4 * p}) {
        auto s = make("interleaved:" + std::to_string(v), p, m);
        SimulationResult r = simulateSchedule(s);
        EXPECT_NEAR(r.bubble, double(p - 1) / (v * m), 0.02)
            << "p=" << p << " v=" << v << " m=" << m;
      }
}

TEST(PipelineSchedule, ZeroBubbleFamily) {
  for (int p : {2, 4, 8})
    for (int m : {2 * p, 4 * p}) {
      // 1F1B on the same stages: B = I + W = 2.
      double oneF1B = simulateSchedule(make("1f1b", p, m)).bubble;
      SimulationResult h1 = simulateSchedule(make("zb-h1", p, m));
      EXPECT_NEAR(h1.bubble, oneF1B / 3, 0.02) << "zb-h1 p=" << p << " m=" << m;
      SimulationResult h2 = simulateSchedule(make("zb-h2", p, m));
      EXPECT_NEAR(h2.bubble, 0, 0.02) << "zb-h2 p=" << p << " m=" << m;
      SimulationResult v = simulateSchedule(make("zb-v", p, m));
      EXPECT_NEAR(v.bubble, 0, 0.02) << "zb-v p=" << p << " m=" << m;
    }
}

TEST(PipelineSchedule, ActivationsInFlight) {
  int p = 4, m = 16;
  SimulationResult g = simulateSchedule(make("gpipe", p, m));
  SimulationResult o = simulateSchedule(make("1f1b", p, m));
  SimulationResult h1 = simulateSchedule(make("zb-h1", p, m));
  SimulationResult h2 = simulateSchedule(make("zb-h2", p, m));
  SimulationResult zv = simulateSchedule(make("zb-v", p, m));
  for (int r = 0; r < p; ++r) {
    EXPECT_EQ(g.peakInFlight[r], m) << "gpipe rank " << r;
    EXPECT_EQ(o.peakInFlight[r], p - r) << "1f1b rank " << r;
    // Zero bubble: after I, a microbatch holds half its activations until W.
    EXPECT_LE(h1.peakInFlight[r], p) << "zb-h1 rank " << r;
    EXPECT_LE(h2.peakInFlight[r], 2 * p - 1) << "zb-h2 rank " << r;
    EXPECT_LE(zv.peakInFlight[r], p) << "zb-v rank " << r;
  }
  EXPECT_EQ(h1.peakInFlight[0], p);
  EXPECT_EQ(h2.peakInFlight[0], 2 * p - 1);
  // Interleaved: rank 0 warms up 2(p-1) + (v-1)p + 1 chunks of 1/v each.
  SimulationResult iv = simulateSchedule(make("interleaved:2", p, m));
  EXPECT_DOUBLE_EQ(iv.peakInFlight[0], (2.0 * (p - 1) + p + 1) / 2);
}

TEST(PipelineSchedule, InferenceRunsForwardsOnly) {
  Schedule s = make("1f1b", 3, 5, /*training=*/false);
  for (auto &list : s.actions)
    for (auto &a : list)
      EXPECT_EQ(a.phase, Phase::Forward);
  EXPECT_EQ(s.actions[1].size(), 5u * 3); // recv, F, send per microbatch
}

TEST(PipelineSchedule, NamesAndParameters) {
  ScheduleSpec spec;
  std::string error;
  EXPECT_FALSE(parseScheduleName("interleaved", spec, error));
  EXPECT_NE(error.find("interleaved:V"), std::string::npos);
  EXPECT_FALSE(parseScheduleName("pipedream", spec, error));
  EXPECT_NE(error.find("unknown schedule 'pipedream'"), std::string::npos);
  ASSERT_TRUE(parseScheduleName("interleaved:2", spec, error));
  spec.ranks = 4;
  spec.microbatches = 6;
  EXPECT_FALSE(generateSchedule(spec, error));
  EXPECT_NE(error.find("multiple of the pipeline ranks (4)"), std::string::npos) << error;
}

TEST(PipelineSchedule, FileRoundTrip) {
  Schedule s = make("zb-v", 2, 4);
  std::string text;
  llvm::raw_string_ostream os(text);
  printScheduleJson(s, os);
  std::string error;
  auto back = parseScheduleJson(text, error);
  ASSERT_TRUE(back) << error;
  EXPECT_EQ(back->stageRank, s.stageRank);
  EXPECT_EQ(back->actions, s.actions);
  EXPECT_TRUE(back->splitBackward);
}

TEST(PipelineSchedule, VerifierDiagnostics) {
  auto check = [](const char *json, const char *expected) {
    std::string error;
    auto s = parseScheduleJson(json, error);
    if (s && verifySchedule(*s, error))
      error = "verified";
    EXPECT_NE(error.find(expected), std::string::npos) << "got: " << error;
  };
  // Rank 0 waits for rank 1's gradient before sending its activation.
  check(R"({"stage_ranks": [0, 1], "microbatches": 1,
            "ranks": [["sendF0@0>1", "F0", "recvB0@1<1", "B0"],
                      ["recvF0@0<0", "F0", "B0", "sendB0@1>0"]]})",
        "rank 0: sendF0@0>1 (microbatch 0): sends before F0@0 has run");
  check(R"({"stage_ranks": [0, 1], "microbatches": 1,
            "ranks": [["recvB0@1<1", "F0", "sendF0@0>1", "B0"],
                      ["recvF0@0<0", "F0", "B0", "sendB0@1>0"]]})",
        "deadlock: rank 0: recvB0@1<1 (microbatch 0)");
  check(R"({"stage_ranks": [0, 1], "microbatches": 2,
            "ranks": [["F0", "F1", "B0", "B1"], ["F0", "B0", "B1"]]})",
        "rank 1: F1@1 (microbatch 1) never runs");
  check(R"({"stage_ranks": [0, 1], "microbatches": 1,
            "ranks": [["F0", "sendF0@0>1", "recvB0@1<1", "B0"],
                      ["recvF0@0<0", "F0", "B0"]]})",
        "rank 0: recvB0@1<1 (microbatch 0): has no matching send on rank 1");
  check(R"({"stage_ranks": [0, 0], "microbatches": 1,
            "ranks": [["F0@0", "B0@1", "F0@1", "B0@0"]]})",
        "rank 0: B0@1 (microbatch 0): runs before F0@1, which comes later on this rank");
  check(R"({"stage_ranks": [0, 1], "microbatches": 1,
            "ranks": [["F0", "sendF0@0>1"], ["recvF0@0<0", "F0", "B0"]]})",
        "rank 0: B0@0 (microbatch 0) never runs");
  // Rank 1 takes microbatch 1's activation before microbatch 0's.
  check(R"({"stage_ranks": [0, 1], "microbatches": 2,
            "ranks": [["F0", "sendF0@0>1", "F1", "sendF1@0>1"],
                      ["recvF1@0<0", "recvF0@0<0", "F0", "F1"]]})",
        "rank 1: recvF1@0<0 (microbatch 1): rank 0 sends sendF0@0>1 to it first");
  check(R"({"stage_ranks": [0, 1], "microbatches": 1, "ranks": [["F0", "X0"], ["F0"]]})",
        "ranks[0][1] 'X0': expected F, B, I or W");
  check(R"({"stage_ranks": [0, 0], "microbatches": 1, "ranks": [["F0"]]})",
        "say which stage with '@STAGE'");
}

// Every generated schedule receives each peer's transfers in the order the
// peer sends them (the executor relies on it: MPI matches in order). ZB-V's
// ranks exchange activations and gradients of two stage pairs both ways.
TEST(PipelineSchedule, ReceivesInSendOrder) {
  for (const char *name : {"gpipe", "1f1b", "interleaved:2", "interleaved:3", "zb-h1", "zb-h2",
                           "zb-v"})
    for (int p : {2, 3, 4})
      for (int m : {p, 2 * p, 4 * p}) {
        Schedule s = make(name, p, m);
        std::vector<std::vector<std::vector<Action>>> sent(p, std::vector<std::vector<Action>>(p)),
            got(p, std::vector<std::vector<Action>>(p));
        for (int r = 0; r < p; ++r)
          for (Action a : s.actions[r]) {
            if (a.kind == ActionKind::Compute)
              continue;
            bool send = a.kind == ActionKind::Send;
            int peer = a.peer;
            a.kind = ActionKind::Compute, a.peer = -1;
            (send ? sent[r][peer] : got[peer][r]).push_back(a);
          }
        EXPECT_EQ(sent, got) << name << " p=" << p << " m=" << m;
      }
}

// The zero-bubble generators on unequal stage times (what the executor
// measures after its first step) always give a list that verifies: ZB-V
// used to stall when a rank's first-chunk forwards filled its memory limit.
TEST(PipelineSchedule, ZeroBubbleOnUnequalStageTimes) {
  unsigned seed = 12345;
  auto next = [&] { // 0.25 .. 4, deterministic
    seed = seed * 1103515245u + 12345u;
    return 0.25 + 3.75 * ((seed >> 8) % 10000) / 10000.0;
  };
  int generated = 0;
  for (const char *name : {"zb-h1", "zb-h2", "zb-v"})
    for (int p : {2, 3, 4})
      for (int m : {p, 2 * p, 4 * p})
        for (int trial = 0; trial < 20; ++trial) {
          ScheduleSpec spec;
          std::string error;
          ASSERT_TRUE(parseScheduleName(name, spec, error));
          spec.ranks = p;
          spec.microbatches = m;
          int stages = p * (spec.kind == "zb-v" ? 2 : 1);
          StageCosts costs;
          for (int st = 0; st < stages; ++st) {
            costs.forward.push_back(next());
            costs.backwardInput.push_back(next());
            costs.backwardWeight.push_back(next());
          }
          auto s = generateSchedule(spec, error, &costs);
          ASSERT_TRUE(s.has_value()) << name << " p=" << p << " m=" << m << ": " << error;
          ASSERT_TRUE(verifySchedule(*s, error)) << name << " p=" << p << " m=" << m << ": "
                                                 << error;
          ++generated;
        }
  EXPECT_EQ(generated, 3 * 3 * 3 * 20);
}
