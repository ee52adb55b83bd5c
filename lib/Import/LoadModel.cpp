//===- LoadModel.cpp - load any supported model input ---------------------===//

#include "partita/Import/Importer.h"

#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace partita {

OwningOpRef<ModuleOp> loadModelFile(MLIRContext &ctx, StringRef path,
                                    const ImportOptions &options) {
  if (!llvm::sys::fs::exists(path)) {
    emitError(FileLineColLoc::get(&ctx, path, 0, 0))
        << "cannot read '" << path << "': no such file or directory";
    return nullptr;
  }
  StringRef ext = llvm::sys::path::extension(path);
  if (ext == ".json")
    return importJsonFile(ctx, path, options);
  if (ext == ".mlir") {
    auto module = parseSourceFile<ModuleOp>(path, &ctx);
    if (module && failed(verify(*module)))
      return nullptr;
    return module;
  }
  return importOnnxFile(ctx, path, options);
}

} // namespace partita
