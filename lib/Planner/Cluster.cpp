//===- Cluster.cpp - reading cluster descriptions -------------------------===//

#include "partita/Planner/Cluster.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#define JSON_NOEXCEPTION
#include <nlohmann/json.hpp>

#include <set>

using namespace mlir;
using json = nlohmann::ordered_json;

namespace partita::planner {

double DeviceSpec::flopsFor(StringRef dtype) const {
  auto it = peakFlops.find(dtype.str());
  if (it == peakFlops.end())
    it = peakFlops.find("default");
  if (it == peakFlops.end())
    it = peakFlops.find("f32");
  if (it == peakFlops.end())
    return 0;
  return it->second * computeEfficiency;
}

int64_t Cluster::numDevices() const {
  int64_t n = 1;
  for (const LevelSpec &l : levels)
    n *= l.size;
  return n;
}

const CollectiveFactors &Cluster::factors(StringRef collective) const {
  static const CollectiveFactors ring2{2, 2}, ring1{1, 1};
  auto it = collectives.find(collective.str());
  if (it != collectives.end())
    return it->second;
  return collective == "all_reduce" ? ring2 : ring1;
}

FailureOr<std::map<std::string, const LinkSpec *>>
Cluster::mapAxes(const std::vector<std::pair<std::string, int64_t>> &axes,
                 std::string &error) const {
  int64_t total = 1;
  for (auto &a : axes)
    total *= a.second;
  if (total > numDevices()) {
    error = "the mesh needs " + std::to_string(total) + " devices; cluster '" + name +
            "' has " + std::to_string(numDevices());
    return failure();
  }
  std::map<std::string, const LinkSpec *> result;
  int64_t stride = 1;
  for (auto it = axes.rbegin(); it != axes.rend(); ++it) {
    const auto &[axis, size] = *it;
    int64_t span = stride * size;
    stride = span;
    std::string link;
    if (auto e = axisLinks.find(axis); e != axisLinks.end()) {
      link = e->second;
    } else {
      int64_t inner = 1;
      for (const LevelSpec &l : levels) {
        inner *= l.size;
        if (span <= inner) {
          link = l.link;
          break;
        }
      }
    }
    auto l = links.find(link);
    if (l == links.end()) {
      error = "cluster '" + name + "': no link for mesh axis '" + axis + "'";
      return failure();
    }
    result[axis] = &l->second;
  }
  return result;
}

namespace {

struct Reader {
  std::string origin;
  std::string &error;
  bool failed = false;

  bool fail(const std::string &msg) {
    if (!failed)
      error = origin + ": " + msg;
    failed = true;
    return false;
  }
  bool checkKeys(const json &obj, const std::string &where, std::set<std::string> allowed) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!allowed.count(it.key())) {
        std::string list;
        for (auto &a : allowed)
          list += (list.empty() ? "" : ", ") + a;
        return fail("unknown key \"" + it.key() + "\" in " + where + " (expected " + list + ")");
      }
    return true;
  }
  /// obj["name"] when given (a string, or a failure: nlohmann's value()
  /// would abort on another type), else `fallback`.
  bool name(const json &obj, const std::string &where, std::string fallback, std::string &out) {
    if (!obj.contains("name")) {
      out = std::move(fallback);
      return true;
    }
    if (!obj["name"].is_string())
      return fail("\"name\" of " + where + " must be a string");
    out = obj["name"].get<std::string>();
    return true;
  }
  /// A positive (or non-negative) number at obj[key] times `scale`.
  bool number(const json &obj, const std::string &where, const std::string &key, double scale,
              double &out, bool required = true, bool allowZero = false) {
    if (!obj.contains(key)) {
      if (required)
        return fail(where + " needs \"" + key + "\"");
      return true;
    }
    const json &v = obj[key];
    if (!v.is_number() || v.get<double>() < 0 || (!allowZero && v.get<double>() == 0))
      return fail(where + "." + key + " must be a " +
                  (allowZero ? "non-negative" : "positive") + " number");
    out = v.get<double>() * scale;
    return true;
  }
};

} // namespace

