//===- OnnxImporter.cpp - ONNX protobuf to the graph dialect --------------===//
//
// Reads a ModelProto (libonnx's generated classes), turns initializers into
// constants (including external data files), inputs into function arguments
// with static shapes, and hands nodes to the shared GraphDriver.
//
//===----------------------------------------------------------------------===//

#include "GraphDriver.h"
#include "OnnxWire.h"
#include "OpImporters.h"

#include "partita/Import/Importer.h"

#include "dialects/Graph/IR/ConstantStorage.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <unistd.h>

using namespace mlir;

namespace partita {
namespace {

using import::GraphDesc;

/// The attribute for `data`, the tensor's bytes in its element layout (one
/// byte per boolean); the attribute takes the only copy.
FailureOr<ElementsAttr> bytesToAttr(RankedTensorType type, Type elt,
                                    const onnx::TensorProto &t, Location loc,
                                    StringRef data, size_t bytes) {
  if (data.size() != bytes)
    return emitError(loc) << "tensor '" << t.name() << "' has " << data.size()
                          << " bytes of data, expected " << bytes << " for "
                          << type;
  if (elt.isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : data)
      bits.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, bits));
  }
  return cast<ElementsAttr>(
      DenseElementsAttr::getFromRawBuffer(type, ArrayRef<char>(data.data(), data.size())));
}

/// How an import maps weights (ImportOptions::mapWeights): the model file
/// with the spans of its cut-out raw_data, and the external data files.
struct WeightMapping {
  std::shared_ptr<graph::MappedFile> model;
  std::vector<import::RawDataSpan> spans;
  llvm::StringMap<std::shared_ptr<graph::MappedFile>> external;
};

