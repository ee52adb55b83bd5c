//===- core.cpp - the `partita._core` Python extension --------------------===//
//
// A thin pybind11 layer over the C++ API: import (ONNX, JSON graph IR),
// sharding annotations and propagation, lowering and the CPU JIT. The pure
// Python package (python/partita) builds on these functions; see
// docs/python.md.
//
// Errors: every call captures the MLIR diagnostics of its context; a failure
// raises partita.CompileError(message, location, diagnostics) with the first
// error. Exceptions are C++ exceptions only in this file (compiled with
// -fexceptions); they never unwind through LLVM or MLIR frames.
//
//===----------------------------------------------------------------------===//

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "dialects/Sharding/IR/ShardingOps.h"
#include "partita/Diagnostics.h"
#include "partita/Import/Importer.h"
#include "partita/InitAll.h"
#include "partita/Planner/CostModel.h"
#include "partita/Planner/Solver.h"
#include "partita/Runtime/Compiler.h"
#include "partita/Target/CPU.h"
#include "partita/Runtime/Executor.h"
#include "partita/Runtime/Npy.h"
#include "partita/Runtime/Tensor.h"
#include "partita/Runtime/Train.h"
#include "partita/Sharding/Annotations.h"
#include "partita/Sharding/Spmd.h"
#include "passes/Graph/Passes.h"
#include "passes/Propagation/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <map>
#include <set>

namespace py = pybind11;
using namespace mlir;

namespace {

//===----------------------------------------------------------------------===//
// Contexts and diagnostics
//===----------------------------------------------------------------------===//

const DialectRegistry &registry() {
  static DialectRegistry *r = [] {
    auto *reg = new DialectRegistry;
    partita::registerAllDialects(*reg);
    partita::registerCpuBackendDialects(*reg);
    partita::registerAllPasses();
    return reg;
  }();
  return *r;
}

std::unique_ptr<MLIRContext> newContext() {
  auto ctx = std::make_unique<MLIRContext>(registry());
  ctx->loadAllAvailableDialects();
  return ctx;
}

/// Raises partita.ExecutionError(message).
[[noreturn]] void raiseExecutionError(const std::string &message) {
  py::object cls = py::module_::import("partita._errors").attr("ExecutionError");
  PyErr_SetString(cls.ptr(), message.c_str());
  throw py::error_already_set();
}

struct Diag {
  std::string severity, message, location;
  int64_t node = -1; ///< 1-based node index for imported graphs, -1 otherwise
  std::vector<std::string> names;
};

/// The node index and tensor names of an importer location
/// (NameLoc(name, FileLineColLoc(file, node, 0)), possibly fused).
void describeNode(Location loc, Diag &d) {
  SmallVector<Location> parts;
  if (auto fused = dyn_cast<FusedLoc>(loc))
    parts.append(fused.getLocations().begin(), fused.getLocations().end());
  else
    parts.push_back(loc);
  for (Location p : parts) {
    auto name = dyn_cast<NameLoc>(p);
    if (!name)
      continue;
    d.names.push_back(name.getName().str());
    if (auto file = dyn_cast<FileLineColLoc>(name.getChildLoc()))
      if (file.getColumn() == 0 && file.getLine() > 0 && d.node < 0)
        d.node = file.getLine();
  }
}

/// Collects every diagnostic of `ctx` while alive (nothing is printed).
class DiagCapture {
public:
  explicit DiagCapture(MLIRContext &ctx) : ctx(ctx) {
    id = ctx.getDiagEngine().registerHandler([this](Diagnostic &d) {
      add(d, d.getSeverity());
      for (Diagnostic &note : d.getNotes())
        add(note, DiagnosticSeverity::Note);
      return success();
    });
  }
  ~DiagCapture() { ctx.getDiagEngine().eraseHandler(id); }

  std::vector<Diag> diags;

  py::list toPython() const {
    py::list out;
    for (const Diag &d : diags) {
      py::dict e;
      e["severity"] = d.severity;
      e["message"] = d.message;
      e["location"] = d.location;
      e["node"] = d.node;
      e["names"] = d.names;
      out.append(e);
    }
    return out;
  }

  /// Raises partita.CompileError with the first error (or `fallback`).
  [[noreturn]] void raise(const std::string &fallback) const {
    std::string message = fallback, location;
    for (const Diag &d : diags)
      if (d.severity == "error") {
        message = d.message;
        location = d.location;
        break;
      }
    py::object cls = py::module_::import("partita._errors").attr("CompileError");
    py::object exc = cls(message, location, toPython());
    PyErr_SetObject(cls.ptr(), exc.ptr());
    throw py::error_already_set();
  }

private:
  void add(Diagnostic &d, DiagnosticSeverity severity) {
    Diag r;
    r.severity = severity == DiagnosticSeverity::Error     ? "error"
                 : severity == DiagnosticSeverity::Warning ? "warning"
                 : severity == DiagnosticSeverity::Remark  ? "remark"
                                                           : "note";
    r.message = d.str();
    for (char &c : r.message)
      if (c == '\n')
        c = ' ';
    r.location = partita::describeLocation(d.getLocation());
    describeNode(d.getLocation(), r);
    diags.push_back(std::move(r));
  }

