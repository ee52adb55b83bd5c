//===- Calibration.cpp - alpha-beta fit and preset writing -----------------===//

#include "partita/Planner/Calibration.h"
#include "partita/Planner/Cluster.h"

#define JSON_NOEXCEPTION
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <set>

using namespace mlir;
using json = nlohmann::ordered_json;

namespace partita::planner {

namespace {

double rmsRelError(const std::vector<FitPoint> &points, double alpha, double beta) {
  double sum = 0;
  for (const FitPoint &p : points) {
    double e = (alpha * p.steps + beta * p.bytes - p.seconds) / p.seconds;
    sum += e * e;
  }
  return std::sqrt(sum / points.size());
}

/// Four significant digits: the presets are read by people too.
double sig4(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return std::strtod(buf, nullptr);
}

} // namespace

FailureOr<AlphaBeta> fitAlphaBeta(const std::vector<FitPoint> &points, std::string &error) {
  std::set<double> sizes;
  for (const FitPoint &p : points) {
    if (!(p.seconds > 0) || p.bytes < 0 || p.steps < 0) {
      error = "every timed collective needs a positive time and non-negative size";
      return failure();
    }
    sizes.insert(p.bytes);
  }
  if (sizes.size() < 2) {
    error = "the alpha-beta fit needs samples at two or more message sizes";
    return failure();
  }
  // Normal equations of min sum w (a z + b x - t)^2, w = 1/t^2.
  double szz = 0, szx = 0, sxx = 0, szt = 0, sxt = 0;
  for (const FitPoint &p : points) {
    double w = 1 / (p.seconds * p.seconds);
    szz += w * p.steps * p.steps;
    szx += w * p.steps * p.bytes;
    sxx += w * p.bytes * p.bytes;
    szt += w * p.steps * p.seconds;
    sxt += w * p.bytes * p.seconds;
  }
  AlphaBeta r;
  double det = szz * sxx - szx * szx;
  double alpha = -1, beta = 0;
  if (std::fabs(det) > 1e-12 * std::max(szz * sxx, 1e-300)) {
    alpha = (szt * sxx - sxt * szx) / det;
    beta = (szz * sxt - szx * szt) / det;
  }
  if (alpha < 0) {
    // No latency term (or the free fit wants a negative one): t = beta x.
    r.alphaClamped = alpha < 0 && det != 0;
    alpha = 0;
    beta = sxt / sxx;
  }
  if (!(beta > 0)) {
    error = "the alpha-beta fit gives no positive bandwidth (the times do not grow with "
            "the message size)";
    return failure();
  }
  r.alpha = alpha;
  r.bandwidth = 1 / beta;
  r.rmsRelError = rmsRelError(points, alpha, beta);
  return r;
}

FailureOr<AlphaBeta> fitCollectives(const std::vector<CollectiveSample> &samples,
                                    double bandwidthFactor, double latencyFactor,
                                    std::string &error) {
  std::vector<FitPoint> points;
  for (const CollectiveSample &s : samples) {
    double n = (double)s.groupSize;
    points.push_back({latencyFactor * (n - 1), bandwidthFactor * (n - 1) / n * s.bytes,
                      s.seconds});
  }
  return fitAlphaBeta(points, error);
}

FailureOr<CalibrationFit> fitCalibration(const Calibration &c, std::string &error) {
  // The ring factors the cost model uses when a preset names none.
  Cluster defaults;
  std::vector<FitPoint> all;
  std::map<std::string, std::vector<CollectiveSample>> byKind;
  for (const CollectiveSample &s : c.samples)
    byKind[s.kind].push_back(s);
  if (byKind.empty()) {
    error = "no collectives were timed";
    return failure();
  }
  for (auto &[kind, samples] : byKind) {
    const CollectiveFactors &f = defaults.factors(kind);
    for (const CollectiveSample &s : samples) {
      double n = (double)s.groupSize;
      all.push_back({f.latencyFactor * (n - 1), f.bandwidthFactor * (n - 1) / n * s.bytes,
                     s.seconds});
    }
  }
  CalibrationFit fit;
  auto link = fitAlphaBeta(all, error);
  if (failed(link))
    return failure();
  fit.link = *link;
  for (auto &[kind, samples] : byKind) {
    auto own = fitCollectives(samples, 1, 1, error);
    if (failed(own)) {
      error = kind + ": " + error;
      return failure();
    }
    const CollectiveFactors &f = defaults.factors(kind);
    CalibrationFit::Kind k;
    k.fit = *own;
    // Relative to the link, own time = bf (n-1)/n S / B_link + lf (n-1) alpha_link.
    k.bandwidthFactor = fit.link.bandwidth / own->bandwidth;
    k.latencyFactor = fit.link.alpha > 0 ? own->alpha / fit.link.alpha : f.latencyFactor;
    fit.kinds[kind] = k;
  }
  return fit;
}

std::string calibrationPresetJson(const Calibration &c, const CalibrationFit &fit) {
  json doc;
  doc["name"] = c.name;
  doc["description"] = c.description;
  json sources = json::array();
  for (auto &[dtype, how] : c.flopsSource)
    sources.push_back("peak_tflops." + dtype + ": " + how);
  sources.push_back("memory_bandwidth_gb_s: " + c.bandwidthSource);
  char line[512];
  std::snprintf(line, sizeof line,
                "links.shm: least-squares fit (relative error, weight 1/t^2) of %zu timed "
                "collectives to bandwidth_factor*(n-1)/n*S/B + latency_factor*(n-1)*alpha "
                "with the ring factors; rms relative error %.1f%%",
                c.samples.size(), 100 * fit.link.rmsRelError);
  sources.push_back(line);
  sources.push_back("collectives: each kind fitted on its own (alpha_k, B_k); factors = "
                    "B_link/B_k and alpha_k/alpha_link, so the cost model reproduces each fit");
  for (const std::string &s : c.sources)
    sources.push_back(s);
  doc["sources"] = sources;

  json device;
  device["name"] = c.deviceName;
  json peaks;
  for (auto &[dtype, flops] : c.peakFlops)
    peaks[dtype] = sig4(flops / 1e12);
  if (c.peakFlops.count("f32"))
    peaks["default"] = sig4(c.peakFlops.at("f32") / 1e12);
  device["peak_tflops"] = peaks;
  device["memory_gb"] = sig4(c.memoryBytes / 1e9);
  device["memory_bandwidth_gb_s"] = sig4(c.memoryBandwidth / 1e9);
  device["compute_efficiency"] = 1.0;
  doc["device"] = device;

  doc["levels"] = json::array({json{{"name", "host"}, {"size", c.ranks}, {"link", "shm"}}});
  json shm;
  shm["bandwidth_gb_s"] = sig4(fit.link.bandwidth / 1e9);
  shm["latency_us"] = sig4(fit.link.alpha * 1e6);
  shm["efficiency"] = 1.0;
  doc["links"] = json{{"shm", shm}};

  json colls;
  for (auto &[kind, k] : fit.kinds) {
    colls[kind] = json{{"bandwidth_factor", sig4(k.bandwidthFactor)},
                       {"latency_factor", sig4(k.latencyFactor)}};
  }
  colls["notes"] = "time = bandwidth_factor*(n-1)/n*S/B + latency_factor*(n-1)*alpha; "
                   "factors fitted by partita calibrate";
  doc["collectives"] = colls;
  return doc.dump(2) + "\n";
}

} // namespace partita::planner
