//===- json_import_fuzzer.cpp - libFuzzer target for importJsonText -------===//
//
// Feeds arbitrary bytes to the JSON importer. Import failures are expected
// (diagnostics are swallowed); any crash, abort or sanitizer report is a bug.
// Built only with -DPARTITA_ENABLE_FUZZERS=ON and clang; run by bench/fuzz.sh.
//
//===----------------------------------------------------------------------===//

#include "partita/Import/Importer.h"
#include "partita/InitAll.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>

namespace {

mlir::MLIRContext &fuzzContext() {
  static mlir::MLIRContext *ctx = [] {
    mlir::DialectRegistry registry;
    partita::registerAllDialects(registry);
    auto *c = new mlir::MLIRContext(registry,
                                    mlir::MLIRContext::Threading::DISABLED);
    c->loadAllAvailableDialects();
    // Swallow every diagnostic: rejecting malformed input is the normal case.
    c->getDiagEngine().registerHandler([](mlir::Diagnostic &) {
      return mlir::success();
    });
    return c;
  }();
  return *ctx;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &ctx = fuzzContext();
  partita::ImportOptions options;
  options.warnOnDynamicDims = false;
  // A directory that does not exist, so relative "external" data paths in
  // the input never resolve to real files.
  mlir::OwningOpRef<mlir::ModuleOp> module = partita::importJsonText(
      ctx, llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "/nonexistent-partita-fuzz/graph.json", options);
  // The importer verifies what it builds; dropping the module exercises
  // destruction of whatever it returned.
  return 0;
}
