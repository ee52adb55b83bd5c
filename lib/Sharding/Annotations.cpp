//===- Annotations.cpp - user sharding annotations ------------------------===//

#include "partita/Sharding/Annotations.h"

#include "dialects/Graph/IR/GraphOps.h"
#include "dialects/Sharding/IR/ShardingOps.h"
#include "dialects/Sharding/Rules/GraphShardingRules.h"
#include "passes/Partition/Passes.h"
#include "passes/Propagation/Passes.h"
#include "passes/Sequence/AttentionForms.h"
#include "partita/Planner/CostModel.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MemoryBuffer.h"

#define JSON_NOEXCEPTION
#include <nlohmann/json.hpp>
#include <numeric>

using namespace mlir;
using namespace partita::sharding;

namespace partita {

std::string MeshSpec::str() const {
  std::string s;
  for (auto &[name, size] : axes)
    s += (s.empty() ? "" : ",") + name + "=" + std::to_string(size);
  return s;
}

FailureOr<MeshSpec> parseMeshFlag(StringRef text, std::string &error) {
  MeshSpec mesh;
  SmallVector<StringRef> parts;
  text.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef part : parts) {
    auto [name, size] = part.split('=');
    int64_t n;
    if (name.trim().empty() || size.trim().getAsInteger(10, n) || n <= 0) {
      error = "bad --mesh entry '" + part.str() +
              "' (expected NAME=SIZE[,NAME=SIZE...] with positive sizes)";
      return failure();
    }
    for (auto &axis : mesh.axes)
      if (axis.first == name.trim()) {
        error = "mesh axis '" + name.trim().str() + "' is given twice";
        return failure();
      }
    mesh.axes.push_back({name.trim().str(), n});
  }
  if (mesh.axes.empty()) {
    error = "empty --mesh (expected NAME=SIZE[,NAME=SIZE...])";
    return failure();
  }
  return mesh;
}

FailureOr<ShardingSpecs> readShardingsFile(StringRef path, std::string &error) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) {
    error = "cannot read '" + path.str() + "': " + buf.getError().message();
    return failure();
  }
  return parseShardings((*buf)->getBuffer(), path, error);
}