/// Decodes a TensorProto (raw_data, typed fields or external data) into an
/// ElementsAttr. `baseDir` anchors external data paths. With `mapping`, the
/// data is read in place: `span` (a cut-out raw_data) or external data.
FailureOr<ElementsAttr> decodeTensor(MLIRContext *ctx, const onnx::TensorProto &t,
                                     StringRef baseDir, Location loc,
                                     WeightMapping *mapping = nullptr,
                                     import::RawDataSpan span = {}) {
  Type elt = import::onnxElementType(ctx, t.data_type());
  if (!elt)
    return emitError(loc) << "tensor '" << t.name() << "' has data type "
                          << import::onnxTypeName(t.data_type())
                          << ", which is not supported";
  SmallVector<int64_t> shape(t.dims().begin(), t.dims().end());
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && numel > (int64_t(1) << 40) / d))
      return emitError(loc) << "tensor '" << t.name() << "' has an invalid shape";
    numel *= d;
  }
  auto type = RankedTensorType::get(shape, elt);
  size_t eltBytes = elt.isInteger(1) ? 1 : elt.getIntOrFloatBitWidth() / 8;
  size_t bytes = numel * eltBytes;
  std::string data;
  if (span.length) {
    if (span.length != bytes)
      return emitError(loc) << "tensor '" << t.name() << "' has " << span.length
                            << " bytes of data, expected " << bytes << " for " << type;
    return graph::mappedConstant(type, t.name(), mapping->model, span.offset, span.length);
  }

  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto &kv : t.external_data()) {
      if (kv.key() == "location")
        location = kv.value();
      else if (kv.key() == "offset")
        offset = std::atoll(kv.value().c_str());
      else if (kv.key() == "length")
        length = std::atoll(kv.value().c_str());
    }
    if (location.empty())
      return emitError(loc) << "tensor '" << t.name()
                            << "' has external data without a location";
    SmallString<256> path(baseDir);
    llvm::sys::path::append(path, location);
    if (mapping && bytes >= kMappedWeightBytes && !elt.isInteger(1)) {
      std::shared_ptr<graph::MappedFile> &file = mapping->external[path];
      std::string error;
      if (!file && !(file = graph::MappedFile::open(path, error)))
        return emitError(loc) << "missing external data file '" << path << "' for tensor '"
                              << t.name() << "': " << error;
      uint64_t size = file->bytes().size();
      if (length < 0)
        length = bytes;
      if (offset < 0 || uint64_t(offset) > size || uint64_t(length) > size - offset ||
          size_t(length) != bytes)
        return emitError(loc) << "external data for tensor '" << t.name() << "' (offset "
                              << offset << ", length " << length << ") does not fit '"
                              << path << "' (" << size << " bytes) or the " << bytes
                              << " bytes the tensor needs";
      return graph::mappedConstant(type, t.name(), file, offset, length);
    }
    auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
    if (!buf)
      return emitError(loc) << "missing external data file '" << path
                            << "' for tensor '" << t.name()
                            << "': " << buf.getError().message();
    if (length < 0)
      length = bytes;
    if (offset < 0 || (uint64_t)(offset + length) > (*buf)->getBufferSize() ||
        (size_t)length != bytes)
      return emitError(loc) << "external data for tensor '" << t.name()
                            << "' (offset " << offset << ", length " << length
                            << ") does not fit '" << path << "' ("
                            << (*buf)->getBufferSize() << " bytes) or the "
                            << bytes << " bytes the tensor needs";
    return bytesToAttr(type, elt, t, loc, StringRef((*buf)->getBufferStart() + offset, length),
                       bytes);
  } else if (t.has_raw_data()) {
    return bytesToAttr(type, elt, t, loc, t.raw_data(), bytes);
  } else {
    // Typed fields: append each value in the element's byte layout.
    auto put = [&](const void *p, size_t n) {
      data.append(static_cast<const char *>(p), n);
    };
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      for (float v : t.float_data()) put(&v, 4);
      break;
    case onnx::TensorProto::DOUBLE:
      for (double v : t.double_data()) put(&v, 8);
      break;
    case onnx::TensorProto::INT64:
      for (int64_t v : t.int64_data()) put(&v, 8);
      break;
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64:
      for (uint64_t v : t.uint64_data()) put(&v, eltBytes);
      break;
    default: // int32_data holds INT32 and everything narrower (and f16 bits)
      for (int32_t v : t.int32_data()) put(&v, eltBytes);
      break;
    }
  }
  return bytesToAttr(type, elt, t, loc, data, bytes);
}

class OnnxNodeView : public import::NodeView {
public:
  OnnxNodeView(const onnx::NodeProto &n, std::string baseDir)
      : n(n), baseDir(std::move(baseDir)), ins(n.input().begin(), n.input().end()),
        outs(n.output().begin(), n.output().end()) {}

  StringRef opType() const override { return n.op_type(); }
  StringRef domain() const override { return n.domain(); }
  StringRef name() const override { return n.name(); }
  const std::vector<std::string> &inputs() const override { return ins; }
  const std::vector<std::string> &outputs() const override { return outs; }

