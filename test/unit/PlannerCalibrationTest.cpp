//===- PlannerCalibrationTest.cpp - the alpha-beta fit of partita calibrate ===//
//
// Expected numbers computed by hand from the normal equations in
// lib/Planner/Calibration.cpp (weights 1/t^2).
//
//===----------------------------------------------------------------------===//

#include "partita/Planner/Calibration.h"
#include "partita/Planner/Cluster.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace partita::planner;

namespace {

// Exact data: t = 2 us * steps + bytes / 1 GB/s is recovered exactly.
TEST(PlannerCalibration, RecoversExactAlphaBeta) {
  std::vector<FitPoint> pts;
  for (double s : {1e3, 1e4, 1e5, 1e6})
    pts.push_back({1, s, 2e-6 + s / 1e9});
  std::string error;
  auto fit = fitAlphaBeta(pts, error);
  ASSERT_TRUE(mlir::succeeded(fit)) << error;
  EXPECT_NEAR(fit->alpha, 2e-6, 1e-12);
  EXPECT_NEAR(fit->bandwidth, 1e9, 1e-3);
  EXPECT_NEAR(fit->rmsRelError, 0, 1e-9);
  EXPECT_FALSE(fit->alphaClamped);
}

// Three points (steps 1): (x, t) = (0, 1), (1, 2), (2, 4), in arbitrary units.
// Weights 1, 1/4, 1/16:
//   szz = 1 + 1/4 + 1/16 = 21/16    szx = 1/4 + 2/16 = 6/16
//   sxx = 1/4 + 4/16 = 8/16         szt = 1 + 2/4 + 4/16 = 28/16
//   sxt = 2/4 + 8/16 = 16/16
//   det = 21/16 * 8/16 - (6/16)^2 = (168 - 36) / 256 = 132/256
//   alpha = (28/16 * 8/16 - 16/16 * 6/16) / det = (224 - 96) / 132 = 128/132
//   beta  = (21/16 * 16/16 - 6/16 * 28/16) / det = (336 - 168) / 132 = 168/132
// (An unweighted fit would give alpha = 5/6, beta = 3/2.)
TEST(PlannerCalibration, WeightedLeastSquaresByHand) {
  std::vector<FitPoint> pts = {{1, 0, 1}, {1, 1, 2}, {1, 2, 4}};
  std::string error;
  auto fit = fitAlphaBeta(pts, error);
  ASSERT_TRUE(mlir::succeeded(fit)) << error;
  EXPECT_NEAR(fit->alpha, 128.0 / 132, 1e-12);
  EXPECT_NEAR(fit->bandwidth, 132.0 / 168, 1e-12);
  // Residuals relative to t: (128/132 - 1)/1, (296/132 - 2)/2, (464/132 - 4)/4.
  double e0 = -4.0 / 132, e1 = 32.0 / 264, e2 = -64.0 / 528;
  EXPECT_NEAR(fit->rmsRelError, std::sqrt((e0 * e0 + e1 * e1 + e2 * e2) / 3), 1e-12);
}

// t = x - 0.5 exactly: the free fit's alpha is -0.5, so alpha is clamped to
// 0 and beta = sxt / sxx alone, with sxt = sum(x / t), sxx = sum(x^2 / t^2).
TEST(PlannerCalibration, NegativeAlphaIsClampedToZero) {
  std::string error;
  auto fit = fitAlphaBeta({{1, 1, 0.5}, {1, 2, 1.5}, {1, 4, 3.5}}, error);
  ASSERT_TRUE(mlir::succeeded(fit)) << error;
  EXPECT_TRUE(fit->alphaClamped);
  EXPECT_EQ(fit->alpha, 0);
  double sxt = 1 / 0.5 + 2 / 1.5 + 4 / 3.5;
  double sxx = 1 / 0.25 + 4 / 2.25 + 16 / 12.25;
  EXPECT_NEAR(fit->bandwidth, sxx / sxt, 1e-12);
  // A line with a positive intercept is not clamped.
  auto free = fitAlphaBeta({{1, 1, 2}, {1, 2, 2.2}, {1, 4, 3}}, error);
  ASSERT_TRUE(mlir::succeeded(free)) << error;
  EXPECT_FALSE(free->alphaClamped);
  EXPECT_GT(free->alpha, 0);
}

TEST(PlannerCalibration, Failures) {
  std::string error;
  EXPECT_TRUE(mlir::failed(fitAlphaBeta({{1, 1e3, 1e-6}, {1, 1e3, 2e-6}}, error)));
  EXPECT_EQ(error, "the alpha-beta fit needs samples at two or more message sizes");
  EXPECT_TRUE(mlir::failed(fitAlphaBeta({{1, 1e3, 0}, {1, 1e4, 1e-6}}, error)));
  EXPECT_EQ(error, "every timed collective needs a positive time and non-negative size");
}

// The cost model's formula: an all_reduce on n = 4 of S bytes with ring
// factors takes 2*(3/4)*S/B + 2*3*alpha. Samples generated from alpha = 1 us,
// B = 10 GB/s give back exactly those on the link; an all_gather generated
// from alpha = 3 us, B = 5 GB/s gets latency_factor 3 and bandwidth_factor 2
// relative to it, and the written preset loads and carries them.
TEST(PlannerCalibration, PresetReproducesEachCollective) {
  Calibration c;
  c.name = "unit";
  c.ranks = 4;
  c.deviceName = "test core";
  c.peakFlops = {{"f32", 5e10}, {"f64", 2.5e10}};
  c.memoryBandwidth = 1e10;
  c.memoryBytes = 4e9;
  for (double s : {4096.0, 65536.0, 1048576.0}) {
    c.samples.push_back({"all_reduce", 4, s, 2 * 0.75 * s / 10e9 + 6e-6});
    c.samples.push_back({"all_gather", 4, s, 0.75 * s / 5e9 + 3 * 3e-6});
  }
  std::string error;
  auto own = fitCollectives({c.samples[0], c.samples[2], c.samples[4]}, 2, 2, error);
  ASSERT_TRUE(mlir::succeeded(own)) << error;
  EXPECT_NEAR(own->alpha, 1e-6, 1e-15);
  EXPECT_NEAR(own->bandwidth, 10e9, 1);

  auto fit = fitCalibration(c, error);
  ASSERT_TRUE(mlir::succeeded(fit)) << error;
  const auto &ar = fit->kinds.at("all_reduce"), &ag = fit->kinds.at("all_gather");
  EXPECT_NEAR(ar.fit.alpha, 2e-6, 1e-15); // unit factors: 2 alpha per step
  EXPECT_NEAR(ag.fit.alpha, 3e-6, 1e-15);
  EXPECT_NEAR(ag.fit.bandwidth, 5e9, 1);
  // Factors relative to the joint link fit reproduce each collective.
  for (double s : {4096.0, 1048576.0}) {
    double arT = ar.bandwidthFactor * 0.75 * s / fit->link.bandwidth +
                 ar.latencyFactor * 3 * fit->link.alpha;
    EXPECT_NEAR(arT, 2 * 0.75 * s / 10e9 + 6e-6, 1e-12);
    double agT = ag.bandwidthFactor * 0.75 * s / fit->link.bandwidth +
                 ag.latencyFactor * 3 * fit->link.alpha;
    EXPECT_NEAR(agT, 0.75 * s / 5e9 + 9e-6, 1e-12);
  }
  EXPECT_NEAR(ag.latencyFactor / ar.latencyFactor, 1.5, 1e-9);
  EXPECT_NEAR(ag.bandwidthFactor / ar.bandwidthFactor, 1.0, 1e-9);

  std::string text = calibrationPresetJson(c, *fit);
  auto cluster = parseCluster(text, "unit.json", error);
  ASSERT_TRUE(mlir::succeeded(cluster)) << error << "\n" << text;
  EXPECT_EQ(cluster->name, "unit");
  EXPECT_EQ(cluster->numDevices(), 4);
  EXPECT_DOUBLE_EQ(cluster->device.flopsFor("f32"), 5e10);
  EXPECT_DOUBLE_EQ(cluster->device.flopsFor("f64"), 2.5e10);
  EXPECT_DOUBLE_EQ(cluster->device.flopsFor("bf16"), 5e10); // default = f32
  EXPECT_DOUBLE_EQ(cluster->device.memoryBandwidth, 1e10);
  ASSERT_TRUE(cluster->links.count("shm"));
  // Four significant digits in the file.
  EXPECT_NEAR(cluster->links.at("shm").bandwidth, fit->link.bandwidth,
              1e-3 * fit->link.bandwidth);
  EXPECT_NEAR(cluster->links.at("shm").latency, fit->link.alpha, 1e-3 * fit->link.alpha);
  EXPECT_NEAR(cluster->factors("all_gather").latencyFactor, ag.latencyFactor,
              1e-3 * ag.latencyFactor);
}

} // namespace