FailureOr<ShardingSpecs> parseShardings(StringRef text, StringRef origin, std::string &error) {
  // ordered_json keeps the mesh axes in the order written (major to minor).
  auto doc = nlohmann::ordered_json::parse(text.begin(), text.end(), nullptr, false);
  auto fail = [&](const std::string &msg) {
    error = origin.str() + ": " + msg;
    return failure();
  };
  if (doc.is_discarded())
    return fail("not valid JSON");
  if (!doc.is_object())
    return fail("expected an object with \"mesh\" and \"shardings\"");
  ShardingSpecs specs;
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it.key() != "mesh" && it.key() != "shardings" && it.key() != "attention" &&
        it.key() != "experts")
      return fail("unknown key \"" + it.key() +
                  "\" (expected \"mesh\", \"shardings\", \"attention\", \"experts\")");
  if (doc.contains("experts")) {
    // docs/experts.md: "expert", or {"axis": "expert", "ffn": "model"}.
    const auto &x = doc["experts"];
    const char *shape = "\"experts\" must be a mesh axis name or {\"axis\": AXIS, "
                        "\"ffn\": AXIS}";
    if (x.is_string()) {
      specs.expertAxis = x.get<std::string>();
    } else if (x.is_object() && x.contains("axis") && x["axis"].is_string()) {
      for (auto it = x.begin(); it != x.end(); ++it)
        if ((it.key() != "axis" && it.key() != "ffn") || !it.value().is_string())
          return fail(shape);
      specs.expertAxis = x["axis"].get<std::string>();
      if (x.contains("ffn"))
        specs.expertFfnAxis = x["ffn"].get<std::string>();
    } else {
      return fail(shape);
    }
  }
  if (doc.contains("attention")) {
    // docs/sequence.md: one form for every attention, or one per attention.
    const auto &a = doc["attention"];
    auto form = [&](const nlohmann::ordered_json &v, std::string &out) {
      if (!v.is_string() || !sequence::isRequestableForm(v.get<std::string>()))
        return false;
      out = v.get<std::string>();
      return true;
    };
    std::string all;
    if (a.is_object()) {
      for (auto it = a.begin(); it != a.end(); ++it) {
        std::string one;
        if (!form(it.value(), one))
          return fail("\"attention\" of \"" + it.key() +
                      "\" must be \"auto\", \"gather\", \"ulysses\", \"ring\" or \"zigzag\"");
        specs.attentionForms[it.key()] = one;
      }
    } else if (form(a, all)) {
      specs.attentionForm = all;
    } else {
      return fail("\"attention\" must be \"auto\", \"gather\", \"ulysses\", \"ring\", "
                  "\"zigzag\" or an object mapping attention outputs to one of them");
    }
  }
  if (doc.contains("mesh")) {
    const auto &m = doc["mesh"];
    if (!m.is_object())
      return fail("\"mesh\" must map axis names to sizes");
    MeshSpec mesh;
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (!it.value().is_number_integer() || it.value().get<int64_t>() <= 0)
        return fail("mesh axis \"" + it.key() + "\" must have a positive integer size");
      mesh.axes.push_back({it.key(), it.value().get<int64_t>()});
    }
    specs.mesh = mesh;
  }
  if (doc.contains("shardings")) {
    const auto &s = doc["shardings"];
    if (!s.is_object())
      return fail("\"shardings\" must map tensor names to per-dimension lists");
    for (auto it = s.begin(); it != s.end(); ++it) {
      // [dims...] or {"dims": [dims...], "priority": N}
      const nlohmann::ordered_json *list = &it.value();
      if (list->is_object()) {
        for (auto key = list->begin(); key != list->end(); ++key)
          if (key.key() != "dims" && key.key() != "priority")
            return fail("sharding of \"" + it.key() + "\": unknown key \"" + key.key() +
                        "\" (expected \"dims\", \"priority\")");
        if (list->contains("priority")) {
          const auto &p = (*list)["priority"];
          if (!p.is_number_integer() || p.get<int64_t>() < 0)
            return fail("sharding of \"" + it.key() +
                        "\": \"priority\" must be a non-negative integer");
          specs.priorities[it.key()] = p.get<int64_t>();
        }
        if (!list->contains("dims"))
          return fail("sharding of \"" + it.key() + "\" needs \"dims\"");
        list = &(*list)["dims"];
      }
      if (!list->is_array())
        return fail("sharding of \"" + it.key() + "\" must be a list with one entry per dimension");
      std::vector<DimSpec> dims;
      for (const auto &d : *list) {
        DimSpec dim;
        auto addAxis = [&](const nlohmann::ordered_json &a) {
          if (!a.is_string())
            return false;
          std::string name = a.get<std::string>();
          if (name == "?")
            dim.open = true;
          else
            dim.axes.push_back(name);
          return true;
        };
        bool ok = d.is_null() || addAxis(d);
        if (d.is_array()) {
          ok = true;
          for (const auto &a : d)
            ok &= addAxis(a);
        }
        if (!ok)
          return fail("sharding of \"" + it.key() +
                      "\": each entry must be null, an axis name, or a list of axis names");
        dims.push_back(dim);
      }
      specs.tensors.push_back({it.key(), dims});
    }
  }
  return specs;
}