  MLIRContext &ctx;
  DiagnosticEngine::HandlerID id;
};

//===----------------------------------------------------------------------===//
// Loading and printing
//===----------------------------------------------------------------------===//

using InputShapes = std::map<std::string, std::vector<int64_t>>;

partita::ImportOptions importOptions(const InputShapes &shapes) {
  partita::ImportOptions o;
  for (auto &[name, shape] : shapes)
    o.inputShapes[name] = shape;
  o.warnOnDynamicDims = true;
  return o;
}

/// kind: "json" (source is the JSON text), "onnx_bytes" (serialized model),
/// "file" (a path: .onnx, backend-test directory, .json, .mlir).
OwningOpRef<ModuleOp> load(MLIRContext &ctx, const std::string &kind,
                           const std::string &source, const std::string &name,
                           const InputShapes &shapes) {
  partita::ImportOptions o = importOptions(shapes);
  if (kind == "json")
    return partita::importJsonText(ctx, source, name, o);
  if (kind == "onnx_bytes")
    return partita::importOnnxBytes(ctx, source, name, o);
  if (kind == "file")
    return partita::loadModelFile(ctx, source, o);
  throw py::value_error("unknown model kind '" + kind + "'");
}

OwningOpRef<ModuleOp> loadOrRaise(MLIRContext &ctx, DiagCapture &cap,
                                  const std::string &kind, const std::string &source,
                                  const std::string &name, const InputShapes &shapes,
                                  bool composites) {
  OwningOpRef<ModuleOp> module = load(ctx, kind, source, name, shapes);
  if (!module)
    cap.raise("cannot import '" + name + "'");
  if (composites) {
    PassManager pm(&ctx);
    pm.addPass(partita::graph::createGraphRecognizeComposites());
    if (failed(pm.run(*module)))
      cap.raise("forming composite ops failed");
  }
  return module;
}

std::string print(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  OpPrintingFlags flags;
  flags.elideLargeElementsAttrs(16);
  op->print(os, flags);
  return s;
}

std::string typeDType(Type t) {
  if (auto dt = partita::dtypeOf(t))
    return partita::dtypeName(*dt).str();
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

py::tuple describeValue(const std::string &name, Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  std::vector<int64_t> shape;
  std::string dtype = "?";
  if (tensor) {
    shape.assign(tensor.getShape().begin(), tensor.getShape().end());
    dtype = typeDType(tensor.getElementType());
  }
  return py::make_tuple(name, dtype, shape);
}

func::FuncOp mainOf(ModuleOp module) {
  return module.lookupSymbol<func::FuncOp>("main");
}

/// Inputs, outputs and every named tensor of @main.
py::dict summarizeModule(ModuleOp module) {
  py::dict out;
  py::list inputs, outputs, tensors;
  func::FuncOp func = mainOf(module);
  if (!func)
    return out;
  std::set<std::string> seen;
  for (BlockArgument a : func.getArguments()) {
    std::string n = partita::sharding::valueName(a);
    inputs.append(describeValue(n, a.getType()));
    if (!n.empty() && seen.insert(n).second)
      tensors.append(py::make_tuple(n, "input", describeValue(n, a.getType())));
  }
  func.walk([&](Operation *op) {
    bool isParam = op->getName().getStringRef() == "graph.constant";
    for (Value r : op->getResults()) {
      std::string n = partita::sharding::valueName(r);
      if (n.empty() || !seen.insert(n).second)
        continue;
      tensors.append(py::make_tuple(n, isParam ? "parameter" : "value",
                                    describeValue(n, r.getType())));
    }
  });
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto n = func.getResultAttrOfType<StringAttr>(i, "graph.name");
    outputs.append(describeValue(n ? n.str() : "output_" + std::to_string(i),
                                 func.getResultTypes()[i]));
  }
  out["inputs"] = inputs;
  out["outputs"] = outputs;
  out["tensors"] = tensors;
  return out;
}

//===----------------------------------------------------------------------===//
// Shape inference for the graph builder
//===----------------------------------------------------------------------===//

/// One long-lived context: the builder imports a one-node graph per op (its
/// inputs as graph inputs, parameters never inline), so little accumulates.
MLIRContext &inferenceContext() {
  static MLIRContext *ctx = newContext().release();
  return *ctx;
}

py::list inferJson(const std::string &text, const std::string &source) {
  MLIRContext &ctx = inferenceContext();
  DiagCapture cap(ctx);
  partita::ImportOptions o;
  OwningOpRef<ModuleOp> module = partita::importJsonText(ctx, text, source, o);
  if (!module)
    cap.raise("cannot build the node");
  func::FuncOp func = mainOf(*module);
  py::list out;
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto n = func.getResultAttrOfType<StringAttr>(i, "graph.name");
    out.append(describeValue(n ? n.str() : "", func.getResultTypes()[i]));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Annotations and propagation
//===----------------------------------------------------------------------===//

using namespace partita::sharding;

/// (name, [(axes, open), ...], priority); priority < 0: none.
using Spec = std::tuple<std::string, std::vector<std::pair<std::vector<std::string>, bool>>,
                        int64_t>;

/// Gives the annotation of tensor `name` a user priority (the annotation API
/// has none): function arguments/results and the constraints it inserted.
void applyPriority(ModuleOp module, StringRef name, int64_t priority) {
  auto withPriority = [&](TensorShardingAttr a) {
    return TensorShardingAttr::get(a.getContext(), a.getMesh(), a.getDims(),
                                   a.getReplicated(), a.getUnreduced(), priority);
  };
  module.walk([&](func::FuncOp func) {
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      if (auto a = func.getArgAttrOfType<TensorShardingAttr>(i, kShardingAttr))
        if (valueName(func.getArgument(i)) == name)
          func.setArgAttr(i, kShardingAttr, withPriority(a));
    for (unsigned i = 0; i < func.getNumResults(); ++i) {
      auto n = func.getResultAttrOfType<StringAttr>(i, "graph.name");
      if (auto a = func.getResultAttrOfType<TensorShardingAttr>(i, kShardingAttr))
        if (n && n.getValue() == name)
          func.setResultAttr(i, kShardingAttr, withPriority(a));
    }
  });
  module.walk([&](ConstraintOp c) {
    if (valueName(c.getInput()) == name)
      c.setShardingAttr(withPriority(c.getSharding()));
  });
}

/// The sharding `v` has after propagation (null if none).
TensorShardingAttr shardingOf(Value v) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    if (auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp()))
      return func.getArgAttrOfType<TensorShardingAttr>(arg.getArgNumber(), kShardingAttr);
    return {};
  }
  Operation *def = v.getDefiningOp();
  auto r = cast<OpResult>(v);
  if (auto attrs = def->getAttrOfType<ArrayAttr>(kShardingsAttr))
    if (r.getResultNumber() < attrs.size())
      if (auto s = dyn_cast<TensorShardingAttr>(attrs[r.getResultNumber()]))
        return s;
  if (auto c = dyn_cast<ConstraintOp>(def))
    return c.getSharding();
  return {};
}

