//===- Plan.cpp - printing a propagated sharding plan ---------------------===//

#include "dialects/Sharding/IR/ShardingOps.h"
#include "partita/Diagnostics.h"
#include "partita/Sharding/Annotations.h"
#include "passes/Propagation/Passes.h"
#include "partita/Planner/Cluster.h"
#include "passes/Sequence/AttentionForms.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"

#define JSON_NOEXCEPTION
#include <nlohmann/json.hpp>

#include <map>
#include <optional>

using namespace mlir;
using namespace partita::sharding;

namespace partita {
namespace {

struct Row {
  std::string name;
  RankedTensorType type;
  TensorShardingAttr sharding;
};

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string s;
  for (int64_t d : shape)
    s += (s.empty() ? "" : "x") + std::to_string(d);
  return s.empty() ? "scalar" : s;
}

SmallVector<int64_t> localShape(RankedTensorType type, TensorShardingAttr s, MeshAttr mesh) {
  SmallVector<int64_t> shape(type.getShape());
  for (auto [d, dim] : llvm::enumerate(s.getDims()))
    for (StringAttr a : dim.getAxes())
      shape[d] /= *mesh.getAxisSize(a.getValue());
  return shape;
}

/// Every named tensor with its sharding, in program order, once per name.
std::vector<Row> collectRows(ModuleOp module) {
  std::vector<Row> rows;
  llvm::StringSet<> seen;
  auto add = [&](Value v, TensorShardingAttr s) {
    std::string name = valueName(v);
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (name.empty() || !type || !s || !seen.insert(name).second)
      return;
    rows.push_back({name, type, s});
  };
  module.walk([&](func::FuncOp func) {
    if (func.isExternal())
      return;
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      add(func.getArgument(i), func.getArgAttrOfType<TensorShardingAttr>(i, kShardingAttr));
    func.walk([&](Operation *op) {
      auto attrs = op->getAttrOfType<ArrayAttr>(kShardingsAttr);
      if (!attrs || isa<ConstraintOp>(op))
        return;
      for (auto [r, a] : llvm::zip(op->getResults(), attrs))
        add(r, dyn_cast<TensorShardingAttr>(a));
    });
  });
  return rows;
}

} // namespace