std::string formatShardings(const ShardingSpecs &specs) {
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  if (specs.mesh) {
    doc["mesh"] = nlohmann::ordered_json::object();
    for (auto &[name, size] : specs.mesh->axes)
      doc["mesh"][name] = size;
  }
  doc["shardings"] = nlohmann::ordered_json::object();
  for (auto &[name, dims] : specs.tensors) {
    auto list = nlohmann::ordered_json::array();
    for (const DimSpec &d : dims) {
      auto axes = nlohmann::ordered_json::array();
      for (const std::string &a : d.axes)
        axes.push_back(a);
      if (d.open)
        axes.push_back("?");
      if (axes.empty())
        list.push_back(nullptr);
      else if (axes.size() == 1)
        list.push_back(axes[0]);
      else
        list.push_back(axes);
    }
    if (auto p = specs.priorities.find(name); p != specs.priorities.end())
      doc["shardings"][name] = {{"dims", list}, {"priority", p->second}};
    else
      doc["shardings"][name] = list;
  }
  if (!specs.attentionForms.empty()) {
    doc["attention"] = nlohmann::ordered_json::object();
    for (auto &[name, form] : specs.attentionForms)
      doc["attention"][name] = form;
  } else if (specs.attentionForm) {
    doc["attention"] = *specs.attentionForm;
  }
  if (specs.expertAxis && specs.expertFfnAxis)
    doc["experts"] = {{"axis", *specs.expertAxis}, {"ffn", *specs.expertFfnAxis}};
  else if (specs.expertAxis)
    doc["experts"] = *specs.expertAxis;
  return doc.dump() + "\n";
}

