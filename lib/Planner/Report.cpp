//===- Report.cpp - printing cost reports ---------------------------------===//

#include "partita/Planner/CostModel.h"

#include "llvm/Support/Format.h"

#define JSON_NOEXCEPTION
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

using json = nlohmann::ordered_json;

namespace partita::planner {

std::string formatSeconds(double s) {
  const char *unit = "s";
  double v = s;
  if (s == 0)
    return "0 s";
  if (s < 1e-6)
    v = s * 1e9, unit = "ns";
  else if (s < 1e-3)
    v = s * 1e6, unit = "us";
  else if (s < 1)
    v = s * 1e3, unit = "ms";
  std::string out;
  llvm::raw_string_ostream os(out);
  os << llvm::format(v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, unit);
  return out;
}

CostRanking rankByCost(const std::vector<PricedOption> &options, double capacity) {
  CostRanking r;
  for (size_t i = 0; i < options.size(); ++i)
    r.order.push_back(i);
  std::stable_sort(r.order.begin(), r.order.end(),
                   [&](size_t a, size_t b) { return options[a].time < options[b].time; });
  auto fits = [&](size_t i) { return capacity <= 0 || options[i].memory <= capacity; };
  auto chosen = llvm::find_if(r.order, fits);
  if (chosen == r.order.end())
    chosen = std::min_element(r.order.begin(), r.order.end(), [&](size_t a, size_t b) {
      return options[a].memory < options[b].memory;
    });
  bool fastest = chosen == r.order.begin();
  std::rotate(r.order.begin(), chosen, chosen + 1);
  for (auto [n, i] : llvm::enumerate(r.order)) {
    r.why += n == 0 ? "" : (fastest || n > 1) ? (fastest ? " < " : ", ") : "; ";
    r.why += options[i].name + " " + formatSeconds(options[i].time);
    if (!fits(i))
      r.why += " (needs " + formatBytes(options[i].memory) + " of " + formatBytes(capacity) + ")";
  }
  return r;
}

std::string formatBytes(double b) {
  std::string out;
  llvm::raw_string_ostream os(out);
  if (b < 1024)
    os << llvm::format("%.0f B", b);
  else if (b < 1024.0 * 1024)
    os << llvm::format("%.2f KiB", b / 1024);
  else if (b < 1024.0 * 1024 * 1024)
    os << llvm::format("%.2f MiB", b / (1024.0 * 1024));
  else
    os << llvm::format("%.2f GiB", b / (1024.0 * 1024 * 1024));
  return out;
}

void printCostReport(const CostReport &r, const Cluster &cluster, llvm::raw_ostream &os) {
  os << "\ncost: cluster " << cluster.name << " (" << cluster.device.name << ", "
     << cluster.numDevices() << " devices), mesh uses " << r.devices
     << " devices; forward pass, no overlap of compute and communication\n";
  os << llvm::format("%-16s %12s %12s %12s %6s %14s\n", "layer", "compute", "comm", "total",
                     "colls", "comm bytes");
  for (const LayerCost &l : r.layers)
    os << llvm::format("%-16s %12s %12s %12s %6u %14s\n", l.layer.c_str(),
                       formatSeconds(l.computeTime).c_str(), formatSeconds(l.commTime).c_str(),
                       formatSeconds(l.computeTime + l.commTime).c_str(), l.collectives,
                       formatBytes(l.commBytes).c_str());
  os << "step time: " << formatSeconds(r.stepTime()) << " = compute "
     << formatSeconds(r.computeTime) << " + communication " << formatSeconds(r.commTime)
     << " (" << llvm::format("%.4g", r.flops) << " FLOPs per device)\n";
  unsigned n = 0;
  std::map<std::string, unsigned> counts;
  for (const OpCost &c : r.ops)
    if (!c.collective.empty())
      ++n, ++counts[c.collective];
  os << "collectives: " << n;
  for (auto &[k, v] : counts)
    os << ", " << k << ": " << v;
  os << "\n";
  for (const OpCost &c : r.ops) {
    if (c.collective.empty())
      continue;
    os << "  " << c.collective << " {";
    llvm::interleave(c.axes, os, ",");
    os << "} of '" << c.name << "': " << llvm::format("%.0f", c.elements) << " elements, "
       << llvm::format("%.0f", c.commBytes) << " B, group " << c.groupSize << " on "
       << (c.link.empty() ? "?" : c.link) << ": " << formatSeconds(c.commTime) << "\n";
  }
  os << "memory per device: " << formatBytes(r.peakMemory()) << " = parameters "
     << formatBytes(r.parameterBytes) << " + inputs " << formatBytes(r.inputBytes)
     << " + activations at peak " << formatBytes(r.peakActivationBytes);
  if (!r.peakAfter.empty())
    os << " (at '" << r.peakAfter << "')";
  os << "; capacity " << formatBytes(r.memoryCapacity);
  if (r.peakMemory() > r.memoryCapacity)
    os << " -- DOES NOT FIT";
  os << "\n";
}

static json toJson(const CostReport &r, const Cluster &cluster) {
  json j;
  j["cluster"] = cluster.name;
  j["device"] = cluster.device.name;
  j["devices"] = r.devices;
  j["step_time_s"] = r.stepTime();
  j["compute_time_s"] = r.computeTime;
  j["comm_time_s"] = r.commTime;
  j["flops_per_device"] = r.flops;
  j["layers"] = json::array();
  for (const LayerCost &l : r.layers)
    j["layers"].push_back({{"layer", l.layer},
                           {"compute_time_s", l.computeTime},
                           {"comm_time_s", l.commTime},
                           {"flops", l.flops},
                           {"collectives", l.collectives},
                           {"comm_bytes", l.commBytes}});
  j["collectives"] = json::array();
  for (const OpCost &c : r.ops)
    if (!c.collective.empty())
      j["collectives"].push_back({{"kind", c.collective},
                                  {"tensor", c.name},
                                  {"layer", c.layer},
                                  {"axes", c.axes},
                                  {"group_size", c.groupSize},
                                  {"elements", c.elements},
                                  {"bytes", c.commBytes},
                                  {"link", c.link},
                                  {"time_s", c.commTime}});
  j["memory"] = {{"parameters_bytes", r.parameterBytes},
                 {"inputs_bytes", r.inputBytes},
                 {"peak_activations_bytes", r.peakActivationBytes},
                 {"peak_at", r.peakAfter},
                 {"total_bytes", r.peakMemory()},
                 {"capacity_bytes", r.memoryCapacity},
                 {"fits", r.peakMemory() <= r.memoryCapacity}};
  return j;
}

std::string costReportJson(const CostReport &r, const Cluster &cluster) {
  return toJson(r, cluster).dump(2) + "\n";
}

std::string addCostToPlanJson(llvm::StringRef planJson, const CostReport &r,
                              const Cluster &cluster) {
  json doc = json::object();
  if (!planJson.trim().empty()) {
    doc = json::parse(planJson.begin(), planJson.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      doc = json::object();
  }
  doc["cost"] = toJson(r, cluster);
  return doc.dump(2) + "\n";
}

} // namespace partita::planner
