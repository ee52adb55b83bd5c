//===- Cluster.h - cluster descriptions for the cost model ------*- C++ -*-===//
//
// A cluster is a set of identical devices in a hierarchy of levels (devices
// in a node over NVLink, nodes over InfiniBand, ...). Each level names the
// link its members communicate over. Mesh axes are laid out on the devices
// row-major (the last axis is the most minor), so an axis lives in the
// innermost level that holds its whole group, unless the file maps it to a
// link explicitly ("axis_links"). The file format is in docs/planner.md.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PLANNER_CLUSTER_H
#define PARTITA_PLANNER_CLUSTER_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace partita::planner {

struct DeviceSpec {
  std::string name;
  /// Peak FLOP/s per element type name ("bf16", "f16", "f32", "f64", "i8",
  /// "i32", "i64"); types not listed use "default" if given, else "f32".
  std::map<std::string, double> peakFlops;
  double memoryBytes = 0;     ///< capacity per device
  double memoryBandwidth = 0; ///< bytes/s
  double computeEfficiency = 1.0; ///< fraction of peak FLOP/s reached

  /// Effective FLOP/s for an element type (peak × efficiency).
  double flopsFor(llvm::StringRef dtype) const;
};

struct LinkSpec {
  std::string name;
  double bandwidth = 0;   ///< bytes/s per device, one direction as nominal
  double latency = 0;     ///< seconds per algorithm step (alpha)
  double efficiency = 1.0; ///< measured bus bandwidth / nominal bandwidth
  double effectiveBandwidth() const { return bandwidth * efficiency; }
};

struct LevelSpec {
  std::string name; ///< "node", "cluster", ...
  int64_t size = 1; ///< members of this level in one instance of the next
  std::string link; ///< link used between members of this level
};

/// Time = bandwidthFactor·(n−1)/n · S/B + latencyFactor·(n−1)·α
/// (collective_permute: S/B + α).
struct CollectiveFactors {
  double bandwidthFactor = 1;
  double latencyFactor = 1;
};

struct Cluster {
  std::string name;
  std::string description;
  DeviceSpec device;
  std::vector<LevelSpec> levels; ///< innermost first
  std::map<std::string, LinkSpec> links;
  std::map<std::string, std::string> axisLinks; ///< explicit axis → link
  std::map<std::string, CollectiveFactors> collectives;

  int64_t numDevices() const;
  const CollectiveFactors &factors(llvm::StringRef collective) const;
  /// The link of each mesh axis (axes given major to minor with sizes),
  /// or an error message.
  mlir::FailureOr<std::map<std::string, const LinkSpec *>>
  mapAxes(const std::vector<std::pair<std::string, int64_t>> &axes,
          std::string &error) const;
};

/// Reads a cluster file; on failure `error` is one line naming the file and
/// the offending key.
mlir::FailureOr<Cluster> readClusterFile(llvm::StringRef path, std::string &error);
/// Parses a cluster description from text (`origin` names it in errors).
mlir::FailureOr<Cluster> parseCluster(llvm::StringRef text, llvm::StringRef origin,
                                      std::string &error);
/// Resolves `--cluster NAME`: a path, or the name of a preset in the
/// source tree's cluster/ folder (h100x8, h100-cluster, a100-megatron,
/// cpu-local).
std::string resolveClusterPath(llvm::StringRef nameOrPath);
/// resolveClusterPath + readClusterFile: a preset name or a JSON file; an
/// unknown preset or a bad file fails with a one-line `error`.
mlir::FailureOr<Cluster> loadCluster(llvm::StringRef nameOrPath, std::string &error);
/// Where a calibrated description of this machine is looked for:
/// $XDG_CONFIG_HOME/partita/cluster.json, else ~/.config/partita/cluster.json
/// ("" without either variable).
std::string localClusterFile();
/// A cluster description of this machine read off /proc (JSON, in the
/// presets' format): one device per core, linked through shared memory.
std::string describeLocalMachine();
/// `--cluster NAME` when given, else this machine: localClusterFile() when
/// it exists, else describeLocalMachine(). `origin` says which, for the
/// plan's output.
mlir::FailureOr<Cluster> loadClusterOrLocal(llvm::StringRef nameOrPath, std::string &error,
                                            std::string &origin);
/// For more ranks than the cluster has devices (a run oversubscribing a
/// small machine): k = ceil(ranks / devices) ranks share each device, so
/// each rank is modeled as 1/k of one (compute, memory bandwidth and
/// capacity) and the innermost level holds k times as many. Returns k (1:
/// unchanged).
int64_t shareDevices(Cluster &cluster, int64_t ranks);

} // namespace partita::planner

#endif // PARTITA_PLANNER_CLUSTER_H