  bool hasAttr(StringRef name) const override { return find(name) != nullptr; }
  std::vector<std::string> attrNames() const override {
    std::vector<std::string> names;
    for (const auto &a : n.attribute())
      names.push_back(a.name());
    return names;
  }
  std::optional<int64_t> getInt(StringRef name) const override {
    if (auto *a = find(name); a && a->type() == onnx::AttributeProto::INT)
      return a->i();
    return std::nullopt;
  }
  std::optional<double> getFloat(StringRef name) const override {
    if (auto *a = find(name); a && a->type() == onnx::AttributeProto::FLOAT)
      return a->f();
    return std::nullopt;
  }
  std::optional<std::string> getString(StringRef name) const override {
    if (auto *a = find(name); a && a->type() == onnx::AttributeProto::STRING)
      return a->s();
    return std::nullopt;
  }
  std::optional<std::vector<int64_t>> getInts(StringRef name) const override {
    if (auto *a = find(name); a && a->type() == onnx::AttributeProto::INTS)
      return std::vector<int64_t>(a->ints().begin(), a->ints().end());
    return std::nullopt;
  }
  std::optional<std::vector<double>> getFloats(StringRef name) const override {
    if (auto *a = find(name); a && a->type() == onnx::AttributeProto::FLOATS)
      return std::vector<double>(a->floats().begin(), a->floats().end());
    return std::nullopt;
  }
  std::optional<ElementsAttr> getTensor(StringRef name, MLIRContext *ctx,
                                        Location loc) const override {
    auto *a = find(name);
    if (!a || a->type() != onnx::AttributeProto::TENSOR)
      return std::nullopt;
    auto t = decodeTensor(ctx, a->t(), baseDir, loc);
    return failed(t) ? ElementsAttr() : *t;
  }

private:
  const onnx::AttributeProto *find(StringRef name) const {
    for (const auto &a : n.attribute())
      if (a.name() == name)
        return &a;
    return nullptr;
  }
  const onnx::NodeProto &n;
  std::string baseDir;
  std::vector<std::string> ins, outs;
};

/// The static type of a ValueInfo, specializing dynamic dimensions.
FailureOr<RankedTensorType> valueType(MLIRContext *ctx, const onnx::ValueInfoProto &v,
                                      const ImportOptions &options, Location loc,
                                      bool specialize) {
  if (!v.type().has_tensor_type())
    return emitError(loc) << "value '" << v.name()
                          << "' is not a tensor (sequences, maps and optionals "
                             "are not supported)";
  const auto &tt = v.type().tensor_type();
  Type elt = import::onnxElementType(ctx, tt.elem_type());
  if (!elt)
    return emitError(loc) << "value '" << v.name() << "' has data type "
                          << import::onnxTypeName(tt.elem_type())
                          << ", which is not supported";
  if (!tt.has_shape())
    return emitError(loc) << "input '" << v.name()
                          << "' has no shape; give one with --input-shape "
                          << v.name() << "=D0xD1...";
  auto given = options.inputShapes.find(v.name());
  if (given != options.inputShapes.end()) {
    if ((int)given->second.size() != tt.shape().dim_size())
      return emitError(loc) << "--input-shape for '" << v.name() << "' has rank "
                            << given->second.size() << " but the model says "
                            << tt.shape().dim_size();
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto &d = tt.shape().dim(i);
      if (d.has_dim_value() && d.dim_value() != given->second[i])
        return emitError(loc) << "--input-shape for '" << v.name()
                              << "' sets dimension " << i << " to "
                              << given->second[i] << " but the model fixes it to "
                              << d.dim_value();
    }
    return RankedTensorType::get(given->second, elt);
  }
  SmallVector<int64_t> shape;
  int64_t numel = 1;
  for (int i = 0; i < tt.shape().dim_size(); ++i) {
    const auto &d = tt.shape().dim(i);
    if (d.has_dim_value() && d.dim_value() >= 0) {
      if (d.dim_value() != 0 && numel > (int64_t(1) << 40) / d.dim_value())
        return emitError(loc) << "value '" << v.name() << "' has more than 2^40 elements";
      numel *= std::max<int64_t>(d.dim_value(), 1);
      shape.push_back(d.dim_value());
      continue;
    }
    if (!specialize)
      return failure(); // declared type with a symbolic dim: nothing to check
    shape.push_back(options.defaultDynamicDim);
    if (options.warnOnDynamicDims)
      emitWarning(loc) << "input '" << v.name() << "' dimension " << i << " ('"
                       << d.dim_param() << "') is dynamic; specialized to "
                       << options.defaultDynamicDim << " (use --input-shape "
                       << v.name() << "=...)";
  }
  return RankedTensorType::get(shape, elt);
}

} // namespace

static void notOnnx(MLIRContext &ctx, StringRef sourceName) {
  emitError(import::fileLocation(ctx, sourceName))
      << "not a valid ONNX model (the file is truncated, corrupt, or not ONNX protobuf)";
}

