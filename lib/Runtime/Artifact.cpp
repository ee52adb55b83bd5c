//===- Artifact.cpp - compiled CPU artifacts ------------------------------===//

#include "partita/Runtime/Artifact.h"
#include "partita/Runtime/Npy.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
namespace json = llvm::json;

namespace partita {

static constexpr const char *kMeta = "artifact.json";
static constexpr const char *kCode = "model.mlirbc";
static constexpr const char *kWeights = "weights.bin";
static constexpr const char *kFormat = "partita-cpu-artifact";
static constexpr int kVersion = 2;
/// Each weight starts at a multiple of this in weights.bin (a cache line;
/// the mapping itself is page-aligned).
static constexpr uint64_t kWeightAlign = 64;

static std::string join(StringRef dir, const Twine &name) {
  SmallString<256> p(dir);
  llvm::sys::path::append(p, name);
  return p.str().str();
}

bool isArtifact(StringRef path) {
  return llvm::sys::fs::is_directory(path) && llvm::sys::fs::exists(join(path, kMeta));
}

LogicalResult writeArtifact(StringRef dir, ModuleOp llvmModule,
                            const ModelSignature &sig, StringRef source) {
  Location loc = FileLineColLoc::get(llvmModule.getContext(), dir, 0, 0);
  if (llvm::sys::fs::exists(dir) && !llvm::sys::fs::is_directory(dir))
    return emitError(loc) << "cannot write the artifact: '" << dir
                          << "' exists and is not a directory";
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return emitError(loc) << "cannot create '" << dir << "': " << ec.message();

  auto specs = [&](const std::vector<TensorSpec> &list, StringRef kind,
                   json::Array &out) -> LogicalResult {
    for (size_t i = 0; i < list.size(); ++i) {
      const TensorSpec &s = list[i];
      json::Object o{{"name", s.name},
                     {"dtype", dtypeName(s.dtype)},
                     {"shape", json::Array(s.shape)}};
      if (s.value) {
        std::string file = (kind + "_" + Twine(i) + ".npy").str();
        if (llvm::Error e = writeNpyFile(join(dir, file), *s.value))
          return emitError(loc) << llvm::toString(std::move(e));
        o["value"] = file;
      }
      out.push_back(std::move(o));
    }
    return success();
  };
  json::Array inputs, outputs;
  if (failed(specs(sig.inputs, "input", inputs)) ||
      failed(specs(sig.outputs, "output", outputs)))
    return failure();
  // weights.bin: the outlined weights, back to back at aligned offsets.
  json::Array weights;
  std::string weightsPath = join(dir, kWeights);
  std::error_code ec;
  {
    llvm::raw_fd_ostream os(weightsPath, ec);
    if (ec)
      return emitError(loc) << "cannot write '" << weightsPath << "': " << ec.message();
    uint64_t offset = 0;
    for (const WeightBuffer &w : sig.weights) {
      uint64_t start = llvm::alignTo(offset, kWeightAlign);
      os.write_zeros(start - offset);
      os.write(reinterpret_cast<const char *>(w.bytes()), w.numBytes);
      offset = start + w.numBytes;
      weights.push_back(json::Object{{"dtype", dtypeName(w.dtype)},
                                     {"shape", json::Array(w.shape)},
                                     {"offset", int64_t(start)},
                                     {"bytes", int64_t(w.numBytes)}});
    }
    if (os.has_error())
      return emitError(loc) << "cannot write '" << weightsPath << "': " << os.error().message();
  }
  json::Object meta{{"format", kFormat},
                    {"version", kVersion},
                    {"source", source},
                    {"target", compiledTarget(llvmModule)},
                    {"code", kCode},
                    {"entry", "_mlir_ciface_main"},
                    {"inputs", std::move(inputs)},
                    {"outputs", std::move(outputs)},
                    {"weights_file", kWeights},
                    {"weights", std::move(weights)}};

  llvm::raw_fd_ostream metaOs(join(dir, kMeta), ec);
  if (ec)
    return emitError(loc) << "cannot write '" << join(dir, kMeta) << "': " << ec.message();
  metaOs << llvm::formatv("{0:2}", json::Value(std::move(meta))) << "\n";
  llvm::raw_fd_ostream codeOs(join(dir, kCode), ec);
  if (ec)
    return emitError(loc) << "cannot write '" << join(dir, kCode) << "': " << ec.message();
  if (failed(writeBytecodeToFile(llvmModule, codeOs)))
    return emitError(loc) << "cannot serialize the module as bytecode";
  return success();
}

/// Maps weights.bin read-only and points each weight into it: the weights
/// are paged in from the file as the code reads them, never copied.
static LogicalResult readWeights(MLIRContext &ctx, StringRef dir, const json::Object &meta,
                                 std::vector<WeightBuffer> &weights) {
  const json::Array *list = meta.getArray("weights");
  std::string path = join(dir, meta.getString("weights_file").value_or(kWeights));
  Location loc = FileLineColLoc::get(&ctx, path, 0, 0);
  if (!list)
    return emitError(FileLineColLoc::get(&ctx, join(dir, kMeta), 0, 0))
           << "malformed artifact metadata: no 'weights'";
  if (list->empty())
    return success();
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file)
    return emitError(loc) << "cannot read '" << path << "': " << file.getError().message();
  std::shared_ptr<llvm::MemoryBuffer> mapped = std::move(*file);
  StringRef bytes = mapped->getBuffer();
  for (const json::Value &v : *list) {
    const json::Object *o = v.getAsObject();
    std::optional<DType> dt;
    if (o && o->getString("dtype"))
      dt = parseDType(*o->getString("dtype"));
    const json::Array *shape = o ? o->getArray("shape") : nullptr;
    std::optional<int64_t> offset = o ? o->getInteger("offset") : std::nullopt;
    std::optional<int64_t> size = o ? o->getInteger("bytes") : std::nullopt;
    if (!dt || !shape || !offset || !size || *offset < 0 || *size < 0)
      return emitError(loc) << "malformed artifact metadata: bad entry in 'weights'";
    WeightBuffer w;
    w.dtype = *dt;
    int64_t elements = 1;
    for (const json::Value &d : *shape) {
      w.shape.push_back(d.getAsInteger().value_or(-1));
      elements *= w.shape.back();
    }
    if (elements < 0 || uint64_t(*size) != uint64_t(elements) * dtypeBytes(*dt) ||
        uint64_t(*offset) + uint64_t(*size) > bytes.size() || *offset % dtypeBytes(*dt))
      return emitError(loc) << "weight " << weights.size() << " (" << shapeString(w.shape)
                            << " " << dtypeName(*dt) << ") does not fit in '" << path
                            << "' (" << bytes.size() << " bytes): the artifact is damaged";
    w.data = reinterpret_cast<const uint8_t *>(bytes.data()) + *offset;
    w.numBytes = *size;
    w.owner = mapped;
    weights.push_back(std::move(w));
  }
  return success();
}