FailureOr<Cluster> parseCluster(StringRef text, StringRef origin, std::string &error) {
  Reader r{origin.str(), error};
  json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) {
    r.fail("not valid JSON");
    return failure();
  }
  if (!doc.is_object()) {
    r.fail("expected an object with \"device\", \"levels\" and \"links\"");
    return failure();
  }
  Cluster c;
  if (!r.checkKeys(doc, "the cluster",
                   {"name", "description", "sources", "device", "levels", "links",
                    "axis_links", "collectives"}))
    return failure();
  if (!r.name(doc, "the cluster", llvm::sys::path::stem(origin).str(), c.name))
    return failure();
  if (doc.contains("description") && doc["description"].is_string())
    c.description = doc["description"].get<std::string>();

  // Device.
  if (!doc.contains("device") || !doc["device"].is_object()) {
    r.fail("needs a \"device\" object");
    return failure();
  }
  const json &d = doc["device"];
  if (!r.checkKeys(d, "device",
                   {"name", "peak_tflops", "memory_gb", "memory_bandwidth_gb_s",
                    "compute_efficiency", "notes"}))
    return failure();
  if (!r.name(d, "device", "device", c.device.name))
    return failure();
  if (!d.contains("peak_tflops") || !d["peak_tflops"].is_object() || d["peak_tflops"].empty()) {
    r.fail("device needs \"peak_tflops\": {\"<dtype>\": TF/s, ...}");
    return failure();
  }
  for (auto it = d["peak_tflops"].begin(); it != d["peak_tflops"].end(); ++it) {
    double v;
    if (!r.number(d["peak_tflops"], "device.peak_tflops", it.key(), 1e12, v))
      return failure();
    c.device.peakFlops[it.key()] = v;
  }
  if (!r.number(d, "device", "memory_gb", 1e9, c.device.memoryBytes) ||
      !r.number(d, "device", "memory_bandwidth_gb_s", 1e9, c.device.memoryBandwidth) ||
      !r.number(d, "device", "compute_efficiency", 1, c.device.computeEfficiency, false))
    return failure();

  // Links.
  if (!doc.contains("links") || !doc["links"].is_object() || doc["links"].empty()) {
    r.fail("needs \"links\": {\"<name>\": {\"bandwidth_gb_s\": ..., \"latency_us\": ...}}");
    return failure();
  }
  for (auto it = doc["links"].begin(); it != doc["links"].end(); ++it) {
    std::string where = "links." + it.key();
    if (!it.value().is_object()) {
      r.fail(where + " must be an object");
      return failure();
    }
    LinkSpec l;
    l.name = it.key();
    if (!r.checkKeys(it.value(), where, {"bandwidth_gb_s", "latency_us", "efficiency", "notes"}) ||
        !r.number(it.value(), where, "bandwidth_gb_s", 1e9, l.bandwidth) ||
        !r.number(it.value(), where, "latency_us", 1e-6, l.latency, true, true) ||
        !r.number(it.value(), where, "efficiency", 1, l.efficiency, false))
      return failure();
    c.links[l.name] = l;
  }

  // Levels.
  if (!doc.contains("levels") || !doc["levels"].is_array() || doc["levels"].empty()) {
    r.fail("needs \"levels\": [{\"name\": \"node\", \"size\": 8, \"link\": \"nvlink\"}, ...] "
           "(innermost first)");
    return failure();
  }
  for (size_t i = 0; i < doc["levels"].size(); ++i) {
    const json &l = doc["levels"][i];
    std::string where = "levels[" + std::to_string(i) + "]";
    if (!l.is_object()) {
      r.fail(where + " must be an object");
      return failure();
    }
    if (!r.checkKeys(l, where, {"name", "size", "link"}))
      return failure();
    LevelSpec level;
    if (!r.name(l, where, "level" + std::to_string(i), level.name))
      return failure();
    if (!l.contains("size") || !l["size"].is_number_integer() || l["size"].get<int64_t>() <= 0) {
      r.fail(where + ".size must be a positive integer");
      return failure();
    }
    level.size = l["size"].get<int64_t>();
    if (!l.contains("link") || !l["link"].is_string() ||
        !c.links.count(l["link"].get<std::string>())) {
      r.fail(where + ".link must name one of \"links\"");
      return failure();
    }
    level.link = l["link"].get<std::string>();
    c.levels.push_back(level);
  }

  if (doc.contains("axis_links")) {
    if (!doc["axis_links"].is_object()) {
      r.fail("\"axis_links\" must map mesh axis names to link names");
      return failure();
    }
    for (auto it = doc["axis_links"].begin(); it != doc["axis_links"].end(); ++it) {
      if (!it.value().is_string() || !c.links.count(it.value().get<std::string>())) {
        r.fail("axis_links." + it.key() + " must name one of \"links\"");
        return failure();
      }
      c.axisLinks[it.key()] = it.value().get<std::string>();
    }
  }

  if (doc.contains("collectives")) {
    const json &cs = doc["collectives"];
    if (!cs.is_object()) {
      r.fail("\"collectives\" must be an object");
      return failure();
    }
    if (!r.checkKeys(cs, "collectives",
                     {"all_reduce", "all_gather", "reduce_scatter", "all_to_all", "notes"}))
      return failure();
    for (auto it = cs.begin(); it != cs.end(); ++it) {
      if (it.key() == "notes")
        continue;
      std::string where = "collectives." + it.key();
      if (!it.value().is_object()) {
        r.fail(where + " must be an object");
        return failure();
      }
      CollectiveFactors f = c.factors(it.key());
      if (!r.checkKeys(it.value(), where, {"bandwidth_factor", "latency_factor"}) ||
          !r.number(it.value(), where, "bandwidth_factor", 1, f.bandwidthFactor, false, true) ||
          !r.number(it.value(), where, "latency_factor", 1, f.latencyFactor, false, true))
        return failure();
      c.collectives[it.key()] = f;
    }
  }
  return c;
}

