//===- AttentionForms.h - attention over a split sequence -------*- C++ -*-===//
//
// How graph.attention computes when its query sequence is split across
// devices (docs/sequence.md): all-gathered K/V (`gather`), heads exchanged
// for the sequence by all_to_all (`ulysses`), or K/V blocks passed around a
// ring and merged by log-sum-exp (`ring`; `zigzag` for causal attention: the
// ring over a zigzag layout that gives every device the same work). sharding-partition asks for the
// choice, applies it to the op's factor axes and lets buildAttentionForm
// make the local computation; `partita plan` prints the same choice.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_PASSES_SEQUENCE_ATTENTIONFORMS_H
#define PARTITA_PASSES_SEQUENCE_ATTENTIONFORMS_H

#include "dialects/Graph/IR/GraphOps.h"
#include "dialects/Sharding/IR/ShardingOps.h"
#include "dialects/Sharding/IR/ShardingRule.h"

#include "mlir/IR/Builders.h"

#include <optional>
#include <string>
#include <vector>

namespace partita::planner {
struct Cluster;
} // namespace partita::planner

namespace partita::sequence {

enum class AttentionForm { Local, Gather, Ulysses, Ring, Zigzag };

/// "local", "gather", "ulysses", "ring", "zigzag".
llvm::StringRef formName(AttentionForm form);

/// The discardable attribute (on a graph.attention op, or on the module for
/// every attention) that requests a form: "auto", "gather", "ulysses",
/// "ring" or "zigzag".
inline constexpr llvm::StringLiteral kAttentionFormAttr = "partita.attention_form";

/// Whether `name` is a form a user may request ("auto" included).
bool isRequestableForm(llvm::StringRef name);

/// The form requested for `op`: its own attribute, else its module's, else
/// "auto".
llvm::StringRef requestedForm(mlir::Operation *op);

/// What one form costs a rank (passes/Sequence/FormCosts.h prices it).
struct FormEstimate {
  AttentionForm form = AttentionForm::Gather;
  double compute = 0;       ///< seconds
  double communication = 0; ///< seconds
  double bytes = 0;         ///< the collectives' bytes per rank, sized as the cost model sizes them
  int64_t collectives = 0;
  double memory = 0;        ///< bytes held for it: K/V and the live scores
  double time() const { return compute + communication; }
};

struct AttentionChoice {
  AttentionForm form = AttentionForm::Local;
  /// The mesh axes splitting the query sequence.
  sharding::AxisList axes;
  /// ulysses: the leading factor (head or batch dimension) taking `axes`.
  int64_t leadingFactor = -1;
  /// One line: why this form (for `partita plan`).
  std::string why;
  /// `auto` on a cluster: every form that can apply, priced, the chosen
  /// one first; empty when the choice was not priced.
  std::vector<FormEstimate> estimates;
  /// The global query and key types (the op's operands may already have
  /// their local types when the partitioner asks).
  mlir::RankedTensorType query, key;
};

/// Where the zigzag layout moves each device's chunks (docs/sequence.md):
/// in the block layout device r holds chunks 2r (even) and 2r+1 (odd);
/// evenTo/oddTo[r] is the device that takes them, evenBack/oddBack[r] the
/// device whose block receives device r's even/odd zigzag chunk back.
struct ZigzagTables {
  llvm::SmallVector<int64_t> evenTo, oddTo, evenBack, oddBack;
};
ZigzagTables zigzagTables(int64_t parts);

/// The shift each device sends over when device r sends to targets[r]
/// (collective_permute offsets), and the distinct ones (sorted).
llvm::SmallVector<int64_t> permuteShifts(llvm::ArrayRef<int64_t> targets);
llvm::SmallVector<int64_t> distinctShifts(llvm::ArrayRef<int64_t> targets);

/// The form `op` partitions in, given its global query and key types, the
/// axes per factor of its rule (sharding::realizeFactorAxes on the
/// propagated layouts) and the requested form. `auto` with a `cluster`
/// takes the fastest form that fits the device's memory
/// (passes/Sequence/FormCosts.h); without one (or when the mesh does not
/// map onto it) the rule of docs/sequence.md. Failure, with `error` naming
/// the constraint, when a requested form cannot apply.
mlir::FailureOr<AttentionChoice>
chooseAttentionForm(graph::AttentionOp op, mlir::RankedTensorType query,
                    mlir::RankedTensorType key, llvm::ArrayRef<sharding::AxisList> factorAxes,
                    sharding::MeshAttr mesh, llvm::StringRef requested,
                    const planner::Cluster *cluster, std::string &error);

/// The same choice for a propagated (not yet partitioned) op, from the
/// sharding of its result (`partita plan`).
mlir::FailureOr<AttentionChoice> choosePropagatedAttentionForm(graph::AttentionOp op,
                                                               sharding::MeshAttr mesh,
                                                               const planner::Cluster *cluster,
                                                               std::string &error);

/// Re-assigns `factorAxes` for `choice`: ulysses moves the sequence axes to
/// the leading factor, ring splits the key sequence over them as well.
void applyAttentionForm(const AttentionChoice &choice, int64_t queryRank,
                        llvm::SmallVectorImpl<sharding::AxisList> &factorAxes);

/// The local computation of `op` on `operands` (q, k, v[, mask] in the
/// layouts applyAttentionForm's factors imply) when the plain local op
/// would be wrong: `gather` with a causal mask (the query block's global
/// offset), and `ring`. Null when the plain local op is right (local,
/// ulysses, non-causal gather); failure after a diagnostic at `op`.
mlir::FailureOr<mlir::Value> buildAttentionForm(mlir::OpBuilder &b, graph::AttentionOp op,
                                                mlir::ValueRange operands,
                                                const AttentionChoice &choice,
                                                mlir::FlatSymbolRefAttr meshRef,
                                                sharding::MeshAttr mesh);

} // namespace partita::sequence

#endif // PARTITA_PASSES_SEQUENCE_ATTENTIONFORMS_H
