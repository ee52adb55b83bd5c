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
static constexpr const char *kFormat = "partita-cpu-artifact";

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
  json::Object meta{{"format", kFormat},
                    {"version", 1},
                    {"source", source},
                    {"code", kCode},
                    {"entry", "_mlir_ciface_main"},
                    {"inputs", std::move(inputs)},
                    {"outputs", std::move(outputs)}};

  std::error_code ec;
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
  if (!meta || meta->getString("format") != StringRef(kFormat) ||
      meta->getInteger("version") != 1) {
    emitError(loc) << "not a " << kFormat << " version 1";
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
  if (failed(readSpecs("inputs", sig.inputs)) || failed(readSpecs("outputs", sig.outputs)))
    return nullptr;
  std::string code = join(dir, meta->getString("code").value_or(kCode));
  return parseSourceFile<ModuleOp>(code, &ctx);
}

} // namespace partita