void printShardingPlan(ModuleOp module, const std::vector<ReshardNeed> &reshards,
                       llvm::raw_ostream &os, llvm::raw_ostream *json,
                       const planner::Cluster *cluster) {
  MeshOp meshOp;
  for (auto m : module.getOps<MeshOp>()) {
    meshOp = m;
    break;
  }
  if (!meshOp) {
    os << "no mesh: the model runs on one device\n";
    return;
  }
  MeshAttr mesh = meshOp.getMesh();
  nlohmann::ordered_json j;
  std::string meshText;
  for (auto [n, s] : llvm::zip(mesh.getNames(), mesh.getSizes())) {
    meshText += (meshText.empty() ? "" : ", ") + n.str() + "=" + std::to_string(s);
    j["mesh"][n.str()] = s;
  }
  os << "mesh: " << meshText << " (" << mesh.getNumDevices() << " devices)\n";
  std::vector<Row> rows = collectRows(module);
  size_t width = 6;
  for (const Row &r : rows)
    width = std::max(width, r.name.size());
  os << llvm::left_justify("tensor", width) << "  " << llvm::left_justify("shape", 14)
     << "  " << llvm::left_justify("sharding", 30) << "  local shape\n";
  j["tensors"] = nlohmann::ordered_json::array();
  for (const Row &r : rows) {
    std::string text = formatSharding(r.sharding);
    os << llvm::left_justify(r.name, width) << "  "
       << llvm::left_justify(shapeText(r.type.getShape()), 14) << "  "
       << llvm::left_justify(text, 30) << "  "
       << shapeText(localShape(r.type, r.sharding, mesh)) << "\n";
    nlohmann::ordered_json t;
    t["name"] = r.name;
    t["shape"] = std::vector<int64_t>(r.type.getShape().begin(), r.type.getShape().end());
    nlohmann::ordered_json dims = nlohmann::ordered_json::array();
    for (DimShardingAttr d : r.sharding.getDims()) {
      std::vector<std::string> axes;
      for (StringAttr a : d.getAxes())
        axes.push_back(a.str());
      dims.push_back(axes);
    }
    t["sharding"] = dims;
    std::vector<std::string> unreduced;
    for (StringAttr a : r.sharding.getUnreduced())
      unreduced.push_back(a.str());
    t["unreduced"] = unreduced;
    auto local = localShape(r.type, r.sharding, mesh);
    t["local_shape"] = std::vector<int64_t>(local.begin(), local.end());
    j["tensors"].push_back(t);
  }
  std::map<std::string, int> counts;
  os << "reshards: " << reshards.size() << "\n";
  j["reshards"] = nlohmann::ordered_json::array();
  for (const ReshardNeed &n : reshards) {
    counts[n.collective]++;
    std::string axes;
    for (const std::string &a : n.axes)
      axes += (axes.empty() ? "" : ", ") + a;
    std::string where = describeLocation(n.op->getLoc());
    os << "  " << n.collective << " {" << axes << "} of '" << n.tensor << "' for "
       << n.op->getName() << " at " << where << ": " << n.from << " -> " << n.to;
    if (!n.origin.empty())
      os << " (layout from '" << n.origin << "')";
    os << "\n";
    nlohmann::ordered_json r;
    r["collective"] = n.collective;
    r["axes"] = n.axes;
    r["tensor"] = n.tensor;
    r["op"] = n.op->getName().getStringRef().str();
    r["location"] = where;
    r["from"] = n.from;
    r["to"] = n.to;
    r["origin"] = n.origin;
    j["reshards"].push_back(r);
  }
  for (auto &[kind, n] : counts) {
    os << "  " << kind << ": " << n << "\n";
    j["counts"][kind] = n;
  }
  // Which axes `"experts": "auto"` took (docs/experts.md).
  if (auto experts = module->getAttrOfType<StringAttr>(kExpertsChoiceAttr)) {
    os << "experts: " << experts.getValue() << "\n";
    j["experts"] = experts.getValue().str();
  }
  // How each attention over a split sequence computes (docs/sequence.md).
  std::vector<std::string> forms;
  j["attention"] = nlohmann::ordered_json::array();
  std::optional<planner::Cluster> local;
  module.walk([&](graph::AttentionOp op) {
    std::string error;
    if (!cluster && !local) {
      std::string origin;
      auto loaded = planner::loadClusterOrLocal("", error, origin);
      local = succeeded(loaded) ? *loaded : planner::Cluster();
      error.clear();
    }
    auto choice = sequence::choosePropagatedAttentionForm(op, mesh, cluster ? cluster : &*local,
                                                          error);
    nlohmann::ordered_json a;
    a["tensor"] = valueName(op.getResult());
    a["location"] = describeLocation(op.getLoc());
    std::string line = "  '" + valueName(op.getResult()) + "' at " + describeLocation(op.getLoc()) + ": ";
    if (failed(choice)) {
      a["error"] = error;
      line += "error: " + error;
    } else {
      a["form"] = sequence::formName(choice->form).str();
      std::vector<std::string> axes;
      for (StringAttr x : choice->axes)
        axes.push_back(x.str());
      a["axes"] = axes;
      a["why"] = choice->why;
      for (const sequence::FormEstimate &e : choice->estimates)
        a["estimates"].push_back({{"form", sequence::formName(e.form).str()},
                                  {"time_s", e.time()},
                                  {"compute_s", e.compute},
                                  {"communication_s", e.communication},
                                  {"collectives", e.collectives},
                                  {"bytes", e.bytes},
                                  {"memory_bytes", e.memory}});
      line += sequence::formName(choice->form).str() + " (" + choice->why + ")";
    }
    forms.push_back(line);
    j["attention"].push_back(a);
  });
  if (!forms.empty()) {
    os << "attention: " << forms.size() << "\n";
    for (const std::string &line : forms)
      os << line << "\n";
  } else if (module->hasAttr(sequence::kAttentionFormAttr)) {
    // A form was asked for, but the plan ran on primitive ops.
    os << "attention: none formed (`partita plan --composites` forms graph.attention, as "
          "`partita run --mesh` does)\n";
  }
  if (json)
    *json << j.dump(2) << "\n";
}

} // namespace partita