/// Imports a parsed model. Each initializer's data is freed from `model` as
/// soon as its attribute exists, so the weights are held once, not twice.
static OwningOpRef<ModuleOp> importModel(MLIRContext &ctx, onnx::ModelProto &model,
                                         StringRef sourceName,
                                         const ImportOptions &options,
                                         WeightMapping *mapping = nullptr) {
  Location fileLoc = import::fileLocation(ctx, sourceName);
  if (!model.has_graph() || model.ir_version() <= 0) {
    notOnnx(ctx, sourceName);
    return nullptr;
  }
  onnx::GraphProto &graph = *model.mutable_graph();
  GraphDesc g;
  g.source = sourceName.str();
  g.opset = 1;
  bool sawDefault = false;
  for (const auto &op : model.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx") {
      g.opset = op.version();
      sawDefault = true;
    }
  if (!sawDefault) {
    emitError(fileLoc) << "the model imports no default-domain opset";
    return nullptr;
  }
  std::string baseDir = llvm::sys::path::parent_path(sourceName).str();

  MLIRContext *c = &ctx;
  for (int i = 0; i < graph.initializer_size(); ++i) {
    onnx::TensorProto &init = *graph.mutable_initializer(i);
    import::RawDataSpan span;
    if (mapping && size_t(i) < mapping->spans.size())
      span = mapping->spans[i];
    auto value = decodeTensor(c, init, baseDir, fileLoc, mapping, span);
    if (failed(value))
      return nullptr;
    g.constants.push_back({init.name(), *value});
    // Clear() keeps a string's capacity; swapping with a temporary frees it.
    onnx::TensorProto released;
    released.set_name(init.name());
    released.Swap(&init);
  }
  if (graph.sparse_initializer_size() > 0) {
    emitError(fileLoc) << "sparse initializers are not supported";
    return nullptr;
  }
  llvm::StringSet<> initNames;
  for (auto &k : g.constants)
    initNames.insert(k.name);
  for (const auto &in : graph.input()) {
    if (initNames.contains(in.name()))
      continue;
    auto type = valueType(c, in, options, fileLoc, /*specialize=*/true);
    if (failed(type))
      return nullptr;
    g.inputs.push_back({in.name(), *type});
  }
  for (const auto &node : graph.node()) {
    for (const auto &a : node.attribute())
      if (a.type() == onnx::AttributeProto::GRAPH ||
          a.type() == onnx::AttributeProto::GRAPHS) {
        emitError(fileLoc) << "unsupported op '" << node.op_type()
                           << "' in node '" << node.name()
                           << "': control flow with subgraphs is not supported";
        return nullptr;
      }
    g.nodes.push_back(std::make_unique<OnnxNodeView>(node, baseDir));
  }
  for (const auto &out : graph.output()) {
    g.outputs.push_back(out.name());
    // Keep only fully static declarations; symbolic ones are not checked.
    ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
    auto type = valueType(c, out, ImportOptions{{}, 1, false}, fileLoc, false);
    if (succeeded(type) && !options.inputShapes.size())
      g.declared[out.name()] = *type;
  }
  g.inputValues = options.inputValues;
  g.foldFloats = !options.keepFloatInitializers;
  if (g.outputs.empty()) {
    emitError(fileLoc) << "the graph has no outputs";
    return nullptr;
  }
  return import::buildModule(ctx, g);
}

OwningOpRef<ModuleOp> importOnnxBytes(MLIRContext &ctx, StringRef bytes,
                                      StringRef sourceName,
                                      const ImportOptions &options) {
  onnx::ModelProto model;
  if (bytes.size() > (size_t)INT32_MAX ||
      !model.ParseFromArray(bytes.data(), (int)bytes.size())) {
    notOnnx(ctx, sourceName);
    return nullptr;
  }
  return importModel(ctx, model, sourceName, options);
}

