//===- FormCosts.h - what each attention form costs a rank ------*- C++ -*-===//
//
// The step time, communication and memory of one graph.attention over a
// split sequence in each form (docs/sequence.md, "Choosing by cost"), on a
// cluster description: the formulas of the forms' collectives (the bytes
// sharding-partition emits for them) priced by the cost model's
// alpha-beta, and their compute by its attention roofline. `auto` picks
// the fastest form whose memory fits the device.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PASSES_SEQUENCE_FORMCOSTS_H
#define PARTITA_PASSES_SEQUENCE_FORMCOSTS_H

#include "passes/Sequence/AttentionForms.h"
#include "partita/Planner/Cluster.h"

#include <string>
#include <vector>

namespace partita::sequence {

/// One attention as its forms see it, per rank.
struct AttentionShape {
  /// Elements of the leading (batch and head) dimensions a rank holds
  /// before the sequence split moves (their own splits applied).
  double batch = 1;
  int64_t sq = 0, sk = 0; ///< global query and key sequences
  int64_t d = 0, dv = 0;  ///< query/key and value head sizes
  int64_t parts = 1;      ///< devices splitting the query sequence
  bool causal = false;
  bool mask = false;      ///< an additive mask operand
  /// Elements a rank holds of the mask's rows when split with the queries
  /// (ring all-gathers them along the keys).
  double maskRowElements = 0;
  double elementBytes = 4;
  std::string dtype = "f32";
};

/// The estimate of `form` for `shape` on `cluster`, its collectives over
/// `link`.
FormEstimate estimateForm(AttentionForm form, const AttentionShape &shape,
                          const planner::Cluster &cluster, const planner::LinkSpec &link);

/// Collective permutes the zigzag re-layout sends: for each of q, k and v
/// (`in`), and for the output (`out`) -- the distinct non-zero shifts of
/// the even and the odd chunks' tables.
struct ZigzagPermutes {
  int64_t in = 0, out = 0;
};
ZigzagPermutes zigzagRelayoutPermutes(int64_t parts);

/// The candidates priced on `cluster` for an attention whose query
/// sequence is split over `axes` of `mesh` (their slowest link; a mesh
/// larger than the cluster shares its devices, planner::shareDevices):
/// `estimates` fastest first, except that the first is the fastest whose
/// memory fits the device (the smallest when none does); `why` lists
/// them in one line. Failure, with `error`, when the mesh does not map
/// onto the cluster.
struct AttentionPricing {
  std::vector<FormEstimate> estimates;
  std::string why;
};
mlir::FailureOr<AttentionPricing> priceForms(llvm::ArrayRef<AttentionForm> candidates,
                                             const AttentionShape &shape,
                                             const planner::Cluster &cluster,
                                             sharding::MeshAttr mesh,
                                             llvm::ArrayRef<mlir::StringAttr> axes,
                                             std::string &error);

} // namespace partita::sequence

#endif // PARTITA_PASSES_SEQUENCE_FORMCOSTS_H
