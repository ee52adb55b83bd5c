//===- cluster_fuzzer.cpp - libFuzzer target for cluster files ------------===//
//
// Feeds arbitrary bytes to the cluster reader (planner::parseCluster, the
// format of --cluster files and of `partita calibrate`'s output) and, when
// they parse, asks the parsed cluster what the cost model asks of it: the
// device count, the effective FLOP/s, the collective factors, the links of
// a few meshes (also more ranks than devices, as on an oversubscribed
// machine). Rejections are expected; any crash, abort or sanitizer report
// is a bug. Built only with -DPARTITA_ENABLE_FUZZERS=ON and clang; run by
// bench/fuzz.sh.
//
//===----------------------------------------------------------------------===//

#include "partita/Planner/Cluster.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace partita::planner;
  std::string error;
  auto cluster = parseCluster(llvm::StringRef(reinterpret_cast<const char *>(data), size),
                              "fuzz.json", error);
  if (mlir::failed(cluster))
    return 0;
  volatile double sink = cluster->numDevices();
  sink = sink + cluster->device.flopsFor("f32") + cluster->device.flopsFor("bf16");
  for (const char *c : {"all_reduce", "all_gather", "reduce_scatter", "all_to_all",
                        "collective_permute"})
    sink = sink + cluster->factors(c).bandwidthFactor;
  const std::vector<std::vector<std::pair<std::string, int64_t>>> meshes = {
      {{"data", 2}}, {{"data", 2}, {"model", 4}}, {{"pipe", 3}, {"data", 1 << 20}}};
  for (const auto &axes : meshes) {
    std::string err;
    auto links = cluster->mapAxes(axes, err);
    if (mlir::succeeded(links))
      for (auto &[axis, link] : *links)
        sink = sink + link->effectiveBandwidth() + link->latency;
  }
  Cluster shared = *cluster;
  sink = sink + shareDevices(shared, 64);
  (void)sink;
  return 0;
}