/// Sizes of one reshard: the operand's global and per-device bytes, the
/// devices in the collective's group and an estimate of the bytes each device
/// sends (ring algorithms), docs/python.md.
py::dict reshardBytes(const ReshardNeed &n) {
  py::dict d;
  Value v = n.op->getOperand(n.operandIndex);
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !type.hasStaticShape())
    return d;
  int64_t elemBytes = std::max<int64_t>(1, (type.getElementTypeBitWidth() + 7) / 8);
  int64_t global = type.getNumElements() * elemBytes;
  int64_t local = global;
  int64_t group = 1;
  if (TensorShardingAttr s = shardingOf(v))
    if (MeshAttr mesh = lookupMesh(s, n.op)) {
      for (DimShardingAttr dim : s.getDims())
        for (StringAttr a : dim.getAxes())
          local /= *mesh.getAxisSize(a.getValue());
      for (const std::string &a : n.axes)
        if (auto size = mesh.getAxisSize(a))
          group *= *size;
    }
  double sent = 0;
  if (n.collective == "all_reduce")
    sent = 2.0 * (group - 1) / group * local;
  else if (n.collective == "all_gather")
    sent = double(group - 1) * local;
  else if (n.collective == "all_to_all")
    sent = double(group - 1) / group * local;
  d["dtype"] = typeDType(type.getElementType());
  d["shape"] = std::vector<int64_t>(type.getShape().begin(), type.getShape().end());
  d["bytes"] = global;
  d["local_bytes"] = local;
  d["group_size"] = group;
  d["sent_bytes_per_device"] = int64_t(sent + 0.5);
  return d;
}

/// The cluster the cost model and the solver use for `mesh`: a preset or
/// JSON file; a mesh with more devices than the cluster shares them
/// (planner::shareDevices), as `partita run --strategy auto` does. `note`
/// says so.
partita::planner::Cluster clusterFor(const std::string &name, int64_t devices,
                                     std::string &note) {
  std::string error;
  auto c = partita::planner::loadCluster(name, error);
  if (failed(c)) {
    py::object cls = py::module_::import("partita._errors").attr("CompileError");
    py::object exc = cls(error, name);
    PyErr_SetObject(cls.ptr(), exc.ptr());
    throw py::error_already_set();
  }
  if (int64_t k = partita::planner::shareDevices(*c, devices); k > 1)
    note = "cluster '" + c->name + "' has " + std::to_string(c->numDevices() / k) +
           " devices; the " + std::to_string(devices) + " devices of the mesh share them (" +
           std::to_string(k) + " per device, each modeled as 1/" + std::to_string(k) +
           " of a device)";
  return std::move(*c);
}

[[noreturn]] void raiseCompileError(const std::string &message, const std::string &location) {
  py::object cls = py::module_::import("partita._errors").attr("CompileError");
  py::object exc = cls(message, location);
  PyErr_SetObject(cls.ptr(), exc.ptr());
  throw py::error_already_set();
}

py::object parseJson(const std::string &text) {
  return py::module_::import("json").attr("loads")(text);
}

