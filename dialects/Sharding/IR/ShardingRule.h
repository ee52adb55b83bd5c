//===- ShardingRule.h - factor-based sharding rules -------------*- C++ -*-===//
//
// An op's sharding rule names the independent index spaces ("factors") of
// its iteration and maps every operand and result dimension to an ordered
// list of them (major to minor). Propagation moves mesh axes between tensors
// by way of factors: a dimension's axes are split among its factors, merged
// per factor across all tensors of the op, and projected back.
//
//===----------------------------------------------------------------------===//

#ifndef PARTITA_DIALECTS_SHARDING_IR_SHARDINGRULE_H
#define PARTITA_DIALECTS_SHARDING_IR_SHARDINGRULE_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace partita::sharding {

enum class FactorKind {
  /// Appears in results (and usually operands): sharding it needs no
  /// communication.
  PassThrough,
  /// Appears only in operands and is combined away (sum, max, ...): sharding
  /// it leaves results partial.
  Reduction,
  /// Must stay whole on every device (softmax's axis, concat's axis, ...).
  NeedReplication,
};

/// How partial results of a sharded reduction factor combine.
enum class ReductionKind { Sum, Max, Min, Prod };

struct Factor {
  int64_t size;
  FactorKind kind;
  ReductionKind reduction = ReductionKind::Sum;
};

/// dims[d] = the factors dimension d is made of, major to minor (empty for a
/// broadcast or unit dimension).
using TensorMapping = llvm::SmallVector<llvm::SmallVector<int64_t, 2>>;

struct ShardingRule {
  llvm::SmallVector<Factor> factors;
  llvm::SmallVector<TensorMapping> operands;
  llvm::SmallVector<TensorMapping> results;

  /// Checks that factor sizes multiply to each mapped dimension's size and
  /// every factor index is valid; returns an empty string when consistent.
  std::string verify(mlir::Operation *op) const;
};

using AxisList = llvm::SmallVector<mlir::StringAttr, 2>;
using AxisSizeFn = llvm::function_ref<int64_t(mlir::StringAttr)>;

/// Splits one dimension's mesh axes (major to minor) among the dimension's
/// factors: a factor takes axes while their sizes still divide it, and a
/// factor left partly unsplit ends the dimension (later axes would not be
/// contiguous). Returns one axis list per factor.
llvm::SmallVector<AxisList> splitAxesAmongFactors(llvm::ArrayRef<mlir::StringAttr> axes,
                                                  llvm::ArrayRef<int64_t> factors,
                                                  const ShardingRule &rule,
                                                  AxisSizeFn axisSize);

/// The inverse: a dimension's axes from its factors' axes, stopping after
/// the first factor that is not split completely.
AxisList joinFactorAxes(llvm::ArrayRef<int64_t> factors,
                        llvm::ArrayRef<AxisList> factorAxes,
                        const ShardingRule &rule, AxisSizeFn axisSize);

/// Per dimension of `mapping`, its factors' axes joined (joinFactorAxes);
/// `factorAxes` is indexed by factor.
llvm::SmallVector<AxisList> dimsFromFactors(const TensorMapping &mapping,
                                            llvm::ArrayRef<AxisList> factorAxes,
                                            const ShardingRule &rule, AxisSizeFn axisSize);

/// The axes each factor of `rule` is split over when the op runs on tensors
/// laid out as `resultDims` and `operandDims` (per tensor, per dimension):
/// pass-through factors as the results express them, then, operand by
/// operand, reduction factors and the rest as the operands do; a factor that
/// must stay whole gets none, and an axis already taken is dropped (with the
/// axes after it) from a later factor. What sharding-partition computes with
/// and what the planner costs.
llvm::SmallVector<AxisList>
realizeFactorAxes(const ShardingRule &rule,
                  llvm::ArrayRef<llvm::SmallVector<AxisList>> resultDims,
                  llvm::ArrayRef<llvm::SmallVector<AxisList>> operandDims,
                  AxisSizeFn axisSize);

/// Builds rules fluently: factors are added, then mapped onto dimensions.
class ShardingRuleBuilder {
public:
  explicit ShardingRuleBuilder(mlir::Operation *op);

  int64_t addFactor(int64_t size, FactorKind kind = FactorKind::PassThrough,
                    ReductionKind reduction = ReductionKind::Sum);
  /// Appends `factor` to operand `i`'s dimension `dim` (minor-most so far).
  ShardingRuleBuilder &operand(unsigned i, unsigned dim, int64_t factor);
  ShardingRuleBuilder &result(unsigned i, unsigned dim, int64_t factor);

  /// One pass-through factor per dimension of result 0; every tensor of the
  /// op (operands and results) maps onto it numpy-broadcast style: aligned
  /// from the right, size-1 dimensions against larger ones map to nothing.
  ShardingRuleBuilder &addBroadcastFactors();
  /// As addBroadcastFactors, but the listed dimensions of result 0 get
  /// need-replication factors.
  ShardingRuleBuilder &addBroadcastFactors(llvm::ArrayRef<int64_t> replicatedDims);

  /// Reshape: factors from the common refinement of the two shapes (gcd
  /// decomposition); dimensions that do not line up get need-replication
  /// factors.
  ShardingRuleBuilder &addReshapeFactors(unsigned operandIdx, unsigned resultIdx);

  ShardingRule build() { return std::move(rule); }

  int64_t operandDim(unsigned i, unsigned d) const;
  int64_t resultDim(unsigned i, unsigned d) const;
  unsigned operandRank(unsigned i) const { return rule.operands[i].size(); }
  unsigned resultRank(unsigned i) const { return rule.results[i].size(); }

private:
  mlir::Operation *op;
  ShardingRule rule;
};

} // namespace partita::sharding

#endif // PARTITA_DIALECTS_SHARDING_IR_SHARDINGRULE_H
