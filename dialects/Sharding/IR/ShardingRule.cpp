//===- ShardingRule.cpp - building and checking sharding rules ------------===//

#include "dialects/Sharding/IR/ShardingRule.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MathExtras.h"

#include <numeric>

using namespace mlir;

namespace partita::sharding {

static TensorMapping emptyMapping(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  return TensorMapping(t ? t.getRank() : 0);
}

ShardingRuleBuilder::ShardingRuleBuilder(Operation *op) : op(op) {
  for (Type t : op->getOperandTypes())
    rule.operands.push_back(emptyMapping(t));
  for (Type t : op->getResultTypes())
    rule.results.push_back(emptyMapping(t));
}

int64_t ShardingRuleBuilder::addFactor(int64_t size, FactorKind kind,
                                       ReductionKind reduction) {
  rule.factors.push_back({size, kind, reduction});
  return rule.factors.size() - 1;
}

ShardingRuleBuilder &ShardingRuleBuilder::operand(unsigned i, unsigned dim,
                                                  int64_t factor) {
  rule.operands[i][dim].push_back(factor);
  return *this;
}

ShardingRuleBuilder &ShardingRuleBuilder::result(unsigned i, unsigned dim,
                                                 int64_t factor) {
  rule.results[i][dim].push_back(factor);
  return *this;
}

int64_t ShardingRuleBuilder::operandDim(unsigned i, unsigned d) const {
  return cast<RankedTensorType>(op->getOperand(i).getType()).getDimSize(d);
}

int64_t ShardingRuleBuilder::resultDim(unsigned i, unsigned d) const {
  return cast<RankedTensorType>(op->getResult(i).getType()).getDimSize(d);
}

ShardingRuleBuilder &ShardingRuleBuilder::addBroadcastFactors() {
  return addBroadcastFactors({});
}

ShardingRuleBuilder &
ShardingRuleBuilder::addBroadcastFactors(ArrayRef<int64_t> replicatedDims) {
  unsigned rank = resultRank(0);
  for (unsigned d = 0; d < rank; ++d) {
    int64_t size = resultDim(0, d);
    FactorKind kind = llvm::is_contained(replicatedDims, (int64_t)d)
                          ? FactorKind::NeedReplication
                          : FactorKind::PassThrough;
    int64_t f = addFactor(size, kind);
    auto mapTensor = [&](TensorMapping &m, Type type) {
      auto t = dyn_cast<RankedTensorType>(type);
      if (!t || t.getRank() < (int64_t)(rank - d))
        return;
      unsigned td = t.getRank() - (rank - d);
      if (t.getDimSize(td) == size && size != 1)
        m[td].push_back(f);
    };
    for (auto [i, v] : llvm::enumerate(op->getOperands()))
      mapTensor(rule.operands[i], v.getType());
    for (auto [i, v] : llvm::enumerate(op->getResults()))
      mapTensor(rule.results[i], v.getType());
  }
  return *this;
}

ShardingRuleBuilder &ShardingRuleBuilder::addReshapeFactors(unsigned operandIdx,
                                                            unsigned resultIdx) {
  ArrayRef<int64_t> in =
      cast<RankedTensorType>(op->getOperand(operandIdx).getType()).getShape();
  ArrayRef<int64_t> out =
      cast<RankedTensorType>(op->getResult(resultIdx).getType()).getShape();
  TensorMapping &inMap = rule.operands[operandIdx];
  TensorMapping &outMap = rule.results[resultIdx];
  // Walk both shapes taking gcd-sized common factors: in row-major order the
  // major part of a dimension lines up with the major part of the other
  // side's dimension as long as the sizes seen so far agree.
  size_t i = 0, j = 0;
  int64_t remIn = in.empty() ? 1 : in[0], remOut = out.empty() ? 1 : out[0];
  while (i < in.size() && j < out.size()) {
    if (remIn == 1) {
      if (++i < in.size())
        remIn = in[i];
      continue;
    }
    if (remOut == 1) {
      if (++j < out.size())
        remOut = out[j];
      continue;
    }
    int64_t g = std::gcd(remIn, remOut);
    if (g > 1) {
      int64_t f = addFactor(g);
      inMap[i].push_back(f);
      outMap[j].push_back(f);
      remIn /= g;
      remOut /= g;
      continue;
    }
    // The shapes stop lining up: everything until the running products
    // agree again must stay whole.
    int64_t prodIn = remIn, prodOut = remOut;
    inMap[i].push_back(addFactor(remIn, FactorKind::NeedReplication));
    outMap[j].push_back(addFactor(remOut, FactorKind::NeedReplication));
    while (prodIn != prodOut) {
      if (prodIn < prodOut && ++i < in.size()) {
        prodIn *= in[i];
        if (in[i] != 1)
          inMap[i].push_back(addFactor(in[i], FactorKind::NeedReplication));
      } else if (prodOut < prodIn && ++j < out.size()) {
        prodOut *= out[j];
        if (out[j] != 1)
          outMap[j].push_back(addFactor(out[j], FactorKind::NeedReplication));
      } else {
        break;
      }
    }
    remIn = remOut = 1;
  }
  return *this;
}

SmallVector<AxisList> splitAxesAmongFactors(ArrayRef<StringAttr> axes,
                                            ArrayRef<int64_t> factors,
                                            const ShardingRule &rule,
                                            AxisSizeFn axisSize) {
  SmallVector<AxisList> out(factors.size());
  ArrayRef<StringAttr> rest = axes;
  for (auto [i, f] : llvm::enumerate(factors)) {
    int64_t p = 1;
    while (!rest.empty() && rule.factors[f].size % (p * axisSize(rest.front())) == 0) {
      p *= axisSize(rest.front());
      out[i].push_back(rest.front());
      rest = rest.drop_front();
    }
    if (p != rule.factors[f].size)
      break;
  }
  return out;
}

AxisList joinFactorAxes(ArrayRef<int64_t> factors, ArrayRef<AxisList> factorAxes,
                        const ShardingRule &rule, AxisSizeFn axisSize) {
  AxisList out;
  for (auto [f, axes] : llvm::zip(factors, factorAxes)) {
    out.append(axes.begin(), axes.end());
    int64_t p = 1;
    for (StringAttr a : axes)
      p *= axisSize(a);
    if (p != rule.factors[f].size)
      break;
  }
  return out;
}

SmallVector<AxisList> dimsFromFactors(const TensorMapping &mapping,
                                      ArrayRef<AxisList> factorAxes, const ShardingRule &rule,
                                      AxisSizeFn axisSize) {
  SmallVector<AxisList> dims;
  for (const auto &factors : mapping) {
    SmallVector<AxisList> per;
    for (int64_t f : factors)
      per.push_back(factorAxes[f]);
    dims.push_back(joinFactorAxes(factors, per, rule, axisSize));
  }
  return dims;
}

SmallVector<AxisList> realizeFactorAxes(const ShardingRule &rule,
                                        ArrayRef<SmallVector<AxisList>> resultDims,
                                        ArrayRef<SmallVector<AxisList>> operandDims,
                                        AxisSizeFn axisSize) {
  SmallVector<AxisList> factorAxes(rule.factors.size());
  SmallVector<bool> decided(rule.factors.size(), false);
  auto take = [&](const TensorMapping &m, ArrayRef<AxisList> dims, bool reductions) {
    for (auto [d, factors] : llvm::enumerate(m)) {
      if (d >= dims.size())
        break;
      auto split = splitAxesAmongFactors(dims[d], factors, rule, axisSize);
      for (auto [f, axes] : llvm::zip(factors, split)) {
        bool isReduction = rule.factors[f].kind == FactorKind::Reduction;
        if (decided[f] || isReduction != reductions ||
            rule.factors[f].kind == FactorKind::NeedReplication)
          continue;
        // A reduction factor whole in this operand may be split in the
        // next (a replicated activation times a row-split weight): the
        // split one decides, or every device would sum the whole product.
        if (isReduction && axes.empty())
          continue;
        factorAxes[f] = axes;
        decided[f] = true;
      }
    }
  };
  for (auto [m, dims] : llvm::zip(rule.results, resultDims))
    take(m, dims, false);
  for (auto [m, dims] : llvm::zip(rule.operands, operandDims)) {
    take(m, dims, true);
    take(m, dims, false);
  }
  llvm::StringSet<> used;
  for (AxisList &axes : factorAxes)
    for (size_t k = 0; k < axes.size(); ++k)
      if (!used.insert(axes[k].getValue()).second) {
        axes.resize(k);
        break;
      }
  // A block of a merged dimension is a block of its major factor first: a
  // factor can be split only where every factor major to it in the same
  // dimension is split whole, in every tensor that holds it (a reshape of
  // 34 rows to 17x2 cannot split the 2 while the 17 stays whole). Such a
  // factor stays whole; the result is resharded to its layout afterwards.
  auto whole = [&](int64_t f) {
    int64_t p = 1;
    for (StringAttr a : factorAxes[f])
      p *= axisSize(a);
    return p == rule.factors[f].size;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (const TensorMapping &m : llvm::concat<const TensorMapping>(rule.results, rule.operands))
      for (const auto &factors : m) {
        bool majorsWhole = true;
        for (int64_t f : factors) {
          if (!majorsWhole && !factorAxes[f].empty()) {
            factorAxes[f].clear();
            changed = true;
          }
          majorsWhole = majorsWhole && whole(f);
        }
      }
  }
  return factorAxes;
}

std::string ShardingRule::verify(Operation *op) const {
  auto checkTensor = [&](const TensorMapping &m, Type type,
                         StringRef what) -> std::string {
    auto t = dyn_cast<RankedTensorType>(type);
    if (!t)
      return m.empty() ? "" : (what + " is not a tensor but has a mapping").str();
    if ((int64_t)m.size() != t.getRank())
      return (what + " mapping has the wrong rank").str();
    for (auto [d, factors] : llvm::enumerate(m)) {
      int64_t product = 1;
      for (int64_t f : factors) {
        if (f < 0 || f >= (int64_t)this->factors.size())
          return (what + " maps to an unknown factor").str();
        product *= this->factors[f].size;
      }
      if (!factors.empty() && product != t.getDimSize(d))
        return (what + " dimension " + Twine(d) + " has size " +
                Twine(t.getDimSize(d)) + " but its factors multiply to " +
                Twine(product))
            .str();
    }
    return "";
  };
  if (operands.size() != op->getNumOperands() || results.size() != op->getNumResults())
    return "rule has the wrong number of operand or result mappings";
  for (auto [i, m] : llvm::enumerate(operands))
    if (auto e = checkTensor(m, op->getOperand(i).getType(), "operand #" + std::to_string(i)); !e.empty())
      return e;
  for (auto [i, m] : llvm::enumerate(results))
    if (auto e = checkTensor(m, op->getResult(i).getType(), "result #" + std::to_string(i)); !e.empty())
      return e;
  return "";
}

} // namespace partita::sharding