py::array toNumpy(const partita::HostTensor &t);
std::vector<partita::HostTensor> toHostTensors(const partita::ModelSignature &sig,
                                               const std::vector<py::array> &arrays);
/// One array as the tensor `spec` describes (dtype and shape checked).
partita::HostTensor toHostTensor(const partita::TensorSpec &spec, const py::array &array);
py::list specList(const std::vector<partita::TensorSpec> &specs);
py::list defaultsOf(const partita::ModelSignature &sig);

/// A compiled (annotated and propagated) model with its mesh: the modules
/// the later stages start from. Owns its context.
class Program {
public:
  Program(std::unique_ptr<MLIRContext> ctx, OwningOpRef<ModuleOp> annotated,
          OwningOpRef<ModuleOp> propagated, bool conservative, std::string cluster,
          int64_t devices)
      : ctx(std::move(ctx)), annotated(std::move(annotated)),
        propagated(std::move(propagated)), conservative(conservative),
        clusterName(std::move(cluster)), devices(devices) {}

  /// The SPMD program every rank runs (before the constants are localized
  /// to one rank), as `partita run --mesh` builds it.
  std::string partitioned() {
    DiagCapture cap(*ctx);
    OwningOpRef<ModuleOp> m(cast<ModuleOp>((*annotated)->clone()));
    partita::SpmdOptions options;
    options.conservative = conservative;
    if (failed(partita::partitionSpmd(*m, options)))
      cap.raise("SPMD partitioning failed");
    return print(*m);
  }

  /// The cost model's prediction for the partitioned program on the
  /// cluster: (report as a dict, text, note).
  py::tuple cost() {
    if (!costJson.empty())
      return py::make_tuple(parseJson(costJson), costText, clusterNote);
    DiagCapture cap(*ctx);
    partita::planner::Cluster cluster = clusterFor(clusterName, devices, clusterNote);
    // Cost what the plan shows: the propagated module, partitioned.
    OwningOpRef<ModuleOp> m(cast<ModuleOp>((*propagated)->clone()));
    if (failed(partita::runPassPipeline(*m, "sharding-partition,collectives-simplify")))
      cap.raise("SPMD partitioning failed");
    std::string error;
    auto report = partita::planner::estimateCost(*m, cluster, error);
    if (failed(report))
      raiseCompileError(error, clusterName);
    costJson = partita::planner::costReportJson(*report, cluster);
    llvm::raw_string_ostream os(costText);
    partita::planner::printCostReport(*report, cluster, os);
    return py::make_tuple(parseJson(costJson), costText, clusterNote);
  }

  /// Writes the annotated module (its mesh, annotations and, with
  /// strategy="auto", the solver's constraints) as MLIR text for the ranks.
  void writeModel(const std::string &path) {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    if (ec)
      throw std::runtime_error("cannot write '" + path + "': " + ec.message());
    annotated->print(os);
  }

  const partita::ModelSignature &signature() {
    if (!sig) {
      DiagCapture cap(*ctx);
      OwningOpRef<ModuleOp> m(cast<ModuleOp>((*annotated)->clone()));
      auto s = partita::getSignature(*m);
      if (failed(s))
        cap.raise("the model cannot run on the CPU backend");
      sig = std::move(*s);
    }
    return *sig;
  }
  py::list inputs() { return specList(signature().inputs); }
  py::list outputs() { return specList(signature().outputs); }
  py::list defaults() { return defaultsOf(signature()); }

  /// Writes `dir`/input_K.npy (bf16 converted from float32); returns the paths.
  std::vector<std::string> writeInputs(const std::string &dir,
                                       const std::vector<py::array> &arrays) {
    std::vector<partita::HostTensor> tensors = toHostTensors(signature(), arrays);
    std::vector<std::string> paths;
    for (size_t i = 0; i < tensors.size(); ++i) {
      paths.push_back(dir + "/input_" + std::to_string(i) + ".npy");
      if (llvm::Error e = partita::writeNpyFile(paths.back(), tensors[i]))
        throw std::runtime_error(llvm::toString(std::move(e)));
    }
    return paths;
  }

  /// Reads `dir`/output_K.npy, checked against the signature.
  py::list readOutputs(const std::string &dir) {
    py::list out;
    const partita::ModelSignature &s = signature();
    for (size_t i = 0; i < s.outputs.size(); ++i) {
      std::string path = dir + "/output_" + std::to_string(i) + ".npy";
      auto t = partita::readNpyFile(path);
      if (!t) {
        raiseExecutionError("the ranks wrote no output '" + s.outputs[i].name +
                            "': " + llvm::toString(t.takeError()));
      }
      out.append(toNumpy(*t));
    }
    return out;
  }

private:
  std::unique_ptr<MLIRContext> ctx;
  OwningOpRef<ModuleOp> annotated, propagated;
  bool conservative;
  std::string clusterName;
  int64_t devices;
  std::optional<partita::ModelSignature> sig;
  std::string costJson, costText, clusterNote;
};

