// JSON graph import/export: not implemented yet (being written).
#include "partita/Import/Importer.h"
#include "mlir/IR/Diagnostics.h"
using namespace mlir;
namespace partita {
OwningOpRef<ModuleOp> importJsonFile(MLIRContext &ctx, StringRef path, const ImportOptions &) {
  emitError(FileLineColLoc::get(&ctx, path, 0, 0)) << "JSON import is not implemented yet";
  return nullptr;
}
OwningOpRef<ModuleOp> importJsonText(MLIRContext &ctx, StringRef, StringRef path, const ImportOptions &o) {
  return importJsonFile(ctx, path, o);
}
LogicalResult exportJson(ModuleOp m, llvm::raw_ostream &) {
  return emitError(m.getLoc()) << "JSON export is not implemented yet";
}
}