namespace {

/// The graph.mesh / graph.sharding attributes of the JSON importer as specs.
void collectGraphAttrs(ModuleOp module, ShardingSpecs &specs) {
  if (auto mesh = module->getAttrOfType<ArrayAttr>("graph.mesh")) {
    MeshSpec m;
    for (auto axis : mesh.getAsRange<ArrayAttr>())
      if (axis.size() == 2 && isa<StringAttr>(axis[0]) && isa<IntegerAttr>(axis[1]))
        m.axes.push_back({cast<StringAttr>(axis[0]).str(), cast<IntegerAttr>(axis[1]).getInt()});
    specs.mesh = m;
    module->removeAttr("graph.mesh");
  }
  auto toDims = [](ArrayAttr attr) {
    std::vector<DimSpec> dims;
    for (Attribute d : attr) {
      DimSpec dim;
      if (auto axes = dyn_cast<ArrayAttr>(d))
        for (Attribute a : axes)
          if (auto s = dyn_cast<StringAttr>(a))
            dim.axes.push_back(s.str());
      dims.push_back(dim);
    }
    return dims;
  };
  module.walk([&](func::FuncOp func) {
    if (func.isExternal())
      return;
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (auto s = func.getArgAttrOfType<ArrayAttr>(i, "graph.sharding")) {
        specs.tensors.push_back({valueName(func.getArgument(i)), toDims(s)});
        func.removeArgAttr(i, "graph.sharding");
      }
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      if (auto s = func.getResultAttrOfType<ArrayAttr>(i, "graph.sharding")) {
        auto name = func.getResultAttrOfType<StringAttr>(i, "graph.name");
        specs.tensors.push_back({name ? name.str() : "", toDims(s)});
        func.removeResultAttr(i, StringAttr::get(func.getContext(), "graph.sharding"));
      }
  });
  module.walk([&](Operation *op) {
    if (auto s = op->getAttrOfType<ArrayAttr>("graph.sharding")) {
      specs.tensors.push_back({valueName(op->getResult(0)), toDims(s)});
      op->removeAttr("graph.sharding");
    }
  });
}

std::string describe(const MeshSpec &m) { return "{" + m.str() + "}"; }

/// A spatial dimension of a convolution's or pooling's input or output may
/// be annotated split only where halo exchange gives exact results
/// (windowSplitObstacle); elsewhere the split is rejected here, before any
/// rank starts, rather than silently gathered.
LogicalResult checkWindowSplits(Value v, TensorShardingAttr attr, MeshAttr mesh,
                                StringRef name) {
  auto check = [&](Operation *op, StringRef role) -> LogicalResult {
    if (!isa<graph::ConvOp, graph::MaxPoolOp, graph::AveragePoolOp>(op))
      return success();
    for (auto [d, dim] : llvm::enumerate(attr.getDims())) {
      if (d < 2 || dim.getAxes().empty())
        continue;
      int64_t parts = 1;
      for (StringAttr a : dim.getAxes())
        parts *= mesh.getAxisSize(a.getValue()).value_or(1);
      std::string why = windowSplitObstacle(op, d, parts);
      if (!why.empty())
        return op->emitError() << "tensor '" << name << "' cannot be split along dimension "
                               << d << " (the " << role << " of " << op->getName() << " '"
                               << valueName(op->getResult(0)) << "'): " << why;
    }
    return success();
  };
  if (Operation *def = v.getDefiningOp())
    if (failed(check(def, "output")))
      return failure();
  for (OpOperand &use : v.getUses())
    if (use.getOperandNumber() == 0 && failed(check(use.getOwner(), "input")))
      return failure();
  return success();
}

/// A dropless dispatch gives the same results for any number of groups:
/// on a mesh, make it one group per device where the tokens divide, so that
/// tokens split over any axes dispatch locally (docs/experts.md). Its
/// combines (same indices) take the same groups.
void groupDroplessDispatches(ModuleOp module, MeshAttr mesh) {
  int64_t devices = 1;
  for (int64_t s : mesh.getSizes())
    devices *= s;
  Builder b(module.getContext());
  // Another MoE op reaching the routing through other ops (a training
  // step's backward reads the slots through reshaped indices) would keep
  // the old slot layout: such dispatches keep their groups.
  auto routedElsewhere = [](Value indices) {
    SmallVector<Value> work;
    for (Operation *user : indices.getUsers())
      if (!isa<graph::MoeDispatchOp, graph::MoeCombineOp>(user))
        work.append(user->result_begin(), user->result_end());
    llvm::DenseSet<Value> seen;
    while (!work.empty()) {
      Value v = work.pop_back_val();
      if (!seen.insert(v).second)
        continue;
      for (Operation *user : v.getUsers()) {
        if (isa<graph::MoeDispatchOp, graph::MoeCombineOp>(user))
          return true;
        work.append(user->result_begin(), user->result_end());
      }
    }
    return false;
  };
  module.walk([&](graph::MoeDispatchOp d) {
    int64_t tokens = d.getTokens().getType().getDimSize(0);
    int64_t groups = std::gcd(tokens, devices);
    if (!d.getDropless() || groups <= d.getGroups() || routedElsewhere(d.getIndices()))
      return;
    d.setGroups(groups);
    d.setCapacity(tokens / groups);
    for (Operation *user : d.getIndices().getUsers())
      if (auto c = dyn_cast<graph::MoeCombineOp>(user))
        c.setGroups(groups);
  });
}

/// The "experts" key: every MoE dispatch's expert dimension on the expert
/// axis and, with "ffn", the hidden dimension of each expert FFN's first
/// matmuls (those reading the dispatched tokens) on the FFN axis; the rest
/// follows by propagation (the second matmul contracts it: a reduce). Where
/// the dispatch's groups divide over the expert axis, its result is first
/// pinned to the groups split and the combine reads the expert outputs back
/// in it: each device dispatches and combines its own groups and the
/// reshards between are expert parallelism's two all_to_alls.
LogicalResult annotateExperts(ModuleOp module, MeshAttr mesh, FlatSymbolRefAttr meshRef,
                              const ShardingSpecs &specs, StringRef specsSource) {
  MLIRContext *ctx = module.getContext();
  int64_t expertSize = 0;
  for (const std::optional<std::string> &axis : {specs.expertAxis, specs.expertFfnAxis}) {
    if (!axis)
      continue;
    auto it = llvm::find(mesh.getNames(), StringAttr::get(ctx, *axis));
    if (it == mesh.getNames().end())
      return module.emitError() << "\"experts\" names axis '" << *axis << "' (from "
                                << specsSource << ") that the mesh does not have";
    if (axis == specs.expertAxis)
      expertSize = mesh.getSizes()[it - mesh.getNames().begin()];
  }
  SmallVector<graph::MoeDispatchOp> dispatches;
  module.walk([&](graph::MoeDispatchOp op) { dispatches.push_back(op); });
  if (dispatches.empty())
    return module.emitError() << "\"experts\" (from " << specsSource
                              << ") but the model has no mixture-of-experts dispatch";
  OpBuilder b(ctx);
  auto dim = [&](std::optional<std::string> axis) {
    SmallVector<StringAttr> axes;
    if (axis)
      axes.push_back(b.getStringAttr(*axis));
    return DimShardingAttr::get(ctx, axes, /*closed=*/true);
  };
  auto sharding = [&](ArrayRef<DimShardingAttr> dims) {
    return TensorShardingAttr::get(ctx, meshRef, dims, {}, {}, specs.priority);
  };
  // A constraint on `v` for all its uses after `after` (or just `use`).
  auto constrain = [&](Value v, ArrayRef<DimShardingAttr> dims,
                       OpOperand *use = nullptr) -> FailureOr<Value> {
    auto attr = sharding(dims);
    Operation *anchor = use ? use->getOwner() : v.getDefiningOp();
    if (failed(verifySharding(attr, v.getType(), anchor, "an expert tensor")))
      return failure();
    if (use)
      b.setInsertionPoint(use->getOwner());
    else
      b.setInsertionPointAfter(v.getDefiningOp());
    auto c = ConstraintOp::create(b, v.getLoc(), v, attr);
    if (use)
      use->set(c.getResult());
    else
      v.replaceAllUsesExcept(c.getResult(), c);
    return c.getResult();
  };
  std::optional<std::string> none;
  for (graph::MoeDispatchOp d : dispatches) {
    bool groupsSplit = d.getGroups() % expertSize == 0;
    Value routed = d.getOutput();
    if (groupsSplit) {
      auto pinned = constrain(routed, {dim(none), dim(specs.expertAxis), dim(none)});
      if (failed(pinned))
        return failure();
      routed = *pinned;
    }
    auto experts = constrain(routed, {dim(specs.expertAxis), dim(none), dim(none)});
    if (failed(experts))
      return failure();
    // The combine reads the expert outputs split by experts, then by groups
    // (the first keeps the second from reaching back into the FFN).
    if (groupsSplit)
      for (OpOperand &use : llvm::make_early_inc_range(d.getIndices().getUses())) {
        auto c = dyn_cast<graph::MoeCombineOp>(use.getOwner());
        if (!c || c.getGroups() != d.getGroups())
          continue;
        if (failed(constrain(c.getExpertOut(),
                             {dim(specs.expertAxis), dim(none), dim(none)}, &c->getOpOperand(0))) ||
            failed(constrain(c.getExpertOut(),
                             {dim(none), dim(specs.expertAxis), dim(none)}, &c->getOpOperand(0))))
          return failure();
      }
    if (!specs.expertFfnAxis)
      continue;
    for (Operation *user : llvm::to_vector(experts->getUsers()))
      if (auto mm = dyn_cast<graph::MoeExpertMatMulOp>(user))
        if (failed(constrain(mm.getOutput(), {dim(specs.expertAxis), dim(none),
                                              dim(specs.expertFfnAxis)})))
          return failure();
  }
  return success();
}

/// `"experts": "auto"`: each candidate (no expert annotation; the expert
/// axis on each mesh axis whose size divides every dispatch's experts; and
/// with each other axis dividing the expert FFNs' hidden dimension as the
/// FFN axis) is annotated on a copy of `module`, partitioned and costed
/// (planner::estimateCost on the cluster of `specs.pricingCluster`). The
/// fastest whose peak memory fits the device is annotated on `module`; the
/// module's `partita.experts` attribute says which and why (`partita plan`
/// prints it).
LogicalResult chooseExperts(ModuleOp module, MeshAttr mesh, FlatSymbolRefAttr meshRef,
                            const ShardingSpecs &specs, StringRef specsSource) {
  SmallVector<graph::MoeDispatchOp> dispatches;
  module.walk([&](graph::MoeDispatchOp op) { dispatches.push_back(op); });
  if (dispatches.empty())
    return module.emitError() << "\"experts\" (from " << specsSource
                              << ") but the model has no mixture-of-experts dispatch";
  auto dividesExperts = [&](int64_t size) {
    return llvm::all_of(dispatches, [&](graph::MoeDispatchOp d) {
      return cast<RankedTensorType>(d.getOutput().getType()).getDimSize(0) % size == 0;
    });
  };
  auto dividesFfn = [&](int64_t size) {
    bool any = false, all = true;
    for (graph::MoeDispatchOp d : dispatches)
      for (Operation *user : d.getOutput().getUsers())
        if (auto mm = dyn_cast<graph::MoeExpertMatMulOp>(user)) {
          any = true;
          all &= mm.getOutput().getType().getDimSize(2) % size == 0;
        }
    return any && all;
  };
  struct Candidate {
    std::optional<std::string> axis, ffn;
    std::string name() const {
      if (!axis)
        return "none";
      return "expert=" + *axis + (ffn ? ", ffn=" + *ffn : "");
    }
  };
  std::vector<Candidate> candidates{{}};
  for (auto [a, sizeA] : llvm::zip(mesh.getNames(), mesh.getSizes())) {
    if (sizeA < 2 || !dividesExperts(sizeA))
      continue;
    candidates.push_back({a.str(), std::nullopt});
    for (auto [b, sizeB] : llvm::zip(mesh.getNames(), mesh.getSizes()))
      if (b != a && sizeB > 1 && dividesFfn(sizeB))
        candidates.push_back({a.str(), b.str()});
  }
  std::string error, origin;
  auto cluster = planner::loadClusterOrLocal(specs.pricingCluster, error, origin);
  if (failed(cluster))
    return module.emitError() << "\"experts\": \"auto\" (from " << specsSource
                              << "): " << error;
  int64_t devices = 1;
  for (int64_t size : mesh.getSizes())
    devices *= size;
  planner::shareDevices(*cluster, devices);
  std::vector<Candidate> priced;
  std::vector<planner::PricedOption> options; // one per priced candidate
  std::string firstFailure;
  for (const Candidate &c : candidates) {
    OwningOpRef<ModuleOp> copy(cast<ModuleOp>(module->clone()));
    std::string message;
    ScopedDiagnosticHandler quiet(module.getContext(), [&](Diagnostic &d) {
      if (message.empty())
        message = d.str();
      return success();
    });
    ShardingSpecs tried = specs;
    tried.expertAxis = c.axis;
    tried.expertFfnAxis = c.ffn;
    PassManager pm(module.getContext(), ModuleOp::getOperationName());
    pm.addPass(sharding::createShardingPropagate());
    pm.addPass(sharding::createShardingPartition());
    pm.addPass(sharding::createCollectivesSimplify());
    if ((c.axis && failed(annotateExperts(*copy, mesh, meshRef, tried, specsSource))) ||
        failed(pm.run(*copy))) {
      if (firstFailure.empty())
        firstFailure = c.name() + ": " + message;
      continue;
    }
    auto report = planner::estimateCost(*copy, *cluster, error);
    if (failed(report)) {
      if (firstFailure.empty())
        firstFailure = c.name() + ": " + error;
      continue;
    }
    priced.push_back(c);
    options.push_back({c.name(), report->stepTime(), report->peakMemory()});
  }
  if (priced.empty())
    return module.emitError() << "\"experts\": \"auto\" (from " << specsSource
                              << "): no assignment partitions (" << firstFailure << ")";
  planner::CostRanking ranking = planner::rankByCost(options, cluster->device.memoryBytes);
  const Candidate &best = priced[ranking.order.front()];
  std::string why = "auto on '" + cluster->name + "': " + ranking.why;
  module->setAttr(kExpertsChoiceAttr, StringAttr::get(module.getContext(), why));
  if (!best.axis)
    return success();
  ShardingSpecs chosenSpecs = specs;
  chosenSpecs.expertAxis = best.axis;
  chosenSpecs.expertFfnAxis = best.ffn;
  return annotateExperts(module, mesh, meshRef, chosenSpecs, specsSource);
}

} // namespace