py::dict solverSummary(const partita::planner::SolverResult &r) {
  py::dict d;
  d["ops"] = r.ops;
  d["groups"] = r.groups;
  d["tied_layers"] = r.tiedLayers;
  d["variables"] = r.variables;
  d["constraints"] = r.constraints;
  d["predicted_time_s"] = r.predictedTime;
  d["predicted_memory_bytes"] = r.predictedMemory;
  d["solve_seconds"] = r.solveSeconds;
  d["optimal"] = r.optimal;
  d["timed_out"] = r.timedOut;
  d["fits_budget"] = r.fitsBudget;
  d["status"] = r.status;
  return d;
}

py::dict plan(const std::string &kind, const std::string &source, const std::string &name,
              const InputShapes &shapes,
              const std::optional<std::vector<std::pair<std::string, int64_t>>> &mesh,
              const std::vector<Spec> &specs, bool conservative, bool explain,
              bool composites, bool openOutputs, const std::string &strategy,
              const std::string &cluster, double solverTimeLimit,
              const std::string &attentionForm,
              const std::map<std::string, std::string> &attentionForms,
              const std::string &expertAxis, const std::string &expertFfnAxis) {
  auto ctx = newContext();
  DiagCapture cap(*ctx);
  OwningOpRef<ModuleOp> module =
      loadOrRaise(*ctx, cap, kind, source, name, shapes, composites);
  py::dict out;
  out["imported"] = print(*module);
  out["summary"] = summarizeModule(*module);

  std::optional<partita::MeshSpec> meshSpec;
  int64_t devices = 1;
  if (mesh) {
    meshSpec.emplace();
    meshSpec->axes = *mesh;
    for (auto &[axis, size] : *mesh)
      devices *= size;
  }
  partita::ShardingSpecs given;
  // docs/sequence.md: the form of attention over a split sequence.
  if (!attentionForm.empty())
    given.attentionForm = attentionForm;
  given.attentionForms = attentionForms;
  // docs/experts.md: the expert axis ("auto": chosen by cost on `cluster`).
  if (!expertAxis.empty())
    given.expertAxis = expertAxis;
  if (!expertFfnAxis.empty())
    given.expertFfnAxis = expertFfnAxis;
  given.pricingCluster = cluster;
  std::set<std::string> annotated;
  for (auto &[tensor, dims, priority] : specs) {
    std::vector<partita::DimSpec> ds;
    for (auto &[axes, open] : dims)
      ds.push_back({axes, open});
    given.tensors.push_back({tensor, ds});
    annotated.insert(tensor);
  }
  // Outputs nobody annotated are fully open: any layout, but never left as
  // partial sums (the caller gets whole values back).
  if (openOutputs && meshSpec)
    if (func::FuncOp func = mainOf(*module))
      for (unsigned i = 0; i < func.getNumResults(); ++i) {
        auto n = func.getResultAttrOfType<StringAttr>(i, "graph.name");
        auto type = dyn_cast<RankedTensorType>(func.getResultTypes()[i]);
        if (!n || !type || annotated.count(n.str()))
          continue;
        annotated.insert(n.str());
        given.tensors.push_back(
            {n.str(), std::vector<partita::DimSpec>(type.getRank(), {{}, true})});
      }
  if (failed(partita::applyShardingAnnotations(*module, meshSpec, given,
                                               "the annotations")))
    cap.raise("the sharding annotations are invalid");
  for (auto &[tensor, dims, priority] : specs)
    if (priority >= 0)
      applyPriority(*module, tensor, priority);
  out["annotated"] = print(*module);

  bool hasMesh = !module->getOps<MeshOp>().empty();
  out["has_mesh"] = hasMesh;
  if (!hasMesh) {
    if (strategy == "auto")
      raiseCompileError("strategy='auto' needs a mesh: compile(model, mesh=Mesh({...}), "
                        "strategy='auto')",
                        name);
    out["diagnostics"] = cap.toPython();
    return out;
  }
  if (!meshSpec)
    if (auto m = module->lookupSymbol<MeshOp>("mesh"))
      devices = m.getMesh().getNumDevices();
  // strategy="auto": the solver turns every tensor the user left open into a
  // constraint (the user's annotations stay as they are), as `partita plan
  // --strategy auto` does; propagation then runs unchanged.
  if (strategy == "auto") {
    std::string note;
    partita::planner::Cluster c = clusterFor(cluster, devices, note);
    if (!note.empty())
      out["cluster_note"] = note;
    partita::planner::SolverOptions options;
    options.timeLimit = solverTimeLimit;
    std::string error;
    auto solved = partita::planner::solveShardings(*module, c, options, error);
    if (failed(solved))
      raiseCompileError(error, name);
    out["solver"] = solverSummary(*solved);
    out["solved"] = print(*module);
  }
  OwningOpRef<ModuleOp> annotatedModule(cast<ModuleOp>((*module)->clone()));
  auto reshards = propagateShardings(*module, {conservative, explain});
  if (failed(reshards))
    cap.raise("sharding propagation failed");
  out["propagated"] = print(*module);
  std::string text, json;
  llvm::raw_string_ostream textOs(text), jsonOs(json);
  partita::printShardingPlan(*module, *reshards, textOs, &jsonOs);
  out["plan_text"] = text;
  out["plan_json"] = json;
  py::list sizes;
  for (const ReshardNeed &n : *reshards)
    sizes.append(reshardBytes(n));
  out["reshard_sizes"] = sizes;
  out["diagnostics"] = cap.toPython();
  // The reshards point into `module`; they are done with.
  reshards->clear();
  out["program"] = Program(std::move(ctx), std::move(annotatedModule), std::move(module),
                           conservative, cluster, devices);
  return out;
}

