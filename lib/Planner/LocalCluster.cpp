//===- LocalCluster.cpp - the cluster description of this machine --------===//
//
// `--strategy auto` without `--cluster` plans for the machine it runs on:
// the user's calibrated preset when there is one (`partita calibrate -o
// ~/.config/partita/cluster.json`), else a description read off the local
// CPUs (/proc/cpuinfo, /proc/meminfo): one device per core, cores talking
// through shared memory. The description is JSON fed to the same parser as
// the presets, so both are checked the same way.
//
//===----------------------------------------------------------------------===//

#include "partita/Planner/Cluster.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#define JSON_NOEXCEPTION
#include <nlohmann/json.hpp>

#include <thread>

using namespace mlir;
using json = nlohmann::ordered_json;

namespace partita::planner {
namespace {

struct CpuInfo {
  std::string model = "CPU";
  double mhz = 0;
  unsigned lanes = 4; ///< f32 lanes of the widest vector FMA
  unsigned cores = 1;
  double memoryBytes = 0;
};

/// The value after "key\t: " on the first line of `text` that starts with key.
StringRef field(StringRef text, StringRef key) {
  for (StringRef line : llvm::split(text, '\n'))
    if (line.starts_with(key)) {
      auto [k, v] = line.split(':');
      if (k.trim() == key)
        return v.trim();
    }
  return "";
}

std::string readAll(StringRef path) {
  // /proc files report size 0: read them as a stream.
  auto buf = llvm::MemoryBuffer::getFileAsStream(path);
  return buf ? (*buf)->getBuffer().str() : std::string();
}

CpuInfo readCpuInfo() {
  CpuInfo info;
  info.cores = std::max(1u, std::thread::hardware_concurrency());
  std::string cpu = readAll("/proc/cpuinfo");
  if (StringRef m = field(cpu, "model name"); !m.empty())
    info.model = m.str();
  field(cpu, "cpu MHz").getAsDouble(info.mhz);
  StringRef flags = field(cpu, "flags");
  auto has = [&](StringRef f) { return llvm::is_contained(llvm::split(flags, ' '), f); };
  if (has("avx512f"))
    info.lanes = 16;
  else if (has("avx2") && has("fma"))
    info.lanes = 8;
  std::string mem = readAll("/proc/meminfo");
  unsigned long long kib = 0;
  if (!field(mem, "MemTotal").split(' ').first.getAsInteger(10, kib))
    info.memoryBytes = double(kib) * 1024;
  return info;
}

} // namespace

std::string localClusterFile() {
  llvm::SmallString<256> path;
  if (auto xdg = llvm::sys::Process::GetEnv("XDG_CONFIG_HOME"); xdg && !xdg->empty())
    path = *xdg;
  else if (auto home = llvm::sys::Process::GetEnv("HOME"); home && !home->empty())
    llvm::sys::path::append(path, *home, ".config");
  else
    return "";
  llvm::sys::path::append(path, "partita", "cluster.json");
  return std::string(path);
}

std::string describeLocalMachine() {
  CpuInfo cpu = readCpuInfo();
  // Theoretical f32 peak of one core: clock x 2 FMA pipes x lanes x 2 flops.
  // Measured on this project's development machine (cluster/cpu-local.json),
  // a cache-blocked GEMM on one core reached 10-13% of that: 0.11.
  double mhz = cpu.mhz > 0 ? cpu.mhz : 2000;
  double peakTf = mhz * 1e6 * 2 * cpu.lanes * 2 / 1e12;
  double memGb = cpu.memoryBytes > 0 ? cpu.memoryBytes / 1e9 / cpu.cores : 1;
  json doc;
  doc["name"] = "local";
  doc["description"] = "this machine, read off /proc: " + std::to_string(cpu.cores) +
                       " cores of " + cpu.model + "; one device = one core";
  doc["sources"] = json::array(
      {"peak_tflops: cpu MHz x 2 FMA pipes x " + std::to_string(cpu.lanes) +
           " f32 lanes x 2 (theoretical); compute_efficiency 0.11 as measured on "
           "cpu-local (a blocked GEMM on one core)",
       "memory_gb: MemTotal / cores; memory_bandwidth_gb_s 10 and the shm link "
       "(5 GB/s, 1 us) are cpu-local's measurements, not this machine's: "
       "`partita calibrate -o " +
           localClusterFile() + "` measures them"});
  doc["device"] = {{"name", cpu.model + " core"},
                   {"peak_tflops", {{"f32", peakTf}, {"f64", peakTf / 2}, {"default", peakTf}}},
                   {"memory_gb", memGb},
                   {"memory_bandwidth_gb_s", 10},
                   {"compute_efficiency", 0.11}};
  doc["levels"] = json::array({{{"name", "host"}, {"size", cpu.cores}, {"link", "shm"}}});
  doc["links"] = {{"shm", {{"bandwidth_gb_s", 5}, {"latency_us", 1.0}}}};
  doc["collectives"] = {
      {"all_reduce", {{"bandwidth_factor", 2}, {"latency_factor", 2}}},
      {"all_gather", {{"bandwidth_factor", 1}, {"latency_factor", 1}}},
      {"reduce_scatter", {{"bandwidth_factor", 1}, {"latency_factor", 1}}},
      {"all_to_all", {{"bandwidth_factor", 1}, {"latency_factor", 1}}}};
  return doc.dump(2);
}

FailureOr<Cluster> loadClusterOrLocal(StringRef nameOrPath, std::string &error,
                                      std::string &origin) {
  if (!nameOrPath.empty()) {
    origin = "--cluster " + nameOrPath.str();
    return loadCluster(nameOrPath, error);
  }
  std::string calibrated = localClusterFile();
  if (!calibrated.empty() && llvm::sys::fs::exists(calibrated)) {
    origin = "no --cluster: the calibrated " + calibrated;
    return readClusterFile(calibrated, error);
  }
  origin = "no --cluster: this machine's CPUs (uncalibrated; `partita calibrate -o " +
           (calibrated.empty() ? std::string("FILE") : calibrated) + "` measures them)";
  return parseCluster(describeLocalMachine(), "local", error);
}

} // namespace partita::planner
