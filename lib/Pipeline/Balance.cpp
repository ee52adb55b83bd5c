//===- Balance.cpp - choosing pipeline stage boundaries -------------------===//
//
// best[s][i]: the smallest bottleneck of units 0..i-1 in s stages, each
// fitting the memory limit; best[s][i] = min over j of
// max(best[s-1][j], time(j..i-1)). O(S n^2) with prefix sums.
//
//===----------------------------------------------------------------------===//

#include "partita/Pipeline/Balance.h"

#include <algorithm>
#include <functional>
#include <limits>

namespace partita::pipeline {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

StageSplit describe(const std::vector<double> &times, const std::vector<double> &bytes,
                    std::vector<size_t> lastUnits) {
  StageSplit s;
  s.lastUnits = std::move(lastUnits);
  size_t begin = 0;
  std::vector<size_t> ends = s.lastUnits;
  ends.push_back(times.size() - 1);
  for (size_t end : ends) {
    double t = 0, b = 0;
    for (size_t u = begin; u <= end; ++u)
      t += times[u], b += bytes[u];
    s.stageTimes.push_back(t);
    s.stageBytes.push_back(b);
    s.bottleneck = std::max(s.bottleneck, t);
    begin = end + 1;
  }
  return s;
}

} // namespace

std::optional<StageSplit> balanceStages(const std::vector<double> &times,
                                        const std::vector<double> &bytes, int stages,
                                        double memoryLimit, std::string &error) {
  size_t n = times.size();
  if (stages < 1 || n < (size_t)stages) {
    error = "cannot cut " + std::to_string(n) + " layer" + (n == 1 ? "" : "s") + " into " +
            std::to_string(stages) + " stages";
    return std::nullopt;
  }
  std::vector<double> t(n + 1, 0), b(n + 1, 0);
  for (size_t i = 0; i < n; ++i)
    t[i + 1] = t[i] + times[i], b[i + 1] = b[i] + bytes[i];
  auto fits = [&](size_t j, size_t i) { return memoryLimit <= 0 || b[i] - b[j] <= memoryLimit; };
  // best[s][i] over units [0, i) in s stages; from[s][i] the start of the
  // last of them.
  std::vector<std::vector<double>> best(stages + 1, std::vector<double>(n + 1, kInf));
  std::vector<std::vector<size_t>> from(stages + 1, std::vector<size_t>(n + 1, 0));
  best[0][0] = 0;
  for (int s = 1; s <= stages; ++s)
    for (size_t i = s; i <= n; ++i)
      for (size_t j = s - 1; j < i; ++j) {
        if (best[s - 1][j] == kInf || !fits(j, i))
          continue;
        double v = std::max(best[s - 1][j], t[i] - t[j]);
        if (v < best[s][i])
          best[s][i] = v, from[s][i] = j;
      }
  if (best[stages][n] == kInf) {
    error = "no split into " + std::to_string(stages) + " stages fits the memory limit of " +
            std::to_string((long long)memoryLimit) + " bytes per stage";
    return std::nullopt;
  }
  std::vector<size_t> lastUnits;
  for (size_t i = n, s = stages; s > 1; --s) {
    i = from[s][i];
    lastUnits.push_back(i - 1);
  }
  std::reverse(lastUnits.begin(), lastUnits.end());
  return describe(times, bytes, lastUnits);
}

std::optional<StageSplit> bruteForceStages(const std::vector<double> &times,
                                           const std::vector<double> &bytes, int stages,
                                           double memoryLimit) {
  size_t n = times.size();
  if (stages < 1 || n < (size_t)stages)
    return std::nullopt;
  std::optional<StageSplit> best;
  std::vector<size_t> cuts;
  std::function<void(size_t)> choose = [&](size_t next) {
    if ((int)cuts.size() == stages - 1) {
      StageSplit s = describe(times, bytes, cuts);
      bool fits = memoryLimit <= 0 ||
                  std::all_of(s.stageBytes.begin(), s.stageBytes.end(),
                              [&](double x) { return x <= memoryLimit; });
      if (fits && (!best || s.bottleneck < best->bottleneck))
        best = s;
      return;
    }
    for (size_t c = next; c + (stages - 1 - cuts.size()) < n; ++c) {
      cuts.push_back(c);
      choose(c + 1);
      cuts.pop_back();
    }
  };
  choose(0);
  return best;
}

} // namespace partita::pipeline