//===----------------------------------------------------------------------===//
// Lowering and running
//===----------------------------------------------------------------------===//

uint16_t floatToBf16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffff) > 0x7f800000) // NaN: keep it a (quiet) NaN
    return uint16_t((bits >> 16) | 0x40);
  uint32_t rounding = 0x7fff + ((bits >> 16) & 1); // round to nearest even
  return uint16_t((bits + rounding) >> 16);
}

/// numpy's name for a DType (bf16 travels as float32).
const char *numpyName(partita::DType t) {
  using partita::DType;
  switch (t) {
  case DType::F16: return "float16";
  case DType::BF16: return "float32";
  case DType::F32: return "float32";
  case DType::F64: return "float64";
  case DType::I1: return "bool";
  case DType::I8: return "int8";
  case DType::I16: return "int16";
  case DType::I32: return "int32";
  case DType::I64: return "int64";
  case DType::U8: return "uint8";
  case DType::U16: return "uint16";
  case DType::U32: return "uint32";
  case DType::U64: return "uint64";
  }
  return "float32";
}

py::tuple specTuple(const partita::TensorSpec &s) {
  return py::make_tuple(s.name, partita::dtypeName(s.dtype).str(), s.shape,
                        numpyName(s.dtype));
}

py::list specList(const std::vector<partita::TensorSpec> &specs) {
  py::list l;
  for (auto &s : specs)
    l.append(specTuple(s));
  return l;
}

py::array toNumpy(const partita::HostTensor &t) {
  py::array a(py::dtype(numpyName(t.dtype)), t.shape);
  if (t.dtype == partita::DType::BF16) {
    auto *dst = static_cast<float *>(a.mutable_data());
    auto *src = reinterpret_cast<const uint16_t *>(t.data.data());
    for (int64_t k = 0; k < t.numElements(); ++k)
      dst[k] = partita::bf16ToFloat(src[k]);
  } else if (t.numBytes()) {
    std::memcpy(a.mutable_data(), t.data.data(), t.numBytes());
  }
  return a;
}

/// Baked-in values of specialized inputs (None where there is none).
py::list defaultsOf(const partita::ModelSignature &sig) {
  py::list l;
  for (auto &s : sig.inputs)
    l.append(s.value ? toNumpy(*s.value) : py::object(py::none()));
  return l;
}

/// `arrays`: C-contiguous numpy arrays already of numpyName(dtype) and the
/// signature's shapes (the Python layer converts and checks).
std::vector<partita::HostTensor> toHostTensors(const partita::ModelSignature &sig,
                                               const std::vector<py::array> &arrays) {
  if (arrays.size() != sig.inputs.size())
    throw py::value_error("the model takes " + std::to_string(sig.inputs.size()) +
                          " inputs, got " + std::to_string(arrays.size()));
  std::vector<partita::HostTensor> ins;
  for (size_t i = 0; i < arrays.size(); ++i)
    ins.push_back(toHostTensor(sig.inputs[i], arrays[i]));
  return ins;
}

partita::HostTensor toHostTensor(const partita::TensorSpec &s, const py::array &a) {
  {
    partita::HostTensor t(s.dtype, s.shape);
    bool bf16 = s.dtype == partita::DType::BF16;
    size_t want = bf16 ? t.numElements() * 4 : t.numBytes();
    if (!(a.flags() & py::array::c_style) || size_t(a.nbytes()) != want)
      throw py::value_error("input '" + s.name + "': expected a C-contiguous " +
                            numpyName(s.dtype) + " array of shape " +
                            partita::shapeString(s.shape));
    if (bf16) {
      const float *src = static_cast<const float *>(a.data());
      auto *dst = reinterpret_cast<uint16_t *>(t.data.data());
      for (int64_t k = 0; k < t.numElements(); ++k)
        dst[k] = floatToBf16(src[k]);
    } else if (want) {
      std::memcpy(t.data.data(), a.data(), want);
    }
    return t;
  }
}

class Executable {
public:
  Executable(const std::string &kind, const std::string &source, const std::string &name,
             const InputShapes &shapes, bool composites, const std::string &target)
      : ctx(newContext()) {
    DiagCapture cap(*ctx);
    partita::CompileOptions options;
    options.target = target;
    if (target == "cuda")
      if (std::string problem = partita::cudaDeviceProblem(); !problem.empty())
        raiseExecutionError(problem);
    module = loadOrRaise(*ctx, cap, kind, source, name, shapes, composites);
    auto signature = partita::getSignature(*module);
    if (failed(signature))
      cap.raise("the model cannot run on the CPU backend");
    sig = *signature;
    partita::StageTimer timer;
    if (failed(partita::lowerToLLVM(*module, options, timer, &sig)))
      cap.raise("lowering to LLVM failed");
    exec = partita::Executor::create(*module, sig);
    if (!exec)
      cap.raise("JIT compilation failed");
    diagnostics = cap.toPython();
  }

