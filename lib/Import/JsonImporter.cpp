//===- JsonImporter.cpp - the Partita JSON graph IR -> graph dialect ------===//
//
// Reads docs/json-format.md into a GraphDesc; nodes are ONNX-style and go
// through the same handler table as the ONNX importer (via JsonNodeView).
// Every structural problem is reported as `<file>: error: <json path>: ...`
// before any op is built; problems found while building (unknown op,
// dangling value, cycle, bad attribute values) are located at the node.
//
//===----------------------------------------------------------------------===//

#include "GraphDriver.h"
#include "JsonCommon.h"
#include "JsonReader.h"
#include "OpImporters.h"

#include "partita/Import/Importer.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace partita::import {

Type jsonElementType(MLIRContext *ctx, StringRef name) {
  Builder b(ctx);
  return llvm::StringSwitch<Type>(name)
      .Case("f16", b.getF16Type())
      .Case("bf16", b.getBF16Type())
      .Case("f32", b.getF32Type())
      .Case("f64", b.getF64Type())
      .Case("i1", b.getI1Type())
      .Case("bool", b.getI1Type())
      .Case("i8", b.getIntegerType(8))
      .Case("i16", b.getIntegerType(16))
      .Case("i32", b.getIntegerType(32))
      .Case("i64", b.getIntegerType(64))
      .Case("u8", b.getIntegerType(8, false))
      .Case("u16", b.getIntegerType(16, false))
      .Case("u32", b.getIntegerType(32, false))
      .Case("u64", b.getIntegerType(64, false))
      .Default(Type());
}

std::string jsonTypeName(Type t) {
  if (t.isF16()) return "f16";
  if (t.isBF16()) return "bf16";
  if (t.isF32()) return "f32";
  if (t.isF64()) return "f64";
  if (t.isInteger(1)) return "i1";
  if (auto i = dyn_cast<IntegerType>(t))
    if (llvm::is_contained({8u, 16u, 32u, 64u}, i.getWidth()))
      return (i.isUnsigned() ? "u" : "i") + std::to_string(i.getWidth());
  return "";
}

int onnxDataType(Type t) {
  for (int dt = 1; dt <= 16; ++dt)
    if (Type candidate = onnxElementType(t.getContext(), dt))
      if (candidate == t)
        return dt;
  return 0;
}

namespace {

using namespace json;

/// One JSON node seen through the NodeView interface.
class JsonNodeView : public NodeView {
public:
  JsonNodeView(Reader &reader, const Json &attrs, std::string op,
               std::string domain, std::string name,
               std::vector<std::string> ins, std::vector<std::string> outs,
               std::string path)
      : reader(reader), attrs(attrs), op(std::move(op)),
        dom(std::move(domain)), nm(std::move(name)), ins(std::move(ins)),
        outs(std::move(outs)), path(std::move(path)) {}

  StringRef opType() const override { return op; }
  StringRef domain() const override { return dom; }
  StringRef name() const override { return nm; }
  const std::vector<std::string> &inputs() const override { return ins; }
  const std::vector<std::string> &outputs() const override { return outs; }

  bool hasAttr(StringRef n) const override { return find(n) != nullptr; }
  std::vector<std::string> attrNames() const override {
    std::vector<std::string> names;
    for (auto it = attrs.begin(); it != attrs.end(); ++it)
      names.push_back(it.key());
    return names;
  }
  std::optional<int64_t> getInt(StringRef n) const override {
    const Json *a = find(n);
    if (a && a->is_boolean())
      return a->get<bool>() ? 1 : 0;
    return a ? asInt(*a) : std::nullopt;
  }
  std::optional<double> getFloat(StringRef n) const override {
    const Json *a = find(n);
    return a ? asDouble(*a) : std::nullopt;
  }
  std::optional<std::string> getString(StringRef n) const override {
    const Json *a = find(n);
    if (a && a->is_string())
      return a->get<std::string>();
    return std::nullopt;
  }
  std::optional<std::vector<int64_t>> getInts(StringRef n) const override {
    const Json *a = find(n);
    if (!a || !a->is_array())
      return std::nullopt;
    std::vector<int64_t> out;
    for (const Json &e : *a) {
      auto v = asInt(e);
      if (!v)
        return std::nullopt;
      out.push_back(*v);
    }
    return out;
  }
  std::optional<std::vector<double>> getFloats(StringRef n) const override {
    const Json *a = find(n);
    if (!a || !a->is_array())
      return std::nullopt;
    std::vector<double> out;
    for (const Json &e : *a) {
      auto v = asDouble(e);
      if (!v)
        return std::nullopt;
      out.push_back(*v);
    }
    return out;
  }
  std::optional<ElementsAttr> getTensor(StringRef n, MLIRContext *,
                                        Location loc) const override {
    const Json *a = find(n);
    if (!a || !a->is_object())
      return std::nullopt;
    auto t = reader.tensor(*a, path + ".attrs." + n.str(), loc);
    return failed(t) ? ElementsAttr() : *t;
  }

private:
  const Json *find(StringRef n) const {
    auto it = attrs.find(n.str());
    return it == attrs.end() ? nullptr : &*it;
  }
  Reader &reader;
  const Json &attrs;
  std::string op, dom, nm;
  std::vector<std::string> ins, outs;
  std::string path;
};

/// Collects nlohmann's parse error (with line and column) without exceptions.
struct ParseErrorSax : nlohmann::json_sax<Json> {
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t &) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string &,
                   const nlohmann::detail::exception &ex) override {
    message = ex.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
    if (size_t p = message.find("] "); p != std::string::npos)
      message = message.substr(p + 2);
    return false;
  }
};

