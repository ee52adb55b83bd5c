//===- GraphShardingRules.cpp - one place for every op's sharding rule ----===//
//
// Rules are grouped by kind and, within a group, listed alphabetically.
// Each rule function describes an op's dimensions as factors (see
// ShardingRule.h); the ops attach to the interface at the bottom.
//
//===----------------------------------------------------------------------===//

#include "dialects/Sharding/Rules/GraphShardingRules.h"

#include "dialects/Graph/IR/GraphInference.h"
#include "dialects/Graph/IR/GraphOps.h"
#include "dialects/Sharding/IR/ShardingOps.h"

#include "mlir/IR/DialectRegistry.h"

#include <map>

using namespace mlir;
using namespace partita::graph;

namespace partita::sharding {
namespace {

using RuleFn = ShardingRule (*)(Operation *);

RankedTensorType tensorType(Value v) { return cast<RankedTensorType>(v.getType()); }

//===----------------------------------------------------------------------===//
// Elementwise and broadcasting
//===----------------------------------------------------------------------===//

ShardingRule elementwiseRule(Operation *op) {
  return ShardingRuleBuilder(op).addBroadcastFactors().build();
}

/// cumsum: every dimension passes through, the scanned axis too -- the
/// partitioner adds the totals of the blocks before each device's block
/// (distributedCumSum).
ShardingRule cumSumRule(Operation *op) {
  return ShardingRuleBuilder(op).addBroadcastFactors().build();
}

/// softmax / log_softmax: every dimension passes through, the normalized
/// axis too -- the partitioner combines the axis's max and sum across the
/// devices splitting it (two small all_reduces) instead of gathering it.
ShardingRule softmaxRule(Operation *op) {
  return ShardingRuleBuilder(op).addBroadcastFactors().build();
}

/// layer_norm: every dimension passes through, the normalized ones too
/// (scale and bias follow them) -- the partitioner combines the sums behind
/// the mean and the variance across the devices splitting them.
ShardingRule layerNormRule(Operation *op) {
  return ShardingRuleBuilder(op).addBroadcastFactors().build();
}

ShardingRule triluRule(Operation *op) {
  int64_t rank = tensorType(op->getResult(0)).getRank();
  return ShardingRuleBuilder(op).addBroadcastFactors({rank - 2, rank - 1}).build();
}

/// batch_norm (instance = false) and instance_norm: N and C pass through,
/// per-channel parameters follow C; instance norm reduces over space.
ShardingRule channelNormRule(Operation *op, bool instance) {
  ShardingRuleBuilder b(op);
  for (unsigned d = 0; d < b.resultRank(0); ++d) {
    int64_t f = b.addFactor(b.resultDim(0, d), instance && d >= 2
                                                   ? FactorKind::NeedReplication
                                                   : FactorKind::PassThrough);
    b.operand(0, d, f).result(0, d, f);
    if (d == 1)
      for (unsigned i = 1; i < op->getNumOperands(); ++i)
        b.operand(i, 0, f);
  }
  return b.build();
}
ShardingRule batchNormRule(Operation *op) { return channelNormRule(op, false); }
ShardingRule instanceNormRule(Operation *op) { return channelNormRule(op, true); }

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// Reduced dimensions become reduction factors of `kind`, or
/// need-replication factors when partial results cannot be combined
/// (reduce_l2, reduce_log_sum_exp).
ShardingRule reduceRule(Operation *op, std::optional<ReductionKind> kind) {
  ShardingRuleBuilder b(op);
  auto axes = cast<DenseI64ArrayAttr>(op->getAttr("axes")).asArrayRef();
  bool keep = cast<BoolAttr>(op->getAttr("keepdims")).getValue();
  unsigned out = 0;
  for (unsigned d = 0; d < b.operandRank(0); ++d) {
    int64_t size = b.operandDim(0, d);
    if (llvm::is_contained(axes, (int64_t)d)) {
      if (size != 1)
        b.operand(0, d, kind ? b.addFactor(size, FactorKind::Reduction, *kind)
                             : b.addFactor(size, FactorKind::NeedReplication));
      out += keep;
      continue;
    }
    int64_t f = b.addFactor(size);
    b.operand(0, d, f).result(0, out++, f);
  }
  return b.build();
}
ShardingRule sumRule(Operation *op) { return reduceRule(op, ReductionKind::Sum); }
ShardingRule maxRule(Operation *op) { return reduceRule(op, ReductionKind::Max); }
ShardingRule minRule(Operation *op) { return reduceRule(op, ReductionKind::Min); }
ShardingRule prodRule(Operation *op) { return reduceRule(op, ReductionKind::Prod); }
ShardingRule nonDecomposableReduceRule(Operation *op) { return reduceRule(op, std::nullopt); }

ShardingRule argReduceRule(Operation *op) {
  ShardingRuleBuilder b(op);
  int64_t rank = b.operandRank(0);
  int64_t axis = cast<IntegerAttr>(op->getAttr("axis")).getInt();
  if (axis < 0)
    axis += rank;
  bool keep = cast<BoolAttr>(op->getAttr("keepdims")).getValue();
  unsigned out = 0;
  for (int64_t d = 0; d < rank; ++d) {
    if (d == axis) {
      // The input's axis may stay split: the partitioner takes each block's
      // arg and merges the candidates (distributedArgReduce).
      b.operand(0, d, b.addFactor(b.operandDim(0, d), FactorKind::PassThrough));
      out += keep; // a size-1 dimension: replicated
      continue;
    }
    int64_t f = b.addFactor(b.operandDim(0, d));
    b.operand(0, d, f).result(0, out++, f);
  }
  return b.build();
}

ShardingRule topKRule(Operation *op) {
  ShardingRuleBuilder b(op);
  int64_t rank = b.operandRank(0);
  int64_t axis = cast<TopKOp>(op).getAxis();
  if (axis < 0)
    axis += rank;
  for (int64_t d = 0; d < rank; ++d) {
    if (d == axis) {
      // The input's axis may stay split: the partitioner takes a local top-k
      // and merges the candidates (distributedTopK); the k results are whole.
      b.operand(0, d, b.addFactor(b.operandDim(0, d), FactorKind::PassThrough));
      int64_t k = b.addFactor(b.resultDim(0, d), FactorKind::NeedReplication);
      b.result(0, d, k).result(1, d, k);
      continue;
    }
    int64_t f = b.addFactor(b.operandDim(0, d));
    b.operand(0, d, f).result(0, d, f).result(1, d, f);
  }
  return b.build();
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

ShardingRule matmulRule(Operation *op) {
  ShardingRuleBuilder b(op);
  unsigned ra = b.operandRank(0), rb = b.operandRank(1), rr = b.resultRank(0);
  bool vecA = ra == 1, vecB = rb == 1;
  unsigned batch = rr - (vecA ? 0 : 1) - (vecB ? 0 : 1);
  unsigned batchA = vecA ? 0 : ra - 2, batchB = vecB ? 0 : rb - 2;
  for (unsigned d = 0; d < batch; ++d) {
    int64_t size = b.resultDim(0, d);
    int64_t f = b.addFactor(size);
    b.result(0, d, f);
    if (d + batchA >= batch && b.operandDim(0, d + batchA - batch) == size && size != 1)
      b.operand(0, d + batchA - batch, f);
    if (d + batchB >= batch && b.operandDim(1, d + batchB - batch) == size && size != 1)
      b.operand(1, d + batchB - batch, f);
  }
  if (!vecA) {
    int64_t m = b.addFactor(b.operandDim(0, ra - 2));
    b.operand(0, ra - 2, m).result(0, batch, m);
  }
  int64_t k = b.addFactor(b.operandDim(0, ra - 1), FactorKind::Reduction);
  b.operand(0, ra - 1, k).operand(1, vecB ? 0 : rb - 2, k);
  if (!vecB) {
    int64_t n = b.addFactor(b.operandDim(1, rb - 1));
    b.operand(1, rb - 1, n).result(0, rr - 1, n);
  }
  return b.build();
}

ShardingRule gemmRule(Operation *op) {
  auto gemm = cast<GemmOp>(op);
  ShardingRuleBuilder b(op);
  bool ta = gemm.getTransA(), tb = gemm.getTransB();
  int64_t m = b.addFactor(b.resultDim(0, 0));
  int64_t n = b.addFactor(b.resultDim(0, 1));
  int64_t k = b.addFactor(b.operandDim(0, ta ? 0 : 1), FactorKind::Reduction);
  b.operand(0, ta ? 1 : 0, m).operand(0, ta ? 0 : 1, k);
  b.operand(1, tb ? 1 : 0, k).operand(1, tb ? 0 : 1, n);
  b.result(0, 0, m).result(0, 1, n);
  if (op->getNumOperands() > 2) {
    auto c = tensorType(op->getOperand(2));
    int64_t off = 2 - c.getRank();
    for (int64_t d = 0; d < c.getRank(); ++d)
      if (c.getDimSize(d) != 1)
        b.operand(2, d, d + off == 0 ? m : n);
  }
  return b.build();
}

ShardingRule einsumRule(Operation *op) {
  auto eq = parseEinsumEquation(std::nullopt, cast<EinsumOp>(op).getEquation());
  ShardingRuleBuilder b(op);
  if (failed(eq))
    return b.build();
  auto out = tensorType(op->getResult(0));
  size_t outNamed = llvm::count_if(eq->output, [](char c) { return c != '.'; });
  int64_t ellRank = out.getRank() - outNamed;
  // Ellipsis dimensions: one factor each, right-aligned as in broadcasting.
  std::map<char, int64_t> labelFactor;
  SmallVector<int64_t> ellFactors;
  bool ellInOutput = eq->output.find('.') != std::string::npos;
  int64_t outDim = 0;
  for (char c : eq->output) {
    if (c == '.') {
      for (int64_t e = 0; e < ellRank; ++e) {
        int64_t f = b.addFactor(out.getDimSize(outDim));
        ellFactors.push_back(f);
        b.result(0, outDim++, f);
      }
      continue;
    }
    int64_t f = b.addFactor(out.getDimSize(outDim));
    labelFactor[c] = f;
    b.result(0, outDim++, f);
  }
  for (auto [i, labels] : llvm::enumerate(eq->inputs)) {
    auto t = tensorType(op->getOperand(i));
    size_t named = llvm::count_if(labels, [](char c) { return c != '.'; });
    int64_t myEll = t.getRank() - named, d = 0;
    for (char c : labels) {
      if (c == '.') {
        for (int64_t e = 0; e < myEll; ++e, ++d) {
          int64_t size = t.getDimSize(d);
          if (size == 1)
            continue;
          if (ellInOutput && ellRank - myEll + e >= 0)
            b.operand(i, d, ellFactors[ellRank - myEll + e]);
          else
            b.operand(i, d, b.addFactor(size, FactorKind::Reduction));
        }
        continue;
      }
      int64_t size = t.getDimSize(d);
      auto it = labelFactor.find(c);
      if (it == labelFactor.end())
        it = labelFactor.emplace(c, b.addFactor(size, FactorKind::Reduction)).first;
      // Repeated labels within one operand (diagonals) must stay whole.
      if (size != 1 && llvm::count(labels, c) == 1)
        b.operand(i, d, it->second);
      else if (size != 1)
        b.operand(i, d, b.addFactor(size, FactorKind::NeedReplication));
      ++d;
    }
  }
  return b.build();
}

//===----------------------------------------------------------------------===//
// Convolution and pooling: batch and channels split freely; a spatial
// dimension splits where halo exchange is exact (windowSplitObstacle): the
// partitioner fetches the rows each block's windows read from its
// neighbours (passes/Partition/Halo.cpp).
//===----------------------------------------------------------------------===//

ShardingRule windowRule(Operation *op, bool isConv) {
  ShardingRuleBuilder b(op);
  unsigned rank = b.operandRank(0);
  int64_t n = b.addFactor(b.operandDim(0, 0));
  b.operand(0, 0, n).result(0, 0, n);
  if (isConv) {
    bool grouped = cast<ConvOp>(op).getGroup() != 1;
    FactorKind channelKind = grouped ? FactorKind::NeedReplication : FactorKind::PassThrough;
    int64_t m = b.addFactor(b.operandDim(1, 0), channelKind);
    b.operand(1, 0, m).result(0, 1, m);
    if (op->getNumOperands() > 2)
      b.operand(2, 0, m);
    if (grouped) {
      b.operand(0, 1, b.addFactor(b.operandDim(0, 1), FactorKind::NeedReplication));
      b.operand(1, 1, b.addFactor(b.operandDim(1, 1), FactorKind::NeedReplication));
    } else {
      int64_t c = b.addFactor(b.operandDim(0, 1), FactorKind::Reduction);
      b.operand(0, 1, c).operand(1, 1, c);
    }
    for (unsigned d = 2; d < rank; ++d)
      b.operand(1, d, b.addFactor(b.operandDim(1, d), FactorKind::NeedReplication));
  } else {
    int64_t c = b.addFactor(b.operandDim(0, 1));
    b.operand(0, 1, c).result(0, 1, c);
  }
  for (unsigned d = 2; d < rank; ++d) {
    int64_t in = b.operandDim(0, d), out = b.resultDim(0, d);
    if (windowSplitObstacle(op, d).empty()) {
      // Input index = output index * stride + offset: the input dimension is
      // (output factor, stride factor), like a reshape of in to (out,
      // stride); a block of outputs reads the block of inputs with the same
      // major index, plus halos.
      int64_t f = b.addFactor(out);
      b.operand(0, d, f).result(0, d, f);
      if (in != out)
        b.operand(0, d, b.addFactor(in / out, FactorKind::NeedReplication));
      continue;
    }
    b.operand(0, d, b.addFactor(in, FactorKind::NeedReplication));
    b.result(0, d, b.addFactor(out, FactorKind::NeedReplication));
  }
  return b.build();
}
ShardingRule convRule(Operation *op) { return windowRule(op, true); }
ShardingRule poolRule(Operation *op) { return windowRule(op, false); }

ShardingRule globalPoolRule(Operation *op) {
  ShardingRuleBuilder b(op);
  ReductionKind kind = isa<GlobalMaxPoolOp>(op) ? ReductionKind::Max : ReductionKind::Sum;
  for (unsigned d = 0; d < b.operandRank(0); ++d) {
    if (d < 2) {
      int64_t f = b.addFactor(b.operandDim(0, d));
      b.operand(0, d, f).result(0, d, f);
    } else if (b.operandDim(0, d) != 1) {
      b.operand(0, d, b.addFactor(b.operandDim(0, d), FactorKind::Reduction, kind));
    }
  }
  return b.build();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

ShardingRule constantRule(Operation *op) {
  ShardingRuleBuilder b(op);
  for (unsigned d = 0; d < b.resultRank(0); ++d)
    if (b.resultDim(0, d) != 1)
      b.result(0, d, b.addFactor(b.resultDim(0, d)));
  return b.build();
}

ShardingRule reshapeRule(Operation *op) {
  return ShardingRuleBuilder(op).addReshapeFactors(0, 0).build();
}

ShardingRule transposeRule(Operation *op) {
  ShardingRuleBuilder b(op);
  for (auto [out, in] : llvm::enumerate(cast<TransposeOp>(op).getPerm())) {
    int64_t f = b.addFactor(b.operandDim(0, in));
    b.operand(0, in, f).result(0, out, f);
  }
  return b.build();
}

/// Shared by tile, slice and pad: dimension d passes through when `keep(d)`;
/// otherwise input and output get separate need-replication factors.
template <typename Keep>
ShardingRule keepDimsRule(Operation *op, Keep keep) {
  ShardingRuleBuilder b(op);
  for (unsigned d = 0; d < b.operandRank(0); ++d) {
    if (keep(d)) {
      int64_t f = b.addFactor(b.operandDim(0, d));
      b.operand(0, d, f).result(0, d, f);
      continue;
    }
    b.operand(0, d, b.addFactor(b.operandDim(0, d), FactorKind::NeedReplication));
    b.result(0, d, b.addFactor(b.resultDim(0, d), FactorKind::NeedReplication));
  }
  return b.build();
}
ShardingRule tileRule(Operation *op) {
  auto reps = cast<TileOp>(op).getRepeats();
  return keepDimsRule(op, [&](unsigned d) { return reps[d] == 1; });
}
ShardingRule sliceRule(Operation *op) {
  auto s = cast<SliceOp>(op);
  return keepDimsRule(op, [&](unsigned d) {
    return s.getStarts()[d] == 0 && s.getSteps()[d] == 1 &&
           s.getEnds()[d] == s.getInput().getType().getDimSize(d);
  });
}
ShardingRule padRule(Operation *op) {
  auto p = cast<PadOp>(op);
  int64_t rank = p.getInput().getType().getRank();
  return keepDimsRule(op, [&](unsigned d) {
    return p.getPads()[d] == 0 && p.getPads()[d + rank] == 0;
  });
}

/// concat and split: the joined axis moves data between devices.
ShardingRule joinRule(Operation *op, int64_t axis) {
  ShardingRuleBuilder b(op);
  Value ref = op->getNumResults() == 1 ? op->getResult(0) : op->getOperand(0);
  int64_t rank = tensorType(ref).getRank();
  if (axis < 0)
    axis += rank;
  for (int64_t d = 0; d < rank; ++d) {
    if (d == axis) {
      for (unsigned i = 0; i < op->getNumOperands(); ++i)
        b.operand(i, d, b.addFactor(b.operandDim(i, d), FactorKind::NeedReplication));
      for (unsigned i = 0; i < op->getNumResults(); ++i)
        b.result(i, d, b.addFactor(b.resultDim(i, d), FactorKind::NeedReplication));
      continue;
    }
    int64_t f = b.addFactor(tensorType(ref).getDimSize(d));
    for (unsigned i = 0; i < op->getNumOperands(); ++i)
      b.operand(i, d, f);
    for (unsigned i = 0; i < op->getNumResults(); ++i)
      b.result(i, d, f);
  }
  return b.build();
}
ShardingRule concatRule(Operation *op) { return joinRule(op, cast<ConcatOp>(op).getAxis()); }
ShardingRule splitRule(Operation *op) { return joinRule(op, cast<SplitOp>(op).getAxis()); }

/// gather: a split of the looked-up axis is a masked local lookup whose
/// partial results sum (Megatron's vocabulary-parallel embedding).
ShardingRule gatherRule(Operation *op) {
  ShardingRuleBuilder b(op);
  int64_t rank = b.operandRank(0), ri = b.operandRank(1);
  int64_t axis = cast<GatherOp>(op).getAxis();
  if (axis < 0)
    axis += rank;
  for (int64_t d = 0; d < rank; ++d) {
    if (d == axis) {
      b.operand(0, d, b.addFactor(b.operandDim(0, d), FactorKind::Reduction));
      continue;
    }
    int64_t f = b.addFactor(b.operandDim(0, d));
    b.operand(0, d, f).result(0, d < axis ? d : d - 1 + ri, f);
  }
  for (int64_t d = 0; d < ri; ++d) {
    int64_t f = b.addFactor(b.operandDim(1, d));
    b.operand(1, d, f).result(0, axis + d, f);
  }
  return b.build();
}

/// gather_elements / scatter_elements: equal non-axis dimensions pass
/// through; the indexed axis stays whole.
ShardingRule elementsRule(Operation *op) {
  ShardingRuleBuilder b(op);
  int64_t rank = b.operandRank(0);
  int64_t axis = cast<IntegerAttr>(op->getAttr("axis")).getInt();
  if (axis < 0)
    axis += rank;
  for (int64_t d = 0; d < rank; ++d) {
    bool same = true;
    for (unsigned i = 1; i < op->getNumOperands(); ++i)
      same &= b.operandDim(i, d) == b.operandDim(0, d);
    same &= b.resultDim(0, d) == b.operandDim(0, d);
    if (d != axis && same) {
      int64_t f = b.addFactor(b.operandDim(0, d));
      for (unsigned i = 0; i < op->getNumOperands(); ++i)
        b.operand(i, d, f);
      b.result(0, d, f);
      continue;
    }
    for (unsigned i = 0; i < op->getNumOperands(); ++i)
      b.operand(i, d, b.addFactor(b.operandDim(i, d), FactorKind::NeedReplication));
    b.result(0, d, b.addFactor(b.resultDim(0, d), FactorKind::NeedReplication));
  }
  return b.build();
}

ShardingRule scatterNDRule(Operation *op) {
  ShardingRuleBuilder b(op);
  int64_t r = b.operandRank(0), ri = b.operandRank(1);
  int64_t q = b.operandDim(1, ri - 1);
  for (int64_t d = 0; d < r; ++d) {
    int64_t f = b.addFactor(b.operandDim(0, d),
                            d < q ? FactorKind::NeedReplication : FactorKind::PassThrough);
    b.operand(0, d, f).result(0, d, f);
    if (d >= q)
      b.operand(2, ri - 1 + d - q, f);
  }
  for (int64_t d = 0; d + 1 < ri; ++d) {
    int64_t f = b.addFactor(b.operandDim(1, d), FactorKind::NeedReplication);
    b.operand(1, d, f).operand(2, d, f);
  }
  b.operand(1, ri - 1, b.addFactor(q, FactorKind::NeedReplication));
  return b.build();
}

ShardingRule oneHotRule(Operation *op) {
  ShardingRuleBuilder b(op);
  int64_t rank = b.resultRank(0);
  int64_t axis = cast<OneHotOp>(op).getAxis();
  if (axis < 0)
    axis += rank;
  // The class dimension stays whole: a device holding a block of classes
  // would need its block's offset to compare indices against.
  for (int64_t d = 0, in = 0; d < rank; ++d) {
    int64_t f = b.addFactor(b.resultDim(0, d), d == axis ? FactorKind::NeedReplication
                                                         : FactorKind::PassThrough);
    b.result(0, d, f);
    if (d != axis)
      b.operand(0, in++, f);
  }
  b.operand(1, 0, b.addFactor(2, FactorKind::NeedReplication));
  return b.build();
}

//===----------------------------------------------------------------------===//
// Composites
//===----------------------------------------------------------------------===//

/// Batch and head dimensions and the query sequence split freely; the key
/// sequence and the head dimension stay whole. Factor numbers as
/// AttentionFactors::of says. A split query sequence (causal or not) and the
/// other sequence forms (Ulysses, ring) are built by the partitioner
/// (passes/Sequence/AttentionForms.cpp).
ShardingRule attentionRule(Operation *op) {
  ShardingRuleBuilder b(op);
  int64_t r = b.operandRank(0);
  for (int64_t d = 0; d < r - 2; ++d) {
    int64_t f = b.addFactor(b.operandDim(0, d));
    b.operand(0, d, f).operand(1, d, f).operand(2, d, f).result(0, d, f);
  }
  int64_t sq = b.addFactor(b.operandDim(0, r - 2));
  int64_t dk = b.addFactor(b.operandDim(0, r - 1), FactorKind::NeedReplication);
  int64_t sk = b.addFactor(b.operandDim(1, r - 2), FactorKind::NeedReplication);
  int64_t dv = b.addFactor(b.operandDim(2, r - 1));
  assert(AttentionFactors::of(r).querySeq == sq && AttentionFactors::of(r).valueDim == dv);
  b.operand(0, r - 2, sq).operand(0, r - 1, dk);
  b.operand(1, r - 2, sk).operand(1, r - 1, dk);
  b.operand(2, r - 2, sk).operand(2, r - 1, dv);
  b.result(0, r - 2, sq).result(0, r - 1, dv);
  if (op->getNumOperands() > 3) {
    auto m = tensorType(op->getOperand(3));
    int64_t off = r - m.getRank();
    for (int64_t d = 0; d < m.getRank(); ++d) {
      if (m.getDimSize(d) == 1)
        continue;
      int64_t full = d + off;
      int64_t f = full == r - 1 ? sk : full == r - 2 ? sq : -1;
      if (f < 0) // leading dims: reuse the batch factor of that position
        f = full;
      b.operand(3, d, f);
    }
  }
  return b.build();
}

ShardingRule moeGateRule(Operation *op) {
  ShardingRuleBuilder b(op);
  int64_t t = b.addFactor(b.operandDim(0, 0));
  b.operand(0, 0, t).result(0, 0, t).result(1, 0, t);
  b.operand(0, 1, b.addFactor(b.operandDim(0, 1), FactorKind::NeedReplication));
  int64_t k = b.addFactor(b.resultDim(0, 1), FactorKind::NeedReplication);
  b.result(0, 1, k).result(1, 1, k);
  return b.build();
}

/// GShard's groups: a token dimension [G * T_g] is the group factor (major,
/// splittable: each group fills its own slots) and the tokens of a group
/// (which must stay whole: a slot counts the earlier assignments of its
/// group); a slot dimension [G * C] the group factor and the slots.
struct MoeGroupFactors {
  int64_t group = -1; ///< -1 when there is one group
  int64_t tokens, slots;
};
MoeGroupFactors addMoeGroupFactors(ShardingRuleBuilder &b, int64_t groups, int64_t tokens,
                                   int64_t slots) {
  MoeGroupFactors f;
  if (groups > 1)
    f.group = b.addFactor(groups);
  f.tokens = b.addFactor(tokens / groups, FactorKind::NeedReplication);
  f.slots = b.addFactor(slots / groups, FactorKind::NeedReplication);
  return f;
}
void mapMoeGroups(ShardingRuleBuilder &b, bool isOperand, unsigned i, unsigned dim,
                  int64_t group, int64_t minor) {
  for (int64_t f : {group, minor})
    if (f >= 0)
      isOperand ? b.operand(i, dim, f) : b.result(i, dim, f);
}

/// dispatch [T,H] -> [E,G*C,H]: hidden passes through, groups split the
/// tokens and their slots alike; the experts exist only in the result and
/// stay whole (a split of them is a reshard after the dispatch: a slice of
/// replicated tokens, or the all_to_all of expert parallelism when the
/// groups are split).
ShardingRule moeDispatchRule(Operation *op) {
  auto d = cast<MoeDispatchOp>(op);
  ShardingRuleBuilder b(op);
  int64_t h = b.addFactor(b.operandDim(0, 1));
  b.operand(0, 1, h).result(0, 2, h);
  b.result(0, 0, b.addFactor(b.resultDim(0, 0), FactorKind::NeedReplication));
  MoeGroupFactors g =
      addMoeGroupFactors(b, d.getGroups(), b.operandDim(0, 0), b.resultDim(0, 1));
  mapMoeGroups(b, true, 0, 0, g.group, g.tokens);
  mapMoeGroups(b, true, 1, 0, g.group, g.tokens);
  mapMoeGroups(b, false, 0, 1, g.group, g.slots);
  int64_t k = b.addFactor(b.operandDim(1, 1), FactorKind::NeedReplication);
  b.operand(1, 1, k);
  // The priority orders the assignments like the indices lay them out.
  if (d.getPriority()) {
    mapMoeGroups(b, true, 2, 0, g.group, g.tokens);
    b.operand(2, 1, k);
  }
  return b.build();
}

ShardingRule moeExpertMatMulRule(Operation *op) {
  ShardingRuleBuilder b(op);
  int64_t e = b.addFactor(b.operandDim(0, 0));
  int64_t c = b.addFactor(b.operandDim(0, 1));
  int64_t h = b.addFactor(b.operandDim(0, 2), FactorKind::Reduction);
  int64_t f = b.addFactor(b.operandDim(1, 2));
  b.operand(0, 0, e).operand(0, 1, c).operand(0, 2, h);
  b.operand(1, 0, e).operand(1, 1, h).operand(1, 2, f);
  b.result(0, 0, e).result(0, 1, c).result(0, 2, f);
  return b.build();
}

ShardingRule moeCombineRule(Operation *op) {
  auto c = cast<MoeCombineOp>(op);
  ShardingRuleBuilder b(op);
  int64_t h = b.addFactor(b.operandDim(0, 2));
  b.operand(0, 2, h).result(0, 1, h);
  b.operand(0, 0, b.addFactor(b.operandDim(0, 0), FactorKind::NeedReplication));
  // A token's slot counts the earlier assignments of every token of its
  // group (as in moe_dispatch): a group's tokens stay whole.
  MoeGroupFactors g =
      addMoeGroupFactors(b, c.getGroups(), b.operandDim(1, 0), b.operandDim(0, 1));
  mapMoeGroups(b, true, 0, 1, g.group, g.slots);
  mapMoeGroups(b, true, 1, 0, g.group, g.tokens);
  mapMoeGroups(b, true, 2, 0, g.group, g.tokens);
  mapMoeGroups(b, false, 0, 0, g.group, g.tokens);
  int64_t k = b.addFactor(b.operandDim(1, 1), FactorKind::NeedReplication);
  b.operand(1, 1, k).operand(2, 1, k);
  if (c.getPriority()) {
    mapMoeGroups(b, true, 3, 0, g.group, g.tokens);
    b.operand(3, 1, k);
  }
  return b.build();
}

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

template <RuleFn Fn, typename OpTy>
struct RuleModel
    : public ShardingRuleOpInterface::ExternalModel<RuleModel<Fn, OpTy>, OpTy> {
  ShardingRule getShardingRule(Operation *op) const { return Fn(op); }
};

template <RuleFn Fn, typename... Ops>
void attach(MLIRContext *ctx) {
  (Ops::template attachInterface<RuleModel<Fn, Ops>>(*ctx), ...);
}

} // namespace

std::optional<WindowDim> windowDim(Operation *op, unsigned dim) {
  if (!isa<ConvOp, MaxPoolOp, AveragePoolOp>(op) || dim < 2)
    return std::nullopt;
  auto ints = [&](StringRef name) -> ArrayRef<int64_t> {
    auto a = op->getAttrOfType<DenseI64ArrayAttr>(name);
    return a ? a.asArrayRef() : ArrayRef<int64_t>();
  };
  int64_t k = tensorType(op->getOperand(0)).getRank() - 2, i = dim - 2;
  ArrayRef<int64_t> strides = ints("strides"), pads = ints("pads"), dil = ints("dilations");
  if (i >= k || (int64_t)strides.size() != k || (int64_t)dil.size() != k ||
      (int64_t)pads.size() != 2 * k)
    return std::nullopt;
  int64_t kernel;
  if (isa<ConvOp>(op)) {
    kernel = tensorType(op->getOperand(1)).getDimSize(dim);
  } else {
    ArrayRef<int64_t> shape = ints("kernel_shape");
    if ((int64_t)shape.size() != k)
      return std::nullopt;
    kernel = shape[i];
  }
  return WindowDim{kernel, strides[i], dil[i], pads[i], pads[i + k]};
}

std::string windowSplitObstacle(Operation *op, unsigned dim, int64_t parts) {
  std::optional<WindowDim> w = windowDim(op, dim);
  if (!w)
    return "it is not a spatial dimension of a convolution or pooling";
  int64_t in = tensorType(op->getOperand(0)).getDimSize(dim);
  int64_t out = tensorType(op->getResult(0)).getDimSize(dim);
  auto str = [](int64_t v) { return std::to_string(v); };
  // Block r of the outputs must read rows [r * block - padBegin, ...) of the
  // input: the same offset from its own input block on every device.
  if (out * w->stride != in)
    return "halo exchange needs output size * stride == input size (" + str(out) + " * " +
           str(w->stride) + " != " + str(in) + ")";
  // ceil_mode may add a last window that reads past the explicit padding.
  int64_t floorOut = (in + w->padBegin + w->padEnd - w->extent()) / w->stride + 1;
  if (floorOut != out)
    return "ceil_mode adds a partial last window";
  if (parts > 0 && out % parts != 0)
    return "the output size " + str(out) + " is not divisible by " + str(parts);
  return "";
}

void registerGraphShardingRules(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, graph::GraphDialect *) {
    // Elementwise, with numpy broadcasting.
    attach<elementwiseRule, AbsOp, AddOp, AndOp, CastOp, CeilOp, CeluOp, ClipOp,
           CosOp, DivOp, EluOp, EqualOp, ErfOp, ExpOp, ExpandOp, FloorOp,
           GreaterOp, GreaterOrEqualOp, HardSigmoidOp, HardSwishOp, LeakyReluOp,
           LessOp, LessOrEqualOp, LogOp, MaxOp, MinOp, ModOp, MulOp, NegOp, NotOp,
           OrOp, PReluOp, PowOp, ReciprocalOp, ReluOp, SeluOp, SigmoidOp, SignOp,
           SinOp, SoftplusOp, SoftsignOp, SqrtOp, SubOp, TanhOp,
           ThresholdedReluOp, WhereOp, XorOp>(ctx);
    // Along one axis, split or not (the partitioner combines the blocks).
    attach<cumSumRule, CumSumOp>(ctx);
    attach<softmaxRule, LogSoftmaxOp, SoftmaxOp>(ctx);
    attach<argReduceRule, ArgMaxOp, ArgMinOp>(ctx);
    attach<topKRule, TopKOp>(ctx);
    attach<triluRule, TriluOp>(ctx);
    // Normalizations.
    attach<batchNormRule, BatchNormOp>(ctx);
    attach<instanceNormRule, InstanceNormOp>(ctx);
    attach<layerNormRule, LayerNormOp>(ctx);
    // Reductions.
    attach<maxRule, ReduceMaxOp>(ctx);
    attach<minRule, ReduceMinOp>(ctx);
    attach<nonDecomposableReduceRule, ReduceL2Op, ReduceLogSumExpOp>(ctx);
    attach<prodRule, ReduceProdOp>(ctx);
    attach<sumRule, ReduceMeanOp, ReduceSumOp, ReduceSumSquareOp>(ctx);
    // Contractions.
    attach<einsumRule, EinsumOp>(ctx);
    attach<gemmRule, GemmOp>(ctx);
    attach<matmulRule, MatMulOp>(ctx);
    // Convolution and pooling.
    attach<convRule, ConvOp>(ctx);
    attach<globalPoolRule, GlobalAveragePoolOp, GlobalMaxPoolOp>(ctx);
    attach<poolRule, AveragePoolOp, MaxPoolOp>(ctx);
    // Data movement.
    attach<concatRule, ConcatOp>(ctx);
    attach<constantRule, ConstantOp>(ctx);
    attach<elementsRule, GatherElementsOp, ScatterElementsOp>(ctx);
    attach<gatherRule, GatherOp>(ctx);
    attach<oneHotRule, OneHotOp>(ctx);
    attach<padRule, PadOp>(ctx);
    attach<reshapeRule, ReshapeOp>(ctx);
    attach<scatterNDRule, ScatterNDOp>(ctx);
    attach<sliceRule, SliceOp>(ctx);
    attach<splitRule, SplitOp>(ctx);
    attach<tileRule, TileOp>(ctx);
    attach<transposeRule, TransposeOp>(ctx);
    // Composites.
    attach<attentionRule, AttentionOp>(ctx);
    attach<moeCombineRule, MoeCombineOp>(ctx);
    attach<moeDispatchRule, MoeDispatchOp>(ctx);
    attach<moeExpertMatMulRule, MoeExpertMatMulOp>(ctx);
    attach<moeGateRule, MoeGateOp>(ctx);
  });
  registry.addExtension(+[](MLIRContext *ctx, ShardingDialect *) {
    attach<elementwiseRule, ConstraintOp, ReshardOp>(ctx);
  });
}

} // namespace partita::sharding
