//===- Calibration.h - cluster presets from measurements --------*- C++ -*-===//
//
// `partita calibrate` (tools/partita/CalibrateCommand.cpp) measures this
// machine: GEMM FLOP/s per element type, memory bandwidth, and the MPI
// collectives over N ranks at several message sizes. This file holds the
// part that does not need MPI: the alpha-beta least-squares fit and the
// writing of the preset in the format of cluster/*.json (Cluster.cpp reads
// it back). docs/planner.md, "Calibration", describes both.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PLANNER_CALIBRATION_H
#define PARTITA_PLANNER_CALIBRATION_H

#include "mlir/Support/LLVM.h"

#include <map>
#include <string>
#include <vector>

namespace partita::planner {

/// One timed collective: `kind` (all_reduce, all_gather, reduce_scatter,
/// all_to_all) over a group of `groupSize` ranks, `bytes` = S of the cost
/// model (the full tensor: the all_reduce operand, the all_gather result,
/// the reduce_scatter / all_to_all operand), `seconds` per call.
struct CollectiveSample {
  std::string kind;
  int64_t groupSize = 2;
  double bytes = 0;
  double seconds = 0;
};

/// One point of the fit: the model is seconds = alpha * steps + bytes / B,
/// where steps and bytes already carry the collective's factors
/// (steps = latency_factor * (n - 1), bytes = bandwidth_factor * (n - 1) / n * S).
struct FitPoint {
  double steps = 0;
  double bytes = 0;
  double seconds = 0;
};

struct AlphaBeta {
  double alpha = 0;     ///< seconds per step (latency)
  double bandwidth = 0; ///< bytes per second (1 / beta)
  double rmsRelError = 0; ///< sqrt(mean(((model - t) / t)^2)) over the points
  bool alphaClamped = false; ///< the free fit gave alpha < 0; refit with alpha = 0
};

/// Weighted least squares on the relative error (weight 1/t^2), so that the
/// small messages (which pin alpha) count as much as the large ones (which
/// pin B): minimizes sum(((alpha*steps + beta*bytes - t) / t)^2) over alpha
/// and beta = 1/B. A negative alpha is clamped to 0 (beta refit alone).
/// Fails with a one-line cause when the points cannot determine B (fewer than
/// two distinct sizes, or times that do not grow with the size).
mlir::FailureOr<AlphaBeta> fitAlphaBeta(const std::vector<FitPoint> &points, std::string &error);

/// The fit of a collective's samples under the cost model's formula with the
/// given factors (docs/planner.md: bandwidth_factor (n-1)/n S/B +
/// latency_factor (n-1) alpha).
mlir::FailureOr<AlphaBeta> fitCollectives(const std::vector<CollectiveSample> &samples,
                                    double bandwidthFactor, double latencyFactor,
                                    std::string &error);

/// Everything `partita calibrate` measured.
struct Calibration {
  std::string name = "calibrated";
  std::string description;
  std::string deviceName;
  int64_t ranks = 2;
  int threads = 2;              ///< BLAS threads per rank
  std::map<std::string, double> peakFlops; ///< dtype -> FLOP/s (slowest rank)
  std::map<std::string, std::string> flopsSource; ///< dtype -> how it was measured
  double memoryBandwidth = 0;   ///< bytes/s per rank (slowest rank)
  std::string bandwidthSource;
  double memoryBytes = 0;       ///< per rank
  std::vector<CollectiveSample> samples;
  std::vector<std::string> sources; ///< extra lines for "sources"
};

/// The link fit (every sample, ring factors) and, per collective kind, its
/// own fit and the factors that make the cost model reproduce it on that link
/// (bandwidth_factor = B_link / B_kind * ring default, latency_factor =
/// alpha_kind / alpha_link * ring default).
struct CalibrationFit {
  AlphaBeta link;
  struct Kind {
    AlphaBeta fit;
    double bandwidthFactor = 1, latencyFactor = 1;
  };
  std::map<std::string, Kind> kinds;
};

mlir::FailureOr<CalibrationFit> fitCalibration(const Calibration &c, std::string &error);

/// The preset as JSON text (cluster/*.json format; the link is named "shm",
/// one level "host" of `ranks` devices).
std::string calibrationPresetJson(const Calibration &c, const CalibrationFit &fit);

} // namespace partita::planner

#endif // PARTITA_PLANNER_CALIBRATION_H