/// The per-tensor names a node lists; null stands for an absent optional.
FailureOr<std::vector<std::string>> names(Reader &r, const Json &node,
                                          StringRef key, const std::string &path) {
  std::vector<std::string> out;
  auto it = node.find(key.str());
  if (it == node.end())
    return r.error(path + "." + key.str()) << "missing (expected a list of tensor names)";
  if (!it->is_array())
    return r.error(path + "." + key.str()) << "expected a list of tensor names";
  for (const Json &n : *it) {
    if (!n.is_string() && !n.is_null())
      return r.error(path + "." + key.str())
             << "expected a list of tensor names (null or \"\" for an absent optional)";
    out.push_back(n.is_null() ? "" : n.get<std::string>());
  }
  return out;
}

struct Importer {
  Reader r;
  GraphDesc g;
  /// Sharding of every named tensor, and where it was given (for errors).
  llvm::StringMap<std::pair<ArrayAttr, std::string>> shardings;

  Importer(MLIRContext &ctx, StringRef source, StringRef baseDir)
      : r(ctx, source, baseDir) {
    g.source = source.str();
  }

  LogicalResult addSharding(const std::string &tensor, const Json &j,
                            const std::string &path, int64_t rank) {
    auto s = r.sharding(j, path, rank);
    if (failed(s))
      return failure();
    if (!shardings.try_emplace(tensor, *s, path).second)
      return r.error(path) << "tensor '" << tensor
                           << "' already has a sharding (at "
                           << shardings[tensor].second << ")";
    return success();
  }

  LogicalResult readTop(const Json &doc) {
    if (!doc.is_object())
      return r.error("(top level)") << "expected a JSON object";
    if (failed(r.checkKeys(doc, "", {"format", "version", "name", "opset", "mesh",
                                     "inputs", "parameters", "nodes", "outputs",
                                     "shardings", "doc"})))
      return failure();
    auto fmt = doc.find("format");
    if (fmt == doc.end() || !fmt->is_string() || *fmt != kJsonFormatName)
      return r.error("format") << "expected \"" << kJsonFormatName << "\"";
    auto ver = doc.find("version");
    std::optional<int64_t> v = ver == doc.end() ? std::nullopt : asInt(*ver);
    if (v != kJsonFormatVersion) {
      auto d = r.error("version");
      if (v)
        d << "unsupported version " << *v;
      else
        d << "missing or not an integer";
      return d << " (this build reads version " << kJsonFormatVersion << ")";
    }
    if (auto it = doc.find("opset"); it != doc.end()) {
      auto o = asInt(*it);
      if (!o || *o < 1)
        return r.error("opset") << "expected a positive integer";
      g.opset = *o;
    }
    Builder b(&r.ctx);
    if (auto it = doc.find("name"); it != doc.end()) {
      if (!it->is_string())
        return r.error("name") << "expected a string";
      g.moduleAttrs.push_back(b.getNamedAttr("sym_name", b.getStringAttr(it->get<std::string>())));
    }
    if (auto it = doc.find("mesh"); it != doc.end()) {
      if (!it->is_object())
        return r.error("mesh") << "expected an object mapping axis names to sizes";
      // [[name, size], ...] in the order written: major to minor.
      SmallVector<Attribute> axes;
      for (auto a = it->begin(); a != it->end(); ++a) {
        auto size = asInt(a.value());
        if (!size || *size <= 0)
          return r.error("mesh." + a.key()) << "size must be a positive integer";
        r.mesh[a.key()] = *size;
        r.meshOrder.push_back(a.key());
        axes.push_back(b.getArrayAttr({b.getStringAttr(a.key()), b.getI64IntegerAttr(*size)}));
      }
      g.moduleAttrs.push_back(b.getNamedAttr("graph.mesh", b.getArrayAttr(axes)));
    }
    return success();
  }

