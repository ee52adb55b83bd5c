//===- Balance.h - choosing pipeline stage boundaries -----------*- C++ -*-===//
//
// The automatic stage split (docs/pipeline.md, "Choosing the stages"): the
// model as a sequence of units in program order (its layers, with the
// embedding before and the head after), each with a compute time and the
// bytes it holds (weights, activations); stages are contiguous runs of
// units. A dynamic program finds the split into S stages that minimizes
// the slowest stage's time (in a steady pipeline every stage waits for the
// slowest one, once per microbatch) among the splits whose every stage fits
// `memoryLimit`; uneven stages are allowed and no count has to divide.
// It is exact: bruteForceStages enumerates every split for tests.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PIPELINE_BALANCE_H
#define PARTITA_PIPELINE_BALANCE_H

#include <optional>
#include <string>
#include <vector>

namespace partita::pipeline {

struct StageSplit {
  /// Index of the last unit of every stage but the last (S - 1 entries,
  /// increasing).
  std::vector<size_t> lastUnits;
  /// The slowest stage's time, and each stage's time and bytes.
  double bottleneck = 0;
  std::vector<double> stageTimes, stageBytes;
};

/// The best split of the units into `stages` contiguous stages; nullopt
/// with a one-line `error` when there are fewer units than stages or no
/// split fits `memoryLimit` (0: no limit).
std::optional<StageSplit> balanceStages(const std::vector<double> &times,
                                        const std::vector<double> &bytes, int stages,
                                        double memoryLimit, std::string &error);

/// The same by enumerating every split (exponential: tests on small cases).
std::optional<StageSplit> bruteForceStages(const std::vector<double> &times,
                                           const std::vector<double> &bytes, int stages,
                                           double memoryLimit);

} // namespace partita::pipeline

#endif // PARTITA_PIPELINE_BALANCE_H