  std::string lowered() { return print(*module); }

  py::list inputs() const { return specList(sig.inputs); }
  py::list outputs() const { return specList(sig.outputs); }
  py::list defaults() const { return defaultsOf(sig); }

  py::list run(const std::vector<py::array> &arrays) {
    std::vector<partita::HostTensor> ins = toHostTensors(sig, arrays);
    std::vector<partita::HostTensor> outs;
    std::string error;
    {
      py::gil_scoped_release release;
      if (llvm::Error e = exec->run(ins, outs))
        error = llvm::toString(std::move(e));
    }
    if (!error.empty())
      raiseExecutionError("execution failed: " + error);
    py::list result;
    for (const partita::HostTensor &t : outs)
      result.append(toNumpy(t));
    return result;
  }

  py::list diagnostics;

private:
  std::unique_ptr<MLIRContext> ctx;
  OwningOpRef<ModuleOp> module;
  partita::ModelSignature sig;
  std::unique_ptr<partita::Executor> exec;
};

/// A training step compiled for this CPU (partita train, one device): the
/// parameters and optimizer state stay here between steps.
class Trainer {
public:
  Trainer(const std::string &kind, const std::string &source, const std::string &name,
          const InputShapes &shapes, const py::dict &options)
      : ctx(newContext()) {
    DiagCapture cap(*ctx);
    partita::ImportOptions io = importOptions(shapes);
    io.keepFloatInitializers = true; // initializers stay parameters
    if (kind == "json")
      module = partita::importJsonText(*ctx, source, name, io);
    else if (kind == "onnx_bytes")
      module = partita::importOnnxBytes(*ctx, source, name, io);
    else if (kind == "file")
      module = partita::loadModelFile(*ctx, source, io);
    else
      throw py::value_error("unknown model kind '" + kind + "'");
    if (!module)
      cap.raise("cannot import '" + name + "'");
    partita::TrainOptions o;
    auto str = [&](const char *k, std::string &v) {
      if (options.contains(k))
        v = py::cast<std::string>(options[k]);
    };
    auto num = [&](const char *k, double &v) {
      if (options.contains(k))
        v = py::cast<double>(options[k]);
    };
    str("loss", o.loss);
    str("output", o.output);
    str("optimizer", o.optimizer);
    str("recompute", o.recompute);
    str("precision", o.precision);
    num("lr", o.lr);
    num("momentum", o.momentum);
    num("weight_decay", o.weightDecay);
    num("clip_norm", o.clipNorm);
    num("beta1", o.beta1);
    num("beta2", o.beta2);
    num("epsilon", o.epsilon);
    if (options.contains("ignore_index"))
      o.ignoreIndex = py::cast<int64_t>(options["ignore_index"]);
    if (options.contains("microbatches"))
      o.microbatches = py::cast<unsigned>(options["microbatches"]);
    if (failed(partita::prepareTrainingStep(*ctx, *module, o, step)))
      cap.raise("cannot build the training step");
    auto signature = partita::getSignature(*module);
    if (failed(signature))
      cap.raise("the training step cannot run on the CPU backend");
    sig = *signature;
    partita::CompileOptions compile;
    partita::StageTimer timer;
    if (failed(partita::lowerToLLVM(*module, compile, timer, &sig)))
      cap.raise("lowering to LLVM failed");
    exec = partita::Executor::create(*module, sig);
    if (!exec)
      cap.raise("JIT compilation failed");
    values = step.values;
    diagnostics = cap.toPython();
  }

  /// The batch's names (@main's inputs) and whether labels are taken.
  py::list inputs() const {
    py::list l;
    for (size_t i = 0; i < step.roles.size(); ++i)
      if (step.roles[i] == "input")
        l.append(specList({sig.inputs[i]})[0]);
    return l;
  }
  py::object labels() const {
    for (size_t i = 0; i < step.roles.size(); ++i)
      if (step.roles[i] == "label")
        return specList({sig.inputs[i]})[0];
    return py::none();
  }

  /// One step on `batch` (and `labels`); returns the loss.
  double run(const std::vector<py::array> &batch, const py::object &labels) {
    size_t k = 0;
    for (size_t i = 0; i < step.roles.size(); ++i) {
      if (step.roles[i] == "input") {
        if (k >= batch.size())
          throw py::value_error("the model takes more inputs than the " +
                                std::to_string(batch.size()) + " given");
        values[i] = toHostTensor(sig.inputs[i], batch[k++]);
      } else if (step.roles[i] == "label") {
        if (labels.is_none())
          throw py::value_error("this loss takes labels: step(inputs, labels)");
        values[i] = toHostTensor(sig.inputs[i], py::cast<py::array>(labels));
      }
    }
    if (k != batch.size())
      throw py::value_error("the model takes " + std::to_string(k) + " inputs, got " +
                            std::to_string(batch.size()));
    ++steps;
    if (step.stepArg >= 0)
      values[step.stepArg] = partita::TrainingStep::stepValue(steps);
    std::vector<partita::HostTensor> outs;
    std::string error;
    {
      py::gil_scoped_release release;
      if (llvm::Error e = exec->run(values, outs))
        error = llvm::toString(std::move(e));
    }
    if (!error.empty())
      raiseExecutionError("execution failed: " + error);
    for (size_t r = 0; r < outs.size(); ++r)
      if (step.updates[r] >= 0)
        values[step.updates[r]] = std::move(outs[r]);
    return outs[0].getDouble(0);
  }