  LogicalResult readInputs(const Json &doc) {
    llvm::StringSet<> defined;
    auto list = [&](StringRef key) -> const Json * {
      auto it = doc.find(key.str());
      return it == doc.end() ? nullptr : &*it;
    };
    for (StringRef key : {"inputs", "parameters", "nodes", "outputs"})
      if (const Json *l = list(key); l && !l->is_array())
        return r.error(key.str()) << "expected a list";
    if (const Json *ins = list("inputs"))
      for (auto [i, in] : llvm::enumerate(*ins)) {
        std::string path = "inputs[" + std::to_string(i) + "]";
        if (!in.is_object())
          return r.error(path) << "expected an object with name, dtype and shape";
        if (failed(r.checkKeys(in, path, {"name", "dtype", "shape", "sharding"})))
          return failure();
        auto name = r.str(in, "name", path);
        if (failed(name))
          return failure();
        auto type = r.tensorType(in, path, r.fileLoc);
        if (failed(type))
          return failure();
        if (!defined.insert(*name).second)
          return r.error(path + ".name") << "'" << *name << "' is defined twice";
        g.inputs.push_back({*name, *type});
        if (auto s = in.find("sharding"); s != in.end())
          if (failed(addSharding(*name, *s, path + ".sharding", type->getRank())))
            return failure();
      }
    if (const Json *params = list("parameters"))
      for (auto [i, p] : llvm::enumerate(*params)) {
        std::string path = "parameters[" + std::to_string(i) + "]";
        if (!p.is_object())
          return r.error(path) << "expected an object with name, dtype, shape "
                                  "and data, fill or file";
        if (failed(r.checkKeys(p, path, {"name", "dtype", "shape", "data", "fill",
                                         "file", "offset"})))
          return failure();
        auto name = r.str(p, "name", path);
        if (failed(name))
          return failure();
        if (!defined.insert(*name).second)
          return r.error(path + ".name") << "'" << *name << "' is defined twice";
        auto value = r.tensor(p, path, r.fileLoc);
        if (failed(value))
          return failure();
        g.constants.push_back({*name, *value});
      }
    return success();
  }

  LogicalResult readNodes(const Json &doc) {
    auto it = doc.find("nodes");
    if (it == doc.end())
      return success();
    for (auto [i, n] : llvm::enumerate(*it)) {
      std::string path = "nodes[" + std::to_string(i) + "]";
      if (!n.is_object())
        return r.error(path) << "expected an object with op, inputs and outputs";
      if (failed(r.checkKeys(n, path, {"op", "name", "domain", "inputs",
                                       "outputs", "attrs"})))
        return failure();
      auto op = r.str(n, "op", path);
      auto name = r.str(n, "name", path, /*required=*/false);
      auto domain = r.str(n, "domain", path, /*required=*/false);
      if (failed(op) || failed(name) || failed(domain))
        return failure();
      auto ins = names(r, n, "inputs", path);
      auto outs = ins;
      if (succeeded(ins))
        outs = names(r, n, "outputs", path);
      if (failed(ins) || failed(outs))
        return failure();
      static const Json empty = Json::object();
      const Json *attrs = &empty;
      if (auto a = n.find("attrs"); a != n.end()) {
        if (!a->is_object())
          return r.error(path + ".attrs") << "expected an object";
        attrs = &*a;
        for (auto v = a->begin(); v != a->end(); ++v)
          if (v->is_null())
            return r.error(path + ".attrs." + v.key())
                   << "expected a number, string, list or tensor object";
      }
      g.nodes.push_back(std::make_unique<JsonNodeView>(
          r, *attrs, *op, *domain, *name, std::move(*ins), std::move(*outs), path));
    }
    return success();
  }

  LogicalResult readOutputs(const Json &doc) {
    auto it = doc.find("outputs");
    if (it == doc.end() || it->empty())
      return r.error("outputs") << "expected a non-empty list of tensor names";
    for (auto [i, o] : llvm::enumerate(*it)) {
      std::string path = "outputs[" + std::to_string(i) + "]";
      if (o.is_string()) {
        g.outputs.push_back(o.get<std::string>());
        continue;
      }
      if (!o.is_object())
        return r.error(path) << "expected a tensor name or an object with a name";
      if (failed(r.checkKeys(o, path, {"name", "dtype", "shape", "sharding"})))
        return failure();
      auto name = r.str(o, "name", path);
      if (failed(name))
        return failure();
      g.outputs.push_back(*name);
      if (o.contains("dtype") || o.contains("shape")) {
        auto type = r.tensorType(o, path, r.fileLoc);
        if (failed(type))
          return failure();
        g.declared[*name] = *type;
      }
      if (auto s = o.find("sharding"); s != o.end())
        if (failed(addSharding(*name, *s, path + ".sharding", -1)))
          return failure();
    }
    return success();
  }