OwningOpRef<ModuleOp> readArtifact(MLIRContext &ctx, StringRef dir,
                                   ModelSignature &sig) {
  std::string metaPath = join(dir, kMeta);
  Location loc = FileLineColLoc::get(&ctx, metaPath, 0, 0);
  auto buf = llvm::MemoryBuffer::getFile(metaPath);
  if (!buf) {
    emitError(loc) << "cannot read '" << metaPath << "': " << buf.getError().message();
    return nullptr;
  }
  auto parsed = json::parse((*buf)->getBuffer());
  if (!parsed) {
    emitError(loc) << "malformed artifact metadata: " << llvm::toString(parsed.takeError());
    return nullptr;
  }
  const json::Object *meta = parsed->getAsObject();
  if (!meta || meta->getString("format") != StringRef(kFormat)) {
    emitError(loc) << "not a " << kFormat;
    return nullptr;
  }
  if (meta->getInteger("version") != kVersion) {
    emitError(loc) << kFormat << " version " << meta->getInteger("version").value_or(0)
                   << " is not supported (this Partita reads version " << kVersion
                   << "); compile the model again";
    return nullptr;
  }
  auto readSpecs = [&](StringRef key, std::vector<TensorSpec> &out) -> LogicalResult {
    const json::Array *list = meta->getArray(key);
    if (!list)
      return emitError(loc) << "malformed artifact metadata: no '" << key << "'";
    for (const json::Value &v : *list) {
      const json::Object *o = v.getAsObject();
      TensorSpec s;
      std::optional<DType> dt;
      const json::Array *shape = o ? o->getArray("shape") : nullptr;
      if (o && o->getString("name"))
        s.name = o->getString("name")->str();
      if (o && o->getString("dtype"))
        dt = parseDType(*o->getString("dtype"));
      if (!dt || !shape)
        return emitError(loc) << "malformed artifact metadata: bad entry in '" << key << "'";
      s.dtype = *dt;
      for (const json::Value &d : *shape)
        s.shape.push_back(d.getAsInteger().value_or(-1));
      if (auto file = o->getString("value")) {
        auto value = readNpyFile(join(dir, *file));
        if (!value)
          return emitError(loc) << llvm::toString(value.takeError());
        s.value = std::move(*value);
      }
      out.push_back(std::move(s));
    }
    return success();
  };
  if (failed(readSpecs("inputs", sig.inputs)) || failed(readSpecs("outputs", sig.outputs)) ||
      failed(readWeights(ctx, dir, *meta, sig.weights)))
    return nullptr;
  std::string code = join(dir, meta->getString("code").value_or(kCode));
  return parseSourceFile<ModuleOp>(code, &ctx);
}

} // namespace partita
