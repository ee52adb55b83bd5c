//===- CostModel.cpp - roofline + alpha-beta cost of a partitioned module -===//
//
// FLOP formulas (docs/planner.md has the table):
//   matmul / moe_expert_matmul   2 · |result| · K          (K: lhs last dim)
//   gemm                         2 · M · N · K  (+ M·N with C)
//   einsum                       (2 with >= 2 inputs, else 1) · |iteration space|
//   attention                    2·B·Sq·Sk·D + 2·B·Sq·Sk·Dv + 5·B·Sq·Sk
//   conv                         2 · |result| · (Cin/group) · |kernel window|
//   pools                        |result| · |kernel window| (global: |input|)
//   elementwise / compare / cast 1 per result element
//   reductions, arg-reductions,
//   cumsum                       1 per input element
//   softmax, log_softmax         5 per element
//   layer_norm, instance_norm    8 per element; batch_norm 4 per element
//   moe_gate                     6 per logit; topk log2(k)+1 per element
//   data movement, constants     0
//
//===----------------------------------------------------------------------===//

#include "partita/Planner/CostModel.h"

#include "dialects/Sharding/IR/ShardingOps.h"
#include "passes/Propagation/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

namespace partita::planner {

namespace {

double numel(Type t) {
  auto rt = dyn_cast<RankedTensorType>(t);
  if (!rt || !rt.hasStaticShape())
    return 0;
  return static_cast<double>(rt.getNumElements());
}

int64_t dim(Value v, int64_t i) {
  auto rt = cast<RankedTensorType>(v.getType());
  if (i < 0)
    i += rt.getRank();
  if (i < 0 || i >= rt.getRank())
    return 1;
  return rt.getDimSize(i);
}


double window(Operation *op) {
  double w = 1;
  if (auto ks = op->getAttrOfType<DenseI64ArrayAttr>("kernel_shape"))
    for (int64_t k : ks.asArrayRef())
      w *= k;
  return w;
}

double einsumFlops(Operation *op) {
  auto eq = op->getAttrOfType<StringAttr>("equation");
  if (!eq || op->getNumResults() != 1)
    return 0;
  StringRef text = eq.getValue();
  auto [lhs, rhs] = text.split("->");
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  llvm::DenseMap<char, int64_t> sizes;
  for (auto [idx, term] : llvm::enumerate(terms)) {
    if (idx >= op->getNumOperands())
      return 0;
    term = term.trim();
    auto rt = dyn_cast<RankedTensorType>(op->getOperand(idx).getType());
    if (!rt)
      return 0;
    int64_t letters = llvm::count_if(term, [](char c) { return std::isalpha(c); });
    int64_t ellipsis = rt.getRank() - letters, d = 0;
    for (size_t i = 0; i < term.size(); ++i) {
      if (term[i] == '.') {
        if (term.substr(i).starts_with("..."))
          d += ellipsis, i += 2;
        continue;
      }
      if (std::isalpha(term[i]) && d < rt.getRank())
        sizes[term[i]] = rt.getDimSize(d++);
    }
  }
  // Iteration space = result elements × the sizes of summed-out letters.
  double space = numel(op->getResult(0).getType());
  llvm::DenseSet<char> out(rhs.begin(), rhs.end());
  for (auto &[c, s] : sizes)
    if (!out.contains(c))
      space *= s;
  return (op->getNumOperands() >= 2 ? 2.0 : 1.0) * space;
}

const llvm::StringSet<> &elementwiseOps() {
  static const llvm::StringSet<> s = {
      "abs", "neg", "sign", "relu", "not", "ceil", "floor", "reciprocal", "sqrt", "exp",
      "log", "sin", "cos", "tanh", "erf", "sigmoid", "softplus", "softsign", "hard_swish",
      "elu", "celu", "selu", "leaky_relu", "hard_sigmoid", "thresholded_relu", "clip",
      "cast", "add", "sub", "mul", "div", "max", "min", "mod", "pow", "prelu", "and", "or",
      "xor", "equal", "greater", "greater_equal", "less", "less_equal", "where", "trilu"};
  return s;
}

} // namespace

std::string dtypeName(mlir::Type t) {
  if (auto st = dyn_cast<ShapedType>(t))
    t = st.getElementType();
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  if (t.isF32())
    return "f32";
  if (t.isF64())
    return "f64";
  if (auto it = dyn_cast<IntegerType>(t))
    return "i" + std::to_string(it.getWidth());
  return "f32";
}

double tensorBytes(Type type) {
  auto rt = dyn_cast<RankedTensorType>(type);
  if (!rt || !rt.hasStaticShape())
    return 0;
  unsigned bits = rt.getElementType().isIntOrFloat() ? rt.getElementType().getIntOrFloatBitWidth()
                                                     : 32;
  return numel(rt) * std::max(1u, (bits + 7) / 8);
}

TrainingStateBytes trainingStateBytes(double paramBytes, unsigned optimizerStates, int zeroStage,
                                      int64_t dataParallel) {
  double n = (double)std::max<int64_t>(dataParallel, 1);
  TrainingStateBytes b;
  b.parameters = paramBytes / (zeroStage >= 3 ? n : 1);
  b.gradients = paramBytes / (zeroStage >= 2 ? n : 1);
  b.optimizer = optimizerStates * paramBytes / (zeroStage >= 1 ? n : 1);
  return b;
}

AttentionWork attentionWork(double batch, double sq, double sk, double d, double dv,
                            double scorePasses, double elementBytes) {
  AttentionWork w;
  double scores = batch * sq * sk;
  w.gemmFlops = 2 * scores * (d + dv);
  w.otherFlops = 5 * scores;
  w.scoreBytes = scorePasses * scores * elementBytes;
  return w;
}

double attentionTime(const DeviceSpec &device, StringRef dtype, const AttentionWork &work,
                     double operandBytes) {
  double peak = device.flopsFor(dtype);
  double bandwidth = device.memoryBandwidth;
  return (peak > 0 ? work.gemmFlops / peak : 0) +
         (bandwidth > 0 ? (work.scoreBytes + operandBytes) / bandwidth : 0);
}

namespace {

/// The work of a graph.attention op on its operands' shapes.
AttentionWork attentionWorkOf(Operation *op) {
  Value q = op->getOperand(0), k = op->getOperand(1), v = op->getOperand(2);
  double batch = numel(q.getType()) / (dim(q, -1) * dim(q, -2));
  int masks = (op->getNumOperands() > 3 ? 1 : 0);
  if (auto causal = op->getAttrOfType<BoolAttr>("causal"); causal && causal.getValue())
    ++masks;
  Type elt = cast<RankedTensorType>(q.getType()).getElementType();
  return attentionWork(batch, dim(q, -2), dim(k, -2), dim(q, -1), dim(v, -1),
                       attentionScorePasses(masks), tensorBytes(RankedTensorType::get({}, elt)));
}

} // namespace

double opFlops(Operation *op) {
  StringRef dialect = op->getName().getDialectNamespace();
  if (dialect != "graph" || op->getNumResults() == 0)
    return 0;
  StringRef name = op->getName().stripDialect();
  Value res = op->getResult(0);
  double out = numel(res.getType());
  if (name == "matmul" || name == "moe_expert_matmul") {
    Value lhs = op->getOperand(0);
    return 2.0 * out * dim(lhs, -1);
  }
  if (name == "gemm") {
    bool transA = false;
    if (auto a = op->getAttrOfType<BoolAttr>("transA"))
      transA = a.getValue();
    int64_t k = transA ? dim(op->getOperand(0), 0) : dim(op->getOperand(0), 1);
    return 2.0 * out * k + (op->getNumOperands() > 2 ? out : 0);
  }
  if (name == "einsum")
    return einsumFlops(op);
  if (name == "attention")
    return attentionWorkOf(op).flops();
  if (name == "conv") {
    auto w = cast<RankedTensorType>(op->getOperand(1).getType());
    double perOut = 1;
    for (int64_t i = 1; i < w.getRank(); ++i)
      perOut *= w.getDimSize(i);
    return 2.0 * out * perOut + (op->getNumOperands() > 2 ? out : 0);
  }
  if (name == "average_pool" || name == "max_pool")
    return out * window(op);
  if (name == "global_average_pool" || name == "global_max_pool")
    return numel(op->getOperand(0).getType());
  if (elementwiseOps().contains(name))
    return out;
  if (name.starts_with("reduce_") || name == "argmax" || name == "argmin" || name == "cumsum")
    return numel(op->getOperand(0).getType()) * (name == "reduce_log_sum_exp" ? 3 : 1);
  if (name == "softmax" || name == "log_softmax")
    return 5 * out;
  if (name == "layer_norm" || name == "instance_norm")
    return 8 * out;
  if (name == "batch_norm")
    return 4 * out;
  if (name == "moe_gate")
    return 6 * numel(op->getOperand(0).getType());
  if (name == "topk") {
    double k = dim(res, -1);
    return numel(op->getOperand(0).getType()) * (std::log2(std::max(1.0, k)) + 1);
  }
  return 0; // data movement, constants
}

double opBytes(Operation *op) {
  StringRef name = op->getName().getStringRef();
  if (name == "graph.constant" || name == "graph.reshape" || name == "collectives.axis_index")
    return 0;
  double b = 0;
  for (Value v : op->getOperands())
    b += tensorBytes(v.getType());
  for (Value v : op->getResults())
    b += tensorBytes(v.getType());
  return b;
}

double collectiveTime(const Cluster &cluster, StringRef kind, double bytes, int64_t n,
                      const LinkSpec &link) {
  if (n <= 1)
    return 0;
  double bw = link.effectiveBandwidth();
  if (kind == "collective_permute")
    return bytes / bw + link.latency;
  const CollectiveFactors &f = cluster.factors(kind);
  double frac = static_cast<double>(n - 1) / static_cast<double>(n);
  return f.bandwidthFactor * frac * bytes / bw + f.latencyFactor * (n - 1) * link.latency;
}

func::FuncOp costedFunction(ModuleOp module) {
  func::FuncOp func;
  for (auto f : module.getOps<func::FuncOp>()) {
    if (f.isExternal())
      continue;
    if (!func || f.getSymName() == "main")
      func = f;
  }
  return func;
}

FailureOr<CostReport> estimateCost(ModuleOp module, const Cluster &cluster,
                                   std::string &error) {
  CostReport report;
  report.cluster = cluster.name;
  report.memoryCapacity = cluster.device.memoryBytes;

  // Meshes and the link of each of their axes.
  llvm::StringMap<std::map<std::string, const LinkSpec *>> meshLinks;
  llvm::StringMap<std::map<std::string, int64_t>> meshSizes;
  for (auto mesh : module.getOps<sharding::MeshOp>()) {
    std::vector<std::pair<std::string, int64_t>> axes;
    auto attr = mesh.getMesh();
    int64_t devices = 1;
    for (auto [n, s] : llvm::zip(attr.getNames(), attr.getSizes())) {
      axes.push_back({n.str(), s});
      meshSizes[mesh.getSymName()][n.str()] = s;
      devices *= s;
    }
    report.devices = std::max(report.devices, devices);
    auto links = cluster.mapAxes(axes, error);
    if (failed(links))
      return failure();
    meshLinks[mesh.getSymName()] = *links;
  }

  func::FuncOp func = costedFunction(module);
  if (!func) {
    error = "no function with a body to cost";
    return failure();
  }

  auto layerIndex = [&](const std::string &layer) -> LayerCost & {
    for (LayerCost &l : report.layers)
      if (l.layer == layer)
        return l;
    report.layers.push_back({layer});
    return report.layers.back();
  };

  // Parameters: constants at the size every device keeps (a whole constant
  // used only through axis_slice is loaded as its slice).
  llvm::DenseSet<Operation *> parameterSlices;
  for (BlockArgument arg : func.getArguments())
    report.inputBytes += tensorBytes(arg.getType());

  Block &body = func.getBody().front();
  for (Operation &op : body) {
    if (op.getName().getStringRef() != "graph.constant")
      continue;
    bool onlySliced = !op.getResult(0).use_empty();
    double sliced = 0;
    for (Operation *user : op.getResult(0).getUsers()) {
      if (user->getName().getStringRef() == "collectives.axis_slice") {
        sliced = std::max(sliced, tensorBytes(user->getResult(0).getType()));
      } else {
        onlySliced = false;
      }
    }
    if (onlySliced) {
      report.parameterBytes += sliced;
      for (Operation *user : op.getResult(0).getUsers())
        parameterSlices.insert(user);
    } else {
      report.parameterBytes += tensorBytes(op.getResult(0).getType());
    }
  }

  // Time.
  for (Operation &op : body) {
    StringRef opName = op.getName().getStringRef();
    if (opName == "graph.constant" || parameterSlices.contains(&op) ||
        isa<func::ReturnOp>(op))
      continue;
    OpCost c;
    c.op = opName.str();
    c.name = op.getNumResults() ? sharding::valueName(op.getResult(0)) : "";
    c.layer = layerOf(c.name);
    if (op.getName().getDialectNamespace() == "collectives" && opName != "collectives.axis_slice" &&
        opName != "collectives.axis_index") {
      c.collective = op.getName().stripDialect().str();
      // Name a collective by the tensor it communicates (its location is
      // the consumer's).
      std::string operandName = sharding::valueName(op.getOperand(0));
      if (!operandName.empty()) {
        c.name = operandName;
        c.layer = layerOf(c.name);
      }
      auto mesh = op.getAttrOfType<FlatSymbolRefAttr>("mesh");
      auto axes = op.getAttrOfType<ArrayAttr>("axes");
      const LinkSpec *slowest = nullptr;
      if (mesh && axes) {
        auto &links = meshLinks[mesh.getValue()];
        auto &sizes = meshSizes[mesh.getValue()];
        for (Attribute a : axes) {
          std::string axis = cast<StringAttr>(a).str();
          c.axes.push_back(axis);
          c.groupSize *= sizes.count(axis) ? sizes[axis] : 1;
          if (auto it = links.find(axis); it != links.end())
            if (!slowest || it->second->effectiveBandwidth() < slowest->effectiveBandwidth())
              slowest = it->second;
        }
      }
      Type sized = c.collective == "all_gather" ? op.getResult(0).getType()
                                                : op.getOperand(0).getType();
      c.commBytes = tensorBytes(sized);
      c.elements = numel(sized);
      if (slowest) {
        c.link = slowest->name;
        c.commTime = collectiveTime(cluster, c.collective, c.commBytes, c.groupSize, *slowest);
      }
    } else {
      c.flops = opFlops(&op);
      c.bytes = opBytes(&op);
      double peak = cluster.device.flopsFor(
          dtypeName(op.getNumOperands() ? op.getOperand(0).getType()
                                        : op.getResult(0).getType()));
      double tf = peak > 0 ? c.flops / peak : 0;
      double tm = c.bytes / cluster.device.memoryBandwidth;
      c.computeTime = std::max(tf, tm);
      if (opName == "graph.attention") {
        AttentionWork work = attentionWorkOf(&op);
        c.bytes += work.scoreBytes;
        c.computeTime = attentionTime(cluster.device, dtypeName(op.getOperand(0).getType()), work,
                                      opBytes(&op));
      }
    }
    LayerCost &l = layerIndex(c.layer);
    l.computeTime += c.computeTime;
    l.commTime += c.commTime;
    l.flops += c.flops;
    l.commBytes += c.commBytes;
    l.collectives += c.collective.empty() ? 0 : 1;
    report.computeTime += c.computeTime;
    report.commTime += c.commTime;
    report.flops += c.flops;
    report.ops.push_back(std::move(c));
  }

  // Activations: each non-view result is a buffer, live from its definition
  // to its last use (returned values to the end); reshape results alias
  // their operand's buffer.
  llvm::DenseMap<Operation *, unsigned> order;
  unsigned idx = 0;
  for (Operation &op : body)
    order[&op] = idx++;
  llvm::DenseMap<Value, Value> root;
  llvm::DenseMap<Value, unsigned> lastUse;
  std::vector<std::pair<Value, unsigned>> defs; // root buffers in order
  auto rootOf = [&](Value v) {
    auto it = root.find(v);
    return it == root.end() ? v : it->second;
  };
  for (Operation &op : body) {
    unsigned at = order[&op];
    for (Value operand : op.getOperands()) {
      Value r = rootOf(operand);
      unsigned &lu = lastUse[r];
      lu = std::max(lu, isa<func::ReturnOp>(op) ? idx : at);
    }
    if (op.getName().getStringRef() == "graph.constant" || parameterSlices.contains(&op))
      continue;
    if (op.getName().getStringRef() == "graph.reshape") {
      root[op.getResult(0)] = rootOf(op.getOperand(0));
      continue;
    }
    for (Value r : op.getResults()) {
      defs.push_back({r, at});
      lastUse[r] = std::max(lastUse[r], at);
    }
  }
  // Sweep: allocation at definition, free after last use.
  std::vector<std::pair<unsigned, double>> frees;
  double live = 0;
  size_t next = 0;
  std::multimap<unsigned, double> pending;
  for (unsigned at = 0; at < idx; ++at) {
    for (; next < defs.size() && defs[next].second == at; ++next) {
      Value v = defs[next].first;
      double b = tensorBytes(v.getType());
      live += b;
      pending.insert({lastUse[v], b});
    }
    if (live > report.peakActivationBytes) {
      report.peakActivationBytes = live;
      for (Operation &op : body)
        if (order[&op] == at && op.getNumResults())
          report.peakAfter = sharding::valueName(op.getResult(0));
    }
    for (auto it = pending.begin(); it != pending.end() && it->first <= at;)
      live -= it->second, it = pending.erase(it);
  }
  (void)frees;
  return report;
}

} // namespace partita::planner