  /// Parameter name -> its current value.
  py::dict parameters() const {
    py::dict d;
    for (auto [arg, t] : step.parameters(values))
      d[py::str(step.names[arg])] = toNumpy(*t);
    return d;
  }

  py::list diagnostics;

private:
  std::unique_ptr<MLIRContext> ctx;
  OwningOpRef<ModuleOp> module;
  partita::ModelSignature sig;
  partita::TrainingStep step;
  std::vector<partita::HostTensor> values;
  std::unique_ptr<partita::Executor> exec;
  unsigned steps = 0;
};

} // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "Partita's C++ core (import, sharding propagation, CPU JIT)";
  m.def("supported_ops", &partita::supportedOnnxOps,
        "The ONNX op types (and Partita composites) the importers accept.");
  m.def("infer", &inferJson, py::arg("json"), py::arg("source"),
        "Imports a small JSON graph; returns (name, dtype, shape) per output.");
  m.def(
      "summarize",
      [](const std::string &kind, const std::string &source, const std::string &name,
         const InputShapes &shapes, bool composites) {
        auto ctx = newContext();
        DiagCapture cap(*ctx);
        OwningOpRef<ModuleOp> module =
            loadOrRaise(*ctx, cap, kind, source, name, shapes, composites);
        py::dict d = summarizeModule(*module);
        d["diagnostics"] = cap.toPython();
        return d;
      },
      py::arg("kind"), py::arg("source"), py::arg("name"), py::arg("input_shapes"),
      py::arg("composites") = false);
  m.def(
      "export_json",
      [](const std::string &kind, const std::string &source, const std::string &name,
         const InputShapes &shapes, bool composites) {
        auto ctx = newContext();
        DiagCapture cap(*ctx);
        OwningOpRef<ModuleOp> module =
            loadOrRaise(*ctx, cap, kind, source, name, shapes, composites);
        std::string s;
        llvm::raw_string_ostream os(s);
        if (failed(partita::exportJson(*module, os)))
          cap.raise("the model has no JSON spelling");
        return s;
      },
      py::arg("kind"), py::arg("source"), py::arg("name"), py::arg("input_shapes"),
      py::arg("composites") = false);
  m.def("plan", &plan, py::arg("kind"), py::arg("source"), py::arg("name"),
        py::arg("input_shapes"), py::arg("mesh"), py::arg("specs"),
        py::arg("conservative") = false, py::arg("explain") = false,
        py::arg("composites") = false, py::arg("open_outputs") = true,
        py::arg("strategy") = "none", py::arg("cluster") = "cpu-local",
        py::arg("solver_time_limit") = 60.0, py::arg("attention") = "",
        py::arg("attention_forms") = std::map<std::string, std::string>(),
        py::arg("expert_axis") = "", py::arg("expert_ffn_axis") = "",
        "Imports, annotates, (strategy='auto') solves and propagates; returns the "
        "stages, the plan and (with a mesh) a Program.");
  py::class_<Program>(m, "Program")
      .def("partitioned", &Program::partitioned)
      .def("cost", &Program::cost)
      .def("write_model", &Program::writeModel, py::arg("path"))
      .def("inputs", &Program::inputs)
      .def("outputs", &Program::outputs)
      .def("defaults", &Program::defaults)
      .def("write_inputs", &Program::writeInputs, py::arg("dir"), py::arg("arrays"))
      .def("read_outputs", &Program::readOutputs, py::arg("dir"));
  py::class_<Trainer>(m, "Trainer")
      .def(py::init<const std::string &, const std::string &, const std::string &,
                    const InputShapes &, const py::dict &>())
      .def("inputs", &Trainer::inputs)
      .def("labels", &Trainer::labels)
      .def("step", &Trainer::run, py::arg("batch"), py::arg("labels") = py::none())
      .def("parameters", &Trainer::parameters)
      .def_readonly("diagnostics", &Trainer::diagnostics);
  py::class_<Executable>(m, "Executable")
      .def(py::init<const std::string &, const std::string &, const std::string &,
                    const InputShapes &, bool, const std::string &>(),
           py::arg("kind"), py::arg("source"), py::arg("name"), py::arg("input_shapes"),
           py::arg("composites") = false, py::arg("target") = "cpu")
      .def("lowered", &Executable::lowered)
      .def("inputs", &Executable::inputs)
      .def("outputs", &Executable::outputs)
      .def("defaults", &Executable::defaults)
      .def("run", &Executable::run)
      .def_readonly("diagnostics", &Executable::diagnostics);
}
