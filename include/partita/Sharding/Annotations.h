//===- Annotations.h - user sharding annotations ----------------*- C++ -*-===//
//
// Turns the user's annotations — `--mesh data=2,model=2`, a sidecar
// `--shardings FILE` ({"mesh": {...}, "shardings": {"x": ["data", null]}}),
// or the `graph.mesh`/`graph.sharding` attributes the JSON importer leaves —
// into a sharding.mesh and sharding.sharding attributes / constraints.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_SHARDING_ANNOTATIONS_H
#define PARTITA_SHARDING_ANNOTATIONS_H

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace partita {

struct MeshSpec {
  std::vector<std::pair<std::string, int64_t>> axes; ///< major to minor
  std::string str() const;
};

/// One dimension of an annotation: axes (empty = replicated), open or not.
struct DimSpec {
  std::vector<std::string> axes;
  bool open = false;
};

struct ShardingSpecs {
  std::optional<MeshSpec> mesh;
  /// tensor name -> one DimSpec per dimension (insertion order kept).
  std::vector<std::pair<std::string, std::vector<DimSpec>>> tensors;
  /// The propagation priority of every annotation here (lower is stronger;
  /// -1: none, which propagation takes as 0).
  int64_t priority = -1;
  /// Per-tensor priorities ({"dims": [...], "priority": N}), overriding
  /// `priority`.
  std::map<std::string, int64_t> priorities;
  /// The "attention" key: the form of every attention over a split sequence
  /// ("auto", "gather", "ulysses", "ring"; docs/sequence.md), and per
  /// attention output name.
  std::optional<std::string> attentionForm;
  std::map<std::string, std::string> attentionForms;
  /// The "experts" key (docs/experts.md): the mesh axis that splits the
  /// expert dimension of every MoE dispatch, and optionally the one that
  /// splits each expert's FFN hidden dimension (expert tensor parallelism).
  /// "auto" (`"experts": "auto"`): every assignment of the two among the
  /// mesh axes, and none, priced on its partitioned program; the fastest
  /// whose memory fits the device is applied (docs/experts.md).
  std::optional<std::string> expertAxis;
  std::optional<std::string> expertFfnAxis;
  /// Not in the file: the cluster `auto` choices are priced on (a preset
  /// or file; empty: this machine), e.g. `partita plan --cluster`.
  std::string pricingCluster;
};

/// The module attribute `"experts": "auto"` leaves: which assignment it
/// took and the priced alternatives, in one line.
inline constexpr llvm::StringLiteral kExpertsChoiceAttr = "partita.experts";

/// Parses "data=2,model=2"; failure with a message in `error`.
mlir::FailureOr<MeshSpec> parseMeshFlag(llvm::StringRef text, std::string &error);

/// Reads a --shardings file; failure with a one-line message in `error`.
mlir::FailureOr<ShardingSpecs> readShardingsFile(llvm::StringRef path,
                                                 std::string &error);

/// Parses the text of a --shardings file; `origin` (its path) starts the
/// one-line message in `error` on failure.
mlir::FailureOr<ShardingSpecs> parseShardings(llvm::StringRef text, llvm::StringRef origin,
                                              std::string &error);

/// The text of a --shardings file holding `specs` (parseShardings reads it
/// back to the same specs).
std::string formatShardings(const ShardingSpecs &specs);

/// Declares the mesh (from `mesh`, the specs' mesh, or the module's
/// graph.mesh; they must agree) and attaches every annotation: function
/// arguments and results get `sharding.sharding`, other values a
/// sharding.constraint after their definition. Diagnostics on failure.
mlir::LogicalResult applyShardingAnnotations(mlir::ModuleOp module,
                                             const std::optional<MeshSpec> &mesh,
                                             const ShardingSpecs &specs,
                                             llvm::StringRef specsSource);

} // namespace partita

#include "llvm/Support/raw_ostream.h"

namespace partita::sharding {
struct ReshardNeed;
} // namespace partita::sharding

namespace partita {

namespace planner {
struct Cluster;
} // namespace planner

/// Prints the propagated sharding of every named tensor as a table, then the
/// implied reshards and each attention's form, to `os`; writes the same as
/// JSON to `json` if given. `auto` attention forms are priced on `cluster`
/// (null: this machine, as sharding-partition's default).
void printShardingPlan(mlir::ModuleOp module,
                       const std::vector<sharding::ReshardNeed> &reshards,
                       llvm::raw_ostream &os, llvm::raw_ostream *json,
                       const planner::Cluster *cluster = nullptr);

} // namespace partita

#endif // PARTITA_SHARDING_ANNOTATIONS_H