FailureOr<DenseElementsAttr> readOnnxTensorFile(MLIRContext &ctx, StringRef path) {
  Location loc = import::fileLocation(ctx, path);
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return emitError(loc) << "cannot read '" << path
                          << "': " << buf.getError().message();
  onnx::TensorProto t;
  if ((*buf)->getBufferSize() > (size_t)INT32_MAX ||
      !t.ParseFromArray((*buf)->getBufferStart(), (int)(*buf)->getBufferSize()))
    return emitError(loc) << "not a valid ONNX TensorProto file";
  auto value = decodeTensor(&ctx, t, llvm::sys::path::parent_path(path), loc);
  if (failed(value))
    return failure();
  return cast<DenseElementsAttr>(*value);
}

/// For an ONNX backend-test directory: the names of the model's real inputs
/// paired with test_data_set_0/input_K.pb, as specialization values.
static LogicalResult readTestInputs(MLIRContext &ctx, StringRef dir,
                                    const onnx::ModelProto &model,
                                    ImportOptions &options) {
  llvm::StringSet<> inits;
  for (const auto &i : model.graph().initializer())
    inits.insert(i.name());
  int k = 0;
  for (const auto &in : model.graph().input()) {
    if (inits.contains(in.name()))
      continue;
    SmallString<256> pb(dir);
    llvm::sys::path::append(pb, "test_data_set_0", "input_" + std::to_string(k++) + ".pb");
    if (!llvm::sys::fs::exists(pb) || options.inputValues.count(in.name()))
      continue;
    // These are only candidates for specialization: an input this reader
    // cannot decode (a sequence, a string) simply is not specialized.
    ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
    auto value = readOnnxTensorFile(ctx, pb);
    if (succeeded(value))
      options.inputValues[in.name()] = *value;
  }
  return success();
}

OwningOpRef<ModuleOp> importOnnxFile(MLIRContext &ctx, StringRef path,
                                     const ImportOptions &givenOptions) {
  SmallString<256> file(path);
  bool isDir = llvm::sys::fs::is_directory(path);
  if (isDir)
    llvm::sys::path::append(file, "model.onnx");
  ImportOptions options = givenOptions;
  onnx::ModelProto model;
  WeightMapping mapping;
  bool parsed;
  if (options.mapWeights) {
    // The file is mapped, its large raw_data fields are cut out of what
    // protobuf parses, and their constants read the mapping in place.
    std::string error;
    mapping.model = graph::MappedFile::open(file, error);
    if (!mapping.model) {
      emitError(import::fileLocation(ctx, file)) << "cannot read '" << file << "': " << error;
      return nullptr;
    }
    std::optional<import::StrippedModel> stripped =
        import::stripInitializerData(mapping.model->bytes(), kMappedWeightBytes);
    parsed = stripped && stripped->bytes.size() <= (size_t)INT32_MAX &&
             model.ParseFromArray(stripped->bytes.data(), (int)stripped->bytes.size());
    if (parsed)
      mapping.spans = std::move(stripped->spans);
  } else {
    // Parsed through read(), not a mapping of the whole file: the file's
    // bytes are never resident next to the parsed model (docs/runtime.md).
    int fd = -1;
    if (std::error_code ec = llvm::sys::fs::openFileForRead(file, fd)) {
      emitError(import::fileLocation(ctx, file))
          << "cannot read '" << file << "': " << ec.message();
      return nullptr;
    }
    parsed = model.ParseFromFileDescriptor(fd);
    ::close(fd);
  }
  if (!parsed) {
    notOnnx(ctx, file);
    return nullptr;
  }
  if (isDir && failed(readTestInputs(ctx, path, model, options)))
    return nullptr;
  return importModel(ctx, model, file, options, options.mapWeights ? &mapping : nullptr);
}

std::vector<std::string> supportedOnnxOps() { return import::handledOpTypes(); }

} // namespace partita