LogicalResult applyShardingAnnotations(ModuleOp module,
                                       const std::optional<MeshSpec> &flagMesh,
                                       const ShardingSpecs &given,
                                       StringRef specsSource) {
  MLIRContext *ctx = module.getContext();
  ctx->loadDialect<ShardingDialect>();
  // A module with collectives is already one device's SPMD program; the
  // partitioner takes a global model (manual computations are not
  // supported yet).
  Operation *collective = nullptr;
  module.walk([&](Operation *op) {
    if (op->getDialect() && op->getDialect()->getNamespace() == "collectives") {
      collective = op;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (collective)
    return collective->emitError()
           << "the model already contains collectives ('" << collective->getName()
           << "'): partitioning takes a global model, and SPMD programs with explicit "
              "collectives are not supported yet";
  ShardingSpecs specs = given;
  ShardingSpecs fromGraph;
  collectGraphAttrs(module, fromGraph);
  if (!specs.mesh)
    specs.mesh = fromGraph.mesh;
  specs.tensors.insert(specs.tensors.end(), fromGraph.tensors.begin(), fromGraph.tensors.end());

  std::optional<MeshSpec> mesh = flagMesh ? flagMesh : specs.mesh;
  if (flagMesh && specs.mesh) {
    auto sorted = [](MeshSpec m) {
      llvm::sort(m.axes);
      return m.axes;
    };
    if (sorted(*flagMesh) != sorted(*specs.mesh))
      return module.emitError() << "--mesh " << describe(*flagMesh)
                                << " differs from the mesh " << describe(*specs.mesh)
                                << " in " << specsSource;
  }
  if (!mesh) {
    if (specs.tensors.empty())
      return success();
    return module.emitError() << "sharding annotations need a mesh: pass --mesh "
                                 "NAME=SIZE,... or put \"mesh\" in "
                              << specsSource;
  }
  OpBuilder b(ctx);
  b.setInsertionPointToStart(module.getBody());
  SmallVector<StringAttr> names;
  SmallVector<int64_t> sizes;
  for (auto &[n, s] : mesh->axes) {
    names.push_back(b.getStringAttr(n));
    sizes.push_back(s);
  }
  auto meshAttr = MeshAttr::get(ctx, names, sizes);
  // A module that was annotated before (the Python frontend hands its ranks
  // the annotated module) keeps its mesh when it is the same one, axis order
  // included: the order numbers the ranks.
  MeshOp meshOp = module.lookupSymbol<MeshOp>("mesh");
  if (meshOp && meshOp.getMesh() != meshAttr) {
    MeshSpec declared;
    for (auto [n, s] : llvm::zip(meshOp.getMesh().getNames(), meshOp.getMesh().getSizes()))
      declared.axes.push_back({n.str(), s});
    return module.emitError() << "--mesh " << describe(*mesh) << " differs from the mesh "
                              << describe(declared) << " declared in the module";
  }
  if (!meshOp)
    meshOp = MeshOp::create(b, module.getLoc(), "mesh", meshAttr);
  auto meshRef = FlatSymbolRefAttr::get(meshOp.getSymNameAttr());

  // Index every named value once.
  llvm::StringMap<Value> byName;
  llvm::StringMap<std::pair<func::FuncOp, unsigned>> results;
  module.walk([&](Operation *op) {
    if (auto func = dyn_cast<func::FuncOp>(op)) {
      if (func.isExternal())
        return;
      for (Value a : func.getArguments())
        if (std::string n = valueName(a); !n.empty())
          byName.try_emplace(n, a);
      for (unsigned i = 0; i < func.getNumResults(); ++i)
        if (auto n = func.getResultAttrOfType<StringAttr>(i, "graph.name"))
          results.try_emplace(n.getValue(), func, i);
      return;
    }
    for (Value r : op->getResults())
      if (std::string n = valueName(r); !n.empty())
        byName.try_emplace(n, r);
  });

  for (auto &[name, dims] : specs.tensors) {
    SmallVector<DimShardingAttr> dimAttrs;
    for (const DimSpec &d : dims) {
      SmallVector<StringAttr> axes;
      for (const std::string &a : d.axes)
        axes.push_back(b.getStringAttr(a));
      dimAttrs.push_back(DimShardingAttr::get(ctx, axes, !d.open));
    }
    auto priority = specs.priorities.find(name);
    auto attr = TensorShardingAttr::get(
        ctx, meshRef, dimAttrs, {}, {},
        priority != specs.priorities.end() ? priority->second : specs.priority);
    std::string what = "tensor '" + name + "'";
    if (auto it = results.find(name); it != results.end() && !byName.count(name)) {
      auto [func, i] = it->second;
      if (failed(verifySharding(attr, func.getResultTypes()[i], func, what)))
        return failure();
      func.setResultAttr(i, kShardingAttr, attr);
      continue;
    }
    Value v = byName.lookup(name);
    if (!v && results.count(name)) {
      auto [func, i] = results.lookup(name);
      func.setResultAttr(i, kShardingAttr, attr);
      continue;
    }
    if (!v)
      return module.emitError() << "no tensor named '" << name << "' (from "
                                << specsSource << ") in the model";
    Operation *anchor = v.getDefiningOp() ? v.getDefiningOp()
                                          : cast<BlockArgument>(v).getOwner()->getParentOp();
    if (failed(verifySharding(attr, v.getType(), anchor, what)) ||
        failed(checkWindowSplits(v, attr, meshAttr, name)))
      return failure();
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      auto func = cast<func::FuncOp>(arg.getOwner()->getParentOp());
      func.setArgAttr(arg.getArgNumber(), kShardingAttr, attr);
      continue;
    }
    b.setInsertionPointAfter(v.getDefiningOp());
    auto c = ConstraintOp::create(b, v.getLoc(), v, attr);
    v.replaceAllUsesExcept(c.getResult(), c);
  }
  // Attention forms (docs/sequence.md): on the module for all, on the op
  // defining a named output (graph-recognize-composites keeps it on the
  // attention it forms there).
  if (specs.attentionForm)
    module->setAttr(sequence::kAttentionFormAttr, b.getStringAttr(*specs.attentionForm));
  for (auto &[name, form] : specs.attentionForms) {
    Value v = byName.lookup(name);
    if (!v || !v.getDefiningOp())
      return module.emitError() << "no attention output named '" << name << "' (from "
                                << specsSource << ") in the model";
    v.getDefiningOp()->setAttr(sequence::kAttentionFormAttr, b.getStringAttr(form));
  }
  groupDroplessDispatches(module, meshAttr);
  bool autoExperts = specs.expertAxis && *specs.expertAxis == "auto";
  if (specs.expertAxis && !autoExperts &&
      failed(annotateExperts(module, meshAttr, meshRef, specs, specsSource)))
    return failure();
  // A column-split fused projection (QKV) gets head-aligned blocks, for every
  // consumer of the annotated module alike (plan, run --mesh, Python).
  PassManager pm(ctx, ModuleOp::getOperationName());
  pm.addNestedPass<func::FuncOp>(sharding::createShardingSplitFusedProjections());
  if (failed(pm.run(module)))
    return failure();
  // Priced last, on the module as every other annotation leaves it.
  if (autoExperts)
    return chooseExperts(module, meshAttr, meshRef, specs, specsSource);
  return success();
}

} // namespace partita
