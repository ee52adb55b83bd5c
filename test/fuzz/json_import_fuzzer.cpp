//===- json_import_fuzzer.cpp - libFuzzer target for importJsonText -------===//
//
// Feeds arbitrary bytes to the JSON importer. Import failures are expected
// (diagnostics are swallowed); any crash, abort or sanitizer report is a bug.
// Built only with -DPARTITA_ENABLE_FUZZERS=ON and clang; run by bench/fuzz.sh.
//
//===----------------------------------------------------------------------===//

#include "FuzzContext.h"
#include "partita/Import/Importer.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &ctx = partita::fuzz::context();
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