  LogicalResult readShardings(const Json &doc) {
    auto it = doc.find("shardings");
    if (it == doc.end())
      return attachShardings();
    if (!it->is_object())
      return r.error("shardings") << "expected an object mapping tensor names "
                                     "to shardings";
    for (auto s = it->begin(); s != it->end(); ++s) {
      int64_t rank = -1;
      for (auto &in : g.inputs)
        if (in.name == s.key())
          rank = in.type.getRank();
      if (failed(addSharding(s.key(), s.value(), "shardings." + s.key(), rank)))
        return failure();
    }
    return attachShardings();
  }

  /// Arguments and results take their sharding through the driver.
  LogicalResult attachShardings() {
    Builder b(&r.ctx);
    for (auto &e : shardings)
      g.tensorAttrs[e.getKey()] =
          b.getDictionaryAttr(b.getNamedAttr("graph.sharding", e.getValue().first));
    return success();
  }

  /// Checks output ranks and attaches shardings of intermediate tensors to
  /// the (single-result) op that produces them.
  LogicalResult finish(ModuleOp module) {
    auto func = module.lookupSymbol<func::FuncOp>("main");
    llvm::StringMap<Operation *> producers;
    func.walk([&](Operation *op) {
      if (op->getNumResults() == 1)
        if (auto n = dyn_cast<NameLoc>(op->getLoc()))
          producers.try_emplace(n.getName().getValue(), op);
    });
    llvm::StringSet<> boundary;
    for (auto &in : g.inputs)
      boundary.insert(in.name);
    for (auto [i, o] : llvm::enumerate(g.outputs)) {
      boundary.insert(o);
      auto it = shardings.find(o);
      int64_t rank = cast<RankedTensorType>(func.getResultTypes()[i]).getRank();
      if (it != shardings.end() && (int64_t)it->second.first.size() != rank)
        return r.error(it->second.second)
               << "has " << it->second.first.size() << " entries but '" << o
               << "' has rank " << rank;
    }
    for (auto &e : shardings) {
      if (boundary.contains(e.getKey()))
        continue;
      Operation *op = producers.lookup(e.getKey());
      if (!op)
        return r.error(e.getValue().second)
               << "no single-result op produces a tensor named '"
               << e.getKey() << "'";
      int64_t rank = cast<RankedTensorType>(op->getResult(0).getType()).getRank();
      if ((int64_t)e.getValue().first.size() != rank)
        return r.error(e.getValue().second)
               << "has " << e.getValue().first.size() << " entries but '"
               << e.getKey() << "' has rank " << rank;
      op->setAttr("graph.sharding", e.getValue().first);
    }
    return success();
  }
};

OwningOpRef<ModuleOp> importJson(MLIRContext &ctx, StringRef text,
                                 StringRef source, StringRef baseDir,
                                 const ImportOptions &options) {
  Importer imp(ctx, source, baseDir);
  Json doc = Json::parse(text.begin(), text.end(), nullptr,
                         /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    ParseErrorSax sax;
    Json::sax_parse(text.begin(), text.end(), &sax);
    emitError(imp.r.fileLoc) << "invalid JSON: " << sax.message;
    return nullptr;
  }
  if (failed(imp.readTop(doc)) || failed(imp.readInputs(doc)) ||
      failed(imp.readNodes(doc)) || failed(imp.readOutputs(doc)) ||
      failed(imp.readShardings(doc)))
    return nullptr;
  for (auto &e : options.inputValues)
    imp.g.inputValues[e.getKey()] = e.getValue();
  imp.g.foldFloats = !options.keepFloatInitializers;
  OwningOpRef<ModuleOp> module = buildModule(ctx, imp.g);
  if (!module || failed(imp.finish(*module)))
    return nullptr;
  return module;
}

} // namespace
} // namespace partita::import

namespace partita {

OwningOpRef<ModuleOp> importJsonFile(MLIRContext &ctx, StringRef path,
                                     const ImportOptions &options) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf) {
    emitError(import::fileLocation(ctx, path))
        << "cannot read '" << path << "': " << buf.getError().message();
    return nullptr;
  }
  return import::importJson(ctx, (*buf)->getBuffer(), path,
                             llvm::sys::path::parent_path(path), options);
}

OwningOpRef<ModuleOp> importJsonText(MLIRContext &ctx, StringRef text,
                                     StringRef sourceName,
                                     const ImportOptions &options) {
  return import::importJson(ctx, text, sourceName,
                            llvm::sys::path::parent_path(sourceName), options);
}

} // namespace partita