FailureOr<Cluster> readClusterFile(StringRef path, std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) {
    error = "cannot read cluster file '" + path.str() + "': " + buf.getError().message();
    return failure();
  }
  return parseCluster((*buf)->getBuffer(), path, error);
}

std::string resolveClusterPath(StringRef nameOrPath) {
  if (llvm::sys::fs::exists(nameOrPath) || nameOrPath.contains('/') ||
      nameOrPath.ends_with(".json"))
    return nameOrPath.str();
#ifdef PARTITA_CLUSTER_DIR
  llvm::SmallString<256> p(PARTITA_CLUSTER_DIR);
  llvm::sys::path::append(p, nameOrPath + ".json");
  return std::string(p);
#else
  return nameOrPath.str();
#endif
}

FailureOr<Cluster> loadCluster(StringRef nameOrPath, std::string &error) {
  std::string path = resolveClusterPath(nameOrPath);
  if (!llvm::sys::fs::exists(path) && path != nameOrPath) {
    error = "unknown cluster preset '" + nameOrPath.str() +
            "' (presets: h100x8, h100-cluster, a100-megatron, cpu-local; or give a JSON file)";
    return failure();
  }
  return readClusterFile(path, error);
}

int64_t shareDevices(Cluster &cluster, int64_t ranks) {
  int64_t devices = cluster.numDevices();
  if (ranks <= devices || cluster.levels.empty())
    return 1;
  int64_t k = (ranks + devices - 1) / devices;
  for (auto &[type, flops] : cluster.device.peakFlops)
    flops /= k;
  cluster.device.memoryBandwidth /= k;
  cluster.device.memoryBytes /= k;
  cluster.levels.front().size *= k;
  return k;
}

} // namespace partita::planner
